//! Parse one invoice from disk and print its typed fields: the first thing most programs do.
//!
//! ```text
//! cargo run -p parse-invoice                                     # a sample invoice, local sandbox
//! INVARO_API_KEY=... cargo run -p parse-invoice -- invoice.pdf   # your file, the real API
//! ```

use std::{error::Error, io::Write, path::PathBuf};

use invaro::{Client, DocumentKind};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// Parses `file` (a sample written to a temporary folder when `None`) and prints its fields.
pub async fn run(file: Option<PathBuf>, out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let (client, _sandbox) = connect().await?;
    let folder = tempfile::tempdir()?;
    let path = match file {
        Some(path) => path,
        None => {
            let path = folder.path().join("sample-invoice.pdf");
            std::fs::write(&path, samples::INVOICE_PDF)?;
            path
        }
    };

    // Upload, start, wait: one call. The file is checked (type, size) before a byte is sent.
    let parsed = client.parse_file(&path, DocumentKind::Invoice).await?;
    writeln!(out, "Job {} parsed {}", parsed.job_id(), path.display())?;

    // Typed fields; what the SDK does not know yet stays in each part's `extra`.
    let invoice = parsed.invoice()?;
    if let Some(buyer) = &invoice.buyer_details {
        let name = buyer.name.as_deref().unwrap_or("-");
        writeln!(
            out,
            "Buyer: {name}, GSTIN {}",
            buyer.gstin.as_deref().unwrap_or("-")
        )?;
    }
    if let Some(bank) = &invoice.bank_details {
        let bank_name = bank.bank_name.as_deref().unwrap_or("-");
        writeln!(
            out,
            "Bank: {bank_name}, IFSC {}",
            bank.ifsc.as_deref().unwrap_or("-")
        )?;
    }
    if let Some(tax) = &invoice.tax_calculation {
        // Amounts keep the text the API sent; read them as minor units to stay exact.
        if let Some(igst) = &tax.igst_amount {
            writeln!(
                out,
                "IGST: {} ({:?} in minor units)",
                igst.as_str(),
                igst.minor_units()
            )?;
        }
    }
    if let Some(details) = &invoice.invoice_details {
        for (key, value) in &details.extra {
            writeln!(out, "Invoice {key}: {value}")?;
        }
    }
    Ok(())
}

/// The real API when `INVARO_API_KEY` is set; otherwise a sandbox started in this process.
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
    Ok((client, Some(sandbox)))
}
