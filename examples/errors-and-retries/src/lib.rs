//! What an error tells you, what the SDK retries for you, and a deadline on a wait, shown
//! against a sandbox that injects the failures.
//!
//! ```text
//! cargo run -p errors-and-retries
//! ```

use std::{error::Error, io::Write, time::Duration};

use invaro::{Client, DocumentKind, PollPolicy, RetryPolicy, Upload};
use invaro_sandbox::{FaultRule, JobTimings, Sandbox, samples};

/// Walks through four failures and prints what each error tells.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings {
            pending: Duration::ZERO,
            processing: Duration::from_secs(1),
        })
        .fault(FaultRule::status(503).on("/files")) // every file-list request fails
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::default().initial_delay(Duration::from_millis(20)))
        .build()?;

    // 1. The API said no: a status and a code; sending it again would change nothing.
    let e = client.schemas().get("no-such-schema").await.unwrap_err();
    writeln!(out, "missing schema: {}", tell(&e))?;

    // 2. A GET meeting 503s is retried for you (4 attempts by default) before it fails.
    let e = client.files().list().send().await.unwrap_err();
    let attempts = sandbox.stats().responses(503);
    writeln!(out, "file list, after {attempts} attempts: {}", tell(&e))?;

    // 3. A job that fails: no status, not retryable, and the job id to report.
    let job = start(&client, "fail-scan.pdf").await?; // the sandbox fails names with "fail"
    let e = job.wait().await.unwrap_err();
    writeln!(out, "failed job: {}: {e}", tell(&e))?;

    // 4. A deadline, on a client whose waits give up after 300 ms: the job runs on, and
    //    waiting again by its id picks it up.
    let job = start(&client, "invoice.pdf").await?;
    let hasty = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll(PollPolicy::default().deadline(Duration::from_millis(300)))
        .build()?;
    let e = hasty.job(job.kind(), job.id()).wait().await.unwrap_err();
    writeln!(out, "deadline: {}: {e}", tell(&e))?;
    let job_id = e.job_id().ok_or("a wait timeout names its job")?;
    let parsed = client.job(DocumentKind::Invoice, job_id).wait().await?;
    writeln!(
        out,
        "waited again: job {} is {}",
        parsed.job_id(),
        parsed.job().status
    )?;
    Ok(())
}

/// What an error tells: may it be sent again, the HTTP status, the API's code, the job.
fn tell(e: &invaro::Error) -> String {
    let (status, code, job) = (e.status(), e.code(), e.job_id());
    format!(
        "retryable {}, status {status:?}, code {code:?}, job {job:?}",
        e.is_retryable()
    )
}

/// Uploads a sample invoice under `name` and starts its job.
async fn start(client: &Client, name: &str) -> Result<invaro::Job, invaro::Error> {
    let uploaded = client
        .upload(&[Upload::bytes(name, samples::INVOICE_PDF)])
        .await?;
    client
        .start_job(DocumentKind::Invoice, &uploaded[0].doc_id)
        .await
}
