//! Parse jobs: check one, wait for it, watch its progress. How waits poll is stated once, on
//! [`PollPolicy`].

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

pub(crate) use crate::poll_policy::far_after;
use crate::{
    Client, DocumentKind, Error, JobStatus, ParsedDocument, PollPolicy,
    generated::types,
    scheduler::{Ticket, Turn},
};

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
    /// A job started earlier, by id (the public way is [`Client::job`]).
    pub(crate) fn resume(client: &Client, kind: DocumentKind, job_id: impl Into<String>) -> Self {
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
    ///
    /// # Errors
    ///
    /// What the call returns: see [`Error`] (a 404 for an unknown job is
    /// [`Error::Api`] with [`Error::status`] 404).
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
    /// # Errors
    ///
    /// A `failed` job is [`Error::JobFailed`]; running past the poll policy's deadline is
    /// [`Error::WaitTimeout`]; a check that fails for good (not a transient failure, which
    /// only costs that check) ends the wait with its error.
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
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
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
        futures_util::pin_mut!(updates);
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
    /// `failed` or at the deadline, as [`wait`](Self::wait)'s). For progress displays.
    ///
    /// ```no_run
    /// # async fn demo(job: invaro::Job) -> Result<(), invaro::Error> {
    /// use futures_util::StreamExt;
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
        let poll = Poll {
            job: self.clone(),
            started: Instant::now(),
            deadline,
            polls: 0,
            last: None,
            ticket: None,
        };
        // The state is `None` once the wait has ended; dropping it drops the wait's ticket.
        futures_util::stream::unfold(Some(poll), |poll| async move {
            let mut poll = poll?;
            loop {
                match poll.next().await {
                    Step::Quiet => {}
                    Step::Changed(job) => return Some((Ok(job), Some(poll))),
                    Step::End(last) => return Some((last, None)),
                }
            }
        })
    }
}

/// The state of one wait.
struct Poll {
    job: Job,
    started: Instant,
    deadline: Instant,
    polls: u32,
    last: Option<types::Job>,
    /// The wait's place in the client's scheduler, taken at its first check.
    ticket: Option<Ticket>,
}

/// What one turn of a wait brings.
enum Step {
    /// Nothing to report: the same state, or a transient failure.
    Quiet,
    Changed(types::Job),
    /// The wait's last item: `completed`, or the error that ends it.
    End(Result<types::Job, Error>),
}

impl Poll {
    /// Waits for the scheduler's turn, checks, and says what to report.
    async fn next(&mut self) -> Step {
        let (job, policy) = (&self.job, &self.job.client.config().poll);
        let ticket = self.ticket.get_or_insert_with(|| {
            let scheduler = job.client.scheduler();
            scheduler.register(job.kind, &job.id, job.started, policy)
        });
        let Ok(turn) = tokio::time::timeout_at(self.deadline, ticket.turn()).await else {
            return Step::End(Err(self.timeout()));
        };
        let answer = match turn {
            // Another wait on this job just checked it.
            Turn::Seen(current) => Ok(*current),
            Turn::Check(permit) => {
                self.polls = self.polls.saturating_add(1);
                // The deadline bounds the call too: its retries and the answer.
                let check = crate::transport::with_permit(permit, job.status());
                let Ok(answer) = tokio::time::timeout_at(self.deadline, check).await else {
                    return Step::End(Err(self.timeout()));
                };
                ticket.checked(answer.as_ref().ok());
                answer
            }
        };
        let current = match answer {
            Ok(current) => current,
            Err(e) if job.not_visible_yet(&e, policy) => {
                tracing::debug!(job_id = %job.id, "job not visible yet; polling on");
                return Step::Quiet;
            }
            // The call already retried; a transient failure only costs this check.
            Err(e) if e.is_retryable() => {
                tracing::debug!(job_id = %job.id, error = %e, "poll failed; polling on");
                return Step::Quiet;
            }
            Err(e) => return Step::End(Err(e)),
        };
        match current.status {
            JobStatus::Completed => {
                crate::metrics::wait_completed(job.kind, self.started.elapsed());
                return Step::End(Ok(current));
            }
            JobStatus::Failed => {
                let message = (current.error).unwrap_or_else(|| "no reason given".into());
                let job_id = job.id.clone();
                return Step::End(Err(Error::JobFailed { job_id, message }));
            }
            _ => {}
        }
        let same =
            |last: &types::Job| last.status == current.status && last.progress == current.progress;
        if self.last.as_ref().is_some_and(same) {
            return Step::Quiet;
        }
        self.last = Some(current.clone());
        Step::Changed(current)
    }

    fn timeout(&self) -> Error {
        Error::WaitTimeout {
            job_id: self.job.id.clone(),
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
            && (self.started).is_some_and(|at| at.elapsed() < policy.get_not_found_grace())
    }
}
