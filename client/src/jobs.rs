//! Parse jobs: start one, check it, wait for it, watch its progress, resume it by id.
//!
//! Polling defaults: the first check after 1 s, then waits growing by half each time up to
//! 10 s (the docs suggest polling every 5 to 10 seconds), each jittered so that many jobs do
//! not poll in lockstep, and a deadline of 10 minutes after which [`Error::WaitTimeout`]
//! carries what is needed to resume. Dropping a wait stops polling.

use std::{fmt, time::Duration};

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::{Client, Error, JobStatus, ParsedDocument, generated::types};

/// What kind of document a job parses: it picks the start and status routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// An invoice (`/parse/invoices`).
    Invoice,
    /// A bank statement (`/parse/statements`).
    Statement,
}

impl DocumentKind {
    /// `invoice` or `statement`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Statement => "statement",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How jobs are polled until they finish.
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
    deadline: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            first_check: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            growth: 1.5,
            deadline: Duration::from_secs(600),
        }
    }
}

impl PollPolicy {
    /// The wait before the second status check (the first is immediate). Default 1 s.
    pub fn first_check(mut self, wait: Duration) -> Self {
        self.first_check = wait;
        self
    }

    /// The longest wait between two checks. Default 10 s.
    pub fn max_interval(mut self, wait: Duration) -> Self {
        self.max_interval = wait;
        self
    }

    /// How much each wait grows over the last (at least 1). Default 1.5.
    pub fn growth(mut self, factor: f64) -> Self {
        self.growth = factor.max(1.0);
        self
    }

    /// How long a wait may last in all before it gives up. Default 10 minutes.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The `n`th wait (from 0): grown, capped, and jittered between half and all of it.
    fn interval(&self, n: u32) -> Duration {
        let grown = self.first_check.mul_f64(self.growth.powi(n.min(64) as i32));
        let wait = grown.min(self.max_interval);
        wait.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
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
}

impl Job {
    /// Takes up a job started earlier (for example after a [`Error::WaitTimeout`]).
    pub fn resume(client: &Client, kind: DocumentKind, job_id: impl Into<String>) -> Self {
        Self {
            client: client.clone(),
            kind,
            id: job_id.into(),
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
                .call(api.get_invoice_status(&self.id))
                .await
                .map(types::InvoiceStatusResponse::into_job),
            DocumentKind::Statement => self
                .client
                .call(api.get_statement_status(&self.id))
                .await
                .map(|response| response.data),
        }
    }

    /// Polls until the job completes, and returns what it parsed.
    ///
    /// A `failed` job is [`Error::JobFailed`]; running past the poll policy's deadline is
    /// [`Error::WaitTimeout`].
    pub async fn wait(&self) -> Result<ParsedDocument, Error> {
        let updates = self.updates();
        futures::pin_mut!(updates);
        let mut last = None;
        while let Some(update) = updates.next().await {
            last = Some(update?);
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
        let job = self.clone();
        let policy = self.client.config().poll.clone();
        let start = Poll {
            started: Instant::now(),
            polls: 0,
            last: None,
            done: false,
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
    polls: u32,
    last: Option<types::Job>,
    done: bool,
}

impl Poll {
    /// Waits (except before the first check), checks, and says what to report: a changed
    /// state, the end, or nothing new (`None`).
    async fn next(&mut self, job: &Job, policy: &PollPolicy) -> Option<Result<types::Job, Error>> {
        if self.polls > 0 {
            let left = policy.deadline.saturating_sub(self.started.elapsed());
            if left.is_zero() {
                return Some(Err(self.timeout(job)));
            }
            tokio::time::sleep(policy.interval(self.polls - 1).min(left)).await;
        }
        self.polls += 1;
        let current = match job.status().await {
            Ok(current) => current,
            // The call already retried; a transient failure only costs this poll.
            Err(e) if e.is_retryable() => {
                tracing::debug!(job_id = %job.id, error = %e, "poll failed; polling on");
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        match &current.status {
            JobStatus::Completed => self.done = true,
            JobStatus::Failed => {
                self.done = true;
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
        Error::WaitTimeout {
            job_id: job.id.clone(),
            elapsed: self.started.elapsed(),
            polls: self.polls,
            last_status: self
                .last
                .as_ref()
                .map_or(JobStatus::Pending, |last| last.status.clone()),
        }
    }
}

impl types::InvoiceStatusResponse {
    /// The job, whether the server wrapped it in the `{success, data}` envelope or not.
    pub fn into_job(self) -> types::Job {
        match self {
            Self::Variant0(envelope) => envelope.data,
            Self::Variant1(job) => job,
        }
    }
}

impl types::Job {
    /// The parsed output, whether the server sent it as `result` or `results`.
    pub fn output(&self) -> Option<&types::ParsedDocument> {
        self.result.as_ref().or(self.results.as_ref())
    }
}
