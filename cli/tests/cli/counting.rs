//! A scripted Invaro API on 127.0.0.1 that enforces a per-key rate limit the way a FastAPI
//! service behind a limiter does: a sliding window of `limit` requests, and over it a 429 with
//! `Retry-After` (whole seconds), `X-RateLimit-*` headers and a `{"detail": ...}` body. It
//! counts what it served and what it refused, so tests can assert that every document of
//! several processes finished and how many 429s that took.
//!
//! Uploading `NAME.pdf` gives document `doc_NAME`, whose job is `job_NAME`; a job is completed
//! on its second status check (a job whose id contains `done`, on its first).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Json, Router,
    extract::{Multipart, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

/// What the server counts.
#[derive(Default)]
struct Counts {
    /// When each request it served arrived.
    served: VecDeque<Instant>,
    /// Requests served in all.
    served_total: usize,
    /// 429s sent.
    refused: usize,
    /// 429s sent because the test asked for one (see [`Counting::refuse_next`]).
    forced: usize,
    /// Status checks per job.
    polls: HashMap<String, u32>,
    /// Forced 429s still to send, and the Retry-After they carry.
    refuse: Option<(usize, u64)>,
}

#[derive(Clone)]
struct Shared {
    limit: usize,
    window: Duration,
    counts: Arc<Mutex<Counts>>,
}

/// The server, running on its own runtime until dropped.
pub struct Counting {
    shared: Shared,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

impl Counting {
    /// Starts a server that serves `limit` requests in any `window` and refuses the rest.
    pub fn start(limit: usize, window: Duration) -> Self {
        let shared = Shared {
            limit,
            window,
            counts: Arc::default(),
        };
        let app = Router::new()
            .route("/api/v1/parse/upload", post(upload))
            .route("/api/v1/parse/invoices", post(start))
            .route("/api/v1/parse/invoices/{job_id}", get(status))
            .with_state(shared.clone());
        let (runtime, url) = crate::support::serve_scripted(app);
        Self {
            shared,
            url,
            _runtime: runtime,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// 429s sent so far (forced ones included).
    pub fn refused(&self) -> usize {
        self.counts().refused
    }

    /// Requests served so far.
    pub fn served(&self) -> usize {
        self.counts().served_total
    }

    /// How many status checks of `job_id` it answered.
    pub fn checks(&self, job_id: &str) -> u32 {
        self.counts().polls.get(job_id).copied().unwrap_or(0)
    }

    /// Refuses the next `n` requests, whatever the count, with `Retry-After: seconds`.
    pub fn refuse_next(&self, n: usize, seconds: u64) {
        self.counts().refuse = Some((n, seconds));
    }

    /// 429s sent because of [`refuse_next`](Self::refuse_next).
    pub fn forced(&self) -> usize {
        self.counts().forced
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.shared.counts.lock().expect("not poisoned")
    }
}

impl Shared {
    /// Counts a request: `None` to serve it, else the 429 to answer.
    fn admit(&self, headers: &HeaderMap) -> Option<Response> {
        let authorized = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
        if !authorized {
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"detail": "Not authenticated"})),
                )
                    .into_response(),
            );
        }
        let now = Instant::now();
        let mut counts = self.counts.lock().expect("not poisoned");
        if let Some((left, seconds)) = counts.refuse {
            counts.refuse = (left > 1).then_some((left - 1, seconds));
            counts.refused += 1;
            counts.forced += 1;
            return Some(self.refusal(seconds, 0));
        }
        while counts
            .served
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            counts.served.pop_front();
        }
        if counts.served.len() >= self.limit {
            counts.refused += 1;
            let oldest = *counts.served.front().expect("the window is full");
            let frees = (oldest + self.window).duration_since(now);
            // Whole seconds, rounded up, as the header allows.
            let seconds = frees.as_millis().div_ceil(1000).max(1) as u64;
            return Some(self.refusal(seconds, seconds));
        }
        counts.served.push_back(now);
        counts.served_total += 1;
        None
    }

    /// A 429 as a FastAPI limiter sends it.
    fn refusal(&self, retry_after: u64, reset_in: u64) -> Response {
        let reset = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            + reset_in;
        let detail = format!(
            "Rate limit exceeded: {} per {} milliseconds",
            self.limit,
            self.window.as_millis()
        );
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("retry-after", retry_after.to_string()),
                ("x-ratelimit-limit", self.limit.to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            Json(json!({ "detail": detail })),
        )
            .into_response()
    }
}

fn enveloped(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({"success": true, "data": data}))).into_response()
}

async fn upload(State(shared): State<Shared>, headers: HeaderMap, mut form: Multipart) -> Response {
    let mut files = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.file_name().unwrap_or("file").to_string();
        let stem = name.split('.').next().unwrap_or_default().to_string();
        let _ = field.bytes().await;
        files.push(json!({"doc_id": format!("doc_{stem}"), "file_id": format!("1_{name}")}));
    }
    if let Some(refusal) = shared.admit(&headers) {
        return refusal;
    }
    enveloped(StatusCode::OK, json!({"files": files, "status": "done"}))
}

async fn start(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Response {
    if let Some(refusal) = shared.admit(&headers) {
        return refusal;
    }
    let document = request["document_id"].as_str().unwrap_or_default();
    let job = format!("job_{}", document.trim_start_matches("doc_"));
    enveloped(
        StatusCode::ACCEPTED,
        json!({"job_id": job, "status": "pending"}),
    )
}

async fn status(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> Response {
    if let Some(refusal) = shared.admit(&headers) {
        return refusal;
    }
    let checks = {
        let mut counts = shared.counts.lock().expect("not poisoned");
        let n = counts.polls.entry(job_id.clone()).or_default();
        *n += 1;
        *n
    };
    let now = "2026-01-01T00:00:00Z";
    let mut job =
        json!({"job_id": job_id, "status": "processing", "created_at": now, "updated_at": now});
    if checks >= 2 || job_id.contains("done") {
        job["status"] = json!("completed");
        job["result"] = json!({"job": job_id});
    }
    enveloped(StatusCode::OK, job)
}
