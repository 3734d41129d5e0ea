//! When a failed call is sent again, and how long to wait first: the one classifier that the
//! retry loop and [`crate::Error::is_retryable`] both ask.
//!
//! Defaults: 4 attempts in all; before each retry a wait drawn between half and all of a
//! ceiling that starts at 500 ms and doubles up to 20 s; no retry that would start later than
//! 60 s after the first attempt. A server's `Retry-After` (or, on a 429, `X-RateLimit-Reset`)
//! can lengthen a wait up to 60 s, never shorten it (a longer ask is capped, with a warning).
//! Dates and resets are read against the response's `Date`, so a skewed local clock does not
//! move them.
//!
//! A 429 holds the whole client (its rate limiter), not only the refused call, for that wait.
//! Inside a batch (and so in the CLI's `parse`, `wait` and `batch`) 429s do not use up
//! attempts: the call goes again after each hold until the batch's own deadline.
//!
//! What is sent again ([`may_resend`]):
//! - anything whose connection never opened (nothing reached the server), and anything refused
//!   with 429 (the server did nothing);
//! - after a request may have reached the server (sent, then reset, timed out, or answered 408,
//!   500, 502, 503 or 504), only what has no further effect the second time: GET, HEAD, OPTIONS
//!   and DELETE. POST (a job start) and PUT (a schema update bumps its version) are not.

use std::time::{Duration, SystemTime};

use reqwest::{
    Method, StatusCode,
    header::{DATE, HeaderMap, HeaderName, RETRY_AFTER},
};

/// How many requests the API's current window has left.
pub(crate) const RATE_LIMIT_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining");
/// When the API's current window resets, in Unix seconds.
pub(crate) const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

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

    /// No retry may start later than this after the first attempt. Default 60 s.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The longest wait a server may ask for with `Retry-After` or `X-RateLimit-Reset`.
    /// Default 60 s.
    pub fn max_server_delay(mut self, delay: Duration) -> Self {
        self.max_server_delay = delay;
        self
    }

    /// Attempts in all, the first included.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff for one call: doubling ceilings, each wait drawn uniformly between half
    /// and all of its ceiling, so that clients failing together do not retry together and
    /// no retry comes without a pause.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin + use<> {
        let (initial, max) = (self.initial_delay, self.max_delay);
        (0..self.max_attempts - 1).map(move |n| jittered(initial, max, n))
    }

    /// A wait the server asked for, capped by this policy.
    pub(crate) fn cap_server_delay(&self, delay: Duration) -> Duration {
        delay.min(self.max_server_delay)
    }

    /// How long a 429 holds the client before the refused call goes again (the `n`th refusal
    /// in a row, from 0): the server's wait, capped, else the doubling backoff. Refusals do not
    /// count against [`max_attempts`](Self::max_attempts): a 429 says nothing was done.
    pub(crate) fn throttle_wait(&self, n: u32, server: Option<Duration>) -> Duration {
        match server {
            Some(server) if !server.is_zero() => self.cap_server_delay(server),
            _ => jittered(self.initial_delay, self.max_delay, n),
        }
    }

    /// The wait before the next attempt, or `None` to stop: the backoff, lengthened (never
    /// shortened) by what the server asked for, and only while it ends within the budget.
    pub(crate) fn next_wait(
        &self,
        backoff: Option<Duration>,
        server: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        let wait = backoff?.max(server.map_or(Duration::ZERO, |s| self.cap_server_delay(s)));
        let ends = elapsed.checked_add(wait)?;
        (ends <= self.budget).then_some(wait)
    }
}

/// The `n`th (from 0) doubling ceiling from `initial`, at most `max`, and a wait drawn
/// uniformly between half and all of it.
fn jittered(initial: Duration, max: Duration, n: u32) -> Duration {
    let ceiling = initial.saturating_mul(1 << n.min(16)).min(max);
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// How far one attempt got (never sent, lost on the way, or answered), which is what decides
/// whether it may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The server answered with this status.
    Status(StatusCode),
    /// The connection never opened: nothing reached the server.
    NotSent,
    /// The request may have reached the server, but no answer came (a reset, a timeout, a
    /// body cut short).
    Lost,
    /// The request could not even be built; sending it again would fail the same way.
    Unsendable,
}

impl Delivery {
    /// What a transport error says about whether the request left.
    pub(crate) fn of_transport(e: &reqwest::Error) -> Self {
        if e.is_builder() {
            Self::Unsendable
        } else if e.is_connect() {
            Self::NotSent
        } else {
            Self::Lost
        }
    }

    /// Whether the server may have acted on the request although the caller saw no success.
    pub(crate) fn may_have_arrived(self) -> bool {
        match self {
            Self::Lost => true,
            Self::Status(status) => is_transient(status) && status != StatusCode::TOO_MANY_REQUESTS,
            Self::NotSent | Self::Unsendable => false,
        }
    }
}

/// Whether a request with `method` ends the same however often it is sent. DELETE counts: the
/// resource ends deleted either way, and a repeat that meets "already gone" is a success.
pub(crate) fn repeat_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    )
}

/// The one retry classifier: may a request be sent again after `delivery`, given whether its
/// method is [`repeat_safe`]?
pub(crate) fn may_resend(repeat_safe: bool, delivery: Delivery) -> bool {
    match delivery {
        Delivery::NotSent => true,
        Delivery::Unsendable => false,
        Delivery::Status(StatusCode::TOO_MANY_REQUESTS) => true,
        Delivery::Status(status) if is_transient(status) => repeat_safe,
        Delivery::Status(_) => false,
        Delivery::Lost => repeat_safe,
    }
}

/// Statuses that say "try again later".
pub(crate) fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The wait a response asks for: `Retry-After` (seconds or an HTTP date), else the end of the
/// rate-limit window (`X-RateLimit-Reset`, Unix seconds) when the response is a 429. Dates and
/// resets are read against the response's own `Date` header (the server's clock), so a local
/// clock that runs fast or slow does not move them. Absurd values saturate instead of
/// overflowing; callers cap the result.
pub(crate) fn server_delay(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if let Some(value) = header(headers, &RETRY_AFTER) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = httpdate::parse_http_date(value) {
            return Some(date.duration_since(server_now(headers)).unwrap_or_default());
        }
    }
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    header(headers, &RATE_LIMIT_RESET)
        .and_then(|v| v.parse::<u64>().ok())
        .map(|reset| until_reset(headers, reset))
}

/// A header's value as trimmed text, if it is text.
pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The server's clock when it answered: its `Date` header, or ours when it sent none (or
/// nonsense).
fn server_now(headers: &HeaderMap) -> SystemTime {
    header(headers, &DATE)
        .and_then(|date| httpdate::parse_http_date(date).ok())
        .unwrap_or_else(SystemTime::now)
}

/// The time from the response (its `Date`) until the absolute Unix time `reset`: zero if it
/// has passed, and [`Duration::MAX`] if it lies beyond what the clock can represent.
pub(crate) fn until_reset(headers: &HeaderMap, reset: u64) -> Duration {
    until_unix(reset, server_now(headers))
}

/// The time from `now` until the Unix time `seconds`: zero if it has passed, and
/// [`Duration::MAX`] if it lies beyond what the clock can represent.
pub(crate) fn until_unix(seconds: u64, now: SystemTime) -> Duration {
    match SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds)) {
        Some(at) => at.duration_since(now).unwrap_or_default(),
        None => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_stay_between_half_and_all_of_doubling_ceilings() {
        let policy = RetryPolicy::default()
            .max_attempts(6)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(300));
        let waits: Vec<_> = policy.backoff().collect();
        assert_eq!(waits.len(), 5);
        for (n, wait) in waits.iter().enumerate() {
            let ceiling = Duration::from_millis(100 * (1 << n)).min(Duration::from_millis(300));
            assert!(
                *wait <= ceiling && *wait >= ceiling / 2,
                "wait {n} is {wait:?}, ceiling {ceiling:?}"
            );
        }
    }

    #[test]
    fn the_server_lengthens_a_wait_but_never_shortens_it() {
        let policy = RetryPolicy::default()
            .max_server_delay(Duration::from_secs(5))
            .budget(Duration::from_secs(10));
        let backoff = Some(Duration::from_millis(300));
        let wait = |server, elapsed| policy.next_wait(backoff, server, elapsed);
        assert_eq!(
            wait(Some(Duration::from_secs(2)), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait(Some(Duration::from_secs(600)), Duration::ZERO),
            Some(Duration::from_secs(5)),
            "capped"
        );
        assert_eq!(
            wait(Some(Duration::ZERO), Duration::ZERO),
            Some(Duration::from_millis(300)),
            "Retry-After: 0 keeps the backoff"
        );
        assert_eq!(
            wait(Some(Duration::MAX), Duration::from_secs(4)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait(Some(Duration::from_secs(2)), Duration::from_secs(9)),
            None,
            "past the budget"
        );
        assert_eq!(
            policy.next_wait(None, Some(Duration::from_secs(1)), Duration::ZERO),
            None
        );
        assert_eq!(
            policy.next_wait(Some(Duration::MAX), None, Duration::MAX),
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
    fn a_reset_is_read_against_the_servers_date_not_our_clock() {
        // The server's clock is an hour behind ours: its reset is 30 s after its own Date.
        let server_now = SystemTime::now() - Duration::from_secs(3600);
        let unix = server_now.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("date", httpdate::fmt_http_date(server_now).parse().unwrap());
        headers.insert(
            "x-ratelimit-reset",
            (unix.as_secs() + 30).to_string().parse().unwrap(),
        );
        let delay = server_delay(StatusCode::TOO_MANY_REQUESTS, &headers).unwrap();
        assert!(
            delay > Duration::from_secs(28) && delay <= Duration::from_secs(31),
            "{delay:?}"
        );
        let later = server_now + Duration::from_secs(20);
        headers.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let delay = server_delay(StatusCode::TOO_MANY_REQUESTS, &headers).unwrap();
        assert!(
            delay > Duration::from_secs(18) && delay <= Duration::from_secs(21),
            "{delay:?}"
        );
    }

    #[test]
    fn throttle_waits_follow_the_server_else_back_off_without_end() {
        let policy = RetryPolicy::default()
            .max_attempts(1)
            .max_server_delay(Duration::from_secs(60));
        let wait = |n, server| policy.throttle_wait(n, server);
        assert_eq!(
            wait(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            wait(9, Some(Duration::MAX)),
            Duration::from_secs(60),
            "capped"
        );
        for n in [0, 1, 50, u32::MAX] {
            let backoff = wait(n, None);
            assert!(
                backoff > Duration::ZERO && backoff <= Duration::from_secs(20),
                "{backoff:?}"
            );
            assert!(
                wait(n, Some(Duration::ZERO)) > Duration::ZERO,
                "Retry-After: 0 still pauses"
            );
        }
    }

    #[test]
    fn a_reset_beyond_the_clock_saturates_instead_of_panicking() {
        let now = SystemTime::now();
        assert_eq!(until_unix(u64::MAX, now), Duration::MAX);
        assert_eq!(until_unix(0, now), Duration::ZERO);
    }

    #[test]
    fn what_may_be_sent_again() {
        use Delivery::*;
        let status = |code| Status(StatusCode::from_u16(code).unwrap());
        for method in [Method::GET, Method::DELETE, Method::HEAD] {
            for outcome in [
                NotSent,
                Lost,
                status(408),
                status(429),
                status(500),
                status(503),
            ] {
                assert!(
                    may_resend(repeat_safe(&method), outcome),
                    "{method} {outcome:?}"
                );
            }
        }
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            assert!(may_resend(repeat_safe(&method), NotSent), "{method}");
            assert!(may_resend(repeat_safe(&method), status(429)), "{method}");
            for outcome in [
                Lost,
                status(408),
                status(500),
                status(502),
                status(503),
                status(504),
            ] {
                assert!(
                    !may_resend(repeat_safe(&method), outcome),
                    "{method} {outcome:?}"
                );
            }
        }
        for code in [200, 400, 401, 403, 404, 409, 410, 422, 501] {
            assert!(!may_resend(true, status(code)), "{code}");
        }
        assert!(!may_resend(true, Unsendable));
    }

    /// Header text a server might send: numbers of any size and sign, dates, junk.
    fn header_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9]{15,40}",
            "-?[0-9]{1,5}\\.[0-9]{1,5}",
            any::<u32>().prop_map(|s| httpdate::fmt_http_date(
                SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(s) * 4)
            )),
            "[ -~]{0,40}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn no_header_value_panics_or_shortens_or_unbounds_a_wait(
            retry_after in proptest::option::of(header_text()),
            reset in proptest::option::of(header_text()),
            status in proptest::sample::select(vec![429u16, 500, 503, 200]),
            backoff_ms in 0u64..5_000,
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [("retry-after", retry_after), ("x-ratelimit-reset", reset)] {
                if let Some(value) = value.and_then(|v| v.parse().ok()) {
                    headers.insert(name, value);
                }
            }
            let policy = RetryPolicy::default();
            let server = server_delay(StatusCode::from_u16(status).unwrap(), &headers);
            let backoff = Duration::from_millis(backoff_ms);
            let wait = policy.next_wait(Some(backoff), server, Duration::from_secs(1));
            if let Some(wait) = wait {
                proptest::prop_assert!(wait >= backoff);
                proptest::prop_assert!(wait <= backoff.max(Duration::from_secs(60)));
            }
        }
    }
}
