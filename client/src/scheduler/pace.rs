//! The bucket that checks on no evidence draw on, so they cannot spend a whole window's budget
//! at once on jobs that have not finished and leave none for the completions that follow.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled at the rate limit's average rate.
#[derive(Debug)]
pub(super) struct Pace {
    /// One token per this long.
    pub(super) every: Duration,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Pace {
    /// A full bucket of `capacity` refilled at `limit` per `window`, unless that is no pace.
    pub(super) fn new(limit: usize, window: Duration, capacity: u32) -> Option<Self> {
        let every = window / u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        (!every.is_zero()).then(|| Self {
            every,
            capacity: f64::from(capacity.max(1)),
            tokens: f64::from(capacity.max(1)),
            at: Instant::now(),
        })
    }

    fn refill(&mut self, now: Instant) {
        let gained =
            now.saturating_duration_since(self.at).as_secs_f64() / self.every.as_secs_f64();
        self.tokens = (self.tokens + gained).min(self.capacity);
        self.at = now;
    }

    /// When a token is there to take (`now` if one is).
    pub(super) fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 1.0 {
            return now;
        }
        now + self.every.mul_f64(1.0 - self.tokens)
    }

    pub(super) fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// A token taken for a check that was not sent.
    pub(super) fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.capacity);
    }
}
