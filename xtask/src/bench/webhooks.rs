//! Completions pushed by webhook: documents parsed through a client with a
//! [`Receiver`](invaro::webhook::Receiver) attached, against the sandbox delivering each signed
//! `job.completed` the moment the job completes, in real time (what is measured is the push's
//! path: delivery, verification, the woken wait's one status call, so nothing is compressed).
//! The figure is the median delay from a job's completion (the sandbox's `updated_at`) to its
//! `parse_file` returning; the baseline is the same client without a receiver, polling.
//!
//! The documents start 150 ms apart and their jobs take 300 ms, so the checks of different jobs
//! do not queue behind each other, and every run stays within 60 requests a minute.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::Utc;
use futures::StreamExt;
use invaro::{
    DocumentKind,
    webhook::{Listener, Receiver, Verifier},
};
use invaro_sandbox::{JobTimings, Sandbox};

use super::{Settings, report::Figure, report::median};

const DOCUMENTS: usize = 12;
/// How far apart the documents start.
pub(super) const STAGGER: Duration = Duration::from_millis(150);
/// What the sandbox signs its deliveries with.
pub(super) const SECRET: &str = "bench-webhook-secret";

/// Runs the section and returns its figures.
pub fn run(settings: &Settings, work: &Path) -> Result<Vec<Figure>, String> {
    let files = super::batch::documents(&work.join("webhooks"), DOCUMENTS)?;
    let (server, runtime) = super::server::runtimes()?;
    // (pushed, polled) per run, the order alternating.
    let mut runs = Vec::new();
    for run in 0..settings.polling_repeats.max(3) {
        let one = |push| -> Result<f64, String> {
            let sandbox = server.block_on(sandbox())?;
            let delay = runtime.block_on(parse_all(&sandbox, &files, push));
            drop(sandbox);
            delay
        };
        let (pushed, polled) = if run % 2 == 0 {
            let pushed = one(true)?;
            (pushed, one(false)?)
        } else {
            let polled = one(false)?;
            (one(true)?, polled)
        };
        runs.push((pushed, polled));
    }
    server.shutdown_background();
    let pushed = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    let polled = median(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
    let ratio = median(&runs.iter().map(|r| r.0 / r.1).collect::<Vec<_>>());
    Ok(vec![
        Figure::new(
            format!("{DOCUMENTS} documents with a webhook receiver: completion to seen, median"),
            pushed * 1000.0,
            "ms",
        )
        .against("polling, no receiver", polled * 1000.0, ratio)
        .target("<= 50 ms"),
    ])
}

/// A sandbox that signs its deliveries with [`SECRET`] and completes each job 300 ms after it
/// starts.
pub(super) async fn sandbox() -> Result<Sandbox, String> {
    Sandbox::builder()
        .webhook_secret(SECRET)
        .job_timings(JobTimings {
            pending: Duration::ZERO,
            processing: Duration::from_millis(300),
        })
        .start()
        .await
        .map_err(|e| format!("the sandbox: {e}"))
}

/// Parses `files`, [`STAGGER`] apart, with a receiver attached if `push`; returns the median
/// delay from completion to seen, in seconds.
async fn parse_all(sandbox: &Sandbox, files: &[PathBuf], push: bool) -> Result<f64, String> {
    let receiver = Receiver::new(Verifier::new(SECRET).map_err(|e| e.to_string())?);
    let listener = Listener::bind("127.0.0.1:0", receiver.clone())
        .await
        .map_err(|e| format!("the webhook listener: {e}"))?;
    let mut builder = invaro::Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url());
    if push {
        builder = builder.webhooks(&receiver, listener.url());
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let delays: Vec<Result<f64, String>> = futures::stream::iter(files.iter().enumerate())
        .map(|(i, file)| seen_after(&client, file, DocumentKind::Statement, i))
        .buffer_unordered(files.len())
        .collect()
        .await;
    let delays = delays.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(median(&delays))
}

/// Parses `file`, the `i`th document, [`STAGGER`] × `i` from now; returns the seconds from its
/// job's completion (the sandbox's `updated_at`) to `parse_file` returning.
pub(super) async fn seen_after(
    client: &invaro::Client,
    file: &Path,
    kind: DocumentKind,
    i: usize,
) -> Result<f64, String> {
    tokio::time::sleep(STAGGER * u32::try_from(i).unwrap_or(u32::MAX)).await;
    let parsed = client
        .parse_file(file, kind)
        .await
        .map_err(|e| e.to_string())?;
    let completed = parsed
        .job()
        .updated_at
        .ok_or("a completed job without updated_at")?;
    let delay = (Utc::now() - completed).to_std().unwrap_or_default();
    Ok(delay.as_secs_f64())
}
