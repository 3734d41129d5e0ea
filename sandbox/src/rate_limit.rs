//! A fixed-window rate limit per API key, with the documented `X-RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

/// Counts requests per key in fixed windows.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    buckets: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    used: u32,
}

/// The state of one key's window, as the headers report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// When the window ends, in Unix seconds.
    pub reset: u64,
    /// Whole seconds until the window ends, at least 1.
    pub retry_after: u64,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` requests from `bucket`'s window, or takes nothing and returns `Err` when
    /// that would exceed the limit.
    pub fn charge(&self, bucket: &str, cost: u32) -> Result<Quota, Quota> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        let window = buckets.entry(bucket.to_owned()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(window.started) >= self.window {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        let fits = window.used.saturating_add(cost) <= self.limit;
        if fits {
            window.used += cost;
        }
        let quota = self.quota_of(window, now);
        if fits { Ok(quota) } else { Err(quota) }
    }

    /// The current state of `bucket`'s window without taking anything.
    pub fn quota(&self, bucket: &str) -> Quota {
        let now = Instant::now();
        let buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        match buckets.get(bucket) {
            Some(window) if now.duration_since(window.started) < self.window => {
                self.quota_of(window, now)
            }
            _ => self.quota_of(
                &Window {
                    started: now,
                    used: 0,
                },
                now,
            ),
        }
    }

    fn quota_of(&self, window: &Window, now: Instant) -> Quota {
        let left = (window.started + self.window).saturating_duration_since(now);
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Quota {
            limit: self.limit,
            remaining: self.limit.saturating_sub(window.used),
            reset: (unix_now + left).as_secs_f64().ceil() as u64,
            retry_after: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

impl Quota {
    /// Writes `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_window_allows_the_limit_then_refuses_until_it_resets() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert_eq!(limiter.charge("k", 2).map(|q| q.remaining), Ok(1));
        assert!(
            limiter.charge("k", 2).is_err(),
            "2 more exceed the limit of 3"
        );
        assert_eq!(limiter.charge("k", 1).map(|q| q.remaining), Ok(0));
        assert_eq!(limiter.charge("other", 1).map(|q| q.remaining), Ok(2));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(limiter.charge("k", 1).map(|q| q.remaining), Ok(2));
    }
}
