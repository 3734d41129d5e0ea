//! Soak: 10,000 jobs through the SDK against the sandbox with 5% injected faults (3% error
//! statuses, 1% dropped connections, 1% truncated bodies). Every job must complete exactly once,
//! none lost, none started twice, and the client's memory must stay flat.
//!
//! Ignored by default (it runs 10,000 jobs: seconds in release, longer in debug). Run it with
//!
//! ```text
//! cargo test -p invaro-tests --release --test soak -- --ignored --nocapture
//! ```
//!
//! The sandbox keeps every job in memory, so it runs in a child process (this test binary again,
//! told so by an environment variable) and the resident memory measured is the client's alone.
//! The child answers the exactly-once questions over a small HTTP side door of its own.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use invaro::RateLimit;
use invaro_sandbox::{FaultRule, JobTimings, Sandbox};
use invaro_tests::{JobStarts, client, run_jobs};
use serde_json::{Value, json};

const JOBS: usize = 10_000;
const BATCH: usize = 1_000;
const CONCURRENCY: usize = 32;
/// How much the client's resident memory may grow after the first batch.
const FLAT_MB: f64 = 16.0;
/// Set in the child process: serve the sandbox instead of running the soak.
const CHILD: &str = "INVARO_SOAK_SANDBOX";
const TEST_NAME: &str = "ten_thousand_jobs_with_five_percent_faults_complete_once_in_flat_memory";

#[test]
#[ignore = "soak: 10,000 jobs; run with --release -- --ignored (see docs/soak.md)"]
fn ten_thousand_jobs_with_five_percent_faults_complete_once_in_flat_memory() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if std::env::var_os(CHILD).is_some() {
        return runtime.block_on(serve_sandbox());
    }
    let sandbox = SandboxProcess::start();
    runtime.block_on(soak(&sandbox));
}

async fn soak(sandbox: &SandboxProcess) {
    let client = client(&sandbox.base_url, &sandbox.api_key, RateLimit::unlimited());
    let started = Instant::now();
    let mut rss = vec![(0, resident_mb())];
    let (mut completed, mut restarts, mut resumes) = (BTreeMap::new(), 0, 0);
    for _ in 0..JOBS / BATCH {
        let report = run_jobs(sandbox, &client, BATCH, CONCURRENCY).await;
        assert_eq!(report.completed.len(), BATCH, "a batch lost jobs");
        for (document, job) in report.completed {
            assert!(
                completed.insert(document.clone(), job).is_none(),
                "{document} twice"
            );
        }
        restarts += report.restarts;
        resumes += report.resumes;
        rss.push((completed.len(), resident_mb()));
        eprintln!(
            "soak: {} jobs after {:.0} s",
            completed.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let elapsed = started.elapsed();
    let stats = sandbox.stats().await;
    let figure = |key: &str| stats[key].as_u64().unwrap_or_default();
    eprintln!(
        "soak: {} jobs in {:.0} s; {} requests, {} faults injected ({} connections dropped); \
         {restarts} starts made again, {resumes} waits resumed",
        completed.len(),
        elapsed.as_secs_f64(),
        figure("requests"),
        figure("faults_injected"),
        figure("connections_dropped"),
    );
    for (jobs, mb) in &rss {
        eprintln!("soak: client resident memory after {jobs:>5} jobs: {mb:.1} MB");
    }

    assert_eq!(completed.len(), JOBS, "every document completed, none lost");
    assert_eq!(figure("jobs_created"), JOBS as u64, "one job per document");
    assert_eq!(figure("documents_started_twice"), 0, "none started twice");
    let server_jobs: BTreeSet<String> = stats["job_ids"]
        .as_array()
        .expect("job ids")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    let client_jobs: BTreeSet<String> = completed.into_values().collect();
    assert_eq!(
        server_jobs, client_jobs,
        "the client saw exactly the server's jobs"
    );
    assert!(
        figure("faults_injected") as f64 > 0.03 * figure("requests") as f64,
        "about 5% of requests had a fault injected"
    );
    let settled = rss[1].1;
    let peak = rss.iter().skip(1).map(|(_, mb)| *mb).fold(0.0, f64::max);
    assert!(
        peak - settled <= FLAT_MB,
        "client memory grew {:.1} MB after the first {BATCH} jobs",
        peak - settled
    );
}

/// The client's resident memory now, in MB.
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("a VmRSS line");
    kb / 1024.0
}

/// The sandbox in a child process, killed when dropped.
struct SandboxProcess {
    child: Child,
    base_url: String,
    api_key: String,
    side_door: String,
    http: reqwest::Client,
}

impl SandboxProcess {
    fn start() -> Self {
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                TEST_NAME,
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the sandbox process starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        // The test harness may print `test <name> ... ` on the same line first.
        let line = lines
            .find_map(|line| Some(line.split_once("SOAK-SANDBOX ")?.1.to_owned()))
            .expect("the sandbox process announces itself");
        // Keep reading, so that the child never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let words: Vec<&str> = line.split_whitespace().collect();
        let [base_url, api_key, side_door] = words[..] else {
            panic!("unexpected announcement {line:?}");
        };
        Self {
            base_url: base_url.to_owned(),
            api_key: api_key.to_owned(),
            side_door: side_door.to_owned(),
            child,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.side_door);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .expect("the side door answers");
        response.json().await.expect("the side door answers JSON")
    }

    async fn stats(&self) -> Value {
        self.get("/stats").await
    }
}

impl JobStarts for SandboxProcess {
    async fn job_starts(&self, document: &str) -> Option<u64> {
        self.get(&format!("/starts/{document}")).await["starts"].as_u64()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child: a sandbox with the soak's faults, plus a side door answering from its stats, until
/// the parent closes stdin (or kills it).
async fn serve_sandbox() {
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .rate_limit(1_000_000, Duration::from_secs(60))
        .fault_seed(2025)
        .fault(FaultRule::errors().rate(0.03))
        .fault(FaultRule::drop_connection().rate(0.01))
        .fault(FaultRule::truncate().rate(0.01))
        .start()
        .await
        .expect("the sandbox starts");
    let sandbox = Arc::new(sandbox);
    let side_door = Router::new()
        .route("/stats", get(stats))
        .route("/starts/{document}", get(starts))
        .with_state(sandbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, side_door).await });
    println!(
        "SOAK-SANDBOX {} {} http://{addr}",
        sandbox.base_url(),
        sandbox.api_key()
    );
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new()))
        .await
        .expect("stdin is watched")
        .expect("stdin reads until the parent goes");
}

async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    let stats = sandbox.stats();
    let job_ids: Vec<String> = sandbox.jobs().into_iter().map(|j| j.job_id).collect();
    let twice = stats
        .job_starts_by_document
        .values()
        .filter(|&&n| n > 1)
        .count();
    Json(json!({
        "requests": stats.requests,
        "faults_injected": stats.faults_injected,
        "connections_dropped": stats.connections_dropped,
        "jobs_created": stats.jobs_created,
        "documents_started_twice": twice,
        "job_ids": job_ids,
    }))
}

async fn starts(State(sandbox): State<Arc<Sandbox>>, Path(document): Path<String>) -> Json<Value> {
    let starts = sandbox
        .stats()
        .job_starts_by_document
        .get(&document)
        .copied();
    Json(json!({ "starts": starts }))
}
