//! The client-side rate limiter shared by every call of a [`crate::Client`] and its clones.
//!
//! A call waits here for a permit before it is sent (default 60 per minute), so a thousand
//! concurrent waits queue up in order instead of storming the API with 429s. The API's
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` headers keep it honest when other processes
//! share the same key.

use std::{
    collections::VecDeque,
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
///
/// It keeps the send times of the last `limit` requests and lets a new one go only when the
/// oldest of them is a full window old. So no stretch of time as long as the window ever holds
/// more than `limit` requests, wherever the server's own windows begin.
#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    inner: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    limit: usize,
    window: Duration,
    state: Mutex<State>,
    /// Callers wait here one at a time, so permits go out in arrival order.
    queue: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// When each of the last `limit` requests was let through, oldest first.
    sent: VecDeque<Instant>,
    /// What the server last said about its current window.
    server: Option<ServerWindow>,
}

/// The server's window, from its `X-RateLimit-*` headers.
#[derive(Clone, Copy, Debug)]
struct ServerWindow {
    /// Requests left in it.
    left: u64,
    /// When it resets, in Unix seconds, as the server said.
    reset: u64,
    /// When it resets, on our clock.
    resets_at: Instant,
}

impl Limiter {
    pub(crate) fn new(config: RateLimit) -> Self {
        let inner = config.limit.map(|(limit, window)| {
            Arc::new(Shared {
                limit: limit as usize,
                // A little slack, so that network jitter cannot squeeze a window's worth of
                // requests into less than a window by the time they reach the server.
                window: window + window / 50,
                state: Mutex::new(State::default()),
                queue: tokio::sync::Mutex::new(()),
            })
        });
        Self { inner }
    }

    /// Waits until `permits` requests may be sent, and takes them.
    pub(crate) async fn acquire(&self, permits: u32) {
        let Some(shared) = &self.inner else { return };
        let _turn = shared.queue.lock().await;
        for _ in 0..permits.max(1) {
            loop {
                let wait = shared
                    .lock()
                    .take(shared.limit, shared.window, Instant::now());
                match wait {
                    None => break,
                    Some(until) => tokio::time::sleep_until(until).await,
                }
            }
        }
    }

    /// Learns from a response's rate-limit headers: never send more than the API says are
    /// left before its window resets (other processes may share the key).
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let Some(shared) = &self.inner else { return };
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            let mut state = shared.lock();
            // Responses to concurrent calls arrive in any order: within one server window the
            // lowest count is the latest.
            let left = match state.server {
                Some(server) if server.reset == reset => server.left.min(remaining),
                _ => remaining,
            };
            state.server = Some(ServerWindow {
                left,
                reset,
                resets_at: Instant::now() + crate::retry::until_unix(reset),
            });
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Takes a permit at `now`, or says until when to wait for one.
    fn take(&mut self, limit: usize, window: Duration, now: Instant) -> Option<Instant> {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= window)
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= limit {
            return self.sent.front().map(|&oldest| oldest + window);
        }
        match &mut self.server {
            Some(server) if now < server.resets_at && server.left == 0 => {
                return Some(server.resets_at);
            }
            Some(server) if now < server.resets_at => server.left -= 1,
            _ => self.server = None,
        }
        self.sent.push_back(now);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window as the limiter applies it, slack included.
    fn slack(window: Duration) -> Duration {
        window + window / 50
    }

    #[tokio::test(start_paused = true)]
    async fn permits_beyond_the_limit_wait_until_the_oldest_is_a_window_old() {
        let limiter = Limiter::new(RateLimit::new(3, Duration::from_secs(10)));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(1).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(1).await;
        assert_eq!(start.elapsed(), slack(Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_long_stretch_ever_holds_more_than_the_limit() {
        let limiter = Limiter::new(RateLimit::new(5, Duration::from_secs(1)));
        let start = Instant::now();
        let mut times = Vec::new();
        for n in 0..23u64 {
            // Irregular arrivals, some in bursts.
            tokio::time::sleep(Duration::from_millis((n * 37) % 300)).await;
            limiter.acquire(1).await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let within = times[i..]
                .iter()
                .take_while(|u| **u - *t < Duration::from_secs(1));
            assert!(
                within.count() <= 5,
                "more than 5 requests within 1 s of {t:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_saying_none_are_left_holds_requests_until_its_reset() {
        let limiter = Limiter::new(RateLimit::new(100, Duration::from_secs(60)));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "1".parse().unwrap());
        headers.insert(
            "x-ratelimit-reset",
            (now.as_secs() + 5).to_string().parse().unwrap(),
        );
        limiter.observe(&headers);
        let start = Instant::now();
        limiter.acquire(1).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire(1).await;
        let waited = start.elapsed();
        assert!(
            waited > Duration::from_secs(3) && waited <= Duration::from_secs(5),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_multi_permit_request_spans_windows() {
        let limiter = Limiter::new(RateLimit::new(4, Duration::from_secs(1)));
        let start = Instant::now();
        limiter.acquire(10).await;
        assert_eq!(start.elapsed(), slack(Duration::from_secs(1)) * 2);
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let limiter = Limiter::new(RateLimit::unlimited());
        for _ in 0..10_000 {
            limiter.acquire(1).await;
        }
    }
}
