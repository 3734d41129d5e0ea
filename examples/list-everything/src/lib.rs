//! Every page of files and schemas as one stream each: the SDK asks for the next page when the
//! one in hand is used up, each request paced by the client's rate limiter.
//!
//! ```text
//! cargo run -p list-everything                     # a local sandbox with a few files and schemas
//! INVARO_API_KEY=... cargo run -p list-everything  # your account's files and schemas
//! ```

use std::{error::Error, io::Write};

use futures::TryStreamExt;
use invaro::{Client, DocumentKind, Upload};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// Lists every file and schema, in pages of two, and prints them.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let (client, _sandbox) = connect().await?;

    // `into_stream` yields records, fetching page after page until the last.
    let mut files = std::pin::pin!(client.files().list().page_size(2).into_stream());
    let mut count = 0;
    while let Some(file) = files.try_next().await? {
        count += 1;
        writeln!(out, "file {}: {} ({})", file.id, file.filename, file.status)?;
    }
    writeln!(out, "{count} files in all")?;

    // Or collect them, here mapping each schema to its name on the way.
    let names: Vec<String> = client
        .schemas()
        .list()
        .page_size(2)
        .kind(DocumentKind::Invoice)
        .into_stream()
        .map_ok(|schema| schema.name)
        .try_collect()
        .await?;
    writeln!(out, "{} invoice schemas: {}", names.len(), names.join(", "))?;
    Ok(())
}

/// The real API when `INVARO_API_KEY` is set; otherwise a sandbox holding five files and three
/// schemas, so that there are pages to walk through.
async fn connect() -> Result<(Client, Option<Sandbox>), Box<dyn Error>> {
    if std::env::var_os("INVARO_API_KEY").is_some() {
        return Ok((Client::from_env()?, None));
    }
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()?;
    let uploads: Vec<Upload> = (1..=5)
        .map(|n| Upload::bytes(format!("invoice-{n}.pdf"), samples::INVOICE_PDF))
        .collect();
    client.files().upload(&uploads).await?;
    for name in ["purchase-orders", "freight", "utilities"] {
        let fields = serde_json::json!({ "fields": [{ "name": "po_number", "type": "string" }] });
        client
            .schemas()
            .create(name, DocumentKind::Invoice, fields)
            .send()
            .await?;
    }
    Ok((client, Some(sandbox)))
}
