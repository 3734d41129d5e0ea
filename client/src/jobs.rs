//! Parse jobs: start one, check it, wait for it, watch its progress, resume it by id.
//!
//! Every wait of a client and its clones is served by one scheduler (see [`PollPolicy`]): the
//! first check comes at once, then no job is checked more often than once a second while spare
//! rate budget goes to the job most likely to have finished, and none goes unchecked for more
//! than 10 s while the budget allows; checks on no evidence of a completion are paced at the
//! limit's average rate after a burst of a quarter of it. A deadline of 10 minutes ends a wait with
//! [`Error::WaitTimeout`], which carries what is needed to resume; it covers everything after
//! the caller asked: turns, rate-limiter waits, retries and the status call in flight. A job
//! this client started that answers 404 is taken as not visible yet for 30 s (some
//! implementations answer 404 until a worker picks the job up). Dropping a wait stops its
//! checks.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::{
    Client, DocumentKind, Error, JobStatus, ParsedDocument, generated::types, scheduler::Turn,
};

/// How jobs are polled until they finish.
///
/// One scheduler per client decides which waiting job is checked next, with the rate budget
/// left after the client's other calls (those go first). With budget to spare, each job is
/// checked every [`first_check`](Self::first_check) (the floor, default 1 s: a completion is
/// seen about half a second late); under pressure the budget goes where a completion is most
/// likely (from reported `progress`, or from how long jobs of the same kind took that this
/// client saw finish), but no job goes unchecked for more than
/// [`max_interval`](Self::max_interval) while the budget allows. Checks with no evidence that
/// the job has finished go at most [`burst`](Self::burst) at once, then at the limit's average
/// rate, so that jobs just started cannot take a whole window's budget and leave none for the
/// completions that follow. With a webhook receiver attached, polling slows to
/// [`safety_net`](Self::safety_net), only to catch lost deliveries.
///
/// ```
/// use std::time::Duration;
/// let policy = invaro::PollPolicy::default()
///     .first_check(Duration::from_millis(200))
///     .max_interval(Duration::from_secs(5))
///     .deadline(Duration::from_secs(120));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PollPolicy {
    first_check: Duration,
    max_interval: Duration,
    growth: f64,
    burst: Option<u32>,
    deadline: Duration,
    not_found_grace: Duration,
    safety_net: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            first_check: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            growth: 1.0,
            burst: None,
            deadline: Duration::from_secs(600),
            not_found_grace: Duration::from_secs(30),
            safety_net: Duration::from_secs(30),
        }
    }
}

impl PollPolicy {
    /// The floor: the shortest time between two checks of one job (the first check is
    /// immediate). Default 1 s.
    pub fn first_check(mut self, wait: Duration) -> Self {
        self.first_check = wait;
        self
    }

    /// The longest a job goes unchecked while the budget allows (checks come first once it is
    /// due), and the cap of a growing floor. Default 10 s.
    pub fn max_interval(mut self, wait: Duration) -> Self {
        self.max_interval = wait;
        self
    }

    /// How much the floor grows with each check of the same job (at least 1), to spend fewer
    /// requests on long jobs. Default 1: the floor stays at
    /// [`first_check`](Self::first_check).
    pub fn growth(mut self, factor: f64) -> Self {
        self.growth = factor.max(1.0);
        self
    }

    /// How many checks that rest on no evidence may go at once out of spare budget; beyond
    /// that they are paced at the rate limit's average rate (60 a minute: one a second).
    /// Evidence is a webhook push, reported `progress`, or durations learned from enough jobs
    /// of the same kind, saying the job has more likely finished than not: such checks are
    /// never paced. Default: a quarter of the rate limit (15 of 60). A burst as large as the
    /// limit turns pacing off.
    pub fn burst(mut self, checks: u32) -> Self {
        self.burst = Some(checks.max(1));
        self
    }

    /// The burst under a limit of `limit` requests per window.
    pub(crate) fn burst_of(&self, limit: usize) -> u32 {
        let quarter = u32::try_from(limit / 4).unwrap_or(u32::MAX);
        self.burst.unwrap_or(quarter).max(1)
    }

    /// How long a wait may last in all before it gives up. Default 10 minutes.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How long after starting a job a 404 on its status means "not visible yet" rather than
    /// "no such job". Only jobs this client started get it, not [`Job::resume`]d ones.
    /// Default 30 s.
    pub fn not_found_grace(mut self, grace: Duration) -> Self {
        self.not_found_grace = grace;
        self
    }

    /// With a webhook receiver attached, how often a job is still polled, to catch a lost
    /// delivery. Default 30 s.
    pub fn safety_net(mut self, every: Duration) -> Self {
        self.safety_net = every;
        self
    }

    /// The polling interval with a webhook receiver attached.
    #[cfg(feature = "webhook-receiver")]
    pub(crate) fn get_safety_net(&self) -> Duration {
        self.safety_net
    }

    /// How long a wait may last in all.
    pub fn get_deadline(&self) -> Duration {
        self.deadline
    }

    /// The floor after the `n`th check (from 0): grown (saturating at the cap, whatever the
    /// growth) and capped. No jitter: the scheduler checks one job at a time.
    pub(crate) fn floor(&self, n: u32) -> Duration {
        let factor = self.growth.powi(i32::try_from(n).unwrap_or(i32::MAX));
        let grown = Duration::try_from_secs_f64(self.first_check.as_secs_f64() * factor)
            .unwrap_or(Duration::MAX);
        grown.min(self.max_interval)
    }

    /// How long a job may go unchecked before it comes first.
    pub(crate) fn starvation_bound(&self) -> Duration {
        self.max_interval.max(self.first_check)
    }

    /// When a wait that starts at `start` gives up.
    pub(crate) fn deadline_from(&self, start: Instant) -> Instant {
        far_after(start, self.deadline)
    }
}

/// `start + wait`, or a century on for a wait beyond what the clock can hold.
pub(crate) fn far_after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400))
}

/// A parse job on the server. Cheap to clone; it holds only the client and the id.
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// use invaro::DocumentKind;
/// let job = client.start_job(DocumentKind::Invoice, "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4").await?;
/// println!("started {}", job.id());
/// let parsed = job.wait().await?;
/// println!("{:?}", parsed.output());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Job {
    client: Client,
    kind: DocumentKind,
    id: String,
    /// When this client started the job, if it did.
    started: Option<Instant>,
}

impl Job {
    /// Takes up a job started earlier (for example after a [`Error::WaitTimeout`]).
    pub fn resume(client: &Client, kind: DocumentKind, job_id: impl Into<String>) -> Self {
        Self {
            client: client.clone(),
            kind,
            id: job_id.into(),
            started: None,
        }
    }

    /// A job this client has just started (a 404 on it is "not visible yet" for a while).
    pub(crate) fn started(client: &Client, kind: DocumentKind, job_id: String) -> Self {
        Self {
            started: Some(Instant::now()),
            ..Self::resume(client, kind, job_id)
        }
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind of document the job parses.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// Asks the server once for the job's state.
    pub async fn status(&self) -> Result<types::Job, Error> {
        let api = self.client.api();
        match self.kind {
            DocumentKind::Invoice => self
                .client
                .call(api.get_invoice_status().job_id(&self.id).send())
                .await
                .map(types::InvoiceStatusResponse::into_job),
            DocumentKind::Statement => self
                .client
                .call(api.get_statement_status().job_id(&self.id).send())
                .await
                .map(|response| response.data),
        }
    }

    /// Polls until the job completes, and returns what it parsed.
    ///
    /// A `failed` job is [`Error::JobFailed`]; running past the poll policy's deadline is
    /// [`Error::WaitTimeout`].
    pub async fn wait(&self) -> Result<ParsedDocument, Error> {
        let deadline = self.client.config().poll.deadline_from(Instant::now());
        self.wait_until(deadline).await
    }

    /// [`wait`](Self::wait), telling `on_update` of every change of status or progress as it is
    /// seen (the first check included, so it is called at least once): for progress displays.
    ///
    /// ```no_run
    /// # async fn demo(job: invaro::Job) -> Result<(), invaro::Error> {
    /// let parsed = job
    ///     .wait_with(|update| println!("{} {:?}%", update.status, update.progress))
    ///     .await?;
    /// println!("{:#?}", parsed.output());
    /// # Ok(()) }
    /// ```
    pub async fn wait_with(
        &self,
        on_update: impl FnMut(&types::Job),
    ) -> Result<ParsedDocument, Error> {
        let deadline = self.client.config().poll.deadline_from(Instant::now());
        self.wait_until_with(deadline, on_update).await
    }

    /// [`wait`](Self::wait), giving up at `deadline`.
    pub(crate) async fn wait_until(&self, deadline: Instant) -> Result<ParsedDocument, Error> {
        self.wait_until_with(deadline, |_| {}).await
    }

    /// [`wait_with`](Self::wait_with), giving up at `deadline`.
    pub(crate) async fn wait_until_with(
        &self,
        deadline: Instant,
        mut on_update: impl FnMut(&types::Job),
    ) -> Result<ParsedDocument, Error> {
        let updates = self.updates_until(deadline);
        futures::pin_mut!(updates);
        let mut last = None;
        while let Some(update) = updates.next().await {
            let job = update?;
            on_update(&job);
            last = Some(job);
        }
        let job = last.expect("updates yield at least one status or an error");
        Ok(ParsedDocument::new(self.kind, job))
    }

    /// The job's states as they change, ending after `completed` (or with an error after
    /// `failed` or at the deadline). For progress displays.
    ///
    /// ```no_run
    /// # async fn demo(job: invaro::Job) -> Result<(), invaro::Error> {
    /// use futures::StreamExt;
    /// let mut updates = std::pin::pin!(job.updates());
    /// while let Some(update) = updates.next().await {
    ///     let job = update?;
    ///     println!("{} {:?}%", job.status, job.progress);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn updates(&self) -> impl Stream<Item = Result<types::Job, Error>> + Send + 'static {
        let deadline = self.client.config().poll.deadline_from(Instant::now());
        self.updates_until(deadline)
    }

    fn updates_until(
        &self,
        deadline: Instant,
    ) -> impl Stream<Item = Result<types::Job, Error>> + Send + 'static {
        let job = self.clone();
        let policy = self.client.config().poll.clone();
        let start = Poll {
            started: Instant::now(),
            deadline,
            polls: 0,
            last: None,
            done: false,
            ticket: None,
        };
        futures::stream::unfold(start, move |mut poll| {
            let (job, policy) = (job.clone(), policy.clone());
            async move {
                loop {
                    if poll.done {
                        return None;
                    }
                    let item = poll.next(&job, &policy).await;
                    if let Some(item) = item {
                        return Some((item, poll));
                    }
                }
            }
        })
    }
}

/// The state of one wait.
struct Poll {
    started: Instant,
    deadline: Instant,
    polls: u32,
    last: Option<types::Job>,
    done: bool,
    /// The wait's place in the client's scheduler, taken at its first poll.
    ticket: Option<crate::scheduler::Ticket>,
}

impl Poll {
    /// Waits for the scheduler's turn, checks, and says what to report: a changed state, the
    /// end, or nothing new (`None`).
    async fn next(&mut self, job: &Job, policy: &PollPolicy) -> Option<Result<types::Job, Error>> {
        let ticket = self.ticket.get_or_insert_with(|| {
            job.client
                .scheduler()
                .register(job.kind, &job.id, job.started, policy)
        });
        let Ok(turn) = tokio::time::timeout_at(self.deadline, ticket.turn()).await else {
            return Some(Err(self.timeout(job)));
        };
        let answer = match turn {
            // Another wait on this job just checked it.
            Turn::Seen(current) => Ok(*current),
            Turn::Check(permit) => {
                self.polls = self.polls.saturating_add(1);
                // The deadline bounds the call too: its retries and the answer.
                let check = crate::transport::with_permit(permit, job.status());
                let Ok(answer) = tokio::time::timeout_at(self.deadline, check).await else {
                    return Some(Err(self.timeout(job)));
                };
                ticket.checked(answer.as_ref().ok());
                answer
            }
        };
        let current = match answer {
            Ok(current) => current,
            Err(e) if job.not_visible_yet(&e, policy) => {
                tracing::debug!(job_id = %job.id, "job not visible yet; polling on");
                return None;
            }
            // The call already retried; a transient failure only costs this poll.
            Err(e) if e.is_retryable() => {
                tracing::debug!(job_id = %job.id, error = %e, "poll failed; polling on");
                return None;
            }
            Err(e) => {
                self.done = true;
                self.ticket = None;
                return Some(Err(e));
            }
        };
        match &current.status {
            JobStatus::Completed => {
                self.done = true;
                self.ticket = None;
            }
            JobStatus::Failed => {
                self.done = true;
                self.ticket = None;
                let message = current
                    .error
                    .clone()
                    .unwrap_or_else(|| "no reason given".into());
                return Some(Err(Error::JobFailed {
                    job_id: job.id.clone(),
                    message,
                }));
            }
            _ => {}
        }
        let changed = self
            .last
            .as_ref()
            .is_none_or(|last| last.status != current.status || last.progress != current.progress);
        self.last = Some(current.clone());
        changed.then_some(Ok(current))
    }

    fn timeout(&mut self, job: &Job) -> Error {
        self.done = true;
        self.ticket = None;
        Error::WaitTimeout {
            job_id: job.id.clone(),
            elapsed: self.started.elapsed(),
            polls: self.polls,
            last_status: self.last.as_ref().map(|last| last.status.clone()),
        }
    }
}

impl Job {
    /// Whether `error` is the 404 of a job this client started so recently that the server may
    /// not show it yet.
    fn not_visible_yet(&self, error: &Error, policy: &PollPolicy) -> bool {
        error.status() == Some(reqwest::StatusCode::NOT_FOUND)
            && self
                .started
                .is_some_and(|started| started.elapsed() < policy.not_found_grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_saturate_at_the_cap_whatever_the_growth() {
        for growth in [1.0, 1.5, 2.0, 10.0, 1e300, f64::INFINITY, f64::NAN] {
            let policy = PollPolicy::default()
                .growth(growth)
                .max_interval(Duration::from_secs(10));
            for n in [0, 1, 63, 64, 65, 1_000, u32::MAX] {
                let wait = policy.floor(n);
                assert!(
                    wait <= Duration::from_secs(10),
                    "growth {growth}, wait {n}: {wait:?}"
                );
            }
        }
        let endless = PollPolicy::default().deadline(Duration::MAX);
        let now = Instant::now();
        assert!(endless.deadline_from(now) > now);
    }
}
