//! `invaro demo`: a sandbox in this process, and `parse` on a bundled sample invoice.

use std::time::Duration;

use invaro::DocumentKind;
use invaro_sandbox::{JobTimings, Sandbox, samples};

use super::parse;
use crate::context::{Connection, Ctx};
use crate::exit::{Exit, Failure};
use crate::pool::{ItemReport, Pool};

/// Runs `invaro demo`; `instant` makes the sandbox's jobs finish at once.
pub async fn run(ctx: &Ctx, instant: bool) -> Result<(), Failure> {
    let timings = if instant {
        JobTimings::INSTANT
    } else {
        JobTimings::DEMO
    };
    let sandbox = Sandbox::builder()
        .job_timings(timings)
        .start()
        .await
        .map_err(|e| Failure::new(Exit::Api, format!("the sandbox cannot start: {e}")))?;
    ctx.progress.note(&format!(
        "Started a local sandbox at {} (API key {}); parsing a sample invoice.",
        sandbox.base_url(),
        sandbox.api_key()
    ));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, samples::INVOICE_PDF)?;
    let demo = Ctx {
        connection: Connection {
            api_key: Some(sandbox.api_key().to_string()),
            base_url: Some(sandbox.base_url().to_string()),
            // Frequent checks, so the bar moves through the sandbox's four seconds.
            poll_ms: ctx.connection.poll_ms.or(Some(250)),
            ..ctx.connection.clone()
        },
        ..ctx.clone()
    };
    let timeout = Duration::from_secs(60);
    let client = demo.client()?;
    let deadline = parse::Deadline::after(timeout);
    let label = "invoice.pdf (sample)".to_string();
    let sample = parse::Checked {
        path,
        size: samples::INVOICE_PDF.len() as u64,
        label: label.clone(),
    };
    let reported = Pool::new(&demo, 1)
        .run(
            vec![(sample, ItemReport::new(Some(label)))],
            |file, slot| {
                parse::parse_file(
                    &demo,
                    &client,
                    file,
                    DocumentKind::Invoice,
                    Some(deadline),
                    slot,
                )
            },
        )
        .await
        .finish(&demo);
    sandbox
        .shutdown()
        .await
        .map_err(|e| Failure::new(Exit::Api, format!("the sandbox did not stop cleanly: {e}")))?;
    reported?;
    ctx.progress
        .note("Next: point `invaro` at the real API with INVARO_API_KEY, or run `invaro sandbox`.");
    Ok(())
}
