//! The SDK's metrics (feature `metrics`) in Prometheus's text format: a recorder installed once
//! for the process, a run against a sandbox that fails every file list with 503, and what a
//! `/metrics` route would serve.
//!
//! ```text
//! cargo run -p metrics-prometheus
//! ```

use std::{error::Error, io::Write, time::Duration};

use invaro::{Client, DocumentKind, RetryPolicy, Upload};
use invaro_sandbox::{FaultRule, JobTimings, Sandbox, samples};
use metrics_exporter_prometheus::PrometheusBuilder;

/// Installs the Prometheus recorder, runs a few calls, and prints the SDK's metric lines.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    // Once per process: every client's metrics go to it from then on.
    let prometheus = PrometheusBuilder::new().install_recorder()?;
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings {
            pending: Duration::ZERO,
            processing: Duration::from_millis(300),
        })
        .fault(FaultRule::status(503).on("/files")) // every file list fails
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::default().initial_delay(Duration::from_millis(20)))
        .build()?;

    // A file list meets 503s: four attempts, three retries, then the error.
    let failed = client.files().list().send().await;
    writeln!(out, "file list failed: {}", failed.is_err())?;

    // A whole parse: upload, start, wait (its time to completion is a histogram).
    let uploaded = client
        .upload(&[Upload::bytes("invoice.pdf", samples::INVOICE_PDF)])
        .await?;
    let job = client
        .start_job(DocumentKind::Invoice, &uploaded[0].doc_id)
        .await?;
    job.wait().await?;

    // What a `/metrics` route would answer, the SDK's lines only.
    for line in prometheus.render().lines() {
        if line.starts_with("invaro_") {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
