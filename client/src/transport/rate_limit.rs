//! The client-side rate limiter shared by every call of a [`crate::Client`] and its clones.
//!
//! A call waits here for a permit before it is sent (default 60 per minute), so a thousand
//! concurrent waits queue up in order instead of storming the API with 429s. The API's
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` headers keep it honest when other processes
//! share the same key. The API's window is a minute, so a reset the server places further away
//! than [`MAX_SERVER_WINDOW`] is treated as that far: no header can hold calls for longer.
//!
//! Status checks of waiting jobs take their permits as spare budget ([`Limiter::acquire_spare`]):
//! they step aside whenever another call (an upload, a start, the user's own) is waiting.

use std::{
    collections::VecDeque,
    ops::Range,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use reqwest::header::HeaderMap;

mod snapshot;
use tokio::{sync::Notify, time::Instant};

/// The longest the limiter holds requests on the server's word (`X-RateLimit-Remaining: 0`
/// with a distant `X-RateLimit-Reset`): the API's window is one minute.
pub const MAX_SERVER_WINDOW: Duration = Duration::from_secs(60);

/// How many requests a client may send per window; default [`RateLimit::default`], the API's 60
/// a minute.
///
/// Every clone of a [`Client`](crate::Client) and every wait draws from the one limit. A request
/// goes only when the `limit`-th request before it finished a whole window ago, so the server
/// never sees more than `limit` in a window however late a busy machine sends them. The API's
/// `X-RateLimit-Remaining` and `X-RateLimit-Reset` can lower what is left, but no reset holds
/// requests longer than [`MAX_SERVER_WINDOW`]. Each file of an upload and each document of a
/// batch counts as one request.
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

    /// The limit and its window, unless unlimited.
    #[cfg(feature = "redis")]
    pub(crate) fn get(self) -> Option<(u32, Duration)> {
        self.limit
    }
}

/// The shared limiter: cheap to clone, every clone draws from the same window.
///
/// It remembers the last `limit` requests and lets a new one go only when the oldest of them
/// finished a full window ago. A request reaches the server after it is let through and before
/// its answer comes back, so measuring from the answer keeps the server from ever seeing more
/// than `limit` requests within a window, however late a busy machine sends them.
#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    inner: Arc<LimiterState>,
    /// A budget shared beyond this process, asked once this limiter lets a request go.
    gate: Option<Arc<dyn Gate>>,
}

/// A rate budget beyond this process (the shared limiter of feature `redis`): asked after the
/// local limiter let a request go, right before it is sent, so the local limiter keeps the
/// order of callers and the spare budget, and the gate the budget of every process on the key.
pub(crate) trait Gate: Send + Sync + std::fmt::Debug {
    /// Waits until `cost` requests may be sent. What it returns lives in the permit: dropped
    /// when the answer is in, or given back unused.
    fn admit(&self, cost: u32) -> Pin<Box<dyn Future<Output = Box<dyn Admission>> + Send + '_>>;
    /// Holds every process sharing the budget for `wait` (the API said so).
    fn hold(&self, wait: Duration);
}

/// A gate's share of a permit. Dropping it says the request's answer is in.
pub(crate) trait Admission: Send + std::fmt::Debug {
    /// The request was never sent: its share goes back.
    fn unused(self: Box<Self>);
}

/// What every clone of a [`Limiter`] and its permits share.
#[derive(Debug)]
struct LimiterState {
    /// `usize::MAX` when unlimited: then only holds and the server's word make callers wait.
    limit: usize,
    window: Duration,
    state: Mutex<State>,
    /// Callers wait here one at a time, so permits go out in arrival order.
    queue: tokio::sync::Mutex<()>,
    /// Wakes the waiting caller when a request finishes.
    finished: Notify,
    /// How many ordinary callers are waiting for a permit: spare callers yield to them.
    urgent: AtomicUsize,
    /// Wakes spare callers when an ordinary caller starts waiting.
    urgent_arrived: Notify,
    /// Wakes spare callers when no ordinary caller is waiting any more.
    calm: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The last `limit` requests, oldest first.
    recent: VecDeque<Slot>,
    next_id: u64,
    /// What the server last said about its current window.
    server: Option<ServerWindow>,
    /// No request goes before this: a 429 asked the whole client to wait.
    held_until: Option<Instant>,
}

/// One request let through: `None` while it is in flight, then when it finished.
#[derive(Debug)]
struct Slot {
    id: u64,
    finished: Option<Instant>,
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

/// The right to send one request (counting as its number of slots against the limit); dropping it
/// marks the request finished.
#[must_use]
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Option<Arc<LimiterState>>,
    /// Its slots: consecutive, because only the caller holding the queue takes slots.
    ids: Range<u64>,
    /// The gate's share, when there is a gate.
    admission: Option<Box<dyn Admission>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let Some(shared) = &self.shared else { return };
        let now = Instant::now();
        let mut state = shared.lock();
        // `recent` is in id order: find the permit's slots without visiting the others.
        let first = state.recent.partition_point(|s| s.id < self.ids.start);
        for slot in state.recent.range_mut(first..) {
            if !self.ids.contains(&slot.id) {
                break;
            }
            slot.finished = Some(now);
        }
        drop(state);
        shared.finished.notify_one();
    }
}

impl Limiter {
    pub(crate) fn new(config: RateLimit) -> Self {
        let (limit, window) = config
            .limit
            .map_or((usize::MAX, Duration::ZERO), |(limit, window)| {
                (limit as usize, window)
            });
        let inner = Arc::new(LimiterState {
            limit,
            window,
            state: Mutex::new(State::default()),
            queue: tokio::sync::Mutex::new(()),
            finished: Notify::new(),
            urgent: AtomicUsize::new(0),
            urgent_arrived: Notify::new(),
            calm: Notify::new(),
        });
        Self { inner, gate: None }
    }

    /// The same limiter, with `gate` asked after it for every request.
    #[cfg(feature = "redis")]
    pub(crate) fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// `permit`, once the gate (if any) has let it go too.
    async fn admitted(&self, mut permit: Permit, cost: u32) -> Permit {
        if let Some(gate) = &self.gate {
            permit.admission = Some(gate.admit(cost).await);
        }
        permit
    }

    /// The limit and its window, unless unlimited (the scheduler paces checks by them).
    pub(crate) fn rate(&self) -> Option<(usize, Duration)> {
        (self.inner.limit != usize::MAX).then_some((self.inner.limit, self.inner.window))
    }

    /// Holds every caller of this limiter (and its clones) for `wait` from now: the server
    /// refused a call with 429 and said (or we chose) how long to stay away. A longer hold
    /// already in place stays.
    pub(crate) fn hold(&self, wait: Duration) {
        if let Some(gate) = &self.gate {
            gate.hold(wait);
        }
        // A wait past what the clock holds (a server's absurd Retry-After with no cap set) is a
        // hold without end, not none.
        let until = crate::poll_policy::far_after(Instant::now(), wait);
        let mut state = self.inner.lock();
        state.held_until = Some(state.held_until.map_or(until, |held| held.max(until)));
    }

    /// Waits until a request that counts as `cost` requests may be sent; hold the permit until
    /// its answer has arrived.
    pub(crate) async fn acquire(&self, cost: u32) -> Permit {
        let permit = self.acquire_local(cost).await;
        self.admitted(permit, cost).await
    }

    /// [`acquire`](Self::acquire) from this process's budget alone.
    async fn acquire_local(&self, cost: u32) -> Permit {
        let shared = &self.inner;
        // A request dearer than the whole limit could never fit a server window either: it is
        // let through once the window is entirely free.
        let cost = (cost as usize).clamp(1, shared.limit);
        let _urgent = Urgent::new(shared);
        let _turn = shared.queue.lock().await;
        let mut permit = Permit {
            shared: Some(shared.clone()),
            ids: 0..0,
            admission: None,
        };
        while (permit.ids.end - permit.ids.start) < cost as u64 {
            let now = Instant::now();
            let taken = shared.lock().take(shared.limit, shared.window, now);
            match taken {
                Take::Granted(id) if permit.ids.is_empty() => permit.ids = id..id + 1,
                Take::Granted(id) => permit.ids.end = id + 1,
                Take::WaitUntil(until) => tokio::time::sleep_until(until).await,
                Take::WaitForAnswer => shared.finished.notified().await,
            }
        }
        permit
    }

    /// Waits for a permit that no ordinary caller wants: whenever one waits, this steps aside
    /// until it has been served.
    pub(crate) async fn acquire_spare(&self) -> Permit {
        let permit = self.acquire_spare_local().await;
        self.admitted(permit, 1).await
    }

    /// [`acquire_spare`](Self::acquire_spare) from this process's budget alone.
    async fn acquire_spare_local(&self) -> Permit {
        let shared = &self.inner;
        loop {
            let calm = shared.calm.notified();
            if shared.urgent.load(Ordering::SeqCst) > 0 {
                calm.await;
                continue;
            }
            let turn = shared.queue.lock().await;
            let arrived = shared.urgent_arrived.notified();
            futures_util::pin_mut!(arrived);
            arrived.as_mut().enable();
            while shared.urgent.load(Ordering::SeqCst) == 0 {
                let taken = shared
                    .lock()
                    .take(shared.limit, shared.window, Instant::now());
                match taken {
                    Take::Granted(id) => {
                        return Permit {
                            shared: Some(shared.clone()),
                            ids: id..id + 1,
                            admission: None,
                        };
                    }
                    Take::WaitUntil(until) => tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        () = arrived.as_mut() => break,
                    },
                    Take::WaitForAnswer => tokio::select! {
                        () = shared.finished.notified() => {}
                        () = arrived.as_mut() => break,
                    },
                }
            }
            drop(turn);
        }
    }

    /// Learns from a response's rate-limit headers: never send more than the API says are
    /// left before its window resets (other processes may share the key).
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let shared = &self.inner;
        if shared.limit == usize::MAX {
            // Unlimited: only 429s (through `hold`) slow the client down.
            return;
        }
        use crate::transport::retry::{RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
        let number = |name| {
            crate::transport::retry::header(headers, name).and_then(|v| v.parse::<u64>().ok())
        };
        if let (Some(remaining), Some(reset)) =
            (number(&RATE_LIMIT_REMAINING), number(&RATE_LIMIT_RESET))
        {
            let until = crate::transport::retry::until_reset(headers, reset);
            if until > MAX_SERVER_WINDOW {
                tracing::warn!(
                    ?until,
                    cap = ?MAX_SERVER_WINDOW,
                    "the API's X-RateLimit-Reset lies beyond its one-minute window; holding for the cap"
                );
            }
            if remaining == 0
                && let Some(gate) = &self.gate
            {
                // None left for anyone on the key: every process sharing it waits.
                gate.hold(until.min(MAX_SERVER_WINDOW));
            }
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
                resets_at: Instant::now() + until.min(MAX_SERVER_WINDOW),
            });
        }
    }
}

/// Counts an ordinary caller as waiting while it lives.
struct Urgent<'a>(&'a LimiterState);

impl<'a> Urgent<'a> {
    fn new(shared: &'a LimiterState) -> Self {
        shared.urgent.fetch_add(1, Ordering::SeqCst);
        shared.urgent_arrived.notify_waiters();
        Self(shared)
    }
}

impl Drop for Urgent<'_> {
    fn drop(&mut self) {
        if self.0.urgent.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.calm.notify_waiters();
        }
    }
}

impl Permit {
    /// Gives the permit back without having sent anything: its slots are free at once.
    pub(crate) fn release_unused(mut self) {
        if let Some(admission) = self.admission.take() {
            admission.unused();
        }
        let Some(shared) = self.shared.take() else {
            return;
        };
        shared
            .lock()
            .recent
            .retain(|slot| !self.ids.contains(&slot.id));
        shared.finished.notify_one();
    }
}

impl LimiterState {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What asking for a permit gave.
enum Take {
    Granted(u64),
    WaitUntil(Instant),
    WaitForAnswer,
}

impl State {
    /// Takes a permit at `now`, or says what to wait for.
    fn take(&mut self, limit: usize, window: Duration, now: Instant) -> Take {
        match self.held_until {
            Some(until) if now < until => return Take::WaitUntil(until),
            Some(_) => self.held_until = None,
            None => {}
        }
        while self
            .recent
            .front()
            .is_some_and(|slot| slot.finished.is_some_and(|t| now >= frees_at(t, window)))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= limit {
            return match self.recent.front().and_then(|slot| slot.finished) {
                Some(finished) => Take::WaitUntil(frees_at(finished, window)),
                None => Take::WaitForAnswer,
            };
        }
        match &mut self.server {
            Some(server) if now < server.resets_at && server.left == 0 => {
                return Take::WaitUntil(server.resets_at);
            }
            Some(server) if now < server.resets_at => server.left -= 1,
            _ => self.server = None,
        }
        self.next_id += 1;
        if limit == usize::MAX {
            // Unlimited: nothing to count.
            return Take::Granted(self.next_id);
        }
        self.recent.push_back(Slot {
            id: self.next_id,
            finished: None,
        });
        Take::Granted(self.next_id)
    }
}

/// When a request answered at `finished` stops counting: a window later (a window longer
/// than the clock can hold never ends).
fn frees_at(finished: Instant, window: Duration) -> Instant {
    crate::poll_policy::far_after(finished, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_slot_frees_a_window_after_its_request_finished() {
        let limiter = Limiter::new(RateLimit::new(3, 10 * SECOND));
        let start = Instant::now();
        for _ in 0..3 {
            drop(limiter.acquire(1).await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        let _fourth = limiter.acquire(1).await;
        assert_eq!(start.elapsed(), 10 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_hold_their_slots() {
        let limiter = Limiter::new(RateLimit::new(2, 10 * SECOND));
        let start = Instant::now();
        let slow = limiter.acquire(1).await;
        let _other = limiter.acquire(1).await;
        tokio::spawn(async move {
            tokio::time::sleep(5 * SECOND).await;
            drop(slow);
        });
        let _third = limiter.acquire(1).await;
        assert_eq!(start.elapsed(), 15 * SECOND, "5 s in flight, then a window");
    }

    #[tokio::test(start_paused = true)]
    async fn late_senders_never_crowd_a_server_window() {
        let limiter = Limiter::new(RateLimit::new(5, SECOND));
        let start = Instant::now();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..40u64 {
            let (limiter, arrivals) = (limiter.clone(), arrivals.clone());
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis((n * 37) % 300)).await;
                let permit = limiter.acquire(1).await;
                // A busy machine: the request reaches the server up to 250 ms late.
                tokio::time::sleep(Duration::from_millis((n * 53) % 250)).await;
                arrivals.lock().unwrap().push(start.elapsed());
                tokio::time::sleep(Duration::from_millis((n * 29) % 100)).await;
                drop(permit);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut arrivals = arrivals.lock().unwrap().clone();
        arrivals.sort();
        for (i, t) in arrivals.iter().enumerate() {
            let within = arrivals[i..].iter().take_while(|u| **u - *t < SECOND);
            assert!(
                within.count() <= 5,
                "more than 5 arrivals within 1 s of {t:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_saying_none_are_left_holds_requests_until_its_reset() {
        let limiter = Limiter::new(RateLimit::new(100, 60 * SECOND));
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
        drop(limiter.acquire(1).await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(limiter.acquire(1).await);
        let waited = start.elapsed();
        assert!(waited > 3 * SECOND && waited <= 5 * SECOND, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_dearer_than_the_limit_waits_for_an_empty_window() {
        let limiter = Limiter::new(RateLimit::new(4, SECOND));
        let start = Instant::now();
        drop(limiter.acquire(1).await);
        let permit = limiter.acquire(10).await;
        assert_eq!(permit.ids.end - permit.ids.start, 4);
        assert_eq!(start.elapsed(), SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn no_reset_however_distant_holds_requests_past_a_window() {
        for reset in [u64::MAX.to_string(), "99999999999".into(), "0".into()] {
            let limiter = Limiter::new(RateLimit::new(100, 60 * SECOND));
            let mut headers = HeaderMap::new();
            headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
            headers.insert("x-ratelimit-reset", reset.parse().unwrap());
            limiter.observe(&headers);
            let start = Instant::now();
            drop(limiter.acquire(1).await);
            assert!(
                start.elapsed() <= MAX_SERVER_WINDOW,
                "reset {reset}: {:?}",
                start.elapsed()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn spare_callers_step_aside_for_ordinary_ones() {
        let limiter = Limiter::new(RateLimit::new(1, 10 * SECOND));
        drop(limiter.acquire(1).await);
        let order = Arc::new(Mutex::new(Vec::new()));
        let spare = {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                let _permit = limiter.acquire_spare().await;
                order.lock().unwrap().push("spare");
            })
        };
        // The spare caller is waiting for the window when the ordinary one arrives.
        tokio::time::sleep(SECOND).await;
        drop(limiter.acquire(1).await);
        order.lock().unwrap().push("ordinary");
        spare.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["ordinary", "spare"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unused_permit_frees_its_slot_at_once() {
        let limiter = Limiter::new(RateLimit::new(1, 10 * SECOND));
        let start = Instant::now();
        limiter.acquire_spare().await.release_unused();
        drop(limiter.acquire(1).await);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_stops_every_caller_until_it_ends_limited_or_not() {
        for config in [RateLimit::new(100, SECOND), RateLimit::unlimited()] {
            let limiter = Limiter::new(config);
            let start = Instant::now();
            limiter.hold(5 * SECOND);
            limiter.hold(SECOND);
            let spare = limiter.clone();
            let spare = tokio::spawn(async move { drop(spare.acquire_spare().await) });
            drop(limiter.acquire(1).await);
            assert_eq!(start.elapsed(), 5 * SECOND, "the longer hold stays");
            spare.await.unwrap();
            drop(limiter.acquire(1).await);
            assert_eq!(start.elapsed(), 5 * SECOND, "and then ends");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_past_what_the_clock_holds_never_frees_a_slot_and_never_panics() {
        let limiter = Limiter::new(RateLimit::new(1, Duration::MAX));
        drop(limiter.acquire(1).await);
        assert_eq!(limiter.snapshot().remaining, Some(0));
        let second = tokio::time::timeout(Duration::from_secs(3600), limiter.acquire(1)).await;
        assert!(
            second.is_err(),
            "the one slot is still counted an hour later"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_past_what_the_clock_holds_still_holds() {
        let limiter = Limiter::new(RateLimit::new(100, SECOND));
        limiter.hold(Duration::MAX);
        let waiting = tokio::time::timeout(Duration::from_secs(3600), limiter.acquire(1)).await;
        assert!(waiting.is_err(), "still held an hour later");
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let limiter = Limiter::new(RateLimit::unlimited());
        for _ in 0..10_000 {
            drop(limiter.acquire(1).await);
        }
    }

    proptest::proptest! {
        #[test]
        fn no_rate_limit_headers_panic_or_hold_calls_past_a_window(
            remaining in "[ -~]{0,30}|[0-9]{1,25}",
            reset in "[ -~]{0,30}|[0-9]{1,25}|-[0-9]{1,10}",
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            let waited = runtime.block_on(async {
                let limiter = Limiter::new(RateLimit::new(100, 60 * SECOND));
                let mut headers = HeaderMap::new();
                for (name, value) in [("x-ratelimit-remaining", &remaining), ("x-ratelimit-reset", &reset)] {
                    if let Ok(value) = value.parse() {
                        headers.insert(name, value);
                    }
                }
                limiter.observe(&headers);
                let start = Instant::now();
                drop(limiter.acquire(1).await);
                drop(limiter.acquire(1).await);
                start.elapsed()
            });
            proptest::prop_assert!(waited <= MAX_SERVER_WINDOW, "{waited:?}");
        }
    }
}
