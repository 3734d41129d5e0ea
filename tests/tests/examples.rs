//! Every example crate under `examples/`, run against its in-process sandbox: each one's `main`
//! only calls the `run` tested here, so success here is exit status 0 there, and each test checks
//! a line of what it prints. Built once with the workspace, no cargo run per test.

use std::{future::Future, io::Write, pin::Pin};

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error>>> + 'a>>;

/// Runs one example and returns its output, failing with the error and what it printed.
async fn output(name: &str, example: impl for<'a> FnOnce(&'a mut dyn Write) -> Run<'a>) -> String {
    assert!(
        std::env::var_os("INVARO_API_KEY").is_none(),
        "INVARO_API_KEY is set: the examples would talk to the real API"
    );
    let mut out = Vec::new();
    let result = example(&mut out).await;
    let text = String::from_utf8(out).expect("UTF-8 output");
    if let Err(e) = result {
        panic!("example {name} failed: {e}\n{text}");
    }
    text
}

fn has_line(text: &str, start: &str) -> bool {
    text.lines().any(|line| line.starts_with(start))
}

/// Asserts that `text` has a line starting with each of `starts`.
fn assert_lines(text: &str, starts: &[&str]) {
    for start in starts {
        assert!(
            has_line(text, start),
            "no line starting {start:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn quickstart_parses_the_sample_invoice() {
    let text = output("quickstart", |out| Box::pin(quickstart::run(None, out))).await;
    assert!(
        has_line(&text, "INVARO_API_KEY is not set: using a local sandbox"),
        "{text}"
    );
    assert!(has_line(&text, "  completed"), "{text}");
    assert!(has_line(&text, "Buyer: "), "{text}");
}

#[tokio::test]
async fn parse_invoice_prints_typed_fields() {
    let text = output("parse-invoice", |out| {
        Box::pin(parse_invoice::run(None, out))
    })
    .await;
    assert!(has_line(&text, "Buyer: "), "{text}");
    assert!(has_line(&text, "Bank: "), "{text}");
}

#[tokio::test]
async fn webhooks_end_the_wait_by_a_delivery() {
    let text = output("webhooks", |out| Box::pin(webhooks::run(out))).await;
    assert!(has_line(&text, "The wait for job"), "{text}");
    assert!(text.contains("job.completed"), "{text}");
}

#[tokio::test]
async fn durable_batch_resumes_without_sending_twice() {
    let text = output("durable-batch", |out| Box::pin(durable_batch::run(out))).await;
    assert!(
        has_line(&text, "Interrupted once 3 jobs had started"),
        "{text}"
    );
    assert!(has_line(&text, "After resuming: 8 of 8 done"), "{text}");
    assert!(
        has_line(
            &text,
            "Each file uploaded once: true; each document started once: true"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn errors_and_retries_tell_what_happened() {
    let text = output("errors-and-retries", |out| {
        Box::pin(errors_and_retries::run(out))
    })
    .await;
    let lines = [
        "missing schema: retryable false, status Some(404), code Some(\"SCHEMA_NOT_FOUND\")",
        "file list, after 4 attempts: retryable true, status Some(503)",
        "failed job: retryable false, status None, code None, job Some(\"job_",
        "deadline: retryable true, status None, code None, job Some(\"job_",
        "waited again: job job_",
    ];
    assert_lines(&text, &lines);
}

#[tokio::test]
async fn sandbox_tests_pass_their_checks() {
    let text = output("sandbox-tests", |out| Box::pin(sandbox_tests::run(out))).await;
    assert!(has_line(&text, "all checks passed: 5 documents"), "{text}");
}

#[tokio::test]
async fn list_everything_walks_every_page() {
    let text = output("list-everything", |out| Box::pin(list_everything::run(out))).await;
    assert!(has_line(&text, "5 files in all"), "{text}");
    assert!(has_line(&text, "3 invoice schemas: "), "{text}");
}

#[tokio::test]
async fn metrics_prometheus_exports_the_sdks_counters() {
    let text = output("metrics-prometheus", |out| {
        Box::pin(metrics_prometheus::run(out))
    })
    .await;
    let lines = [
        "file list failed: true",
        "invaro_requests_total{operation=\"list_files\",status=\"503\"} 4",
        "invaro_retries_total{operation=\"list_files\"} 3",
        "invaro_requests_total{operation=\"upload_documents\",status=\"200\"} 1",
        "invaro_wait_seconds_count{kind=\"invoice\"} 1",
    ];
    assert_lines(&text, &lines);
}
