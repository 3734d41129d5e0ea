//! `invaro batch`: every supported file of a folder through `parse`, then a summary table.

use std::{path::Path, time::Duration};

use super::parse::{self, Checked, Deadline, Outcome};
use crate::{
    args::Kind,
    context::Ctx,
    exit::Failure,
    output::table_of,
    outputs,
    pool::{Pool, Ran},
};

/// The options of `invaro batch`.
pub struct Batch<'a> {
    /// The folder.
    pub dir: &'a Path,
    /// What the documents are.
    pub kind: Kind,
    /// Files processed at once.
    pub concurrency: usize,
    /// Where to save results.
    pub out: Option<&'a Path>,
    /// Replace result files that exist.
    pub overwrite: bool,
    /// How long to wait for each job.
    pub timeout: Duration,
}

/// Runs `invaro batch`.
pub async fn run(ctx: &Ctx, batch: Batch<'_>) -> Result<(), Failure> {
    let (todo, skipped) = scan(batch.dir)?;
    let targets = match batch.out {
        Some(dir) => {
            let paths: Vec<&Path> = todo.iter().map(|f| f.path.as_path()).collect();
            Some(outputs::plan(dir, &paths, batch.overwrite)?)
        }
        None => None,
    };
    let client = ctx.client()?;
    let kind = batch.kind.into();
    let deadline = Deadline::after(batch.timeout);
    let items = todo
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let mut outcome = Outcome::new(Some(file.label.clone()));
            outcome.save_as = targets.as_ref().map(|t| t[i].clone());
            (file, outcome)
        })
        .collect();
    let ran = Pool::new(ctx, batch.concurrency)
        .quiet()
        .overwrite(batch.overwrite)
        .run(items, |file, slot| {
            parse::parse_file(ctx, &client, file, kind, Some(deadline), slot)
        })
        .await;
    let failed = ran.outcomes.iter().filter(|o| o.failed()).count();
    let tried = ran.outcomes.len();
    let interrupted = ran.interrupted;
    let mut outcomes = ran.outcomes;
    outcomes.extend(skipped);
    let columns: Vec<_> = [
        ("file", "file"),
        ("status", "status"),
        ("job", "job_id"),
        ("saved to", "saved_to"),
        ("reason", "reason"),
    ]
    .into_iter()
    .filter(|(_, field)| *field != "saved_to" || batch.out.is_some())
    .collect();
    ctx.out.emit(&outcomes, || table_of(&outcomes, &columns));
    // Ctrl-C: the jobs to resume. Otherwise one line for all failures: the table has each.
    if interrupted {
        return Ran {
            outcomes,
            interrupted,
        }
        .conclude(ctx);
    }
    match outcomes.iter().find_map(Outcome::exit) {
        None => Ok(()),
        Some(exit) => Err(Failure::new(
            exit,
            format!("{failed} of {tried} files failed (see the summary)"),
        )),
    }
}

/// The files to parse with their sizes, and the entries skipped with why.
type Scan = (Vec<Checked>, Vec<Outcome>);

/// The supported files of `dir`, and the rest as skipped with the reason.
fn scan(dir: &Path) -> Result<Scan, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::usage(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{}: does not exist", dir.display()),
            _ => format!("{}: cannot be read as a folder: {e}", dir.display()),
        })
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let (mut todo, mut skipped) = (Vec::new(), Vec::new());
    for path in paths {
        match parse::check_file(&path) {
            Ok(size) => todo.push(Checked::new(path, size)),
            Err(reason) => skipped.push(Outcome::skipped(path.display().to_string(), reason)),
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
