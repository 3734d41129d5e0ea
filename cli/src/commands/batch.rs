//! `invaro batch`: every supported file of a folder through the SDK's journaled batch engine
//! ([`invaro::batch`]), so that a rerun resumes; then a summary table. `--status` prints the
//! journal without touching the API.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use invaro::{
    DocumentKind,
    batch::{Entry, Event, Item, Journal, Runner, State},
};
use serde::Serialize;

use super::parse;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::out_dir;
use crate::pool::{ItemReport, Ran, Status};
use crate::progress::Overall;
use crate::stdout::{local_time, table_of};

/// The journal's file name inside the batch's folder, unless `--journal` says otherwise.
pub const JOURNAL_NAME: &str = ".invaro-batch.sqlite";

/// The options of `invaro batch`.
pub struct BatchOptions<'a> {
    /// The folder.
    pub dir: &'a Path,
    /// What the documents are.
    pub kind: DocumentKind,
    /// Files processed at once.
    pub concurrency: usize,
    /// Where to save results.
    pub out: Option<&'a Path>,
    /// Replace result files that exist.
    pub overwrite: bool,
    /// How long to wait for each job.
    pub timeout: Duration,
    /// The journal.
    pub journal: &'a Path,
    /// Send again what an earlier run left in doubt.
    pub retry_in_doubt: bool,
}

/// Where the journal of the batch of `dir` is kept by default.
pub fn default_journal(dir: &Path) -> PathBuf {
    dir.join(JOURNAL_NAME)
}

/// Runs `invaro batch`.
pub async fn run(ctx: &Ctx, batch: BatchOptions<'_>) -> Result<(), Failure> {
    let (todo, skipped) = scan(batch.dir, batch.journal)?;
    let journal = Journal::open(batch.journal).map_err(|e| {
        let unusable = matches!(e, invaro::Error::Journal { .. });
        let failure = Failure::from(e);
        if unusable {
            Failure::new(
                failure.exit,
                format!("{failure}; choose another place with --journal PATH"),
            )
        } else {
            failure
        }
    })?;
    let known: HashSet<PathBuf> = journal.entries()?.into_iter().map(|e| e.path).collect();
    let targets = match batch.out {
        Some(dir) => {
            let paths: Vec<&Path> = todo.iter().map(PathBuf::as_path).collect();
            // A result file of a file the journal knows is the journal's own: a rerun may
            // replace it (with the same result, or that of the file's new content).
            let ours = |i: usize| batch.overwrite || known.contains(&todo[i]);
            Some(out_dir::plan_replacing(dir, &paths, ours)?)
        }
        None => None,
    };
    let client = ctx.client()?;
    let items: Vec<Item> = todo
        .iter()
        .enumerate()
        .map(|(i, path)| match &targets {
            Some(targets) => Item::new(path).save_as(&targets[i]),
            None => Item::new(path),
        })
        .collect();
    let overall = Arc::new(ctx.progress.overall(items.len() as u64));
    let shown = overall.clone();
    let runner = Runner::new(&client, batch.kind)
        .journal(&journal)
        .concurrency(batch.concurrency)
        .retry_in_doubt(batch.retry_in_doubt)
        .deadline(batch.timeout)
        .on_event(Arc::new(move |entry, event| {
            show(&shown, &entry.path, event)
        }));
    let interrupted = tokio::select! {
        ran = runner.run(items) => {
            ran?;
            false
        }
        () = ctx.interrupt.wait() => true,
    };
    overall.finish();
    let rows = journal.entries()?;
    let mut outcomes: Vec<ItemReport> = todo
        .iter()
        .filter_map(|path| rows.iter().find(|row| &row.path == path))
        .map(|row| outcome_of(row, interrupted))
        .collect();
    let tried = outcomes.len();
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let in_doubt: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status == Status::InDoubt)
        .filter_map(|o| o.file.clone())
        .collect();
    outcomes.extend(skipped);
    print_summary(ctx, &outcomes, batch.out.is_some());
    let resume = format!(
        "run the same command again to resume from the journal {}",
        batch.journal.display()
    );
    if interrupted {
        let ran = Ran {
            outcomes,
            interrupted,
        };
        return ran.conclude(ctx).map_err(|mut failure| {
            failure.message = format!("{}; or {resume}", failure.message);
            failure
        });
    }
    let Some(exit) = outcomes.iter().find_map(ItemReport::exit) else {
        return Ok(());
    };
    let mut message = format!("{failed} of {tried} files failed (see the summary)");
    if !in_doubt.is_empty() {
        message.push_str(&format!(
            "; {} in doubt (their upload or start may have reached the API, which cannot tell): \
             {}; rerun with --retry-in-doubt to send them again",
            in_doubt.len(),
            in_doubt.join(" ")
        ));
    } else {
        message.push_str(&format!("; {resume}"));
    }
    Err(Failure::new(exit, message))
}

/// One line per step without a terminal; the bar's counts with one.
fn show(overall: &Overall, path: &Path, event: &Event) {
    let label = path.display().to_string();
    let (text, settled) = match event {
        Event::Skipped => ("done in an earlier run".to_string(), Some("done earlier")),
        Event::Uploading => ("uploading".into(), None),
        Event::Uploaded { document_id } => (format!("uploaded as document {document_id}"), None),
        Event::Starting => ("starting".into(), None),
        Event::Started { job_id } => (format!("started job {job_id}"), None),
        Event::Done => ("done".into(), Some("done")),
        Event::Failed { reason } => (format!("failed: {reason}"), Some("failed")),
        Event::InDoubt { reason } => (format!("in doubt: {reason}"), Some("in doubt")),
        Event::Unfinished { reason } => (format!("still running: {reason}"), Some("unfinished")),
        _ => return,
    };
    overall.step(&label, &text);
    if let Some(how) = settled {
        overall.settled(how);
    }
}

/// What the summary says of a file, from its row.
fn outcome_of(row: &Entry, interrupted: bool) -> ItemReport {
    let mut outcome = ItemReport::new(Some(row.path.display().to_string()));
    outcome.kind = Some(row.kind);
    outcome.document_id = row.document_id.clone();
    outcome.job_id = row.job_id.clone();
    outcome.saved_to = row.result_path.as_ref().map(|p| p.display().to_string());
    outcome.result = row
        .result
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok());
    let reason = row.error.clone().unwrap_or_default();
    match row.state {
        State::Done => outcome.settle(Status::Done),
        State::Failed if row.status.as_deref() == Some("failed") => {
            outcome.fail(Failure::new(Exit::JobFailed, reason));
        }
        State::Failed => outcome.fail(Failure::new(Exit::Api, reason)),
        _ if row.in_doubt() => {
            outcome.fail(Failure::new(Exit::Api, format!("in doubt: {reason}")));
            outcome.status = Status::InDoubt;
        }
        State::Started if !interrupted && row.error.is_some() => {
            outcome.fail(Failure::new(
                Exit::TimedOut,
                format!("{reason}; a rerun waits for it again"),
            ));
        }
        _ => outcome.interrupt(),
    }
    outcome
}

/// The per-file table (or, with `--json`, every outcome with its result).
fn print_summary(ctx: &Ctx, outcomes: &[ItemReport], saved: bool) {
    let columns: Vec<_> = [
        ("file", "file"),
        ("status", "status"),
        ("job", "job_id"),
        ("saved to", "saved_to"),
        ("reason", "reason"),
    ]
    .into_iter()
    .filter(|(_, field)| *field != "saved_to" || saved)
    .collect();
    ctx.out.emit(&outcomes, || table_of(outcomes, &columns));
}

/// One row of `invaro batch --status`.
#[derive(Serialize)]
struct Row {
    file: String,
    state: &'static str,
    in_doubt: bool,
    kind: &'static str,
    size: u64,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    updated: String,
}

/// Runs `invaro batch --status`: the journal's rows, read without its lock and without the API.
pub fn status(ctx: &Ctx, journal: &Path) -> Result<(), Failure> {
    let rows: Vec<Row> = Journal::read(journal)?
        .into_iter()
        .map(|e| Row {
            file: e.path.display().to_string(),
            state: if e.in_doubt() {
                "in_doubt"
            } else {
                e.state.as_str()
            },
            in_doubt: e.in_doubt(),
            kind: e.kind.as_str(),
            size: e.size,
            sha256: e.sha256.clone(),
            document_id: e.document_id.clone(),
            job_id: e.job_id.clone(),
            status: e.status.clone(),
            saved_to: e.result_path.as_ref().map(|p| p.display().to_string()),
            reason: e.error.clone(),
            updated: chrono::DateTime::from_timestamp_millis(e.updated_at)
                .map(local_time)
                .unwrap_or_default(),
        })
        .collect();
    let columns = [
        ("file", "file"),
        ("state", "state"),
        ("document", "document_id"),
        ("job", "job_id"),
        ("saved to", "saved_to"),
        ("updated", "updated"),
        ("reason", "reason"),
    ];
    ctx.out.emit(&rows, || {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for row in &rows {
            *counts.entry(row.state).or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!(
            "{}\n{} files: {}",
            table_of(&rows, &columns),
            rows.len(),
            counts.join(", ")
        )
    });
    Ok(())
}

/// The files to parse, and the entries skipped with why (the journal's own files are left
/// out).
type Scan = (Vec<PathBuf>, Vec<ItemReport>);

/// The supported files of `dir`, and the rest as skipped with the reason.
fn scan(dir: &Path, journal: &Path) -> Result<Scan, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::usage(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{}: does not exist", dir.display()),
            _ => format!("{}: cannot be read as a folder: {e}", dir.display()),
        })
    })?;
    let journal = journal.to_string_lossy();
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| !path.to_string_lossy().starts_with(journal.as_ref()))
        .collect();
    paths.sort();
    let (mut todo, mut skipped) = (Vec::new(), Vec::new());
    for path in paths {
        match parse::check_file(&path) {
            Ok(_) => todo.push(path),
            Err(reason) => skipped.push(ItemReport::skipped(path.display().to_string(), reason)),
        }
    }
    if todo.is_empty() {
        return Err(Failure::usage(format!(
            "{}: has no PDF, JPEG or PNG file of at most 10 MB to parse ({} entries skipped)",
            dir.display(),
            skipped.len()
        )));
    }
    Ok((todo, skipped))
}
