//! What runs around every handler: logging and counting, the rate limit, auth, fault injection.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::{Owner, RateBucket};
use super::{API_PREFIX, operation_id};
use crate::error::ApiError;
use crate::faults;
use crate::state::AppState;

/// Counts the request and its response, and logs one line for it.
pub(crate) async fn observe(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    state.stats().requests += 1;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let dropped = response.extensions().get::<faults::Dropped>().is_some();
    let mut stats = state.stats();
    if dropped {
        stats.connections_dropped += 1;
    } else {
        *stats.responses_by_status.entry(status).or_default() += 1;
    }
    drop(stats);
    let outcome = if dropped {
        "dropped".to_owned()
    } else {
        status.to_string()
    };
    tracing::info!(
        "{method} {path} {outcome} {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// Takes one request from the caller's window (429 when empty) and reports the window in the
/// `X-RateLimit-*` headers of every response.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let bucket = request
        .headers()
        .get(AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut response = match state.rate.charge(&bucket, 1) {
        Err(quota) => ApiError::rate_limited(quota.retry_after).into_response(),
        Ok(_) => {
            request.extensions_mut().insert(RateBucket(bucket.clone()));
            next.run(request).await
        }
    };
    // Read after the handler: batches and uploads take more than one request.
    state
        .rate
        .quota(&bucket)
        .write_headers(response.headers_mut());
    response
}

/// Lets through only requests with `Authorization: Bearer <configured key>`.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let Some(presented) = presented else {
        return ApiError::unauthorized("missing `Authorization: Bearer <api key>` header")
            .into_response();
    };
    match state.config.api_keys.iter().position(|k| k == presented) {
        Some(owner) => {
            request.extensions_mut().insert(Owner(owner));
            next.run(request).await
        }
        None => ApiError::unauthorized("the API key is not valid").into_response(),
    }
}

/// Injects the configured faults. Status and drop faults answer before the handler runs, so they
/// never have side effects; truncation cuts the handler's answer.
pub(crate) async fn inject_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let rules = &state.config.fault_rules;
    if rules.is_empty() {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let path = path.strip_prefix(API_PREFIX).unwrap_or(path);
    let operation = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| m.as_str().strip_prefix(API_PREFIX))
        .and_then(|template| operation_id(request.method(), template));
    let decision = faults::decide(
        rules,
        state.config.fault_seed,
        state.next_fault_sequence(),
        request.method(),
        operation,
        path,
    );
    state.stats().faults_injected += decision.count();
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(fault) = &decision.replace {
        return faults::replacement(fault);
    }
    let response = next.run(request).await;
    if decision.truncate {
        faults::truncate(response).await
    } else {
        response
    }
}
