//! What the client does, as metrics through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`; without it every function here is empty and nothing is compiled in).
//! Install any recorder (a Prometheus exporter, for one) and these appear:
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `invaro_requests_total` | counter | `operation`, `status` | every attempt sent, by the status answered (`error` when none came) |
//! | `invaro_retries_total` | counter | `operation` | attempts sent again after a failure or a 429 |
//! | `invaro_rate_limited_total` | counter | `operation` | 429 answers |
//! | `invaro_limiter_wait_seconds` | histogram | | time each attempt waited for the rate limiter |
//! | `invaro_wait_seconds` | histogram | `kind` | for each wait that ended completed, from its start to the completed status seen (the client's clock) |
//!
//! Labels hold operation names, statuses and document kinds only: never a key, a header, an
//! id or a body.

use std::time::Duration;

use reqwest::StatusCode;

use crate::DocumentKind;

/// One attempt of `operation` was answered with `status` (`None`: no answer came).
pub(crate) fn request(operation: &'static str, status: Option<StatusCode>) {
    #[cfg(feature = "metrics")]
    {
        let label = status.map_or_else(|| "error".to_string(), |s| s.as_u16().to_string());
        metrics::counter!("invaro_requests_total", "operation" => operation, "status" => label)
            .increment(1);
        if status == Some(StatusCode::TOO_MANY_REQUESTS) {
            metrics::counter!("invaro_rate_limited_total", "operation" => operation).increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, status);
}

/// `operation` is about to be sent again.
pub(crate) fn retry(operation: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("invaro_retries_total", "operation" => operation).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = operation;
}

/// An attempt waited `waited` for the rate limiter.
pub(crate) fn limiter_wait(waited: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("invaro_limiter_wait_seconds").record(waited.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = waited;
}

/// A wait on a job of `kind` saw it completed, `elapsed` after the wait started.
pub(crate) fn wait_completed(kind: DocumentKind, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("invaro_wait_seconds", "kind" => kind.as_str())
        .record(elapsed.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, elapsed);
}
