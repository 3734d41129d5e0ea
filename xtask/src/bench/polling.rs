//! Section 4: polling economy. 1, 10 and 100 concurrent jobs that complete after random delays,
//! waited on against a server enforcing 60 requests per window, with time compressed 60 times: a
//! window of 1 s stands for the API's minute, a job of 15 to 75 s takes 0.25 to 1.25 s, and every
//! duration of the client's policies is divided by 60 too, so the ratios are the real ones.
//! Figures are given back at real scale.
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

use super::{Settings, report::Figure, report::median, server};

/// Real seconds per bench second.
pub(super) const SCALE: u32 = 60;
/// The API's 60 requests a minute, compressed.
pub(super) const LIMIT: u32 = 60;
pub(super) const WINDOW: Duration = Duration::from_secs(1);
const KEY: &str = "bench-key";
const COUNTS: [usize; 3] = [1, 10, 100];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Invaro,
    Naive,
}

/// What one run saw.
struct Outcome {
    requests_per_job: f64,
    rate_limited: f64,
    /// Median delay from a job's completion to its waiter seeing it, real-scale seconds.
    latency: f64,
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
    let mut figures = Vec::new();
    for count in COUNTS {
        // (invaro, naive) per run, the order alternating.
        let mut runs = Vec::new();
        for run in 0..settings.polling_repeats {
            let (invaro, naive) = if run % 2 == 0 {
                let invaro = one_run(Way::Invaro, count).await;
                (invaro, one_run(Way::Naive, count).await)
            } else {
                let naive = one_run(Way::Naive, count).await;
                (one_run(Way::Invaro, count).await, naive)
            };
            runs.push((invaro, naive));
        }
        let column = |f: fn(&Outcome) -> f64, naive: bool| {
            let values: Vec<f64> = runs
                .iter()
                .map(|(i, n)| if naive { f(n) } else { f(i) })
                .collect();
            median(&values)
        };
        let paired = |f: fn(&Outcome) -> f64| {
            median(&runs.iter().map(|(i, n)| f(i) / f(n)).collect::<Vec<_>>())
        };
        let naive = "poll every 5 s";
        let name = |what: &str| format!("wait on {count} job(s) under 60/min: {what}");
        let requests = |o: &Outcome| o.requests_per_job;
        let latency = |o: &Outcome| o.latency;
        let limited = |o: &Outcome| o.rate_limited;
        figures.push(
            Figure::new(
                name("requests per job"),
                column(requests, false),
                "requests",
            )
            .against(naive, column(requests, true), paired(requests)),
        );
        let mut refused = Figure::new(name("429s received"), column(limited, false), "responses")
            .target("0 with the limiter on");
        refused.baseline = Some(column(limited, true));
        refused.baseline_name = Some(naive.into());
        figures.push(refused);
        figures.push(
            Figure::new(
                name("completion to seen, median"),
                column(latency, false),
                "s",
            )
            .against(naive, column(latency, true), paired(latency)),
        );
    }
    figures
}

/// A job of the bench's server: when it completes, and how often it was asked about.
struct Job {
    completes: Instant,
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
        "status": if done { "completed" } else { "processing" },
        "progress": if done { 100 } else { 50 },
        "updated_at": if done { job.completed_at.to_rfc3339() } else { Utc::now().to_rfc3339() },
        "results": if done { json!({"account_no": "001"}) } else { Value::Null },
    });
    Json(json!({"success": true, "data": data})).into_response()
}

async fn one_run(way: Way, count: usize) -> Outcome {
    let jobs: Shared = Arc::default();
    {
        let mut state = jobs.lock().expect("the jobs lock");
        for n in 0..count {
            // 15 to 75 real seconds.
            let delay = scaled(Duration::from_secs(15)).mul_f64(1.0 + 4.0 * fastrand::f64());
            let completed_at =
                Utc::now() + chrono::Duration::from_std(delay).expect("a short delay");
            let job = Job {
                completes: Instant::now() + delay,
                completed_at,
                polls: 0,
            };
            state.jobs.insert(format!("job-{n}"), job);
        }
    }
    let app = Router::new()
        .route("/api/v1/parse/statements/{job_id}", get(status))
        .with_state(jobs.clone());
    let server = server::spawn(app);
    let client = client(KEY, &server.base_url, Duration::from_secs(600));
    let naive = reqwest::Client::new();
    let latencies: Vec<f64> = futures::stream::iter(0..count)
        .map(|n| {
            let (client, naive, base) = (&client, &naive, &server.base_url);
            async move {
                let id = format!("job-{n}");
                let completed = match way {
                    Way::Invaro => invaro_wait(client, &id).await,
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
    }
}

/// An invaro client with every policy compressed like the server's clock, waiting at most
/// `deadline` (real scale) for a job.
pub(super) fn client(key: &str, base_url: &str, deadline: Duration) -> invaro::Client {
    invaro::Client::builder()
        .api_key(key)
        .base_url(base_url)
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .poll(
            PollPolicy::default()
                .first_check(scaled(Duration::from_secs(1)))
                .max_interval(scaled(Duration::from_secs(10)))
                .not_found_grace(scaled(Duration::from_secs(30)))
                .deadline(scaled(deadline)),
        )
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
