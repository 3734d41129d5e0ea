//! Testing your own code against the sandbox: start one per test, inject faults, then assert
//! on what the server saw through `stats()`, such as "every document was started exactly once".
//!
//! ```text
//! cargo run -p sandbox-tests      # runs the checks and prints them
//! cargo test -p sandbox-tests     # the same checks as a #[tokio::test]
//! ```

use std::error::Error;
use std::io::Write;

use invaro::{Client, DocumentKind, RetryPolicy, Upload};
use invaro_sandbox::{FaultRule, JobTimings, Sandbox, samples};

/// Your code under test: parses each invoice and returns the job ids, in order.
pub async fn parse_all(client: &Client, names: &[&str]) -> Result<Vec<String>, invaro::Error> {
    let files: Vec<Upload> = names
        .iter()
        .map(|name| Upload::bytes(*name, [samples::INVOICE_PDF, name.as_bytes()].concat()))
        .collect();
    let mut job_ids = Vec::new();
    for document in client.upload(&files).await? {
        let job = client
            .start_job(DocumentKind::Invoice, &document.doc_id)
            .await?;
        job_ids.push(job.wait().await?.job_id().to_owned());
    }
    Ok(job_ids)
}

/// The test: a third of status checks fail with 500, 503 or 429, and `parse_all` still starts
/// each document once and parses them all.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .fault(FaultRule::errors().rate(0.33).on("getInvoiceStatus"))
        .fault_seed(7) // the same faults every run
        .start()
        .await?;
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::default().initial_delay(std::time::Duration::from_millis(10)))
        .build()?;

    let names = ["a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"];
    let job_ids = parse_all(&client, &names).await?;

    let stats = sandbox.stats();
    let once = |counts: &std::collections::BTreeMap<String, u64>| counts.values().all(|&n| n == 1);
    assert!(stats.faults_injected > 0, "the seed injects faults");
    assert_eq!(job_ids.len(), names.len());
    assert_eq!(stats.jobs_created, 5, "one job per document");
    assert!(
        once(&stats.job_starts_by_document),
        "no document started twice"
    );
    assert!(once(&stats.uploads_by_sha256), "no file uploaded twice");
    let (faults, requests) = (stats.faults_injected, stats.requests);
    writeln!(out, "faults injected: {faults}, requests: {requests}")?;
    writeln!(out, "all checks passed: 5 documents, each started once")?;
    sandbox.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_document_is_started_once_despite_faults() {
        super::run(&mut std::io::sink())
            .await
            .expect("the checks pass");
    }
}
