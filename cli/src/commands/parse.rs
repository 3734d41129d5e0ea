//! `invaro parse`, and the pieces `upload`, `wait`, `batch` and `demo` share with it: checking
//! files before anything is sent and following a job.

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use invaro::{
    Client, DocumentKind, ParsedDocument, Upload,
    batch::{Event, Item, Runner, State},
    facts, webhook,
};

use crate::args::ParseArgs;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::out_dir;
use crate::pool::{ItemReport, Pool, Slot};
use crate::progress::Task;

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
            let mut outcome = ItemReport::new(Some(file.label.clone()));
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
    let client = ctx.watching(ctx.builder()?.webhooks(&receiver, url).build()?);
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
/// through the SDK's batch engine, keeping `slot` up to date at every step.
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
    let mut runner = Runner::new(client, kind).start_only(wait.is_none());
    if let Some(progress) = task.uploading(file.size) {
        runner = runner.upload_progress(progress);
    }
    let result = run_one(runner, Item::new(&file.path), wait, &task, &slot).await;
    if let Ok(None) = result {
        let job = slot.read(|o| o.job_id.clone()).unwrap_or_default();
        task.done(&format!("started job {job}"));
    }
    slot.update(|o| o.finish(&task, result));
}

/// Runs one item through `runner`, showing its steps on `task` and recording the document
/// and job ids in `slot` as they are learned: what it parsed, `None` when it was only to be
/// started, or why not.
pub async fn run_one(
    runner: Runner<'_>,
    item: Item,
    wait: Option<Deadline>,
    task: &Task,
    slot: &Slot,
) -> Result<Option<ParsedDocument>, Failure> {
    let (shown, ids) = (task.clone(), slot.clone());
    let mut runner = runner.on_event(Arc::new(move |_, event| match event {
        Event::Uploaded { document_id } => {
            shown.step(&format!("uploaded as document {document_id}"));
            ids.update(|o| o.document_id = Some(document_id.clone()));
        }
        Event::Started { job_id } => ids.update(|o| o.job_id = Some(job_id.clone())),
        Event::Status(job) => shown.job(job),
        _ => {}
    }));
    if let Some(at) = wait.and_then(|w| w.at) {
        runner = runner.until(at);
    }
    let settled = runner.run_settled(vec![item]).await?.pop();
    let Some(settled) = settled else {
        return Err(Failure::new(
            Exit::Api,
            "the batch engine returned no entry",
        ));
    };
    if let Some(parsed) = settled.parsed {
        return Ok(Some(parsed));
    }
    let entry = settled.entry;
    let Some(error) = settled.error else {
        if wait.is_none() && entry.state == State::Started {
            return Ok(None);
        }
        let reason = entry.error.unwrap_or_else(|| "did not finish".into());
        return Err(Failure::new(Exit::Api, reason));
    };
    let error = Arc::try_unwrap(error).map_err(|shared| shared.to_string());
    let job = entry.job_id.unwrap_or_default();
    Err(match error {
        Ok(invaro::Error::WaitTimeout { last_status, .. }) => {
            let timeout = wait.map(|w| w.timeout).unwrap_or_default();
            let message = match last_status {
                Some(status) => format!(
                    "job {job} still {status} after {timeout:?}; resume it with invaro wait"
                ),
                None => format!(
                    "job {job}: no status seen within {timeout:?}; resume it with invaro wait"
                ),
            };
            Failure::new(Exit::TimedOut, message)
        }
        Ok(e) if entry.state != State::Started || e.job_id().is_some() => Failure::from(e),
        Ok(e) => Failure::from(e).about(format!("job {job}")),
        Err(message) => Failure::new(Exit::Api, message),
    })
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
