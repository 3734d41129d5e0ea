//! A folder of statements through a journaled batch: the example stops its own first run once
//! three jobs have started (as Ctrl-C or a crash would), then runs again from the journal, which
//! uploads and starts nothing twice.
//!
//! ```text
//! cargo run -p durable-batch      # a local sandbox, a temporary folder (feature journal)
//! ```

use std::sync::{Arc, atomic::AtomicUsize, atomic::Ordering::SeqCst};
use std::{error::Error, io::Write};

use invaro::batch::{Entry, Event, Item, Journal, Runner, State};
use invaro::{Client, DocumentKind};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// Runs a folder of eight statements, interrupted and resumed.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()?;
    let folder = tempfile::tempdir()?;
    let mut items = Vec::new();
    for month in 1..=8 {
        let path = folder.path().join(format!("statement-{month:02}.pdf"));
        let content = [samples::STATEMENT_PDF, format!("%{month}\n").as_bytes()].concat();
        std::fs::write(&path, content)?; // each file differs, as real statements do
        items.push(Item::new(&path).save_as(path.with_extension("json")));
    }
    let journal_path = folder.path().join(".invaro-batch.sqlite");

    // First run: stopped by dropping its future once three jobs have started.
    let (stop, started) = (Arc::new(tokio::sync::Notify::new()), AtomicUsize::new(0));
    let notify = stop.clone();
    let observer = move |_: &Entry, event: &Event| {
        if matches!(event, Event::Started { .. }) && started.fetch_add(1, SeqCst) == 2 {
            notify.notify_one();
        }
    };
    {
        let journal = Journal::open(&journal_path)?;
        let runner = Runner::new(&client, DocumentKind::Statement).journal(&journal);
        let runner = runner.concurrency(1).on_event(Arc::new(observer));
        tokio::select! {
            finished = runner.run(items.clone()) => { finished?; }
            () = stop.notified() => writeln!(out, "Interrupted once 3 jobs had started")?,
        }
    } // the journal is closed, as a process ending would close it, which frees its lock
    let done = |entries: &[Entry]| entries.iter().filter(|e| e.state == State::Done).count();
    let entries = Journal::read(&journal_path)?;
    writeln!(
        out,
        "Journal after the interruption: {} of 8 done",
        done(&entries)
    )?;

    // Second run, same journal: finished files are skipped, the rest taken up where they were.
    let journal = Journal::open(&journal_path)?;
    let entries = Runner::new(&client, DocumentKind::Statement)
        .journal(&journal)
        .run(items)
        .await?;
    writeln!(
        out,
        "After resuming: {} of {} done",
        done(&entries),
        entries.len()
    )?;

    let stats = sandbox.stats();
    let uploads = stats.uploads_by_sha256.values().all(|&n| n == 1);
    let starts = stats.job_starts_by_document.values().all(|&n| n == 1);
    writeln!(
        out,
        "Each file uploaded once: {uploads}; each document started once: {starts}"
    )?;
    Ok(())
}
