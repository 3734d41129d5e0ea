//! A fixed-window rate limit per configured API key, with the documented `X-RateLimit-*` headers.
//!
//! Windows exist only for the configured keys (one each, made at start), so callers with unknown
//! keys, which are refused before they reach the limiter, can neither grow it nor use it up.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

/// Counts requests per configured key in fixed windows.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    /// One window per configured key, by the key's index.
    windows: Mutex<Vec<Window>>,
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
    /// A limiter for `keys` configured keys.
    pub fn new(limit: u32, window: Duration, keys: usize) -> Self {
        let now = Instant::now();
        let fresh = || Window {
            started: now,
            used: 0,
        };
        Self {
            limit,
            window,
            windows: Mutex::new(std::iter::repeat_with(fresh).take(keys).collect()),
        }
    }

    /// Takes `cost` requests from key `owner`'s window, or takes nothing and returns `Err` when
    /// that would exceed the limit.
    pub fn charge(&self, owner: usize, cost: u32) -> Result<Quota, Quota> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate limiter lock poisoned");
        let Some(window) = windows.get_mut(owner) else {
            // Not a configured key: nothing to count against, nothing allowed.
            return Err(self.quota_of(
                &Window {
                    started: now,
                    used: self.limit,
                },
                now,
            ));
        };
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

    /// The current state of key `owner`'s window without taking anything.
    pub fn quota(&self, owner: usize) -> Quota {
        let now = Instant::now();
        let windows = self.windows.lock().expect("rate limiter lock poisoned");
        match windows.get(owner) {
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
        let limiter = RateLimiter::new(3, Duration::from_secs(60), 2);
        assert_eq!(limiter.charge(0, 2).map(|q| q.remaining), Ok(1));
        assert!(
            limiter.charge(0, 2).is_err(),
            "2 more exceed the limit of 3"
        );
        assert_eq!(limiter.charge(0, 1).map(|q| q.remaining), Ok(0));
        assert_eq!(limiter.charge(1, 1).map(|q| q.remaining), Ok(2));
        assert!(
            limiter.charge(2, 1).is_err(),
            "no window for an unknown key"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(limiter.charge(0, 1).map(|q| q.remaining), Ok(2));
    }
}
