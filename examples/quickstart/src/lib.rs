//! The whole flow in one run: upload a document, start a parse job, show its progress, wait,
//! and print what it parsed.
//!
//! ```text
//! cargo run -p quickstart                                     # against a local sandbox, no key needed
//! INVARO_API_KEY=... cargo run -p quickstart -- invoice.pdf   # against the real API
//! ```

use std::{error::Error, io::Write};

use invaro::{Client, DocumentKind, PollPolicy, Upload};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// Parses `file` (a sample invoice when `None`), writing what happens to `out`.
pub async fn run(file: Option<String>, out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let (client, _sandbox) = connect(out).await?;
    let upload = match file {
        Some(path) => Upload::path(path),
        None => Upload::bytes("sample-invoice.pdf", samples::INVOICE_PDF),
    };

    writeln!(out, "Uploading {} ...", upload.file_name())?;
    let uploaded = client.upload(&[upload]).await?;
    let document_id = &uploaded[0].doc_id;
    writeln!(out, "Uploaded: document {document_id}")?;

    let job = client.start_job(DocumentKind::Invoice, document_id).await?;
    writeln!(out, "Started job {}", job.id())?;

    let parsed = job
        .wait_with(|update| {
            let progress = update.progress.map(|p| format!(" ({p:.0}%)"));
            let _ = writeln!(out, "  {}{}", update.status, progress.unwrap_or_default());
        })
        .await?;

    let invoice = parsed.invoice()?;
    if let Some(buyer) = invoice
        .buyer_details
        .as_ref()
        .and_then(|b| b.name.as_deref())
    {
        writeln!(out, "Buyer: {buyer}")?;
    }
    let output = serde_json::to_string_pretty(&parsed.output())?;
    writeln!(out, "Parsed result:\n{output}")?;
    Ok(())
}

/// The real API when `INVARO_API_KEY` is set; otherwise a sandbox started in this process.
async fn connect(out: &mut dyn Write) -> Result<(Client, Option<Sandbox>), Box<dyn Error>> {
    if std::env::var_os("INVARO_API_KEY").is_some() {
        writeln!(out, "Using the Invaro API (INVARO_API_KEY is set).")?;
        return Ok((Client::from_env()?, None));
    }
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::DEMO)
        .start()
        .await?;
    writeln!(
        out,
        "INVARO_API_KEY is not set: using a local sandbox at {} (no network, no key needed).",
        sandbox.base_url()
    )?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll(PollPolicy::default().first_check(std::time::Duration::from_millis(500)))
        .build()?;
    Ok((client, Some(sandbox)))
}
