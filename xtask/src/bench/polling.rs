//! Section 4: polling economy. 1, 10 and 100 concurrent jobs that complete after random delays,
//! waited on against a server enforcing 60 requests per window, with time compressed 60 times: a
//! window of 1 s stands for the API's minute, a job of 15 to 75 s takes 0.25 to 1.25 s, and every
//! duration of the client's policies is divided by 60 too, so the ratios are the real ones.
//! Figures are given back at real scale. One job's run gives one delay, so it is run nine
//! times as often as the others.
//!
//! The floor is the [`oracle`](super::oracle): over each run's own completion times, the
//! delays of a schedule that knows them and has the client's budget (60 per window, the
//! window counted from each answer, as the client's limiter counts), each check taking the
//! round trip of a status call measured here. It is also given with the same budget handed
//! out one slot a second, without bursts, the model behind the estimate of about 20 s
//! for 100 jobs.
//!
//! The server is the bench's own: it counts every poll per job and every 429, and knows the
//! instant each job completed. It sends no `X-RateLimit-*` headers, because their reset is in
//! whole Unix seconds, which no time compression can shrink (a rounding of up to a real second
//! would become up to a minute); the client paces itself with its own limiter alone. The
//! baseline polls every 5 s (the docs suggest 5 to 10), as a user's loop would, with no limiter.

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
    routing::get,
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
const COUNTS: [usize; 3] = [1, 10, 100];
/// How many times more often the one-job case runs (each of its runs yields a single delay).
const ONE_JOB_RUNS: usize = 9;
/// Requests per job before the wait scheduler (README, the bench at commit 8d7349f), by count:
/// the ceiling the issue sets.
const REQUESTS_BEFORE: [f64; 3] = [11.0, 7.30, 1.75];

#[derive(Clone, Copy, PartialEq)]
enum Way {
    /// The SDK with its default policy, or with one setting changed.
    Invaro(Variant),
    Naive,
}

/// The default poll policy, or one setting of it changed to see what the default buys.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Default,
    /// `burst` as large as the limit: checks on no evidence are not paced.
    Unpaced,
    /// `growth(1.2)`: fewer checks of each job, each seen later.
    Growth,
}

impl Variant {
    fn policy(self, policy: PollPolicy) -> PollPolicy {
        match self {
            Self::Default => policy,
            Self::Unpaced => policy.burst(LIMIT),
            Self::Growth => policy.growth(1.2),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Default => "default policy",
            Self::Unpaced => "pacing off (burst 60)",
            Self::Growth => "growth 1.2",
        }
    }
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

impl Outcome {
    /// The oracle's median delay over this run's completions, real-scale seconds.
    fn oracle(&self, budget: Budget, round_trip: f64) -> f64 {
        median(&oracle::delays(&self.completions, budget, round_trip)) * f64::from(SCALE)
    }
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
    let window = Budget::Window {
        limit: LIMIT as usize,
        window: WINDOW.as_secs_f64(),
    };
    let paced = Budget::Paced {
        limit: LIMIT as usize,
        window: WINDOW.as_secs_f64(),
    };
    let mut figures = Vec::new();
    for (count, before) in COUNTS.into_iter().zip(REQUESTS_BEFORE) {
        let repeats = settings.polling_repeats * if count == 1 { ONE_JOB_RUNS } else { 1 };
        // (invaro, naive) per run, the order alternating.
        let mut runs = Vec::new();
        for run in 0..repeats {
            let (invaro, naive) = if run % 2 == 0 {
                let invaro = one_run(Way::Invaro(Variant::Default), count).await;
                (invaro, one_run(Way::Naive, count).await)
            } else {
                let naive = one_run(Way::Naive, count).await;
                (one_run(Way::Invaro(Variant::Default), count).await, naive)
            };
            runs.push((invaro, naive));
        }
        let column = |f: &dyn Fn(&Outcome) -> f64, naive: bool| {
            let values: Vec<f64> = runs
                .iter()
                .map(|(i, n)| if naive { f(n) } else { f(i) })
                .collect();
            median(&values)
        };
        let paired = |f: &dyn Fn(&Outcome) -> f64, g: &dyn Fn(&Outcome, &Outcome) -> f64| {
            median(&runs.iter().map(|(i, n)| f(i) / g(i, n)).collect::<Vec<_>>())
        };
        let naive_name = "poll every 5 s";
        let name = |what: &str| format!("wait on {count} job(s) under 60/min: {what}");
        let requests = |o: &Outcome| o.requests_per_job;
        let latency = |o: &Outcome| o.latency;
        let limited = |o: &Outcome| o.rate_limited;
        let naive = |f: fn(&Outcome) -> f64| move |_: &Outcome, n: &Outcome| f(n);
        let oracle_of = |budget| move |i: &Outcome, _: &Outcome| i.oracle(budget, round_trip);
        figures.push(
            Figure::new(
                name("requests per job"),
                column(&requests, false),
                "requests",
            )
            .against(
                naive_name,
                column(&requests, true),
                paired(&requests, &naive(requests)),
            )
            .target(format!("<= {before} (before the scheduler)")),
        );
        let mut refused = Figure::new(name("429s received"), column(&limited, false), "responses")
            .target("0 with the limiter on");
        refused.baseline = Some(column(&limited, true));
        refused.baseline_name = Some(naive_name.into());
        figures.push(refused);
        let seen = |what: &str| name(&format!("completion to seen, median, {what}"));
        let mut against_naive = Figure::new(seen("against polling"), column(&latency, false), "s")
            .against(
                naive_name,
                column(&latency, true),
                paired(&latency, &naive(latency)),
            );
        if count == 1 {
            against_naive = against_naive.target("<= 1 s");
        }
        figures.push(against_naive);
        let by_oracle = |budget| {
            let oracle = oracle_of(budget);
            (
                column(&|i: &Outcome| oracle(i, i), false),
                paired(&latency, &oracle),
            )
        };
        let (floor, ratio) = by_oracle(window);
        let mut against_oracle = Figure::new(
            seen("against the oracle"),
            column(&latency, false),
            "s",
        )
        .against("oracle, same budget", floor, ratio);
        if count > 1 {
            against_oracle = against_oracle.target("<= 1.25x the oracle");
        }
        figures.push(against_oracle);
        let (floor, ratio) = by_oracle(paced);
        figures.push(
            Figure::new(
                seen("against the paced oracle"),
                column(&latency, false),
                "s",
            )
            .against("oracle, one slot a second", floor, ratio),
        );
        for variant in [Variant::Unpaced, Variant::Growth] {
            figures.extend(variant_figures(variant, count, repeats, window, round_trip).await);
        }
    }
    figures
}

/// Requests per job and completion to seen (against the oracle) with `variant`'s policy.
async fn variant_figures(
    variant: Variant,
    count: usize,
    repeats: usize,
    budget: Budget,
    round_trip: f64,
) -> Vec<Figure> {
    let mut runs = Vec::new();
    for _ in 0..repeats {
        runs.push(one_run(Way::Invaro(variant), count).await);
    }
    let of = |f: &dyn Fn(&Outcome) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    let name = |what: &str| {
        format!(
            "wait on {count} job(s) under 60/min, {}: {what}",
            variant.name()
        )
    };
    vec![
        Figure::new(
            name("requests per job"),
            of(&|o| o.requests_per_job),
            "requests",
        ),
        Figure::new(
            name("completion to seen, median, against the oracle"),
            of(&|o| o.latency),
            "s",
        )
        .against(
            "oracle, same budget",
            of(&|o| o.oracle(budget, round_trip)),
            of(&|o| o.latency / o.oracle(budget, round_trip)),
        ),
    ]
}

/// The median round trip of a status call through the SDK here, in bench seconds.
async fn round_trip() -> f64 {
    let jobs: Shared = Arc::default();
    let now = Instant::now();
    jobs.lock().expect("the jobs lock").jobs.insert(
        "probe".into(),
        Job {
            completes: now,
            created_at: Utc::now(),
            completed_at: Utc::now(),
            polls: 0,
        },
    );
    let server = server::spawn(router(jobs));
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
    completes: Instant,
    created_at: DateTime<Utc>,
    completed_at: DateTime<Utc>,
    polls: u64,
}

/// The server's state: its jobs, its fixed rate-limit window, and the 429s it sent.
#[derive(Default)]
struct Jobs {
    jobs: HashMap<String, Job>,
    window: Option<(Instant, u32)>,
    refused: u64,
}

type Shared = Arc<Mutex<Jobs>>;

/// Answers a status poll: 429 beyond the window's limit, else the job's state now.
async fn status(State(jobs): State<Shared>, Path(id): Path<String>) -> Response {
    let now = Instant::now();
    let mut state = jobs.lock().expect("the jobs lock");
    let (started, used) = match state.window {
        Some((started, used)) if now.duration_since(started) < WINDOW => (started, used),
        _ => (now, 0),
    };
    if used >= LIMIT {
        state.refused += 1;
        let body = json!({"success": false, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}});
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    state.window = Some((started, used + 1));
    let Some(job) = state.jobs.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    job.polls += 1;
    let done = now >= job.completes;
    let data = json!({
        "job_id": id,
        "created_at": job.created_at.to_rfc3339(),
        "status": if done { "completed" } else { "processing" },
        // Progress is optional in the API; a made-up one would mislead the scheduler.
        "progress": if done { json!(100) } else { Value::Null },
        "updated_at": if done { job.completed_at.to_rfc3339() } else { Utc::now().to_rfc3339() },
        "results": if done { json!({"account_no": "001"}) } else { Value::Null },
    });
    Json(json!({"success": true, "data": data})).into_response()
}

fn router(jobs: Shared) -> Router {
    Router::new()
        .route("/api/v1/parse/statements/{job_id}", get(status))
        .with_state(jobs)
}

async fn one_run(way: Way, count: usize) -> Outcome {
    let jobs: Shared = Arc::default();
    let (start, created_at) = (Instant::now(), Utc::now());
    let mut completions = Vec::with_capacity(count);
    {
        let mut state = jobs.lock().expect("the jobs lock");
        for n in 0..count {
            // 15 to 75 real seconds.
            let delay = scaled(Duration::from_secs(15)).mul_f64(1.0 + 4.0 * fastrand::f64());
            completions.push(delay.as_secs_f64());
            let job = Job {
                completes: start + delay,
                created_at,
                completed_at: created_at
                    + chrono::Duration::from_std(delay).expect("a short delay"),
                polls: 0,
            };
            state.jobs.insert(format!("job-{n}"), job);
        }
    }
    let server = server::spawn(router(jobs.clone()));
    let variant = match way {
        Way::Invaro(variant) => variant,
        Way::Naive => Variant::Default,
    };
    let client = client_with(
        KEY,
        &server.base_url,
        variant.policy(policy(Duration::from_secs(600))),
    );
    let naive = reqwest::Client::new();
    let latencies: Vec<f64> = futures::stream::iter(0..count)
        .map(|n| {
            let (client, naive, base) = (&client, &naive, &server.base_url);
            async move {
                let id = format!("job-{n}");
                let completed = match way {
                    Way::Invaro(_) => invaro_wait(client, &id).await,
                    Way::Naive => naive_wait(naive, base, &id).await,
                };
                let delay = (Utc::now() - completed).to_std().unwrap_or_default();
                delay.as_secs_f64() * f64::from(SCALE)
            }
        })
        .buffer_unordered(count)
        .collect()
        .await;
    let state = jobs.lock().expect("the jobs lock");
    let polls: u64 = state.jobs.values().map(|j| j.polls).sum();
    Outcome {
        requests_per_job: (polls + state.refused) as f64 / count as f64,
        rate_limited: state.refused as f64,
        latency: median(&latencies),
        completions,
    }
}

/// An invaro client with every policy compressed like the server's clock, waiting at most
/// `deadline` (real scale) for a job.
pub(super) fn client(key: &str, base_url: &str, deadline: Duration) -> invaro::Client {
    client_with(key, base_url, policy(deadline))
}

/// The default poll policy compressed, waiting at most `deadline` (real scale).
fn policy(deadline: Duration) -> PollPolicy {
    PollPolicy::default()
        .first_check(scaled(Duration::from_secs(1)))
        .max_interval(scaled(Duration::from_secs(10)))
        .not_found_grace(scaled(Duration::from_secs(30)))
        .deadline(scaled(deadline))
}

/// [`client`] with `poll` (already compressed).
fn client_with(key: &str, base_url: &str, poll: PollPolicy) -> invaro::Client {
    invaro::Client::builder()
        .api_key(key)
        .base_url(base_url)
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .poll(poll)
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

/// Waits with the SDK; returns when the job completed, by the server's clock.
async fn invaro_wait(client: &invaro::Client, job_id: &str) -> DateTime<Utc> {
    let parsed = client
        .job(DocumentKind::Statement, job_id)
        .wait()
        .await
        .expect("the job completes");
    parsed
        .job()
        .updated_at
        .expect("a completed job has updated_at")
}

/// Waits the way a hand-written loop would: a status call every 5 s (scaled), whatever the
/// answer, until one says `completed`.
async fn naive_wait(client: &reqwest::Client, base: &str, job_id: &str) -> DateTime<Utc> {
    loop {
        let response = client
            .get(format!("{base}/parse/statements/{job_id}"))
            .bearer_auth(KEY)
            .send()
            .await;
        if let Ok(response) = response
            && response.status().is_success()
            && let Ok(body) = response.json::<Value>().await
            && body["data"]["status"] == "completed"
        {
            let updated = body["data"]["updated_at"].as_str().unwrap_or_default();
            return updated.parse().expect("updated_at is RFC 3339");
        }
        tokio::time::sleep(scaled(Duration::from_secs(5))).await;
    }
}
