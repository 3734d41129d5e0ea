//! The whole flow in one run: upload a document, start a parse job, show its progress, wait,
//! and print what it parsed.
//!
//! ```text
//! cargo run -p quickstart                        # against a local sandbox, no key needed
//! INVARO_API_KEY=... cargo run -p quickstart -- invoice.pdf   # against the real API
//! ```

use invaro::{Client, DocumentKind, PollPolicy, Upload};
use invaro_sandbox::{JobTimings, Sandbox, samples};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = connect().await?;
    let upload = match std::env::args().nth(1) {
        Some(path) => Upload::path(path),
        None => Upload::bytes("sample-invoice.pdf", samples::INVOICE_PDF),
    };

    println!("Uploading {} ...", upload.file_name());
    let uploaded = client.upload(&[upload]).await?;
    let document_id = &uploaded[0].doc_id;
    println!("Uploaded: document {document_id}");

    let job = client.start_job(DocumentKind::Invoice, document_id).await?;
    println!("Started job {}", job.id());

    let parsed = job
        .wait_with(|update| {
            let progress = update
                .progress
                .map(|p| format!(" ({p:.0}%)"))
                .unwrap_or_default();
            println!("  {}{progress}", update.status);
        })
        .await?;

    let invoice = parsed.invoice()?;
    if let Some(buyer) = invoice
        .buyer_details
        .as_ref()
        .and_then(|b| b.name.as_deref())
    {
        println!("Buyer: {buyer}");
    }
    println!(
        "Parsed result:\n{}",
        serde_json::to_string_pretty(&parsed.output())?
    );
    Ok(())
}

/// The real API when `INVARO_API_KEY` is set; otherwise a sandbox started in this process.
async fn connect() -> Result<(Client, Option<Sandbox>), Box<dyn std::error::Error>> {
    if std::env::var_os("INVARO_API_KEY").is_some() {
        println!("Using the Invaro API (INVARO_API_KEY is set).");
        return Ok((Client::from_env()?, None));
    }
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::DEMO)
        .start()
        .await?;
    println!(
        "INVARO_API_KEY is not set: using a local sandbox at {} (no network, no key needed).",
        sandbox.base_url()
    );
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll(PollPolicy::default().first_check(std::time::Duration::from_millis(500)))
        .build()?;
    Ok((client, Some(sandbox)))
}
