//! What runs around every handler: logging and counting, the body deadline, auth, the rate
//! limit, fault injection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, CONNECTION};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::request::Owner;
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
/// `X-RateLimit-*` headers of every response. Runs after authentication, so only configured keys
/// have a window, and a refused key never uses one up.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let owner = request.extensions().get::<Owner>().map(|owner| owner.0);
    let Some(owner) = owner.filter(|_| request.uri().path().starts_with(API_PREFIX)) else {
        return next.run(request).await;
    };
    let mut response = match state.rate.charge(owner, 1) {
        Err(quota) => ApiError::rate_limited(quota.retry_after).into_response(),
        Ok(_) => next.run(request).await,
    };
    if !state.config.rate_limit_headers {
        response
            .headers_mut()
            .remove(axum::http::header::RETRY_AFTER);
        return response;
    }
    // Read after the handler: batches and uploads take more than one request.
    state
        .rate
        .quota(owner)
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
        .and_then(bearer_key);
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

/// The key of an `Authorization: Bearer <key>` value. As HTTP says (RFC 9110, section 11), the
/// scheme is case-insensitive and the whitespace around it is not part of the credential.
fn bearer_key(value: &str) -> Option<&str> {
    const WHITESPACE: [char; 2] = [' ', '\t'];
    let (scheme, key) = value.trim_matches(WHITESPACE).split_once(WHITESPACE)?;
    let key = key.trim_start_matches(WHITESPACE);
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty() && !key.contains(WHITESPACE))
        .then_some(key)
}

/// Gives the request body [`crate::config::Timeouts::body`] to arrive whole. A body still
/// arriving then fails, and the answer becomes 408 with `Connection: close`, so a client that
/// stalls mid-body is let go.
pub(crate) async fn body_deadline(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let timeout = state.config.timeouts.body;
    let request = request.map(|body| with_deadline(body, timeout, expired.clone()));
    let response = next.run(request).await;
    if !expired.load(Ordering::Acquire) {
        return response;
    }
    let mut response = ApiError::request_timeout(format!(
        "the request body did not arrive within {} ms",
        timeout.as_millis()
    ))
    .into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `body`, failing once `timeout` has passed (and setting `expired`) if it has not ended by then.
fn with_deadline(body: Body, timeout: Duration, expired: Arc<AtomicBool>) -> Body {
    let deadline = Box::pin(tokio::time::sleep(timeout));
    let chunks = futures::stream::unfold(
        Some((body.into_data_stream(), deadline, expired)),
        |reading| async move {
            let (mut chunks, mut deadline, expired) = reading?;
            tokio::select! {
                // Data that has arrived is taken even when the deadline has passed meanwhile.
                biased;
                chunk = chunks.next() => chunk.map(|chunk| (chunk, Some((chunks, deadline, expired)))),
                () = &mut deadline => {
                    expired.store(true, Ordering::Release);
                    let late = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    );
                    Some((Err(axum::Error::new(late)), None))
                }
            }
        },
    );
    Body::from_stream(chunks)
}

/// Injects the configured faults. Status and drop faults answer before the handler runs, so they
/// never have side effects; truncation cuts the handler's answer.
pub(crate) async fn inject_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let rules = &state.config.fault_rules;
    // Faults belong to the API; the sandbox's own routes outside it are never hit.
    let Some(path) = request.uri().path().strip_prefix(API_PREFIX) else {
        return next.run(request).await;
    };
    if rules.is_empty() {
        return next.run(request).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_whitespace_is_not_the_key() {
        for value in [
            "Bearer k",
            "bearer k",
            "BEARER k",
            "Bearer  k",
            "Bearer\tk",
            " Bearer k ",
        ] {
            assert_eq!(bearer_key(value), Some("k"), "{value:?}");
        }
        for value in ["Bearer", "Bearer ", "Basic k", "Bearerk", "Bearer k j", ""] {
            assert_eq!(bearer_key(value), None, "{value:?}");
        }
    }
}
