//! `invaro parse`, and the pieces `upload`, `wait`, `batch` and `demo` share with it: checking
//! files before anything is sent, following a job, and reporting what became of each item.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use futures::StreamExt;
use invaro::{Client, DocumentKind, Job, MAX_FILE_BYTES, ParsedDocument, Upload};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{
    args::ParseArgs,
    context::Ctx,
    exit::{Exit, Failure},
    progress::Task,
};

/// How many files or jobs one command works on at once (the client's rate limiter still paces
/// the requests).
pub const PARALLEL: usize = 4;

/// Runs `invaro parse`.
pub async fn run(ctx: &Ctx, args: ParseArgs) -> Result<(), Failure> {
    let files = check_all(&args.files)?;
    let client = ctx.client(args.timeout)?;
    let kind = args.kind.into();
    let wait = !args.no_wait;
    let outcomes: Vec<Outcome> = futures::stream::iter(files)
        .map(|file| parse_file(ctx, &client, file, kind, wait))
        .buffered(PARALLEL)
        .collect()
        .await;
    if !wait {
        hint_resume(ctx, kind, &outcomes);
    }
    report(ctx, outcomes, args.out.as_deref())
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
    if meta.len() == 0 {
        return Err("is empty".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "is {} bytes; the API accepts files of at most 10 MB ({MAX_FILE_BYTES} bytes)",
            meta.len()
        ));
    }
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|file| file.take(8).read_to_end(&mut head))
        .map_err(|e| format!("cannot be read: {e}"))?;
    invaro::sniff(&head)
        .map(|_| meta.len())
        .ok_or_else(|| "is not a PDF, JPEG or PNG file (judged by its first bytes)".into())
}

/// Uploads one file, starts its job and, when `wait`, follows it to the end.
pub async fn parse_file(
    ctx: &Ctx,
    client: &Client,
    file: Checked,
    kind: DocumentKind,
    wait: bool,
) -> Outcome {
    let task = ctx.progress.task(&file.label);
    let mut outcome = Outcome::new(Some(file.label.clone()));
    let result = async {
        let document_id = upload_one(client, &task, &file).await?;
        task.step(&format!("uploaded as document {document_id}"));
        outcome.document_id = Some(document_id.clone());
        let job = client.start_job(kind, &document_id).await?;
        outcome.job_id = Some(job.id().to_string());
        if !wait {
            task.done(&format!("started job {}", job.id()));
            return Ok(None);
        }
        follow(ctx, &task, &job).await.map(Some)
    }
    .await;
    outcome.finish(&task, result)
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

/// Waits for `job`, showing each change of status, and returns what it parsed.
pub async fn follow(ctx: &Ctx, task: &Task, job: &Job) -> Result<ParsedDocument, Failure> {
    ctx.running.add(job.kind(), job.id());
    let updates = job.updates();
    futures::pin_mut!(updates);
    let mut last = None;
    let mut failure = None;
    while let Some(update) = updates.next().await {
        match update {
            Ok(current) => {
                task.job(&current);
                last = Some(current);
            }
            Err(e) if e.job_id().is_some() => failure = Some(Failure::from(e)),
            Err(e) => failure = Some(Failure::from(e).about(format!("job {}", job.id()))),
        }
    }
    ctx.running.remove(job.kind(), job.id());
    match (failure, last) {
        (Some(failure), _) => Err(failure),
        (None, Some(last)) => Ok(ParsedDocument::new(job.kind(), last)),
        (None, None) => Err(Failure::new(Exit::Api, "the job reported no status")),
    }
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
    /// `done`, `uploaded`, `started`, `failed`, `timed_out` or `skipped`.
    pub status: &'static str,
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
    #[serde(skip)]
    failure: Option<Failure>,
}

impl Outcome {
    /// An outcome about `file`, not settled yet.
    pub fn new(file: Option<String>) -> Self {
        Self {
            file,
            status: "started",
            ..Self::default()
        }
    }

    /// A file not even tried, and why.
    pub fn skipped(file: String, reason: String) -> Self {
        Self {
            file: Some(file),
            status: "skipped",
            reason: Some(reason),
            ..Self::default()
        }
    }

    /// Settles the outcome: `Ok(Some)` parsed, `Ok(None)` started only, `Err` failed.
    pub fn finish(mut self, task: &Task, result: Result<Option<ParsedDocument>, Failure>) -> Self {
        match result {
            Ok(Some(parsed)) => {
                task.done("done");
                self.status = "done";
                self.result = Some(parsed.output().cloned().unwrap_or_default());
            }
            Ok(None) => {}
            Err(failure) => {
                task.failed();
                self.fail(failure);
            }
        }
        self
    }

    /// Records a failure.
    pub fn fail(&mut self, failure: Failure) {
        self.status = match failure.exit {
            Exit::TimedOut => "timed_out",
            _ => "failed",
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

/// Saves results under `out` if given, prints every outcome, and fails like the first failure.
///
/// Without `--json`: each result as pretty JSON (or the path it was saved to), each started job's
/// id, each uploaded document's id, one per line, so they can be piped into the next command.
pub fn report(ctx: &Ctx, mut outcomes: Vec<Outcome>, out: Option<&Path>) -> Result<(), Failure> {
    if let Some(dir) = out {
        save_all(dir, &mut outcomes)?;
    }
    if ctx.out.is_json() {
        ctx.out.json(&outcomes);
    } else {
        for outcome in &outcomes {
            let line = match (&outcome.saved_to, &outcome.result, outcome.status) {
                (Some(path), _, _) => path.clone(),
                (None, Some(result), _) => {
                    serde_json::to_string_pretty(result).expect("a JSON map always serializes")
                }
                (None, None, "started") => outcome.job_id.clone().unwrap_or_default(),
                (None, None, "uploaded") => outcome.document_id.clone().unwrap_or_default(),
                _ => continue,
            };
            ctx.out.line(&line);
        }
    }
    first_failure(ctx, outcomes)
}

/// Reports every failure but the first on stderr and returns the first, for the exit code.
pub fn first_failure(ctx: &Ctx, outcomes: Vec<Outcome>) -> Result<(), Failure> {
    let mut failures = outcomes.into_iter().filter_map(|outcome| {
        let name = outcome.name().to_string();
        outcome.failure.map(|failure| {
            if failure.message.contains(&name) {
                failure
            } else {
                failure.about(name)
            }
        })
    });
    let first = failures.next();
    for other in failures {
        ctx.progress.note(&format!("invaro: error: {other}"));
    }
    first.map_or(Ok(()), Err)
}

/// Writes each result to `dir/<file name or job id>.json`.
pub fn save_all(dir: &Path, outcomes: &mut [Outcome]) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("{}: cannot be created: {e}", dir.display())))?;
    for outcome in outcomes.iter_mut() {
        let Some(result) = &outcome.result else {
            continue;
        };
        let stem = match &outcome.file {
            Some(file) => Path::new(file)
                .file_name()
                .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned()),
            None => outcome.name().to_string(),
        };
        let path = dir.join(format!("{stem}.json"));
        let text = serde_json::to_string_pretty(result).expect("a JSON map always serializes");
        std::fs::write(&path, text + "\n")
            .map_err(|e| Failure::new(Exit::Api, format!("{}: {e}", path.display())))?;
        outcome.saved_to = Some(path.display().to_string());
    }
    Ok(())
}

/// Tells how to pick up jobs started without waiting.
pub fn hint_resume(ctx: &Ctx, kind: DocumentKind, outcomes: &[Outcome]) {
    let ids: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == "started")
        .filter_map(|o| o.job_id.as_deref())
        .collect();
    if !ids.is_empty() {
        ctx.progress.note(&format!(
            "wait for the results with: invaro wait --kind {kind} {}",
            ids.join(" ")
        ));
    }
}
