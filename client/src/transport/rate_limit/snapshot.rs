//! The limiter's state at one moment, as the public [`RateBudget`]. A child of the limiter's
//! module, so that reading its state needs nothing of it made public.

use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::{Limiter, frees_at};
use crate::{RateBudget, ServerBudget};

impl Limiter {
    /// What this limiter holds now.
    pub(crate) fn snapshot(&self) -> RateBudget {
        let shared = &self.inner;
        let now = Instant::now();
        let state = shared.lock();
        let limited = shared.limit != usize::MAX;
        let window = shared.window;
        // Slots still counting: in flight, or finished less than a window ago.
        let counting = state
            .recent
            .iter()
            .filter(|slot| slot.finished.is_none_or(|t| now < frees_at(t, window)));
        let (mut counted, mut in_flight) = (0usize, 0u32);
        let mut oldest = None;
        for slot in counting {
            counted += 1;
            if slot.finished.is_none() {
                in_flight = in_flight.saturating_add(1);
            }
            oldest.get_or_insert(slot.finished);
        }
        let server = state
            .server
            .filter(|server| now < server.resets_at)
            .map(|server| ServerBudget {
                remaining: server.left,
                reset: server.reset,
                resets_in: server.resets_at - now,
            });
        let held_for = state
            .held_until
            .filter(|until| now < *until)
            .map(|until| until - now);
        drop(state);

        let local = limited.then(|| shared.limit.saturating_sub(counted));
        let mut remaining = match (local, server) {
            (Some(local), Some(server)) => Some((local as u64).min(server.remaining)),
            (Some(local), None) => Some(local as u64),
            (None, Some(server)) => Some(server.remaining),
            (None, None) => None,
        };
        if held_for.is_some() {
            remaining = Some(0);
        }
        let mut next_in = held_for.unwrap_or_default();
        if local == Some(0) {
            // The oldest counted request frees a slot a window after its answer.
            let frees = match oldest.flatten() {
                Some(finished) => frees_at(finished, window).saturating_duration_since(now),
                None => window,
            };
            next_in = next_in.max(frees);
        }
        if let Some(server) = server.filter(|server| server.remaining == 0) {
            next_in = next_in.max(server.resets_in);
        }
        RateBudget {
            limit: limited.then(|| u32::try_from(shared.limit).unwrap_or(u32::MAX)),
            window,
            remaining: remaining.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            in_flight,
            next_in,
            held_for,
            waiting: shared.urgent.load(Ordering::SeqCst),
            server,
            shared: self.gate.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Limiter, RateLimit};

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn counts_what_is_sent_in_flight_and_waiting() {
        let limiter = Limiter::new(RateLimit::new(3, 10 * SECOND));
        let budget = limiter.snapshot();
        assert_eq!((budget.limit, budget.remaining), (Some(3), Some(3)));
        drop(limiter.acquire(1).await);
        let in_flight = limiter.acquire(1).await;
        let budget = limiter.snapshot();
        assert_eq!((budget.remaining, budget.in_flight), (Some(1), 1));
        assert_eq!(budget.next_in, Duration::ZERO);
        let _third = limiter.acquire(1).await;
        let waiter = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(1).await) }
        });
        while limiter.snapshot().waiting == 0 {
            tokio::task::yield_now().await;
        }
        let budget = limiter.snapshot();
        assert_eq!((budget.remaining, budget.waiting), (Some(0), 1));
        assert_eq!(
            budget.next_in,
            10 * SECOND,
            "the oldest frees a window after it ended"
        );
        tokio::time::advance(4 * SECOND).await;
        assert_eq!(limiter.snapshot().next_in, 6 * SECOND);
        drop(in_flight);
        waiter.await.unwrap();
        assert_eq!(limiter.snapshot().waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_and_the_servers_word_show() {
        let limiter = Limiter::new(RateLimit::unlimited());
        let budget = limiter.snapshot();
        assert_eq!((budget.limit, budget.remaining), (None, None));
        limiter.hold(5 * SECOND);
        let budget = limiter.snapshot();
        assert_eq!(budget.held_for, Some(5 * SECOND));
        assert_eq!((budget.remaining, budget.next_in), (Some(0), 5 * SECOND));
        assert!(!budget.shared);
    }
}
