//! Seeded fault injection: error statuses, latency, dropped connections and truncated bodies.
//!
//! Faults are decided per request from the seed and the request's sequence number, so the same
//! seed and the same sequence of requests give the same faults. Status and drop faults are decided
//! and answered before the handler runs, so an injected failure never has a side effect.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::error::ApiError;

/// What an injected fault does to a response.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status (500, 503 or 429) and the error envelope; the handler does not run.
    Status(u16),
    /// Like [`Fault::Status`] with 500, 503 or 429, picked at random for each hit.
    Errors,
    /// Wait this long before handling the request.
    Latency(Duration),
    /// Abort the connection: headers may arrive, the body fails; the handler does not run.
    Drop,
    /// Cut a GET's JSON body short (after the handler ran): the full `Content-Length` is
    /// announced, half the body sent, and the connection closed.
    Truncate,
}

/// Which requests a rule applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// Every request.
    All,
    /// Requests of this operationId (for example `processInvoices`).
    Operation(String),
    /// Requests whose path, relative to `/api/v1`, starts with this (for example `/parse`).
    PathPrefix(String),
}

/// One fault-injection rule: a fault, the share of matching requests it hits, and where.
///
/// ```
/// use invaro_sandbox::FaultRule;
/// let rule = FaultRule::status(503).rate(0.25).on("processInvoices");
/// # let _ = rule;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The fault to inject.
    pub fault: Fault,
    /// The share of matching requests it hits, from 0.0 to 1.0.
    pub rate: f64,
    /// Which requests it matches.
    pub scope: Scope,
}

impl FaultRule {
    fn new(fault: Fault) -> Self {
        Self {
            fault,
            rate: 1.0,
            scope: Scope::All,
        }
    }

    /// Answers matching requests with `code` (500, 503 or 429 are the useful ones).
    pub fn status(code: u16) -> Self {
        Self::new(Fault::Status(code))
    }

    /// Answers matching requests with 500, 503 or 429, picked at random.
    pub fn errors() -> Self {
        Self::new(Fault::Errors)
    }

    /// Delays matching requests by `delay`.
    pub fn latency(delay: Duration) -> Self {
        Self::new(Fault::Latency(delay))
    }

    /// Aborts the connection of matching requests.
    pub fn drop_connection() -> Self {
        Self::new(Fault::Drop)
    }

    /// Cuts the JSON body of matching GET requests short.
    pub fn truncate() -> Self {
        Self::new(Fault::Truncate)
    }

    /// Sets the share of matching requests hit (clamped to 0.0..=1.0; the default is 1.0).
    pub fn rate(mut self, share: f64) -> Self {
        self.rate = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        self
    }

    /// Limits the rule to an operationId, or to a path prefix when `route` starts with `/`.
    pub fn on(mut self, route: &str) -> Self {
        self.scope = if route.starts_with('/') {
            Scope::PathPrefix(route.to_owned())
        } else {
            Scope::Operation(route.to_owned())
        };
        self
    }

    fn matches(&self, operation: Option<&str>, path: &str) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Operation(id) => operation == Some(id.as_str()),
            Scope::PathPrefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

/// The faults decided for one request.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Decision {
    pub latency: Duration,
    /// A status or drop fault: answered instead of running the handler.
    pub replace: Option<Fault>,
    pub truncate: bool,
}

impl Decision {
    /// How many faults this decision injects.
    pub fn count(&self) -> u64 {
        u64::from(!self.latency.is_zero())
            + u64::from(self.replace.is_some())
            + u64::from(self.truncate)
    }
}

/// Decides the faults of request number `sequence`; the same inputs always decide the same.
pub(crate) fn decide(
    rules: &[FaultRule],
    seed: u64,
    sequence: u64,
    method: &Method,
    operation: Option<&str>,
    path: &str,
) -> Decision {
    let mut rng = fastrand::Rng::with_seed(seed ^ sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut decision = Decision::default();
    for rule in rules.iter().filter(|r| r.matches(operation, path)) {
        // Draw for every matching rule, hit or not, so one rule's outcome does not shift the next.
        if rng.f64() >= rule.rate {
            continue;
        }
        match &rule.fault {
            Fault::Latency(delay) => decision.latency += *delay,
            Fault::Truncate => decision.truncate |= method == Method::GET,
            Fault::Errors => {
                let code = [500, 503, 429][rng.usize(..3)];
                decision.replace.get_or_insert(Fault::Status(code));
            }
            replace => {
                decision.replace.get_or_insert_with(|| replace.clone());
            }
        }
    }
    decision
}

/// The response that replaces the handler's for a status or drop fault.
pub(crate) fn replacement(fault: &Fault) -> Response {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ApiError::injected(status).into_response()
        }
        _ => dropped_connection(),
    }
}

/// Marks a response whose connection is aborted instead of answered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dropped;

/// A response whose body fails at once, which makes hyper close the connection before the
/// status line is sent: the client sees the connection end with no answer.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<bytes::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by sandbox fault injection",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.extensions_mut().insert(Dropped);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Cuts a JSON response short for real: the headers announce the whole body's
/// `Content-Length`, the first half is sent, then the connection is closed, as when a proxy or a
/// network fails mid-response.
pub(crate) async fn truncate(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return dropped_connection(),
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let part = bytes.slice(..bytes.len() / 2);
    let cut = futures::stream::once(async {
        // One turn of the scheduler first, so that hyper writes the part out before the failing
        // body makes it close the connection.
        tokio::task::yield_now().await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "body cut short by sandbox fault injection",
        ))
    });
    let chunks = futures::stream::once(async move { Ok(part) }).chain(cut);
    Response::from_parts(parts, Body::from_stream(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_sequence_decide_the_same() {
        let rules = [
            FaultRule::status(503).rate(0.5),
            FaultRule::truncate().rate(0.5),
        ];
        let run = |seed| {
            (0..64)
                .map(|n| decide(&rules, seed, n, &Method::GET, None, "/files"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn scope_limits_a_rule_to_its_operation_or_prefix() {
        let by_op = [FaultRule::status(500).on("processInvoices")];
        let by_prefix = [FaultRule::status(500).on("/files")];
        let hit = |rules: &[FaultRule], op, path| {
            decide(rules, 1, 1, &Method::POST, op, path)
                .replace
                .is_some()
        };
        assert!(hit(&by_op, Some("processInvoices"), "/parse/invoices"));
        assert!(!hit(&by_op, Some("processStatements"), "/parse/statements"));
        assert!(hit(&by_prefix, Some("listFiles"), "/files"));
        assert!(!hit(&by_prefix, Some("createSchema"), "/schemas"));
    }

    #[test]
    fn truncation_applies_to_get_only() {
        let rules = [FaultRule::truncate()];
        assert!(decide(&rules, 1, 1, &Method::GET, None, "/files").truncate);
        assert!(!decide(&rules, 1, 1, &Method::POST, None, "/files").truncate);
    }
}
