//! Section 4: polling economy, against round robin and an oracle. Jobs complete after random
//! delays on the bench's own server, which enforces 60 requests per window, with time
//! compressed 60 times: a window of 1 s stands for the API's minute, a job of 15 to 75 s takes
//! 0.25 to 1.25 s, and every duration of the client's policies is divided by 60 too, so the
//! ratios are the real ones. Figures are given back at real scale.
//!
//! Two scenarios:
//! - together: 1, 10 and 100 identical jobs (15 to 75 s) started at once (one job's run gives
//!   one delay, so it runs nine times as often);
//! - staggered: 10, 30 and 100 jobs started one every 3 s, of two kinds (invoices of 10 to 30
//!   s, statements of 40 to 120 s), half of each kind reporting `progress`. This is where
//!   knowing which job is likely to have finished can pay.
//!
//! Each is waited on two ways, runs interleaved (invaro, round robin, then the other order):
//! the SDK's default policy, and round robin, the simple alternative: each job checked once at
//! its start, then one check a second (the same 60/min budget), each going to the unseen job
//! checked longest ago. Figures are medians over the runs of each run's median. The oracle
//! ([`oracle`](super::oracle)) knows every completion and has the client's budget; it is the
//! floor of the together scenario.
//!
//! The server counts every request and every 429 and knows the instant each job completed. It
//! sends no `X-RateLimit-*` headers, because their reset is in whole Unix seconds, which no time
//! compression can shrink; the client paces itself with its own limiter alone.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use invaro::{DocumentKind, PollPolicy, RateLimit, RetryPolicy};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Settings,
    oracle::{self, Budget},
    report::Figure,
    report::median,
    server,
};

/// Real seconds per bench second.
pub(super) const SCALE: u32 = 60;
/// The API's 60 requests a minute, compressed.
pub(super) const LIMIT: u32 = 60;
pub(super) const WINDOW: Duration = Duration::from_secs(1);
const KEY: &str = "bench-key";
/// How many times more often the one-job case runs (each of its runs yields a single delay).
const ONE_JOB_RUNS: usize = 9;
/// The fewest runs of each way a full bench makes (the targets are medians of five).
const FULL_RUNS: usize = 5;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Scenario {
    /// Identical jobs of 15 to 75 s, all started at once.
    Together,
    /// One job every 3 s, alternately of 10 to 30 s (invoices) and 40 to 120 s (statements),
    /// half of each kind reporting progress.
    Staggered,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Way {
    Invaro,
    RoundRobin,
}

/// One job of a run: when it starts and how long it takes (bench time), and its kind.
#[derive(Clone, Debug)]
struct Planned {
    start: Duration,
    takes: Duration,
    kind: DocumentKind,
    progress: bool,
}

fn plan(scenario: Scenario, count: usize) -> Vec<Planned> {
    let real = |from: f64, to: f64| {
        scaled(Duration::from_secs_f64(
            from + (to - from) * fastrand::f64(),
        ))
    };
    (0..count)
        .map(|n| match scenario {
            Scenario::Together => Planned {
                start: Duration::ZERO,
                takes: real(15.0, 75.0),
                kind: DocumentKind::Statement,
                progress: false,
            },
            Scenario::Staggered => {
                let short = n % 2 == 0;
                Planned {
                    start: scaled(Duration::from_secs(3)) * u32::try_from(n).unwrap_or(u32::MAX),
                    takes: if short {
                        real(10.0, 30.0)
                    } else {
                        real(40.0, 120.0)
                    },
                    kind: if short {
                        DocumentKind::Invoice
                    } else {
                        DocumentKind::Statement
                    },
                    progress: (n / 2) % 2 == 0,
                }
            }
        })
        .collect()
}

/// What one run saw.
struct Outcome {
    requests_per_job: f64,
    rate_limited: f64,
    /// Median delay from a job's completion to its waiter seeing it, real-scale seconds.
    latency: f64,
    /// When each job completed, bench seconds after the run started.
    completions: Vec<f64>,
}

/// `real` divided by [`SCALE`].
pub(super) fn scaled(real: Duration) -> Duration {
    real / SCALE
}

/// Runs the section and returns its figures.
pub fn run(settings: &Settings) -> Vec<Figure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure(settings))
}

async fn measure(settings: &Settings) -> Vec<Figure> {
    let round_trip = round_trip().await;
    let window = Budget::Paced {
        limit: LIMIT as usize,
        window: WINDOW.as_secs_f64(),
    };
    let runs = if settings.polling_repeats > 1 {
        settings.polling_repeats.max(FULL_RUNS)
    } else {
        1
    };
    let mut figures = Vec::new();
    let cases = [
        (Scenario::Together, 1),
        (Scenario::Together, 10),
        (Scenario::Together, 100),
        (Scenario::Staggered, 10),
        (Scenario::Staggered, 30),
        (Scenario::Staggered, 100),
    ];
    for (scenario, count) in cases {
        let repeats = runs * if count == 1 { ONE_JOB_RUNS } else { 1 };
        // (invaro, round robin) per run, the order alternating.
        let mut pairs = Vec::new();
        for run in 0..repeats {
            let jobs = plan(scenario, count);
            let pair = if run % 2 == 0 {
                let invaro = one_run(Way::Invaro, &jobs).await;
                (invaro, one_run(Way::RoundRobin, &jobs).await)
            } else {
                let robin = one_run(Way::RoundRobin, &jobs).await;
                (one_run(Way::Invaro, &jobs).await, robin)
            };
            pairs.push(pair);
        }
        figures.extend(case_figures(scenario, count, &pairs, window, round_trip));
    }
    figures
}

/// The rows of one scenario and size: requests per job, 429s, completion to seen.
fn case_figures(
    scenario: Scenario,
    count: usize,
    pairs: &[(Outcome, Outcome)],
    window: Budget,
    round_trip: f64,
) -> Vec<Figure> {
    let of = |f: &dyn Fn(&Outcome) -> f64, robin: bool| {
        median(
            &pairs
                .iter()
                .map(|(i, r)| f(if robin { r } else { i }))
                .collect::<Vec<_>>(),
        )
    };
    let started = match scenario {
        Scenario::Together => "started together",
        Scenario::Staggered => "staggered, mixed",
    };
    let name = |what: &str| format!("{count} job(s) {started}, 60/min: {what}");
    let rr = "round robin";
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let mut figures = Vec::new();

    let (requests, rr_requests) = (
        of(&|o| o.requests_per_job, false),
        of(&|o| o.requests_per_job, true),
    );
    figures.push(
        Figure::new(name("requests per job"), requests, "requests")
            .against(rr, rr_requests, requests / rr_requests)
            .target(format!(
                "<= round robin: {}",
                verdict(requests <= rr_requests)
            )),
    );
    let limited = of(&|o| o.rate_limited, false);
    let mut refused = Figure::new(name("429s received"), limited, "responses")
        .target(format!("0: {}", verdict(limited == 0.0)));
    refused.baseline = Some(of(&|o| o.rate_limited, true));
    refused.baseline_name = Some(rr.into());
    figures.push(refused);

    let (seen, rr_seen) = (of(&|o| o.latency, false), of(&|o| o.latency, true));
    let ratio = seen / rr_seen;
    let target = match (scenario, count) {
        (Scenario::Together, 1) => Some(format!("<= 1 s: {}", verdict(seen <= 1.0))),
        (Scenario::Together, _) => Some(format!("<= 1.1x round robin: {}", verdict(ratio <= 1.1))),
        (Scenario::Staggered, 30 | 100) => {
            Some(format!("<= 0.6x round robin: {}", verdict(ratio <= 0.6)))
        }
        (Scenario::Staggered, _) => Some("reported (0.6x asked for 30 and 100)".to_owned()),
    };
    let mut latency =
        Figure::new(name("completion to seen, median"), seen, "s").against(rr, rr_seen, ratio);
    latency.target = target;
    figures.push(latency);
    if scenario == Scenario::Together {
        let floor = of(
            &|o| median(&oracle::delays(&o.completions, window, round_trip)) * f64::from(SCALE),
            false,
        );
        figures.push(
            Figure::new(
                name("completion to seen, median, against the oracle"),
                seen,
                "s",
            )
            .against("oracle, same budget", floor, seen / floor),
        );
    }
    figures
}

/// The median round trip of a status call through the SDK here, in bench seconds.
async fn round_trip() -> f64 {
    let state: Shared = Arc::default();
    state.lock().expect("the jobs lock").jobs.insert(
        "probe".into(),
        Job::new(Instant::now(), Utc::now(), Duration::ZERO, false),
    );
    let server = server::spawn(router(state));
    let client = invaro::Client::builder()
        .api_key(KEY)
        .base_url(&server.base_url)
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings");
    let job = client.job(DocumentKind::Statement, "probe");
    let mut times = Vec::new();
    for _ in 0..50 {
        let sent = Instant::now();
        job.status().await.expect("the probe answers");
        times.push(sent.elapsed().as_secs_f64());
    }
    median(&times)
}

/// A job of the bench's server: when it completes, and how often it was asked about.
struct Job {
    started: Instant,
    takes: Duration,
    created_at: DateTime<Utc>,
    completed_at: DateTime<Utc>,
    /// Whether it reports `progress` while it runs.
    progress: bool,
    polls: u64,
}

impl Job {
    fn new(started: Instant, created_at: DateTime<Utc>, takes: Duration, progress: bool) -> Self {
        Self {
            started,
            takes,
            created_at,
            completed_at: created_at + chrono::Duration::from_std(takes).expect("a short delay"),
            progress,
            polls: 0,
        }
    }
}

/// The server's state: the run's plan (by document id), its jobs, its fixed rate-limit window,
/// and the 429s it sent.
#[derive(Default)]
struct Jobs {
    plan: HashMap<String, Planned>,
    jobs: HashMap<String, Job>,
    window: Option<(Instant, u32)>,
    refused: u64,
}

impl Jobs {
    /// Counts a request against the window; false (and a 429 counted) beyond its limit.
    fn admit(&mut self, now: Instant) -> bool {
        let (started, used) = match self.window {
            Some((started, used)) if now.duration_since(started) < WINDOW => (started, used),
            _ => (now, 0),
        };
        if used >= LIMIT {
            self.refused += 1;
            return false;
        }
        self.window = Some((started, used + 1));
        true
    }
}

type Shared = Arc<Mutex<Jobs>>;

fn too_many() -> Response {
    let body =
        json!({"success": false, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}});
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

/// Starts the planned job of the document in the body (`doc-N` becomes `job-N`).
async fn start(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let now = Instant::now();
    let mut state = state.lock().expect("the jobs lock");
    if !state.admit(now) {
        return too_many();
    }
    let document = body["document_id"].as_str().unwrap_or_default();
    let Some(planned) = state.plan.get(document).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = document.replacen("doc-", "job-", 1);
    let job = Job::new(now, Utc::now(), planned.takes, planned.progress);
    state.jobs.insert(id.clone(), job);
    let data = json!({"job_id": id, "status": "pending"});
    (
        StatusCode::ACCEPTED,
        Json(json!({"success": true, "data": data})),
    )
        .into_response()
}

/// Answers a status poll: 429 beyond the window's limit, else the job's state now.
async fn status(State(state): State<Shared>, Path((_, id)): Path<(String, String)>) -> Response {
    let now = Instant::now();
    let mut state = state.lock().expect("the jobs lock");
    if !state.admit(now) {
        return too_many();
    }
    let Some(job) = state.jobs.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    job.polls += 1;
    let elapsed = now.duration_since(job.started);
    let done = elapsed >= job.takes;
    let progress = if done {
        json!(100)
    } else if job.progress {
        json!((100.0 * elapsed.as_secs_f64() / job.takes.as_secs_f64()).floor())
    } else {
        Value::Null
    };
    let data = json!({
        "job_id": id,
        "created_at": job.created_at.to_rfc3339(),
        "status": if done { "completed" } else { "processing" },
        "progress": progress,
        "updated_at": if done { job.completed_at.to_rfc3339() } else { Utc::now().to_rfc3339() },
        "results": if done { json!({"account_no": "001"}) } else { Value::Null },
    });
    Json(json!({"success": true, "data": data})).into_response()
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/parse/{kind}", post(start))
        .route("/api/v1/parse/{kind}/{job_id}", get(status))
        .with_state(state)
}

/// The path segment of `kind`'s jobs.
fn segment(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Invoice => "invoices",
        _ => "statements",
    }
}

/// Runs `plan` one way: jobs starting at time 0 exist on the server from the run's start
/// (the together scenario); later ones are started with a request at their time.
async fn one_run(way: Way, plan: &[Planned]) -> Outcome {
    let state: Shared = Arc::default();
    let (start, created_at) = (Instant::now(), Utc::now());
    let mut completions = Vec::with_capacity(plan.len());
    {
        let mut state = state.lock().expect("the jobs lock");
        for (n, planned) in plan.iter().enumerate() {
            completions.push((planned.start + planned.takes).as_secs_f64());
            state.plan.insert(format!("doc-{n}"), planned.clone());
            if planned.start.is_zero() {
                let job = Job::new(start, created_at, planned.takes, planned.progress);
                state.jobs.insert(format!("job-{n}"), job);
            }
        }
    }
    let server = server::spawn(router(state.clone()));
    let latencies = match way {
        Way::Invaro => invaro_run(&server.base_url, plan, start).await,
        Way::RoundRobin => round_robin(&server.base_url, plan, start).await,
    };
    let state = state.lock().expect("the jobs lock");
    let polls: u64 = state.jobs.values().map(|j| j.polls).sum();
    let count = plan.len() as f64;
    Outcome {
        requests_per_job: (polls + state.refused) as f64 / count,
        rate_limited: state.refused as f64,
        latency: median(&latencies),
        completions,
    }
}

/// Real-scale seconds from `completed` (the server's clock) to now.
fn seen_after(completed: DateTime<Utc>) -> f64 {
    let delay = (Utc::now() - completed).to_std().unwrap_or_default();
    delay.as_secs_f64() * f64::from(SCALE)
}

/// Every job waited on by one invaro client with its default policy (compressed).
async fn invaro_run(base_url: &str, plan: &[Planned], start: Instant) -> Vec<f64> {
    let client = client(KEY, base_url, Duration::from_secs(3_600));
    futures::stream::iter(plan.iter().enumerate())
        .map(|(n, planned)| {
            let client = &client;
            async move {
                let job = if planned.start.is_zero() {
                    client.job(planned.kind, format!("job-{n}"))
                } else {
                    tokio::time::sleep_until(start + planned.start).await;
                    client
                        .start_job(planned.kind, &format!("doc-{n}"))
                        .await
                        .expect("the job starts")
                };
                let parsed = job.wait().await.expect("the job completes");
                seen_after(
                    parsed
                        .job()
                        .updated_at
                        .expect("a completed job has updated_at"),
                )
            }
        })
        .buffer_unordered(plan.len())
        .collect()
        .await
}

/// A job round robin waits on.
struct Robin {
    kind: DocumentKind,
    id: String,
    last_check: Option<Instant>,
}

/// Round robin: one request a second (the same budget); a start due goes first, else the
/// check goes to the unseen job checked longest ago (one never checked first).
async fn round_robin(base_url: &str, plan: &[Planned], start: Instant) -> Vec<f64> {
    let http = reqwest::Client::new();
    let mut waiting: Vec<Robin> = Vec::new();
    let mut to_start = plan.iter().enumerate().filter(|(_, p)| !p.start.is_zero());
    let mut next_start = to_start.next();
    for (n, planned) in plan.iter().enumerate().filter(|(_, p)| p.start.is_zero()) {
        waiting.push(Robin {
            kind: planned.kind,
            id: format!("job-{n}"),
            last_check: None,
        });
    }
    let mut latencies = Vec::with_capacity(plan.len());
    let mut slots = tokio::time::interval(WINDOW / LIMIT);
    slots.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while latencies.len() < plan.len() {
        slots.tick().await;
        let now = Instant::now();
        if let Some((n, planned)) = next_start.filter(|(_, p)| start + p.start <= now) {
            let url = format!("{base_url}/parse/{}", segment(planned.kind));
            let sent = http
                .post(url)
                .bearer_auth(KEY)
                .json(&json!({"document_id": format!("doc-{n}")}))
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                waiting.push(Robin {
                    kind: planned.kind,
                    id: format!("job-{n}"),
                    last_check: None,
                });
                next_start = to_start.next();
            }
            continue;
        }
        let Some(index) = (0..waiting.len()).min_by_key(|&i| waiting[i].last_check) else {
            continue;
        };
        let job = &mut waiting[index];
        job.last_check = Some(now);
        let url = format!("{base_url}/parse/{}/{}", segment(job.kind), job.id);
        if let Some(completed) = completed_at(&http, &url).await {
            latencies.push(seen_after(completed));
            waiting.swap_remove(index);
        }
    }
    latencies
}

/// When the job at `url` completed, if a status call says it has.
async fn completed_at(http: &reqwest::Client, url: &str) -> Option<DateTime<Utc>> {
    let response = http.get(url).bearer_auth(KEY).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.json::<Value>().await.ok()?;
    if body["data"]["status"] != "completed" {
        return None;
    }
    body["data"]["updated_at"].as_str()?.parse().ok()
}

/// An invaro client with every policy compressed like the server's clock, waiting at most
/// `deadline` (real scale) for a job.
pub(super) fn client(key: &str, base_url: &str, deadline: Duration) -> invaro::Client {
    invaro::Client::builder()
        .api_key(key)
        .base_url(base_url)
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .poll(policy(deadline))
        .retry(
            RetryPolicy::default()
                .initial_delay(scaled(Duration::from_millis(500)))
                .max_delay(scaled(Duration::from_secs(20)))
                .budget(scaled(Duration::from_secs(60)))
                .max_server_delay(scaled(Duration::from_secs(60))),
        )
        .build()
        .expect("valid settings")
}

/// The default poll policy compressed, waiting at most `deadline` (real scale).
fn policy(deadline: Duration) -> PollPolicy {
    PollPolicy::default()
        .first_check(scaled(Duration::from_secs(1)))
        .max_interval(scaled(Duration::from_secs(10)))
        .not_found_grace(scaled(Duration::from_secs(30)))
        .deadline(scaled(deadline))
}
