//! When a failed call is sent again, and how long to wait first.
//!
//! Defaults: 4 attempts in all, waits with full jitter starting at 500 ms and doubling up to
//! 20 s each, no retry once 60 s have passed since the first attempt, and a server-requested
//! wait (`Retry-After`, or `X-RateLimit-Reset` on a 429) honoured up to 60 s.
//!
//! Which failures are retried:
//! - GET, PUT and DELETE: 408, 429, 500, 502, 503, 504, connection errors and timeouts.
//! - POST: only 429 and connection errors (the request never left), so a job is never started
//!   twice.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, header::HeaderMap};

/// How failed calls are retried. Every call of a [`crate::Client`] uses the same policy.
///
/// ```
/// use std::time::Duration;
/// let policy = invaro::RetryPolicy::default()
///     .max_attempts(6)
///     .initial_delay(Duration::from_millis(200))
///     .max_delay(Duration::from_secs(5))
///     .budget(Duration::from_secs(30));
/// assert_eq!(policy.get_max_attempts(), 6);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    budget: Duration,
    max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            budget: Duration::from_secs(60),
            max_server_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1). Default 4.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The ceiling of the first wait; each later ceiling doubles. Default 500 ms.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest single wait the backoff chooses. Default 20 s.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No wait may end later than this after the first attempt. Default 60 s.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The longest wait a server may ask for with `Retry-After`. Default 60 s.
    pub fn max_server_delay(mut self, delay: Duration) -> Self {
        self.max_server_delay = delay;
        self
    }

    /// Attempts in all, the first included.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff for one call: exponential ceilings, each wait drawn uniformly below its
    /// ceiling ("full jitter"), so that many clients failing together do not retry together.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin + use<> {
        let (initial, max) = (self.initial_delay, self.max_delay);
        (0..self.max_attempts - 1).map(move |n| {
            let ceiling = initial.saturating_mul(1 << n.min(16)).min(max);
            ceiling.mul_f64(fastrand::f64())
        })
    }

    /// The wait before the next attempt, or `None` to stop: the server's request (capped)
    /// wins over the backoff, and nothing may overrun the budget.
    pub(crate) fn next_wait(
        &self,
        backoff: Option<Duration>,
        server: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        let wait = match server {
            Some(server) => backoff.map(|_| server.min(self.max_server_delay)),
            None => backoff,
        }?;
        (elapsed + wait <= self.budget).then_some(wait)
    }
}

/// A failed attempt, as the retry loop sees it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with a status worth retrying.
    Status(reqwest::Response),
    /// Nothing usable came back.
    Transport(reqwest::Error),
}

impl Failure {
    /// Whether this failure of a `method` call may be retried.
    pub(crate) fn is_retryable(&self, method: &Method) -> bool {
        let idempotent = method != Method::POST && method != Method::PATCH;
        match self {
            Self::Status(response) if idempotent => is_retryable_status(response.status()),
            Self::Status(response) => response.status() == StatusCode::TOO_MANY_REQUESTS,
            // A connection that never opened carried nothing, whatever the method.
            Self::Transport(e) => e.is_connect() || (idempotent && !e.is_builder()),
        }
    }

    /// How long the server asked us to wait, if it did.
    pub(crate) fn server_delay(&self) -> Option<Duration> {
        match self {
            Self::Status(response) => server_delay(response.status(), response.headers()),
            Self::Transport(_) => None,
        }
    }
}

/// Statuses that say "try again later".
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The wait a response asks for: `Retry-After` (seconds or an HTTP date), else the end of the
/// rate-limit window (`X-RateLimit-Reset`, Unix seconds) when the response is a 429.
pub(crate) fn server_delay(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = header("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            return Some(date.duration_since(SystemTime::now()).unwrap_or_default());
        }
    }
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    header("x-ratelimit-reset")
        .and_then(|v| v.parse::<u64>().ok())
        .map(until_unix)
}

/// The time from now until the Unix time `seconds` (zero if it has passed).
pub(crate) fn until_unix(seconds: u64) -> Duration {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
    at.duration_since(SystemTime::now()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_stay_under_doubling_ceilings_and_the_cap() {
        let policy = RetryPolicy::default()
            .max_attempts(6)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(300));
        let waits: Vec<_> = policy.backoff().collect();
        assert_eq!(waits.len(), 5);
        for (n, wait) in waits.iter().enumerate() {
            let ceiling = Duration::from_millis(100 * (1 << n)).min(Duration::from_millis(300));
            assert!(
                *wait <= ceiling,
                "wait {n} is {wait:?}, ceiling {ceiling:?}"
            );
        }
    }

    #[test]
    fn server_delay_wins_but_is_capped_and_budgeted() {
        let policy = RetryPolicy::default()
            .max_server_delay(Duration::from_secs(5))
            .budget(Duration::from_secs(10));
        let backoff = Some(Duration::from_millis(100));
        let wait = |server, elapsed| policy.next_wait(backoff, server, elapsed);
        assert_eq!(
            wait(Some(Duration::from_secs(2)), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait(Some(Duration::from_secs(600)), Duration::ZERO),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait(Some(Duration::from_secs(2)), Duration::from_secs(9)),
            None
        );
        assert_eq!(
            policy.next_wait(None, Some(Duration::from_secs(1)), Duration::ZERO),
            None
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        let ok = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(server_delay(ok, &headers), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let delay = server_delay(ok, &headers).unwrap();
        assert!(delay > Duration::from_secs(100) && delay <= Duration::from_secs(120));
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_window_reset() {
        let mut headers = HeaderMap::new();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        headers.insert(
            "x-ratelimit-reset",
            (now.as_secs() + 30).to_string().parse().unwrap(),
        );
        let delay = server_delay(StatusCode::TOO_MANY_REQUESTS, &headers).unwrap();
        assert!(delay > Duration::from_secs(28) && delay <= Duration::from_secs(30));
        assert_eq!(
            server_delay(StatusCode::SERVICE_UNAVAILABLE, &headers),
            None
        );
    }

    #[test]
    fn statuses_worth_retrying() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                is_retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 400, 401, 403, 404, 409, 410, 501] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }
}
