//! The one scheduler behind every wait of a [`crate::Client`] and its clones: it decides which
//! waiting job is checked next, by the rule [`crate::PollPolicy`] states.
//!
//! Each wait registers a [`Ticket`] and asks it for a [`turn`](Ticket::turn) before every status
//! check. Whichever wait is asking takes the dispatcher's seat for one round: it waits until the
//! pace allows a check (one per `window / limit`) and some job is worth one, takes a spare permit from the
//! limiter (so the client's other calls go first), and hands it to the job that scores best
//! ([`Board::score`]). Waits on one job share its checks: while one of them checks, the others
//! get no turn, and its answer is theirs (a [`Turn::Seen`]). Dropping a wait drops its ticket:
//! its checks stop, and a permit handed to it is given back.

mod chance;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

use crate::{
    DocumentKind, JobStatus, PollPolicy,
    generated::types,
    poll_policy::far_after,
    transport::rate_limit::{Limiter, Permit},
};

/// A job goes unchecked at most this many rounds of every wait at the average rate.
const FAIR_TURNS: u32 = 4;
/// How many finished jobs of each kind the scheduler remembers the durations of.
const LEARNED: usize = 64;
/// How many jobs reported finished before anyone waited on them the scheduler remembers.
#[cfg(feature = "webhook-receiver")]
const EARLY_PUSHES: usize = 256;

/// The shared scheduler: cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limiter: Limiter,
    board: Mutex<Board>,
    /// Held by the wait that dispatches the next turn.
    seat: tokio::sync::Mutex<()>,
    /// Wakes the dispatcher: a wait asks for a turn, a check ended, a push arrived.
    changed: Notify,
}

#[derive(Debug, Default)]
struct Board {
    next_id: u64,
    waits: HashMap<u64, Entry>,
    /// Durations of jobs seen finishing, by kind, oldest first.
    learned: HashMap<DocumentKind, VecDeque<Duration>>,
    /// The time between two checks at the rate limit's average rate (zero without a limit):
    /// every check but a pushed one keeps to it, so that the checks never spend a window's
    /// budget at once and leave the sliding window none for the completions that follow.
    every: Duration,
    /// When the next paced check may go.
    next_slot: Option<Instant>,
    /// With a webhook receiver attached, the slowest polling rate (the safety net).
    safety_net: Option<Duration>,
    /// Jobs reported finished before anyone waited on them, newest last.
    early_pushes: VecDeque<String>,
}

/// One registered wait.
#[derive(Debug)]
struct Entry {
    job_id: String,
    kind: DocumentKind,
    /// When the job started (or, for a job started elsewhere, when the wait began).
    born: Instant,
    /// Whether `born` is the job's real start: only then does its duration teach anything.
    started_here: bool,
    last_check: Option<Instant>,
    /// The wait is asking for a turn now.
    asking: bool,
    /// A permit handed to the wait, not yet taken, and the paced slot it took (if it did).
    grant: Option<(Permit, Option<Instant>)>,
    /// The wait took its permit and its check has not answered yet.
    checking: bool,
    /// What a check of the same job by another wait answered since this one last looked.
    seen: Option<types::Job>,
    woken: Arc<Notify>,
    /// The last reported progress (0 to 100) and when it was seen.
    progress: Option<(f64, Instant)>,
    /// A verified webhook reported the job finished since its last check.
    pushed: bool,
    policy: PollPolicy,
}

impl Scheduler {
    /// The scheduler of a client whose calls go through `limiter`, paced by its rate.
    pub(crate) fn new(limiter: Limiter) -> Self {
        let every = (limiter.rate()).map_or(Duration::ZERO, |(limit, window)| {
            window / u32::try_from(limit.max(1)).unwrap_or(u32::MAX)
        });
        let board = Mutex::new(Board {
            every,
            ..Board::default()
        });
        let seat = tokio::sync::Mutex::new(());
        let changed = Notify::new();
        let shared = Arc::new(Shared {
            limiter,
            board,
            seat,
            changed,
        });
        Self { shared }
    }

    /// Registers a wait on `job_id`, started at `started` if this client started it.
    pub(crate) fn register(
        &self,
        kind: DocumentKind,
        job_id: &str,
        started: Option<Instant>,
        policy: &PollPolicy,
    ) -> Ticket {
        let woken = Arc::new(Notify::new());
        let mut board = self.shared.lock();
        board.next_id += 1;
        let id = board.next_id;
        let pushed = board.early_pushes.iter().any(|early| early == job_id);
        let entry = Entry {
            job_id: job_id.to_owned(),
            kind,
            born: started.unwrap_or_else(Instant::now),
            started_here: started.is_some(),
            last_check: None,
            asking: false,
            grant: None,
            checking: false,
            seen: None,
            woken: woken.clone(),
            progress: None,
            pushed,
            policy: policy.clone(),
        };
        board.waits.insert(id, entry);
        let shared = self.shared.clone();
        Ticket { shared, id, woken }
    }

    /// A verified webhook event about `job_id`: if it is `terminal`, its waits check it at
    /// once. `progress` is what the event reported, if anything.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn push(&self, job_id: &str, progress: Option<f64>, terminal: bool) {
        let now = Instant::now();
        let mut board = self.shared.lock();
        if terminal {
            if board.early_pushes.len() == EARLY_PUSHES {
                board.early_pushes.pop_front();
            }
            board.early_pushes.push_back(job_id.to_owned());
        }
        for entry in board.waits.values_mut().filter(|e| e.job_id == job_id) {
            entry.pushed |= terminal;
            if let Some(p) = progress.filter(|p| p.is_finite()) {
                entry.progress = Some((p, now));
            }
        }
        drop(board);
        self.shared.changed.notify_waiters();
    }

    /// A reference that does not keep the scheduler alive (for a webhook receiver).
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn downgrade(&self) -> WeakScheduler {
        WeakScheduler(Arc::downgrade(&self.shared))
    }

    /// From now on a webhook receiver reports completions (`Some`): polling slows to `every`;
    /// or it may miss some (`None`, a relay between replicas that is down): polling as usual.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn set_safety_net(&self, every: Option<Duration>) {
        self.shared.lock().safety_net = every;
        self.shared.changed.notify_waiters();
    }
}

/// A scheduler that may be gone.
#[cfg(feature = "webhook-receiver")]
#[derive(Debug)]
pub(crate) struct WeakScheduler(std::sync::Weak<Shared>);

#[cfg(feature = "webhook-receiver")]
impl WeakScheduler {
    /// The scheduler, if its client still exists.
    pub(crate) fn upgrade(&self) -> Option<Scheduler> {
        self.0.upgrade().map(|shared| Scheduler { shared })
    }
}

/// What the board says the dispatcher should do.
enum Pick {
    /// Hand the next permit to this wait; whether its check draws on the pace.
    Now(u64, bool),
    /// Nothing to hand out before this instant (or a change).
    At(Instant),
    /// No wait is asking.
    Idle,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        // The board holds plain bookkeeping: a panic elsewhere cannot leave it inconsistent.
        self.board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One dispatcher round: waits until a job is worth checking, takes a spare permit, and
    /// hands it to the best job then.
    async fn dispatch(&self) {
        loop {
            let changed = self.changed.notified();
            futures_util::pin_mut!(changed);
            changed.as_mut().enable();
            let pick = self.lock().pick(Instant::now());
            match pick {
                Pick::Now(..) => {}
                Pick::At(until) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        () = changed => {}
                    }
                    continue;
                }
                Pick::Idle => {
                    changed.await;
                    continue;
                }
            }
            let permit = self.limiter.acquire_spare().await;
            let now = Instant::now();
            let mut board = self.lock();
            let Pick::Now(id, paced) = board.pick(now) else {
                // The job stopped waiting meanwhile, or a better moment is still to come.
                drop(board);
                permit.release_unused();
                continue;
            };
            let slot = paced.then(|| board.take_slot(now));
            let entry = board.waits.get_mut(&id).expect("pick names a wait");
            entry.grant = Some((permit, slot));
            entry.woken.notify_one();
            return;
        }
    }

    /// Gives back a permit handed to a wait that did not use it, and its paced slot if it took
    /// one.
    fn give_back(&self, (permit, slot): (Permit, Option<Instant>)) {
        if slot.is_some() {
            self.lock().next_slot = slot;
        }
        permit.release_unused();
        self.changed.notify_waiters();
    }
}

impl Board {
    /// The wait to hand the next check to, or when to look again.
    fn pick(&self, now: Instant) -> Pick {
        let paced_from = self.next_slot.unwrap_or(now);
        let busy: HashSet<(DocumentKind, &str)> = (self.waits.values())
            .filter(|e| e.checking || e.grant.is_some())
            .map(|e| (e.kind, e.job_id.as_str()))
            .collect();
        let mut best: Option<(u64, f64, Duration, bool)> = None;
        let mut next: Option<Instant> = None;
        for (id, entry) in &self.waits {
            if !entry.asking || busy.contains(&(entry.kind, entry.job_id.as_str())) {
                continue;
            }
            let paced = !entry.pushed;
            let due = entry.due(self.safety_net);
            let due = if paced { due.max(paced_from) } else { due };
            let score = self.score(entry, now);
            // A job that cannot have finished yet is looked at again a floor later.
            let due = if score > 0.0 {
                due
            } else {
                due.max(far_after(now, entry.policy.floor()))
            };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            let since = now.saturating_duration_since(entry.last_check.unwrap_or(entry.born));
            // The best score; on a tie, the job unchecked longest (round robin).
            if best.is_none_or(|(_, s, d, _)| score > s || (score == s && since > d)) {
                best = Some((*id, score, since, paced));
            }
        }
        match (best, next) {
            (Some((id, _, _, paced)), _) => Pick::Now(id, paced),
            (None, Some(at)) => Pick::At(at),
            (None, None) => Pick::Idle,
        }
    }

    /// How much checking `entry` now is worth: a push, then a job unchecked past its bound,
    /// then the chance it finished since its last check (from its reported `progress`, else
    /// from the durations of its kind seen so far, else from its age alone). Zero means it
    /// cannot have finished yet.
    fn score(&self, entry: &Entry, now: Instant) -> f64 {
        if entry.pushed {
            return f64::INFINITY;
        }
        let since = now.saturating_duration_since(entry.last_check.unwrap_or(entry.born));
        if since
            >= entry
                .starvation_bound(self.safety_net)
                .max(self.fair_turn())
        {
            return 1e6 + since.as_secs_f64();
        }
        let age = now.saturating_duration_since(entry.born).as_secs_f64();
        let checked_at = entry.last_check.map_or(0.0, |t| {
            t.saturating_duration_since(entry.born).as_secs_f64()
        });
        match (entry.progress, self.learned.get(&entry.kind)) {
            (Some((progress, seen)), _) if progress > 0.0 && progress < 100.0 => {
                let seen_at = seen.saturating_duration_since(entry.born).as_secs_f64();
                chance::by_expected_end(seen_at * 100.0 / progress, checked_at, age)
            }
            (_, Some(durations)) if !durations.is_empty() => {
                chance::finished_between(durations, checked_at, age)
            }
            _ => chance::age_alone(checked_at, age),
        }
    }

    /// Four times a round of checks of every wait at the limit's average rate: when that is
    /// longer than `max_interval`, no shorter bound can hold for all jobs, and one that cannot
    /// hold would turn the budget into a round robin that ignores every estimate.
    fn fair_turn(&self) -> Duration {
        let waits = u32::try_from(self.waits.len()).unwrap_or(u32::MAX);
        self.every.saturating_mul(waits).saturating_mul(FAIR_TURNS)
    }

    /// Takes the paced slot due now and returns it (to give back if the check is not sent).
    /// Slots keep to a grid while checks keep coming, so that the time a wait takes to use its
    /// turn does not add up into a slower pace; after a pause, the grid starts again from now
    /// (no burst makes up for the pause).
    fn take_slot(&mut self, now: Instant) -> Instant {
        let on_grid =
            (self.next_slot).filter(|slot| now.saturating_duration_since(*slot) < self.every);
        let taken = on_grid.unwrap_or(now);
        self.next_slot = Some(far_after(taken, self.every));
        taken
    }

    /// Remembers that a job of `kind` took `took`.
    fn learn(&mut self, kind: DocumentKind, took: Duration) {
        let learned = self.learned.entry(kind).or_default();
        if learned.len() == LEARNED {
            learned.pop_front();
        }
        learned.push_back(took);
    }
}

impl Entry {
    /// When this job may be checked next: at once if never checked or pushed, else a floor
    /// (or, with a webhook receiver, the safety net) after its last check.
    fn due(&self, safety_net: Option<Duration>) -> Instant {
        match self.last_check {
            None => self.born,
            Some(last) if self.pushed => last,
            Some(last) => {
                let floor = self.policy.floor();
                far_after(last, safety_net.map_or(floor, |net| floor.max(net)))
            }
        }
    }

    /// How long this job may go unchecked before it comes first.
    fn starvation_bound(&self, safety_net: Option<Duration>) -> Duration {
        let bound = self.policy.starvation_bound();
        safety_net.map_or(bound, |net| bound.max(net))
    }
}

/// What a wait's turn brings.
#[derive(Debug)]
pub(crate) enum Turn {
    /// The permit to check the job with (then tell [`Ticket::checked`] the answer).
    Check(Permit),
    /// The answer another wait on the same job just got: no check needed.
    Seen(Box<types::Job>),
}

/// One wait's place in the scheduler; dropping it stops the wait's checks.
#[derive(Debug)]
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    id: u64,
    woken: Arc<Notify>,
}

impl Ticket {
    /// Waits until the scheduler picks this job, and returns the permit its check runs on, or
    /// the answer a check of the same job by another wait got meanwhile.
    pub(crate) async fn turn(&self) -> Turn {
        let _asking = Asking::new(self);
        loop {
            let woken = self.woken.notified();
            futures_util::pin_mut!(woken);
            woken.as_mut().enable();
            if let Some(turn) = self.take_turn() {
                return turn;
            }
            tokio::select! {
                biased;
                () = woken => {}
                seat = self.shared.seat.lock() => {
                    // A turn handed over while the seat came free is taken, not sat on.
                    if let Some(turn) = self.take_turn() {
                        return turn;
                    }
                    self.shared.dispatch().await;
                    drop(seat);
                }
            }
        }
    }

    fn take_turn(&self) -> Option<Turn> {
        let mut board = self.shared.lock();
        let entry = board.waits.get_mut(&self.id)?;
        if let Some(job) = entry.seen.take() {
            return Some(Turn::Seen(Box::new(job)));
        }
        let (permit, _) = entry.grant.take()?;
        entry.pushed = false;
        entry.checking = true;
        Some(Turn::Check(permit))
    }

    /// Records a check's answer (`None` for a check that failed); an answer is also every
    /// other wait's on the same job.
    pub(crate) fn checked(&self, answer: Option<&types::Job>) {
        let now = Instant::now();
        let mut board = self.shared.lock();
        let Some(entry) = board.waits.get_mut(&self.id) else {
            return;
        };
        entry.last_check = Some(now);
        entry.checking = false;
        let (kind, job_id) = (entry.kind, entry.job_id.clone());
        let took = (entry.started_here).then(|| now.saturating_duration_since(entry.born));
        if let Some(job) = answer {
            let progress = job.progress.filter(|p| p.is_finite()).map(|p| (p, now));
            for (id, other) in &mut board.waits {
                if other.kind != kind || other.job_id != job_id {
                    continue;
                }
                if *id != self.id {
                    other.seen = Some(job.clone());
                    other.last_check = Some(now);
                    other.pushed = false;
                    other.woken.notify_one();
                }
                other.progress = progress.or(other.progress);
            }
            if job.status == JobStatus::Completed
                && let Some(took) = server_duration(job).or(took)
            {
                board.learn(kind, took);
            }
        }
        drop(board);
        self.shared.changed.notify_waiters();
    }
}

/// How long the server says the job took, from its own timestamps.
fn server_duration(job: &types::Job) -> Option<Duration> {
    let (created, updated) = (job.created_at?, job.updated_at?);
    (updated - created).to_std().ok()
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let entry = self.shared.lock().waits.remove(&self.id);
        if let Some(grant) = entry.and_then(|e| e.grant) {
            self.shared.give_back(grant);
        }
        self.shared.changed.notify_waiters();
    }
}

/// Marks a wait as asking for a turn while it lives; a permit handed to it too late is given
/// back.
struct Asking<'a>(&'a Ticket);

impl<'a> Asking<'a> {
    fn new(ticket: &'a Ticket) -> Self {
        if let Some(entry) = ticket.shared.lock().waits.get_mut(&ticket.id) {
            entry.asking = true;
            // A wait that asks again has no check under way (one it gave up on included).
            entry.checking = false;
        }
        ticket.shared.changed.notify_waiters();
        Self(ticket)
    }
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        let ticket = self.0;
        let grant = (ticket.shared.lock().waits.get_mut(&ticket.id)).and_then(|entry| {
            entry.asking = false;
            entry.grant.take()
        });
        if let Some(grant) = grant {
            ticket.shared.give_back(grant);
        }
    }
}

#[cfg(test)]
mod tests;
