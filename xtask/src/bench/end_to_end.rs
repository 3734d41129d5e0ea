//! The end-to-end scenario: 100 documents uploaded, started and waited on through one client
//! (`Client::parse_file` for each, all at once), against the sandbox limited to 60 requests per
//! window, with time compressed 60 times as in the polling section (jobs process for 15 s).
//!
//! Each document needs an upload, a start and at least one status call: 300 requests, of which
//! the first window carries 60 and each later window 60 more, so the last cannot go before the
//! start of the fifth window. The makespan is reported against that floor. The sandbox sends no
//! `X-RateLimit-*` or `Retry-After` headers here: they count whole seconds, which time
//! compression cannot shrink (see the polling section); the client paces itself with its own
//! limiter, and the sandbox still refuses with 429 beyond its window.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use futures::StreamExt;
use invaro::DocumentKind;
use invaro_sandbox::{JobTimings, Sandbox};
use tokio::time::Instant;

use super::{
    polling::{LIMIT, SCALE, WINDOW, scaled},
    report::Figure,
};

const DOCUMENTS: usize = 100;
/// Requests each document needs at the least: upload, start, one status call.
const REQUESTS_EACH: usize = 3;

/// Runs the section and returns its figures.
pub fn run(work: &Path) -> Result<Vec<Figure>, String> {
    let files = super::batch::documents(&work.join("end_to_end"), DOCUMENTS)?;
    let (server, runtime) = super::server::runtimes()?;
    let sandbox = server.block_on(sandbox(None))?;
    let seconds = runtime.block_on(parse_all(&sandbox, &files))?;
    let stats = sandbox.stats();
    drop(sandbox);
    server.shutdown_background();
    let floor = floor_seconds(DOCUMENTS * REQUESTS_EACH);
    let real = |s: f64| s * f64::from(SCALE);
    let name =
        |what: &str| format!("{DOCUMENTS} documents through one client under 60/min: {what}");
    Ok(vec![
        Figure::new(name("makespan"), real(seconds), "s").against(
            "floor set by its requests",
            real(floor),
            seconds / floor,
        ),
        Figure::new(
            name("requests per document"),
            stats.requests as f64 / DOCUMENTS as f64,
            "requests",
        )
        .against(
            "upload, start, one status call",
            REQUESTS_EACH as f64,
            stats.requests as f64 / (DOCUMENTS * REQUESTS_EACH) as f64,
        ),
        Figure::new(
            name("429s received"),
            stats.responses(429) as f64,
            "responses",
        )
        .target("0 with the limiter on"),
    ])
}

/// The earliest the last of `requests` can go at [`LIMIT`] per [`WINDOW`], in bench seconds
/// after the first.
fn floor_seconds(requests: usize) -> f64 {
    let windows = requests.div_ceil(LIMIT as usize).saturating_sub(1);
    WINDOW.as_secs_f64() * windows as f64
}

/// A sandbox in compressed time: 60 requests per window, jobs processing for 15 s (scaled),
/// no whole-second rate-limit headers; with `webhook_secret`, signing deliveries with it.
pub(super) async fn sandbox(webhook_secret: Option<&str>) -> Result<Sandbox, String> {
    let mut builder = Sandbox::builder()
        .rate_limit(LIMIT, WINDOW)
        .rate_limit_headers(false)
        .job_timings(JobTimings {
            pending: Duration::ZERO,
            processing: scaled(Duration::from_secs(15)),
        });
    if let Some(secret) = webhook_secret {
        builder = builder.webhook_secret(secret);
    }
    builder
        .start()
        .await
        .map_err(|e| format!("the sandbox: {e}"))
}

/// Parses every file at once through one client; returns the seconds until the last result.
async fn parse_all(sandbox: &Sandbox, files: &[PathBuf]) -> Result<f64, String> {
    let client = super::polling::client(
        sandbox.api_key(),
        sandbox.base_url(),
        Duration::from_secs(3600),
    );
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(files)
        .map(|file| client.parse_file(file, DocumentKind::Statement))
        .buffer_unordered(files.len())
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    match results.into_iter().find_map(Result::err) {
        Some(e) => Err(format!("{failed} documents failed, the first with: {e}")),
        None => Ok(seconds),
    }
}
