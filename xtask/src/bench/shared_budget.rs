//! One key, several processes: 1, 2, 4 and 8 child processes of the bench (the hidden
//! `--budget-child` flag), each sending status checks as fast as its client lets it, against a
//! server that enforces the key's limit the way a FastAPI limiter does (a sliding window; over it
//! a 429 with `Retry-After`) and counts. Each child is told the key's whole limit: with separate
//! limiters they ask for N times the budget together and meet 429s; sharing it through Redis
//! (`SharedLimit`, a `redis-server` the bench starts on a free port) they keep it together.
//!
//! Time is compressed: the key allows 20 requests a second. "Budget used" is what the server
//! served over what the limit allowed from its first request to its last (plus one window), so
//! 100% is a full budget. Without `redis-server` on the machine the shared rows are skipped.

use std::{
    collections::VecDeque,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use super::{Settings, report::Figure, server};

/// The key's limit, per [`WINDOW`].
const LIMIT: usize = 20;
const WINDOW: Duration = Duration::from_secs(1);
const PROCESSES: [usize; 4] = [1, 2, 4, 8];

/// What the server counted in one run.
#[derive(Default)]
struct Counts {
    window: VecDeque<Instant>,
    served: Vec<Instant>,
    refused: usize,
}

type Shared = Arc<Mutex<Counts>>;

/// Runs the section and returns its figures.
pub fn run(settings: &Settings) -> Result<Vec<Figure>, String> {
    // Windows' worth of requests in each run: the whole budget of that many windows.
    let windows = settings.budget_windows;
    let redis = Redis::start();
    if redis.is_none() {
        eprintln!("bench: shared_budget: no redis-server on this machine; shared rows skipped");
    }
    let mut figures = Vec::new();
    for processes in PROCESSES {
        let separate = one_run(processes, windows, None)?;
        let name =
            |what: &str, how: &str| format!("{processes} processes on one key: {what}, {how}");
        let Some(redis) = &redis else {
            figures.push(Figure::new(
                name("budget used", "separate limiters"),
                separate.used,
                "%",
            ));
            figures.push(Figure::new(
                name("429s", "separate limiters"),
                separate.refused as f64,
                "responses",
            ));
            continue;
        };
        let shared = one_run(processes, windows, Some(&redis.url()))?;
        let counted = |shared: usize, separate: usize| {
            (
                shared as f64,
                separate as f64,
                shared as f64 / (separate as f64).max(1.0),
            )
        };
        let used = (shared.used, separate.used, shared.used / separate.used);
        for (what, unit, (value, baseline, ratio), target) in [
            ("budget used", "%", used, ">= 90%"),
            (
                "429s",
                "responses",
                counted(shared.refused, separate.refused),
                "0",
            ),
            (
                "calls failed",
                "calls",
                counted(shared.failed, separate.failed),
                "0",
            ),
        ] {
            figures.push(
                Figure::new(name(what, "shared"), value, unit)
                    .against("separate limiters", baseline, ratio)
                    .target(target),
            );
        }
    }
    Ok(figures)
}

/// What one run of N processes gave.
struct Outcome {
    used: f64,
    refused: usize,
    failed: usize,
}

/// Runs `processes` children sharing `windows` windows' worth of checks, through `redis` if
/// given.
fn one_run(processes: usize, windows: usize, redis: Option<&str>) -> Result<Outcome, String> {
    let counts = Shared::default();
    let app = Router::new()
        .route("/api/v1/parse/invoices/{job_id}", get(status))
        .with_state(counts.clone());
    let server = server::spawn(app);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let calls = (LIMIT * windows).div_ceil(processes);
    let children: Vec<Child> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args(["bench", "--budget-child", &server.base_url])
                .args([redis.unwrap_or("-"), &LIMIT.to_string()])
                .args([&WINDOW.as_millis().to_string(), &calls.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start a budget child: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let mut failed = 0;
    for child in children {
        let output = child
            .wait_with_output()
            .map_err(|e| format!("a budget child: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        failed += text.trim().parse::<usize>().unwrap_or(calls);
    }
    drop(server);
    let counts = counts.lock().map_err(|_| "the server's counts")?;
    let (first, last) = match (counts.served.first(), counts.served.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => return Err("the server served nothing".into()),
    };
    let span = last.duration_since(first) + WINDOW;
    let allowed = LIMIT as f64 * span.as_secs_f64() / WINDOW.as_secs_f64();
    Ok(Outcome {
        used: 100.0 * counts.served.len() as f64 / allowed,
        refused: counts.refused,
        failed,
    })
}

/// A job's status, unless the key is over its limit.
async fn status(State(counts): State<Shared>, Path(job_id): Path<String>) -> Response {
    let now = Instant::now();
    let mut counts = counts.lock().expect("not poisoned");
    while counts
        .window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        counts.window.pop_front();
    }
    if counts.window.len() >= LIMIT {
        counts.refused += 1;
        let detail = format!("Rate limit exceeded: {LIMIT} per 1 second");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({ "detail": detail })),
        )
            .into_response();
    }
    counts.window.push_back(now);
    counts.served.push(now);
    let stamp = "2026-01-01T00:00:00Z";
    Json(
        json!({"success": true, "data": {"job_id": job_id, "status": "processing",
        "created_at": stamp, "updated_at": stamp}}),
    )
    .into_response()
}

/// One child: CALLS status checks at once through a client limited to LIMIT per WINDOW_MS,
/// sharing through REDIS unless it is `-`. Prints how many calls failed.
pub fn child_main(args: &[String]) -> Result<(), String> {
    let [url, redis, limit, window_ms, calls] = args else {
        return Err(format!(
            "--budget-child {args:?}: expected URL REDIS LIMIT WINDOW_MS CALLS"
        ));
    };
    let number = |text: &String| {
        text.parse::<u64>()
            .map_err(|_| format!("--budget-child: {text:?} is not a number"))
    };
    let (limit, window, calls) = (number(limit)?, number(window_ms)?, number(calls)?);
    let mut builder = invaro::Client::builder()
        .api_key("sk_bench_shared_budget")
        .base_url(url)
        .rate_limit(invaro::RateLimit::new(
            u32::try_from(limit).unwrap_or(u32::MAX),
            Duration::from_millis(window),
        ));
    if redis != "-" {
        builder = builder.shared_limit(invaro::SharedLimit::redis(redis));
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))?;
    let failed = runtime.block_on(async {
        let checks = (0..calls).map(|n| {
            let client = client.clone();
            async move {
                client
                    .job(invaro::DocumentKind::Invoice, format!("job_{n}"))
                    .status()
                    .await
            }
        });
        let results = futures::future::join_all(checks).await;
        results.iter().filter(|r| r.is_err()).count()
    });
    println!("{failed}");
    Ok(())
}

/// A `redis-server` of the bench's own on a free port, stopped when dropped.
pub(super) struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    pub(super) fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub(super) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
