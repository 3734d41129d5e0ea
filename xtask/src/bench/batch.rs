//! Section 6: large batches. 200 documents through the journaled batch engine (`invaro::batch`,
//! what `invaro batch` runs) against the sandbox limited to 60 requests per window, with time
//! compressed 60 times as in the polling section (a window of 1 s stands for the API's minute,
//! a job's 15 s of processing takes 0.25 s, and the client's policies are divided by 60 too).
//! The engine is driven from Rust rather than through the binary because the binary's
//! `--rate-limit` counts per real minute; the code path is the same. The sandbox sends no
//! `X-RateLimit-*` or `Retry-After` headers ([`invaro_sandbox::SandboxBuilder::rate_limit_headers`]):
//! they are in whole seconds, and a second here is the API's minute, so a reset rounded up by
//! the API's second would hold the client up to a whole window. The client paces itself with its
//! own limiter alone, as in section 4; the 429s it meets (none expected) are counted.
//!
//! The floor is what the requests alone impose: each document needs an upload, a start and at
//! least one status call, so 600 requests, of which the first window carries 60 and each later
//! window 60 more: the last cannot go before the start of the tenth window. The makespan is
//! measured against it (target at most 1.15 times). The same batch is then run again with the
//! run dropped once half the documents are done, as Ctrl-C or a crash would, and resumed from
//! its journal; its requests, counted by the sandbox, are compared with the uninterrupted run's
//! (target at most 1.05 times).

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use invaro::{
    DocumentKind,
    batch::{Event, Item, Journal, Runner},
};
use invaro_sandbox::{JobTimings, Sandbox, samples};
use tokio::{sync::Notify, time::Instant};

use super::{
    polling::{LIMIT, SCALE, WINDOW, scaled},
    report::Figure,
};

const DOCUMENTS: usize = 200;
/// Files uploading or starting at once: the default of `invaro batch` (started jobs are waited
/// on without a slot).
const CONCURRENCY: usize = 4;
/// Requests each document needs at the least: upload, start, one status call.
const REQUESTS_EACH: usize = 3;

/// What one run saw.
struct Measured {
    seconds: f64,
    requests: u64,
    /// Requests the sandbox refused with 429.
    refused: u64,
}

/// Runs the section and returns its figures.
pub fn run(work: &Path) -> Result<Vec<Figure>, String> {
    let dir = work.join("batch");
    let _ = std::fs::remove_dir_all(&dir);
    let files = documents(&dir.join("docs"), DOCUMENTS)?;
    let whole = one_run(&files, &dir.join("whole.sqlite"), false)?;
    let resumed = one_run(&files, &dir.join("resumed.sqlite"), true)?;
    let requests = DOCUMENTS * REQUESTS_EACH;
    let windows = requests.div_ceil(LIMIT as usize) - 1;
    let floor = WINDOW.as_secs_f64() * windows as f64;
    let real = |s: f64| s * f64::from(SCALE);
    let name = |what: &str| format!("batch of {DOCUMENTS} under 60/min: {what}");
    Ok(vec![
        Figure::new(name("makespan"), real(whole.seconds), "s")
            .against(
                "floor set by its requests",
                real(floor),
                whole.seconds / floor,
            )
            .target("<= 1.15x the floor"),
        Figure::new(
            name("requests, interrupted at half and resumed"),
            resumed.requests as f64,
            "requests",
        )
        .against(
            "uninterrupted",
            whole.requests as f64,
            resumed.requests as f64 / whole.requests as f64,
        )
        .target("<= 1.05x uninterrupted"),
        Figure::new(
            name("429s received, both runs"),
            (whole.refused + resumed.refused) as f64,
            "responses",
        )
        .target("0 with the limiter on"),
    ])
}

/// `count` distinct PDFs written afresh into `dir` (emptied first).
pub(super) fn documents(dir: &Path, count: usize) -> Result<Vec<PathBuf>, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    (0..count)
        .map(|i| {
            let path = dir.join(format!("statement-{i:03}.pdf"));
            let mut bytes = samples::INVOICE_PDF.to_vec();
            bytes.extend_from_slice(format!("\n% copy {i}\n").as_bytes());
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// One batch on a fresh sandbox and journal; with `interrupt`, dropped at half and resumed.
fn one_run(files: &[PathBuf], journal: &Path, interrupt: bool) -> Result<Measured, String> {
    let (server, runtime) = super::server::runtimes()?;
    let sandbox: Sandbox = server
        .block_on(
            Sandbox::builder()
                .rate_limit(LIMIT, WINDOW)
                .rate_limit_headers(false)
                .job_timings(JobTimings {
                    pending: Duration::ZERO,
                    processing: scaled(Duration::from_secs(15)),
                })
                .start(),
        )
        .map_err(|e| format!("the sandbox: {e}"))?;
    let seconds = runtime.block_on(batch(&sandbox, files, journal, interrupt))?;
    let stats = sandbox.stats();
    eprintln!(
        "bench: batch{}: {seconds:.2} s, {} requests, by status {:?}",
        if interrupt {
            " (interrupted, resumed)"
        } else {
            ""
        },
        stats.requests,
        stats.responses_by_status
    );
    drop(sandbox);
    server.shutdown_background();
    Ok(Measured {
        seconds,
        requests: stats.requests,
        refused: stats.responses(429),
    })
}

/// Runs the batch (twice over, dropped at half, with `interrupt`); returns the seconds taken.
async fn batch(
    sandbox: &Sandbox,
    files: &[PathBuf],
    journal: &Path,
    interrupt: bool,
) -> Result<f64, String> {
    let client = client(sandbox);
    let items: Vec<Item> = files.iter().map(Item::new).collect();
    let started = Instant::now();
    if interrupt {
        let journal = Journal::open(journal).map_err(|e| e.to_string())?;
        let done = Arc::new(AtomicUsize::new(0));
        let half = Arc::new(Notify::new());
        let (seen, signal) = (done.clone(), half.clone());
        let batch = Runner::new(&client, DocumentKind::Statement)
            .journal(&journal)
            .concurrency(CONCURRENCY)
            .on_event(Arc::new(move |_, event| {
                if *event == Event::Done && seen.fetch_add(1, Ordering::SeqCst) + 1 == DOCUMENTS / 2
                {
                    signal.notify_one();
                }
            }));
        tokio::select! {
            ran = batch.run(items.clone()) => { ran.map_err(|e| e.to_string())?; }
            () = half.notified() => {}
        }
    }
    let journal = Journal::open(journal).map_err(|e| e.to_string())?;
    let rows = Runner::new(&client, DocumentKind::Statement)
        .journal(&journal)
        .concurrency(CONCURRENCY)
        .run(items)
        .await
        .map_err(|e| e.to_string())?;
    let unfinished: Vec<String> = rows
        .iter()
        .filter(|r| r.result.is_none())
        .map(|r| format!("{}: {} ({:?})", r.path.display(), r.state.as_str(), r.error))
        .collect();
    if !unfinished.is_empty() {
        return Err(format!(
            "{} documents of the batch did not finish: {}",
            unfinished.len(),
            unfinished.join("; ")
        ));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A client with every policy compressed like the sandbox's clock.
fn client(sandbox: &Sandbox) -> invaro::Client {
    super::polling::client(
        sandbox.api_key(),
        sandbox.base_url(),
        Duration::from_secs(3600),
    )
}
