//! Several `invaro` processes on one key against a server that counts: a 429 is temporary, so
//! every document finishes however many refusals it meets on the way.

use std::{
    process::{Child, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::counting::Counting;
use crate::support::std_cmd_at;

/// Files per process.
pub const FILES: usize = 8;

/// A folder of `FILES` small PDFs named after `process`.
fn folder(process: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for n in 0..FILES {
        let path = dir.path().join(format!("p{process}_f{n}.pdf"));
        std::fs::write(path, invaro_sandbox::samples::INVOICE_PDF).expect("writable");
    }
    dir
}

/// Starts `invaro batch` on `dir` with `extra` global options; its stdout is piped.
pub fn batch(url: &str, dir: &std::path::Path, extra: &[&str]) -> Child {
    std_cmd_at(url)
        .args(extra)
        .args(["--json", "batch", "--kind", "invoice", "--concurrency", "8"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Waits for a batch and returns the status of each of its files.
pub fn statuses(child: Child) -> Vec<String> {
    let out = child.wait_with_output().expect("the process ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let items: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    items
        .as_array()
        .expect("an array of outcomes")
        .iter()
        .map(|item| item["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Runs `processes` batches at once, each with `extra` options, and returns every status.
pub fn run_together(url: &str, processes: usize, extra: &[&str]) -> Vec<String> {
    let dirs: Vec<_> = (0..processes).map(folder).collect();
    let children: Vec<_> = dirs.iter().map(|d| batch(url, d.path(), extra)).collect();
    children.into_iter().flat_map(statuses).collect()
}

#[test]
fn four_processes_with_separate_limiters_meet_429s_and_still_finish_everything() {
    let window = Duration::from_secs(1);
    let server = Counting::start(10, window);
    // Each process believes it has the whole budget: together they ask for four times it.
    let options = ["--rate-limit", "10", "--rate-window", "1s"];
    let statuses = run_together(server.url(), 4, &options);
    assert_eq!(statuses.len(), 4 * FILES);
    assert!(
        statuses.iter().all(|s| s == "done"),
        "every document finishes: {statuses:?}"
    );
    assert!(
        server.refused() > 0,
        "the processes overran the key's budget and were answered with 429s"
    );
}

#[test]
fn a_batch_waits_out_a_long_run_of_429s_instead_of_failing() {
    let server = Counting::start(1_000, Duration::from_secs(1));
    // More refusals in a row than the retry policy has attempts, each asking for a second.
    server.refuse_next(5, 1);
    let dir = folder(0);
    let statuses = statuses(batch(server.url(), dir.path(), &[]));
    assert_eq!(statuses, vec!["done"; FILES]);
    assert_eq!(server.forced(), 5);
    assert_eq!(
        server.served(),
        4 * FILES,
        "upload, start and two checks each; none sent twice"
    );
}

#[test]
fn a_429_holds_every_call_of_the_client_not_only_the_refused_one() {
    let server = Counting::start(1_000, Duration::from_secs(1));
    let client = invaro::Client::builder()
        .api_key("sk_test_budget")
        .base_url(server.url())
        .build()
        .expect("valid settings");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        server.refuse_next(1, 2);
        let refused = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .job(invaro::DocumentKind::Invoice, "job_a")
                    .status()
                    .await
            }
        });
        // The refusal's answer is in once the client holds; another call now waits with it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while client.rate_limit().held_for.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the 429 never held the client"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let other = client.job(invaro::DocumentKind::Invoice, "job_b");
        let held = tokio::time::timeout(Duration::from_millis(500), other.status()).await;
        assert!(
            held.is_err(),
            "the other call waited for the server's reset"
        );
        assert_eq!(server.served(), 0, "nothing reached the API while held");
        assert!(refused.await.expect("no panic").is_ok());
    });
    assert_eq!(server.served(), 1);
}
