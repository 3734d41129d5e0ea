//! Section 4: polling economy. 1, 10 and 100 concurrent jobs against the sandbox enforcing 60
//! requests per window, with time compressed 60 times: a window of 1 s stands for the API's minute,
//! and every duration of the client's policies is divided by 60 too, so the ratios are the real
//! ones. Figures are given back at real scale.
//!
//! A setup client (its own API key, so its own rate-limit bucket) uploads and starts the jobs;
//! each job is then waited on after a random share of its run time has passed, so the waits see
//! completions after random delays. The measured client uses a second key: every request on it is
//! a status poll. The baseline polls every 5 s (the docs suggest 5 to 10), as a user's loop would.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use invaro::{DocumentKind, PollPolicy, RateLimit, RetryPolicy, Upload};
use invaro_sandbox::{JobTimings, Sandbox, SandboxHandle, samples};
use serde_json::Value;

use super::{Settings, report::Figure, report::median};

/// Real seconds per bench second.
const SCALE: u32 = 60;
const LIMIT: u32 = 60;
const WINDOW: Duration = Duration::from_secs(1);
const SETUP_KEY: &str = "setup-key";
const POLL_KEY: &str = "poll-key";
/// A job of one real minute: 15 s pending, 45 s processing.
const TIMINGS: JobTimings = JobTimings {
    pending: Duration::from_millis(250),
    processing: Duration::from_millis(750),
};
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
fn scaled(real: Duration) -> Duration {
    real / SCALE
}

/// Runs the section and returns its figures.
pub fn run(settings: &Settings) -> Vec<Figure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure(settings))
}

async fn measure(settings: &Settings) -> Vec<Figure> {
    let mut figures = Vec::new();
    for count in COUNTS {
        let mut runs = Vec::new();
        for run in 0..settings.polling_repeats {
            let ways = if run % 2 == 0 {
                [Way::Invaro, Way::Naive]
            } else {
                [Way::Naive, Way::Invaro]
            };
            let mut pair = Vec::new();
            for way in ways {
                pair.push((way, one_run(way, count).await));
            }
            pair.sort_by_key(|(way, _)| *way == Way::Naive);
            runs.push((pair.remove(0).1, pair.remove(0).1));
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
        figures.push(
            Figure::new(
                format!("poll {count} job(s) under 60/min: requests per job"),
                column(|o| o.requests_per_job, false),
                "requests",
            )
            .against(
                naive,
                column(|o| o.requests_per_job, true),
                paired(|o| o.requests_per_job),
            ),
        );
        let limited = column(|o| o.rate_limited, true);
        let mut figure = Figure::new(
            format!("poll {count} job(s) under 60/min: 429s received"),
            column(|o| o.rate_limited, false),
            "responses",
        )
        .target("0 with the limiter on");
        figure.baseline = Some(limited);
        figure.baseline_name = Some(naive.into());
        figures.push(figure);
        figures.push(
            Figure::new(
                format!("poll {count} job(s) under 60/min: completion to seen, median"),
                column(|o| o.latency, false),
                "s",
            )
            .against(naive, column(|o| o.latency, true), paired(|o| o.latency)),
        );
    }
    figures
}

async fn one_run(way: Way, count: usize) -> Outcome {
    let sandbox = Sandbox::builder()
        .api_key(SETUP_KEY)
        .api_key(POLL_KEY)
        .job_timings(TIMINGS)
        .rate_limit(LIMIT, WINDOW)
        .start()
        .await
        .expect("the sandbox starts");
    let setup = client(&sandbox, SETUP_KEY);
    let mut documents = Vec::new();
    let uploads = (0..count).collect::<Vec<_>>();
    for chunk in uploads.chunks(10) {
        let files: Vec<Upload> = chunk
            .iter()
            .map(|n| Upload::bytes(format!("statement-{n}.pdf"), samples::STATEMENT_PDF))
            .collect();
        let uploaded = setup
            .upload(&files)
            .await
            .expect("the setup upload succeeds");
        documents.extend(uploaded.into_iter().map(|d| d.doc_id));
    }
    let before = sandbox.stats().requests;
    let measured = client(&sandbox, POLL_KEY);
    let naive = reqwest::Client::new();
    let base = sandbox.base_url().to_owned();
    let latencies: Vec<f64> = futures::stream::iter(documents)
        .map(|document| {
            let (setup, measured, naive, base) = (&setup, &measured, &naive, &base);
            async move {
                let job = setup
                    .start_job(DocumentKind::Statement, &document)
                    .await
                    .expect("the setup start succeeds");
                let run_time = TIMINGS.pending + TIMINGS.processing;
                tokio::time::sleep(run_time.mul_f64(fastrand::f64())).await;
                let completed = match way {
                    Way::Invaro => invaro_wait(measured, job.id()).await,
                    Way::Naive => naive_wait(naive, base, job.id()).await,
                };
                let seen = Utc::now();
                let delay = (seen - completed).to_std().unwrap_or_default();
                delay.as_secs_f64() * f64::from(SCALE)
            }
        })
        .buffer_unordered(count)
        .collect()
        .await;
    let stats = sandbox.stats();
    // After `before`, the setup key sent one start per job; every other request was a poll.
    let polls = stats.requests - before - count as u64;
    Outcome {
        requests_per_job: polls as f64 / count as f64,
        rate_limited: stats.responses(429) as f64,
        latency: median(&latencies),
    }
}

/// An invaro client for `key`, with every policy compressed like the sandbox's clock.
fn client(sandbox: &SandboxHandle, key: &str) -> invaro::Client {
    invaro::Client::builder()
        .api_key(key)
        .base_url(sandbox.base_url())
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .poll(
            PollPolicy::default()
                .first_check(scaled(Duration::from_secs(1)))
                .max_interval(scaled(Duration::from_secs(10)))
                .deadline(scaled(Duration::from_secs(600))),
        )
        .retry(
            RetryPolicy::default()
                .initial_delay(scaled(Duration::from_millis(500)))
                .max_delay(scaled(Duration::from_secs(20)))
                .budget(scaled(Duration::from_secs(60))),
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
            .bearer_auth(POLL_KEY)
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
