//! The client-side rate limiter shared by every call of a [`crate::Client`] and its clones.
//!
//! It mirrors the API's window (default 60 requests per minute): a call waits for a permit
//! before it is sent, so a thousand concurrent waits queue up here, in order, instead of
//! storming the API with 429s. The API's `X-RateLimit-Remaining` and `X-RateLimit-Reset`
//! headers keep it honest when other processes share the same key or the windows drift.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// How many requests a client may send per window.
///
/// ```
/// use std::time::Duration;
/// let limit = invaro::RateLimit::new(120, Duration::from_secs(60));
/// assert_eq!(limit, invaro::RateLimit::per_minute(120));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    limit: Option<(u32, Duration)>,
}

impl Default for RateLimit {
    /// The API's documented limit: 60 requests per minute.
    fn default() -> Self {
        Self::per_minute(60)
    }
}

impl RateLimit {
    /// `limit` requests per `window` (a limit of 0 is treated as 1).
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: Some((limit.max(1), window)),
        }
    }

    /// `limit` requests per minute.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// No client-side limit: only the server's 429s slow the client down.
    pub fn unlimited() -> Self {
        Self { limit: None }
    }
}

/// The shared limiter: cheap to clone, every clone draws from the same window.
#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    inner: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    limit: u32,
    window: Duration,
    state: Mutex<Window>,
    /// Callers wait here one at a time, so permits go out in arrival order.
    queue: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Window {
    remaining: u32,
    resets_at: Instant,
}

impl Limiter {
    pub(crate) fn new(config: RateLimit) -> Self {
        let inner = config.limit.map(|(limit, window)| {
            Arc::new(Shared {
                limit,
                window,
                state: Mutex::new(Window {
                    remaining: limit,
                    resets_at: Instant::now() + window,
                }),
                queue: tokio::sync::Mutex::new(()),
            })
        });
        Self { inner }
    }

    /// Waits until `permits` requests may be sent, and takes them.
    pub(crate) async fn acquire(&self, permits: u32) {
        let Some(shared) = &self.inner else { return };
        let _turn = shared.queue.lock().await;
        let mut needed = permits.max(1);
        loop {
            let wait_until = {
                let mut window = shared.lock();
                window.roll(shared.limit, shared.window);
                let taken = needed.min(window.remaining);
                window.remaining -= taken;
                needed -= taken;
                window.resets_at
            };
            if needed == 0 {
                return;
            }
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Learns from a response's rate-limit headers: never more permits than the API says are
    /// left, and a window that lasts at least as long as the API's.
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let Some(shared) = &self.inner else { return };
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let remaining = number("x-ratelimit-remaining");
        let reset = number("x-ratelimit-reset").map(crate::retry::until_unix);
        let mut window = shared.lock();
        if let Some(remaining) = remaining {
            window.remaining = window
                .remaining
                .min(remaining.try_into().unwrap_or(u32::MAX));
        }
        if let Some(reset) = reset {
            window.resets_at = window.resets_at.max(Instant::now() + reset);
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // The window holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Window {
    /// Starts a new window once the current one is over.
    fn roll(&mut self, limit: u32, window: Duration) {
        let now = Instant::now();
        if now >= self.resets_at {
            self.remaining = limit;
            self.resets_at = now + window;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn permits_beyond_the_limit_wait_for_the_next_window() {
        let limiter = Limiter::new(RateLimit::new(3, Duration::from_secs(10)));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(1).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(1).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_can_only_lower_what_is_left() {
        let limiter = Limiter::new(RateLimit::new(5, Duration::from_secs(10)));
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "1".parse().unwrap());
        limiter.observe(&headers);
        let start = Instant::now();
        limiter.acquire(1).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(1).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        headers.insert("x-ratelimit-remaining", "500".parse().unwrap());
        limiter.observe(&headers);
        limiter.acquire(4).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(10),
            "still 4 left in this window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_multi_permit_request_spans_windows() {
        let limiter = Limiter::new(RateLimit::new(4, Duration::from_secs(1)));
        let start = Instant::now();
        limiter.acquire(10).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let limiter = Limiter::new(RateLimit::unlimited());
        for _ in 0..10_000 {
            limiter.acquire(1).await;
        }
    }
}
