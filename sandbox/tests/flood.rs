//! A flood of requests with distinct bad keys leaves the sandbox's memory flat: refused keys are
//! answered 401 before the rate limit and leave nothing behind.
//!
//! Alone in its test binary, so the resident memory measured is this flood's alone.

mod common;

use common::{Api, builder};

/// Requests in the flood, each with its own key.
const FLOOD: usize = 2_000;
/// The size of each bad key: 2,000 of them are 32 MB, which a window per key would keep.
const KEY_BYTES: usize = 16 * 1024;
/// How much resident memory may grow over the flood (a window per key would add 32 MB).
const FLAT_MB: f64 = 12.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_keys_leaves_memory_flat() {
    let api = Api::start(builder()).await;
    let padding = "k".repeat(KEY_BYTES);
    let flood = |from: usize, to: usize| {
        let api = &api;
        let padding = &padding;
        async move {
            for n in from..to {
                let response = api
                    .http
                    .get(api.url("/files"))
                    .bearer_auth(format!("{n:06}{padding}"))
                    .send()
                    .await
                    .expect("answered");
                assert_eq!(response.status(), 401, "request {n}");
                response.bytes().await.expect("a whole body");
            }
        }
    };
    // Warm up: connections, buffers and the allocator's pools settle first.
    flood(0, 200).await;
    let before = resident_mb();
    flood(200, 200 + FLOOD).await;
    let grown = resident_mb() - before;
    eprintln!("flood: {FLOOD} bad {KEY_BYTES}-byte keys: resident memory grew {grown:.1} MB");
    assert!(
        grown < FLAT_MB,
        "resident memory grew {grown:.1} MB over {FLOOD} bad keys"
    );
    let stats = api.sandbox.stats();
    assert_eq!(stats.responses(401), (200 + FLOOD) as u64);
    assert_eq!(stats.responses(429), 0);
}

/// This process's resident memory now, in MB.
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("a VmRSS line");
    kb / 1024.0
}
