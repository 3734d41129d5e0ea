//! The one scheduler behind every wait of a [`crate::Client`] and its clones: it decides which
//! waiting job is checked next, by the rule [`crate::PollPolicy`] states.
//!
//! Each wait registers a [`Ticket`] and asks it for a [`turn`](Ticket::turn) before every status
//! check. Whichever wait is asking takes the dispatcher's seat for one round: it waits until some
//! job is due, takes a spare permit from the limiter (so the client's other calls go first), and
//! hands it to the job that scores best: a webhook push, then a job past its starvation bound,
//! then the chance it finished since its last check ([`chance`]). Checks that rest on no
//! evidence draw on a [`pace::Pace`]. Waits on the same job share its checks: while one of them
//! checks, the others get no turn, and its answer is theirs (a [`Turn::Seen`]). Dropping a
//! wait drops its ticket: its checks stop, and a permit handed to it is given back.

mod chance;
mod pace;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

use self::{
    chance::{age_alone, by_expected_end, finished_between},
    pace::Pace,
};
use crate::{
    DocumentKind, JobStatus, PollPolicy, generated::types, transport::rate_limit::Limiter,
};

/// How many finished jobs of each kind the scheduler remembers the durations of.
const LEARNED: usize = 64;
/// An estimate at least this likely that the job finished is evidence enough to skip the pace.
const LIKELY: f64 = 0.5;
/// Learned durations needed before they count as evidence (fewer say too little about the
/// rest: the first jobs seen finishing are the short ones).
const ENOUGH_LEARNED: usize = 16;

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
    /// With a webhook receiver attached, the slowest polling rate (the safety net).
    safety_net: Option<Duration>,
    /// Jobs reported finished before anyone waited on them (a wait registered later checks
    /// them at once), newest last.
    early_pushes: VecDeque<String>,
    /// The bucket evidence-free checks draw on; `None` without a rate limit.
    pace: Option<Pace>,
}

/// How many early pushes the scheduler remembers.
#[cfg(feature = "webhook-receiver")]
const EARLY_PUSHES: usize = 256;

/// One registered wait.
#[derive(Debug)]
struct Entry {
    /// The job (webhook events name it; waits on the same job share its checks).
    job_id: String,
    kind: DocumentKind,
    /// When the job started (or, for a resumed job, when the wait began).
    born: Instant,
    /// Whether `born` is the job's real start: only then does its duration teach anything.
    started_here: bool,
    last_check: Option<Instant>,
    checks: u32,
    /// Whether the wait is asking for a turn now.
    asking: bool,
    /// A permit handed to the wait, not yet taken.
    grant: Option<crate::transport::rate_limit::Permit>,
    /// The wait took its permit and its check has not answered yet.
    checking: bool,
    /// What a check of the same job by another wait answered since this one last looked.
    seen: Option<types::Job>,
    /// Whether that permit took a token of the pace (given back with it, if unused).
    grant_paced: bool,
    woken: Arc<Notify>,
    /// The last reported progress (0 to 100) and when it was seen.
    progress: Option<(f64, Instant)>,
    /// A verified webhook reported on the job since its last check.
    pushed: bool,
    policy: PollPolicy,
}

impl Scheduler {
    /// The scheduler of a client whose calls go through `limiter`, paced as `policy` says.
    pub(crate) fn new(limiter: Limiter, policy: &PollPolicy) -> Self {
        let pace = limiter
            .rate()
            .and_then(|(limit, window)| Pace::new(limit, window, policy.burst_of(limit)));
        Self {
            shared: Arc::new(Shared {
                limiter,
                board: Mutex::new(Board {
                    pace,
                    ..Board::default()
                }),
                seat: tokio::sync::Mutex::new(()),
                changed: Notify::new(),
            }),
        }
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
        board.waits.insert(
            id,
            Entry {
                job_id: job_id.to_owned(),
                kind,
                born: started.unwrap_or_else(Instant::now),
                started_here: started.is_some(),
                last_check: None,
                checks: 0,
                asking: false,
                grant: None,
                checking: false,
                seen: None,
                grant_paced: false,
                woken: woken.clone(),
                progress: None,
                pushed,
                policy: policy.clone(),
            },
        );
        Ticket {
            shared: self.shared.clone(),
            id,
            woken,
        }
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

    /// From now on a webhook receiver reports completions: polling slows to `every`.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn set_safety_net(&self, every: Duration) {
        self.shared.lock().safety_net = Some(every);
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

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        // The board holds plain bookkeeping: a panic elsewhere cannot leave it inconsistent.
        self.board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One dispatcher round: waits until some asking job may be checked (and, for a check on
    /// no evidence, until the pace allows one), takes a spare permit, and hands it to the best
    /// job.
    async fn dispatch(&self) {
        loop {
            self.until_someone_is_due().await;
            let changed = self.changed.notified();
            futures::pin_mut!(changed);
            changed.as_mut().enable();
            let paced_until = self.lock().paced_until(Instant::now());
            if let Some(until) = paced_until {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = changed => {}
                }
                continue;
            }
            let permit = self.limiter.acquire_spare().await;
            let now = Instant::now();
            let mut board = self.lock();
            let Some((id, paced)) = board.best(now) else {
                // The job that was due stopped waiting meanwhile.
                drop(board);
                permit.release_unused();
                continue;
            };
            if paced && let Some(pace) = &mut board.pace {
                pace.take(now);
            }
            let entry = board
                .waits
                .get_mut(&id)
                .expect("best names a registered wait");
            entry.grant = Some(permit);
            entry.grant_paced = paced;
            entry.woken.notify_one();
            return;
        }
    }

    async fn until_someone_is_due(&self) {
        loop {
            let changed = self.changed.notified();
            futures::pin_mut!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let next = self.lock().next_due();
            match next {
                Some(due) if due <= now => return,
                Some(due) => tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = changed => {}
                },
                None => changed.await,
            }
        }
    }
}

impl Board {
    /// The jobs a wait holds a permit for or is checking now: their other waits wait for
    /// that answer instead of checking too.
    fn busy(&self) -> HashSet<(DocumentKind, &str)> {
        self.waits
            .values()
            .filter(|e| e.checking || e.grant.is_some())
            .map(|e| (e.kind, e.job_id.as_str()))
            .collect()
    }

    /// The waits that may be given a turn: asking, holding no permit, with no check of their
    /// job under way.
    fn candidates(&self) -> impl Iterator<Item = (&u64, &Entry)> {
        let busy = self.busy();
        self.waits
            .iter()
            .filter(move |(_, e)| e.asking && !busy.contains(&(e.kind, e.job_id.as_str())))
    }

    /// When the first asking job may be checked.
    fn next_due(&self) -> Option<Instant> {
        let safety_net = self.safety_net;
        self.candidates().map(|(_, e)| e.due(safety_net)).min()
    }

    /// The asking job, due now, to check first, and whether its check draws on the pace:
    /// the best of all while the pace has a token, else the best of those with evidence.
    fn best(&mut self, now: Instant) -> Option<(u64, bool)> {
        let paced_ok = self.pace.as_mut().is_none_or(|p| p.ready_at(now) <= now);
        let board = &*self;
        board
            .candidates()
            .filter(|(_, e)| e.due(board.safety_net) <= now)
            .map(|(id, e)| (*id, board.score(e, now)))
            .filter(|(_, (_, evidence))| paced_ok || *evidence)
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(b.0.cmp(&a.0)))
            .map(|(id, (_, evidence))| (id, board.pace.is_some() && !evidence))
    }

    /// Twice the time a round of checks of every wait takes at the limit's average rate: when
    /// that is longer than `max_interval`, no bound shorter can hold for all jobs, and one
    /// that cannot hold would turn the budget into a round robin that ignores every estimate.
    fn fair_turn(&self) -> Duration {
        self.pace.as_ref().map_or(Duration::ZERO, |pace| {
            let waits = u32::try_from(self.waits.len()).unwrap_or(u32::MAX);
            pace.every.saturating_mul(waits).saturating_mul(2)
        })
    }

    /// When the pace lets the next check go, if the jobs due now have no evidence and it does
    /// not yet.
    fn paced_until(&mut self, now: Instant) -> Option<Instant> {
        if self.best(now).is_some() {
            return None;
        }
        let ready = self.pace.as_mut()?.ready_at(now);
        (ready > now).then_some(ready)
    }

    /// How much checking `entry` now is worth (a push above a starving job above the
    /// probability that it finished since its last check), and whether that rests on evidence.
    fn score(&self, entry: &Entry, now: Instant) -> (f64, bool) {
        if entry.pushed {
            return (1e9, true);
        }
        let since = now.saturating_duration_since(entry.last_check.unwrap_or(entry.born));
        if since
            >= entry
                .starvation_bound(self.safety_net)
                .max(self.fair_turn())
        {
            return (1e6 + since.as_secs_f64(), false);
        }
        let age = now.saturating_duration_since(entry.born).as_secs_f64();
        let checked_at = entry.last_check.map_or(0.0, |t| {
            t.saturating_duration_since(entry.born).as_secs_f64()
        });
        match (entry.progress, self.learned.get(&entry.kind)) {
            (Some((progress, seen)), _) if progress > 0.0 && progress < 100.0 => {
                let seen_at = seen.saturating_duration_since(entry.born).as_secs_f64();
                let total = seen_at * 100.0 / progress;
                let p = by_expected_end(total, checked_at, age);
                (p, p >= LIKELY)
            }
            (_, Some(durations)) if !durations.is_empty() => {
                let p = finished_between(durations, checked_at, age);
                (p, p >= LIKELY && durations.len() >= ENOUGH_LEARNED)
            }
            _ => (age_alone(checked_at, age), false),
        }
    }
}

impl Entry {
    /// When this job may be checked next.
    fn due(&self, safety_net: Option<Duration>) -> Instant {
        let Some(last) = self.last_check else {
            return self.born;
        };
        if self.pushed {
            return last;
        }
        let floor = self.policy.floor(self.checks.saturating_sub(1));
        let floor = safety_net.map_or(floor, |net| floor.max(net));
        crate::poll_policy::far_after(last, floor)
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
    Check(crate::transport::rate_limit::Permit),
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
            futures::pin_mut!(woken);
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
        let permit = entry.grant.take()?;
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
        entry.checks = entry.checks.saturating_add(1);
        entry.checking = false;
        let key = (entry.kind, entry.job_id.clone());
        let Some(job) = answer else {
            drop(board);
            // Its other waits may check now.
            self.shared.changed.notify_waiters();
            return;
        };
        let progress = job.progress.filter(|p| p.is_finite());
        for (_, other) in board
            .waits
            .iter_mut()
            .filter(|(id, e)| **id != self.id && (e.kind, e.job_id.as_str()) == (key.0, &key.1))
        {
            other.seen = Some(job.clone());
            other.last_check = Some(now);
            other.pushed = false;
            if let Some(progress) = progress {
                other.progress = Some((progress, now));
            }
            other.woken.notify_one();
        }
        let Some(entry) = board.waits.get_mut(&self.id) else {
            return;
        };
        if let Some(progress) = progress {
            entry.progress = Some((progress, now));
        }
        if job.status == JobStatus::Completed {
            let took =
                server_duration(job).or_else(|| entry.started_here.then(|| now - entry.born));
            let kind = entry.kind;
            if let Some(took) = took {
                let learned = board.learned.entry(kind).or_default();
                if learned.len() == LEARNED {
                    learned.pop_front();
                }
                learned.push_back(took);
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

impl Shared {
    /// Gives back a permit handed to a wait that did not use it, and its token if it took one.
    fn give_back(&self, permit: crate::transport::rate_limit::Permit, paced: bool) {
        if paced && let Some(pace) = &mut self.lock().pace {
            pace.give_back();
        }
        permit.release_unused();
        self.changed.notify_waiters();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let entry = self.shared.lock().waits.remove(&self.id);
        if let Some((permit, paced)) = entry.and_then(|e| Some((e.grant?, e.grant_paced))) {
            self.shared.give_back(permit, paced);
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
        let grant = self
            .0
            .shared
            .lock()
            .waits
            .get_mut(&self.0.id)
            .and_then(|entry| {
                entry.asking = false;
                Some((entry.grant.take()?, entry.grant_paced))
            });
        if let Some((permit, paced)) = grant {
            self.0.shared.give_back(permit, paced);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RateLimit;

    const SECOND: Duration = Duration::from_secs(1);

    fn policy() -> PollPolicy {
        PollPolicy::default()
            .first_check(SECOND)
            .max_interval(10 * SECOND)
    }

    fn finished(ticket: &Ticket) {
        ticket.checked(None);
    }

    /// A scheduler whose limiter allows one request every `every`.
    fn tight(every: Duration) -> Scheduler {
        Scheduler::new(Limiter::new(RateLimit::new(1, every)), &policy())
    }

    /// Which of `tickets` gets the next turn.
    async fn next_of(tickets: &[&Ticket]) -> usize {
        let turns = tickets.iter().enumerate().map(|(i, ticket)| {
            Box::pin(async move {
                drop(ticket.turn().await);
                i
            })
        });
        let (first, _, _) = futures::future::select_all(turns).await;
        first
    }

    fn job(status: JobStatus) -> types::Job {
        types::Job {
            created_at: None,
            error: None,
            file_id: None,
            job_id: "same".into(),
            progress: None,
            result: None,
            results: None,
            status,
            updated_at: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_on_one_job_share_its_checks() {
        let scheduler = Scheduler::new(Limiter::new(RateLimit::default()), &policy());
        let start = Some(Instant::now());
        let first = scheduler.register(DocumentKind::Invoice, "same", start, &policy());
        let second = scheduler.register(DocumentKind::Invoice, "same", start, &policy());
        let other = scheduler.register(DocumentKind::Invoice, "other", start, &policy());
        let Turn::Check(permit) = first.turn().await else {
            panic!("the first wait checks");
        };
        // While that check runs, another job is checked, but not the same job again.
        assert!(matches!(other.turn().await, Turn::Check(_)));
        let blocked = tokio::time::timeout(5 * SECOND, second.turn()).await;
        assert!(blocked.is_err(), "a second check of a job being checked");
        drop(permit);
        first.checked(Some(&job(JobStatus::Processing)));
        match second.turn().await {
            Turn::Seen(seen) => assert_eq!(seen.status, JobStatus::Processing),
            Turn::Check(_) => panic!("the answer to the first check was not shared"),
        }
        // A check that failed tells the others nothing: they check for themselves.
        tokio::time::sleep(SECOND).await;
        let Turn::Check(_) = first.turn().await else {
            panic!("a turn to check");
        };
        first.checked(None);
        tokio::time::sleep(SECOND).await;
        assert!(matches!(second.turn().await, Turn::Check(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_should_have_finished_is_checked_before_one_that_should_not() {
        let scheduler = tight(5 * SECOND);
        // The budget is spent until 5 s: by then both jobs ask for a turn.
        drop(scheduler.shared.limiter.acquire(1).await);
        // This client has seen invoices take 3 s.
        scheduler.shared.lock().learned.insert(
            DocumentKind::Invoice,
            std::iter::repeat_n(3 * SECOND, 5).collect(),
        );
        let old = scheduler.register(
            DocumentKind::Invoice,
            "old",
            Some(Instant::now()),
            &policy(),
        );
        tokio::time::sleep(2 * SECOND).await;
        let young = scheduler.register(
            DocumentKind::Invoice,
            "young",
            Some(Instant::now()),
            &policy(),
        );
        finished(&old);
        finished(&young);
        tokio::time::sleep(2 * SECOND).await;
        // "old" is 4 s old, past every duration seen; "young" is 2 s old, short of all.
        assert_eq!(next_of(&[&young, &old]).await, 1);
        assert_eq!(next_of(&[&old, &young]).await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn reported_progress_points_at_the_job_about_to_finish() {
        let scheduler = tight(5 * SECOND);
        drop(scheduler.shared.limiter.acquire(1).await);
        let start = Instant::now();
        let slow = scheduler.register(DocumentKind::Statement, "slow", Some(start), &policy());
        let fast = scheduler.register(DocumentKind::Statement, "fast", Some(start), &policy());
        tokio::time::sleep(2 * SECOND).await;
        let at = |progress| types::Job {
            created_at: None,
            error: None,
            file_id: None,
            job_id: String::new(),
            progress: Some(progress),
            result: None,
            results: None,
            status: JobStatus::Processing,
            updated_at: None,
        };
        slow.checked(Some(&at(10.0)));
        fast.checked(Some(&at(90.0)));
        tokio::time::sleep(SECOND).await;
        assert_eq!(next_of(&[&slow, &fast]).await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_job_starves_while_the_budget_allows() {
        // One check a second for five jobs that all look equally unlikely to be done (jobs of
        // their kind took 100 s): the first would win every tie, yet each of the others is
        // still checked at least every max_interval (10 s), plus at most one budget slot for
        // each job that came due at the same time.
        let scheduler = tight(SECOND);
        scheduler
            .shared
            .lock()
            .learned
            .insert(DocumentKind::Invoice, [100 * SECOND].into_iter().collect());
        let start = Instant::now();
        let tickets: Vec<_> = (0..5)
            .map(|n| {
                scheduler.register(
                    DocumentKind::Invoice,
                    &format!("job{n}"),
                    Some(start),
                    &policy(),
                )
            })
            .collect();
        let refs: Vec<&Ticket> = tickets.iter().collect();
        let mut last_seen = [start; 5];
        while start.elapsed() < 60 * SECOND {
            let picked = next_of(&refs).await;
            refs[picked].checked(None);
            let now = Instant::now();
            assert!(
                now - last_seen[picked] <= 15 * SECOND,
                "job{picked} waited {:?}",
                now - last_seen[picked]
            );
            last_seen[picked] = now;
        }
        for (n, seen) in last_seen.iter().enumerate() {
            assert!(
                seen.elapsed() <= 15 * SECOND,
                "job{n} last checked {:?} ago",
                seen.elapsed()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_job_with_a_free_budget_is_checked_at_the_floor() {
        let scheduler = Scheduler::new(Limiter::new(RateLimit::default()), &policy());
        let ticket = scheduler.register(
            DocumentKind::Invoice,
            "one",
            Some(Instant::now()),
            &policy(),
        );
        let start = Instant::now();
        for n in 0..5u32 {
            drop(ticket.turn().await);
            ticket.checked(None);
            assert_eq!(start.elapsed(), n * SECOND);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_wait_gets_no_more_turns() {
        let scheduler = tight(10 * SECOND);
        drop(scheduler.shared.limiter.acquire(1).await);
        let gone = scheduler.register(
            DocumentKind::Invoice,
            "gone",
            Some(Instant::now()),
            &policy(),
        );
        let kept = scheduler.register(
            DocumentKind::Invoice,
            "kept",
            Some(Instant::now()),
            &policy(),
        );
        // "gone" asks first and would get the slot that frees at 10 s, but is dropped at 5 s.
        let asking = tokio::spawn(async move {
            drop(gone.turn().await);
            unreachable!("the wait was dropped before its turn");
        });
        tokio::time::sleep(5 * SECOND).await;
        asking.abort();
        assert!(asking.await.unwrap_err().is_cancelled());
        assert_eq!(scheduler.shared.lock().waits.len(), 1);
        let start = Instant::now();
        drop(kept.turn().await);
        assert_eq!(
            start.elapsed(),
            5 * SECOND,
            "the slot at 10 s went to the wait still asking"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_more_waits_than_max_interval_can_serve_estimates_still_choose() {
        // One check a second for 30 waits: none can be checked every 10 s, so a job unchecked
        // for 13 s is not starving yet, and the job most likely finished goes first.
        let scheduler = tight(SECOND);
        scheduler.shared.lock().learned.insert(
            DocumentKind::Invoice,
            std::iter::repeat_n(20 * SECOND, ENOUGH_LEARNED).collect(),
        );
        let start = Instant::now();
        let old = scheduler.register(DocumentKind::Invoice, "old", Some(start), &policy());
        tokio::time::sleep(8 * SECOND).await;
        let young: Vec<_> = (0..29)
            .map(|n| {
                let id = format!("young{n}");
                scheduler.register(DocumentKind::Invoice, &id, Some(Instant::now()), &policy())
            })
            .collect();
        tokio::time::sleep(10 * SECOND).await;
        drop(old.turn().await);
        old.checked(None);
        tokio::time::sleep(3 * SECOND).await;
        // The budget is spent for a second, so that every wait is asking when a slot frees.
        drop(scheduler.shared.limiter.acquire(1).await);
        // "old" is 21 s old, past the 20 s its kind takes; the young ones are 13 s old.
        let mut all = vec![&old];
        all.extend(young.iter());
        assert_eq!(next_of(&all).await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn checks_on_no_evidence_go_in_a_burst_then_at_the_average_rate() {
        // 60 a minute, a burst of 4: ten jobs nothing is known about would otherwise take ten
        // permits at once and leave the window's budget short for the completions after.
        let policy = policy().burst(4);
        let scheduler = Scheduler::new(Limiter::new(RateLimit::default()), &policy);
        let tickets: Vec<_> = (0..10)
            .map(|n| scheduler.register(DocumentKind::Invoice, &format!("job{n}"), None, &policy))
            .collect();
        let refs: Vec<&Ticket> = tickets.iter().collect();
        let start = Instant::now();
        let mut turns = Vec::new();
        for _ in 0..10 {
            let picked = next_of(&refs).await;
            refs[picked].checked(None);
            turns.push(start.elapsed());
        }
        let expected: Vec<Duration> = [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]
            .into_iter()
            .map(|s| s * SECOND)
            .collect();
        assert_eq!(turns, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_likely_finished_or_pushed_skips_the_pace() {
        let policy = policy().burst(1);
        let scheduler = Scheduler::new(Limiter::new(RateLimit::default()), &policy);
        // Enough invoices seen taking 3 s to go by; nothing known about statements.
        scheduler.shared.lock().learned.insert(
            DocumentKind::Invoice,
            std::iter::repeat_n(3 * SECOND, ENOUGH_LEARNED).collect(),
        );
        let start = Instant::now();
        let likely = scheduler.register(DocumentKind::Invoice, "likely", Some(start), &policy);
        let blind = scheduler.register(DocumentKind::Statement, "blind", None, &policy);
        let other = scheduler.register(DocumentKind::Statement, "other", None, &policy);
        tokio::time::sleep(4 * SECOND).await;
        // "other" takes the one token of the burst.
        drop(other.turn().await);
        other.checked(None);
        let asked = Instant::now();
        // "likely" is 4 s old, past every invoice seen: it goes at once, before "blind",
        // which waits the second the pace takes to refill.
        assert_eq!(next_of(&[&blind, &likely]).await, 1);
        assert_eq!(asked.elapsed(), Duration::ZERO);
        likely.checked(None);
        drop(blind.turn().await);
        assert_eq!(asked.elapsed(), SECOND);
        blind.checked(None);
        #[cfg(feature = "webhook-receiver")]
        {
            // The pace is empty again, but a pushed job does not wait for it.
            scheduler.push("other", None, true);
            let pushed = Instant::now();
            drop(other.turn().await);
            assert_eq!(pushed.elapsed(), Duration::ZERO);
        }
    }

    #[cfg(feature = "webhook-receiver")]
    #[tokio::test(start_paused = true)]
    async fn a_push_comes_first_and_skips_the_floor() {
        let scheduler = Scheduler::new(Limiter::new(RateLimit::default()), &policy());
        scheduler.set_safety_net(30 * SECOND);
        let ticket = scheduler.register(
            DocumentKind::Invoice,
            "job",
            Some(Instant::now()),
            &policy(),
        );
        drop(ticket.turn().await);
        ticket.checked(None);
        let start = Instant::now();
        let pusher = scheduler.clone();
        tokio::spawn(async move {
            tokio::time::sleep(2 * SECOND).await;
            pusher.push("job", None, true);
        });
        drop(ticket.turn().await);
        assert_eq!(
            start.elapsed(),
            2 * SECOND,
            "woken by the push, not the 30 s safety net"
        );
    }
}
