//! Shared pieces of the end-to-end tests: a sandbox with a client pointed at it, and a run of
//! many jobs that checks none is lost or started twice.

use std::{collections::BTreeMap, time::Duration};

use futures::StreamExt;
use invaro::{Client, DocumentKind, Error, Job, PollPolicy, RateLimit, RetryPolicy, Upload};
use invaro_sandbox::{Sandbox, SandboxBuilder, samples};

/// Starts `sandbox` and builds a client for it with test-sized waits.
pub async fn start(sandbox: SandboxBuilder, limit: RateLimit) -> (Sandbox, Client) {
    let sandbox = sandbox.start().await.expect("the sandbox starts");
    let client = client(sandbox.base_url(), sandbox.api_key(), limit);
    (sandbox, client)
}

/// A client for the sandbox at `base_url` with test-sized waits.
pub fn client(base_url: &str, api_key: &str, limit: RateLimit) -> Client {
    Client::builder()
        .api_key(api_key)
        .base_url(base_url)
        .retry(
            RetryPolicy::default()
                .initial_delay(Duration::from_millis(2))
                .max_delay(Duration::from_millis(20))
                .max_server_delay(Duration::from_millis(50)),
        )
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(2))
                .max_interval(Duration::from_millis(20))
                .deadline(Duration::from_secs(30)),
        )
        .rate_limit(limit)
        .build()
        .expect("valid settings")
}

/// What [`run_jobs`] asks the server: how many jobs it started for a document. The sandbox in
/// this process answers from its stats; a sandbox in another process can answer over HTTP.
pub trait JobStarts {
    /// The number of jobs started for `document`, or `None` if there are none.
    fn job_starts(&self, document: &str) -> impl Future<Output = Option<u64>>;
}

impl JobStarts for Sandbox {
    async fn job_starts(&self, document: &str) -> Option<u64> {
        self.stats().job_starts_by_document.get(document).copied()
    }
}

/// Uploads `files` in one request and returns their document ids, in order.
pub async fn upload_ids(client: &Client, files: &[Upload]) -> Vec<String> {
    let uploaded = client.upload(files).await.expect("the upload succeeds");
    uploaded.into_iter().map(|d| d.doc_id).collect()
}

/// Uploads one document from memory and starts parsing it.
pub async fn upload_and_start(
    client: &Client,
    kind: DocumentKind,
    file_name: &str,
    bytes: &'static [u8],
) -> Job {
    let uploaded = client
        .upload(&[Upload::bytes(file_name, bytes)])
        .await
        .expect("the upload succeeds");
    client
        .start_job(kind, &uploaded[0].doc_id)
        .await
        .expect("the job starts")
}

/// What a run of many jobs saw.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Documents uploaded.
    pub documents: usize,
    /// Jobs the client saw complete, by document.
    pub completed: BTreeMap<String, String>,
    /// Start calls that failed and were made again (only after the sandbox confirmed that the
    /// failed call had started nothing).
    pub restarts: usize,
    /// Waits that failed and were resumed by job id.
    pub resumes: usize,
}

/// Uploads `count` documents, parses each, and waits for all of them, `concurrency` at a time,
/// the way a careful application would: a failed start is made again only when the server has
/// no job for the document, and a failed wait is resumed by job id.
pub async fn run_jobs(
    sandbox: &impl JobStarts,
    client: &Client,
    count: usize,
    concurrency: usize,
) -> RunReport {
    let mut report = RunReport::default();
    let mut documents = Vec::with_capacity(count);
    // Each file of an upload counts against the rate limit: keep uploads small.
    for chunk in (0..count).collect::<Vec<_>>().chunks(10) {
        let files: Vec<Upload> = chunk
            .iter()
            .map(|n| Upload::bytes(format!("invoice-{n}.pdf"), samples::INVOICE_PDF))
            .collect();
        // The SDK does not repeat an upload that may have reached the server; the sandbox's
        // faults come before it stores anything, so this test may.
        let mut tries = 0;
        let uploaded = loop {
            tries += 1;
            match client.upload(&files).await {
                Ok(uploaded) => break uploaded,
                Err(e)
                    if tries < 10
                        && (e.is_retryable()
                            || matches!(e, Error::Transport { .. })
                            || e.status().is_some_and(|s| s.is_server_error())) => {}
                Err(e) => panic!("upload failed after {tries} tries: {e}"),
            }
        };
        documents.extend(uploaded.into_iter().map(|d| d.doc_id));
    }
    report.documents = documents.len();
    let outcomes: Vec<(String, String, usize, usize)> = futures::stream::iter(documents)
        .map(|document| parse_one(sandbox, client, document))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (document, job_id, restarts, resumes) in outcomes {
        report.restarts += restarts;
        report.resumes += resumes;
        assert!(
            report.completed.insert(document.clone(), job_id).is_none(),
            "{document} completed twice"
        );
    }
    report
}

async fn parse_one(
    sandbox: &impl JobStarts,
    client: &Client,
    document: String,
) -> (String, String, usize, usize) {
    let (mut restarts, mut resumes) = (0, 0);
    let mut job = loop {
        match client.start_job(DocumentKind::Invoice, &document).await {
            Ok(job) => break job,
            Err(e) => {
                let starts = sandbox.job_starts(&document).await;
                assert_eq!(
                    starts, None,
                    "{document}: a failed start ({e}) created a job"
                );
                restarts += 1;
                assert!(restarts < 10, "{document}: could not be started: {e}");
            }
        }
    };
    loop {
        match job.wait().await {
            Ok(parsed) => return (document, parsed.job_id().to_string(), restarts, resumes),
            Err(Error::JobFailed { job_id, message }) => panic!("{job_id} failed: {message}"),
            Err(e) => {
                resumes += 1;
                assert!(resumes < 10, "{}: the wait kept failing: {e}", job.id());
                job = client.job(DocumentKind::Invoice, job.id());
            }
        }
    }
}

/// What the README's quick start needs to run as a doctest, in one hidden line: a sandbox for
/// the rest of the process, `INVARO_API_KEY` and `INVARO_BASE_URL` pointing at it, and a
/// temporary working folder holding `invoice.pdf`. Keep both values alive while the test runs.
///
/// # Panics
///
/// When the sandbox cannot start or the folder cannot be made: the doctest fails.
pub async fn readme_quick_start() -> (Sandbox, tempfile::TempDir) {
    let sandbox = Sandbox::builder()
        .job_timings(invaro_sandbox::JobTimings::INSTANT)
        .start()
        .await
        .expect("the sandbox starts");
    let folder = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(folder.path().join("invoice.pdf"), samples::INVOICE_PDF).expect("written");
    std::env::set_current_dir(folder.path()).expect("the folder is usable");
    // SAFETY: a doctest's process; nothing else reads or writes the environment meanwhile.
    unsafe {
        std::env::set_var("INVARO_API_KEY", sandbox.api_key());
        std::env::set_var("INVARO_BASE_URL", sandbox.base_url());
    }
    (sandbox, folder)
}

/// The README's examples, compiled and run as doctests so that they stay true (here, where both
/// the SDK and the sandbox are dependencies).
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The sandbox README's example, compiled as a doctest.
#[doc = include_str!("../../sandbox/README.md")]
#[cfg(doctest)]
pub struct SandboxReadmeDoctests;
