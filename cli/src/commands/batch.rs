//! `invaro batch`: every supported file of a folder through `parse`, then a summary table.

use std::{path::Path, time::Duration};

use futures::StreamExt;

use super::parse::{self, Checked, Outcome};
use crate::{args::Kind, context::Ctx, exit::Failure, output::table_of};

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
    /// How long to wait for each job.
    pub timeout: Duration,
}

/// Runs `invaro batch`.
pub async fn run(ctx: &Ctx, batch: Batch<'_>) -> Result<(), Failure> {
    let (todo, skipped) = scan(batch.dir)?;
    let client = ctx.client(batch.timeout)?;
    let kind = batch.kind.into();
    let mut outcomes: Vec<Outcome> = futures::stream::iter(todo)
        .map(|file| parse::parse_file(ctx, &client, file, kind, true))
        .buffered(batch.concurrency)
        .collect()
        .await;
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let tried = outcomes.len();
    outcomes.extend(skipped);
    if let Some(dir) = batch.out {
        parse::save_all(dir, &mut outcomes)?;
    }
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
