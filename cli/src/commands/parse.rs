//! `invaro parse`, and the pieces `upload`, `wait`, `batch` and `demo` share with it: checking
//! files before anything is sent, following a job, and reporting what became of each item.

use std::{
    io::Read,
    path::{Path, PathBuf},
    time::Duration,
};

use invaro::{Client, DocumentKind, Job, ParsedDocument, Upload, facts, webhook};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::args::ParseArgs;

use crate::context::Ctx;

use crate::exit::{Exit, Failure};

use crate::pool::{Pool, Slot};

use crate::progress::Task;

use crate::out_dir;

/// How many files or jobs one command works on at once (the client's rate limiter still paces
/// the requests).
pub const PARALLEL: usize = 4;

/// Runs `invaro parse`.
pub async fn run(ctx: &Ctx, args: ParseArgs) -> Result<(), Failure> {
    let files = check_all(&args.files)?;
    let targets = match &args.out {
        Some(dir) => {
            let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
            Some(out_dir::plan(dir, &paths, args.overwrite)?)
        }
        None => None,
    };
    let (client, _listener) = client_for(ctx, &args).await?;
    let kind = args.kind;
    let wait = (!args.no_wait).then(|| Deadline::after(args.timeout));
    let items = files
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let mut outcome = Outcome::new(Some(file.label.clone()));
            outcome.save_as = targets.as_ref().map(|t| t[i].clone());
            (file, outcome)
        })
        .collect();
    Pool::new(ctx, PARALLEL)
        .overwrite(args.overwrite)
        .run(items, |file, slot| {
            parse_file(ctx, &client, file, kind, wait, slot)
        })
        .await
        .finish(ctx)
}

/// The command's client and, with `--webhook-listen`, the listener it receives webhooks on
/// (kept until the command ends).
async fn client_for(
    ctx: &Ctx,
    args: &ParseArgs,
) -> Result<(Client, Option<webhook::Listener>), Failure> {
    let Some(addr) = &args.webhook_listen else {
        return Ok((ctx.client()?, None));
    };
    let secret = args.webhook_secret.as_deref().unwrap_or_default();
    let verifier = webhook::Verifier::new(secret)
        .map_err(|e| Failure::usage(format!("--webhook-secret: {e}")))?;
    let receiver = webhook::Receiver::new(verifier);
    let listener = webhook::Listener::bind(addr.as_str(), receiver.clone())
        .await
        .map_err(|e| Failure::usage(format!("--webhook-listen {addr}: cannot listen: {e}")))?;
    let url = args.webhook_url.clone().unwrap_or_else(|| listener.url());
    let client = ctx.builder()?.webhooks(&receiver, url).build()?;
    Ok((client, Some(listener)))
}

/// A file that passed [`check_file`].
#[derive(Clone, Debug)]
pub struct Checked {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// What to call it in progress and results (its path, unless told otherwise).
    pub label: String,
}

impl Checked {
    /// A checked file shown under its path.
    pub fn new(path: PathBuf, size: u64) -> Self {
        let label = path.display().to_string();
        Self { path, size, label }
    }
}

/// Checks every file, failing on the first bad one before anything is uploaded.
pub fn check_all(paths: &[PathBuf]) -> Result<Vec<Checked>, Failure> {
    paths
        .iter()
        .map(|path| match check_file(path) {
            Ok(size) => Ok(Checked::new(path.clone(), size)),
            Err(rule) => Err(Failure::usage(format!("{}: {rule}", path.display()))),
        })
        .collect()
}

/// The size of a file the API would accept, or the rule it breaks.
pub fn check_file(path: &Path) -> Result<u64, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        _ => format!("cannot be read: {e}"),
    })?;
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    let mut head = Vec::with_capacity(facts::HEAD_BYTES);
    std::fs::File::open(path)
        .and_then(|file| file.take(facts::HEAD_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| format!("cannot be read: {e}"))?;
    facts::check(meta.len(), &head).map(|_| meta.len())
}

/// Uploads one file, starts its job and, when told until when to wait, follows it to the end,
/// keeping `slot` up to date at every step.
pub async fn parse_file(
    ctx: &Ctx,
    client: &Client,
    file: Checked,
    kind: DocumentKind,
    wait: Option<Deadline>,
    slot: Slot,
) {
    let task = ctx.progress.task(&file.label);
    slot.update(|o| o.kind = Some(kind));
    let result = async {
        let document_id = upload_one(client, &task, &file).await?;
        task.step(&format!("uploaded as document {document_id}"));
        slot.update(|o| o.document_id = Some(document_id.clone()));
        let job = client.start_job(kind, &document_id).await?;
        slot.update(|o| o.job_id = Some(job.id().to_string()));
        let Some(deadline) = wait else {
            task.done(&format!("started job {}", job.id()));
            return Ok(None);
        };
        follow(&task, &job, deadline).await.map(Some)
    }
    .await;
    slot.update(|o| o.finish(&task, result));
}

/// Uploads one checked file and returns its document id.
pub async fn upload_one(client: &Client, task: &Task, file: &Checked) -> Result<String, Failure> {
    let uploaded = client
        .upload_with_progress(&[Upload::path(&file.path)], task.uploading(file.size))
        .await?;
    let document = uploaded.into_iter().next().ok_or_else(|| {
        Failure::new(
            Exit::Api,
            "the upload response lists no document for the file",
        )
    })?;
    Ok(document.doc_id)
}

/// When waiting ends: `--timeout` after the command was run, for every job alike, however
/// long it queued behind the others.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    /// None when `timeout` from now is past what a clock can hold: the client's own applies.
    at: Option<tokio::time::Instant>,
    timeout: Duration,
}

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        let at = tokio::time::Instant::now().checked_add(timeout);
        Self { at, timeout }
    }
}

/// Waits for `job` until `deadline`, showing each change of status, and returns what it parsed.
pub async fn follow(task: &Task, job: &Job, deadline: Deadline) -> Result<ParsedDocument, Failure> {
    let mut last_status = None;
    let wait = job.wait_with(|update| {
        task.job(update);
        last_status = Some(update.status.clone());
    });
    let waited = match deadline.at {
        Some(at) => tokio::time::timeout_at(at, wait).await,
        None => Ok(wait.await),
    };
    match waited {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(e)) if e.job_id().is_some() => Err(Failure::from(e)),
        Ok(Err(e)) => Err(Failure::from(e).about(format!("job {}", job.id()))),
        Err(_) => {
            let timeout = deadline.timeout;
            let message = match last_status {
                Some(status) => format!(
                    "job {} still {status} after {timeout:?}; resume it with invaro wait",
                    job.id(),
                ),
                None => format!(
                    "job {}: no status seen within {timeout:?}; resume it with invaro wait",
                    job.id()
                ),
            };
            Err(Failure::new(Exit::TimedOut, message))
        }
    }
}

/// Where one file, document or job ended up, as the JSON output spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Parsed (and saved, with `--out`).
    Done,
    /// Uploaded only (`invaro upload`).
    Uploaded,
    /// Its job started and was not waited on to the end.
    #[default]
    Started,
    /// Something went wrong; `reason` says what.
    Failed,
    /// Its job was still running at the deadline.
    TimedOut,
    /// Not tried (for example, its result file exists).
    Skipped,
    /// Ctrl-C came first.
    Interrupted,
    /// The batch journal cannot tell whether its upload or start reached the API.
    InDoubt,
}

/// What became of one file, document or job: one entry of the JSON output.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// The file, when the command started from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The uploaded document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// The parse job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Where it ended up (after Ctrl-C, `job_id` is the job left running, if it started).
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The exit code the failure alone would give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// Where the result was saved (`--out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<String>,
    /// What was parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Map<String, Value>>,
    /// What the document is, when known (for the resume command).
    #[serde(skip)]
    pub kind: Option<DocumentKind>,
    /// Where to save the result (`--out`).
    #[serde(skip)]
    pub save_as: Option<PathBuf>,
    #[serde(skip)]
    settled: bool,
    #[serde(skip)]
    failure: Option<Failure>,
}

impl Outcome {
    /// An outcome about `file`, not settled yet.
    pub fn new(file: Option<String>) -> Self {
        Self {
            file,
            status: Status::Started,
            ..Self::default()
        }
    }

    /// A file not even tried, and why.
    pub fn skipped(file: String, reason: String) -> Self {
        Self {
            file: Some(file),
            status: Status::Skipped,
            reason: Some(reason),
            settled: true,
            ..Self::default()
        }
    }

    /// Settles the outcome: `Ok(Some)` parsed, `Ok(None)` started only, `Err` failed.
    pub fn finish(&mut self, task: &Task, result: Result<Option<ParsedDocument>, Failure>) {
        match result {
            Ok(Some(parsed)) => {
                task.done("done");
                self.settle(Status::Done);
                self.result = Some(parsed.output().cloned().unwrap_or_default());
            }
            Ok(None) => self.settle(Status::Started),
            Err(failure) => {
                task.failed();
                self.fail(failure);
            }
        }
    }

    /// Settles the outcome with `status`.
    pub fn settle(&mut self, status: Status) {
        self.status = status;
        self.settled = true;
    }

    /// Whether the item is over (whatever became of it).
    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// Ctrl-C came before the item settled.
    pub fn interrupt(&mut self) {
        if !self.settled {
            self.settle(Status::Interrupted);
            self.reason = Some("interrupted before it finished".into());
        }
    }

    /// Whether its job is still running as far as this command knows.
    pub fn job_left_running(&self) -> bool {
        self.job_id.is_some()
            && matches!(
                self.status,
                Status::Started | Status::TimedOut | Status::Interrupted
            )
    }

    /// What human output prints for it on stdout: where the result was saved, else the result,
    /// the job id of a job started, or the id of a document uploaded.
    pub fn line(&self) -> Option<String> {
        match (&self.saved_to, &self.result, self.status) {
            (Some(path), _, _) => Some(path.clone()),
            (None, Some(result), _) => {
                Some(serde_json::to_string_pretty(result).expect("a JSON map always serializes"))
            }
            (None, None, Status::Started) => self.job_id.clone(),
            (None, None, Status::Uploaded) => self.document_id.clone(),
            _ => None,
        }
    }

    /// Its failure, naming it, if it failed.
    pub fn into_failure(self) -> Option<Failure> {
        let name = self.name().to_string();
        self.failure.map(|failure| {
            if failure.message.contains(&name) {
                failure
            } else {
                failure.about(name)
            }
        })
    }

    /// Records a failure.
    pub fn fail(&mut self, failure: Failure) {
        self.settled = true;
        self.status = match failure.exit {
            Exit::TimedOut => Status::TimedOut,
            _ => Status::Failed,
        };
        self.reason = Some(failure.message.clone());
        self.exit_code = Some(failure.exit as u8);
        self.failure = Some(failure);
    }

    /// Whether this one went wrong.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// The exit code its failure calls for, if it failed.
    pub fn exit(&self) -> Option<Exit> {
        self.failure.as_ref().map(|failure| failure.exit)
    }

    /// What to call it in a message: the file, else the job or document id.
    fn name(&self) -> &str {
        self.file
            .as_deref()
            .or(self.job_id.as_deref())
            .or(self.document_id.as_deref())
            .unwrap_or("?")
    }
}
