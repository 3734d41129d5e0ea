//! The engine: each item driven from the state its entry records to the end, every request
//! preceded by the record that says it is about to be sent.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio::time::Instant;

use super::{
    entry::{Entry, State, now_ms},
    item::{Event, From, Item, Observer},
    local::{hash, save},
    store::{Memory, Store},
};
use crate::{
    Client, DocumentKind, Error, Job, MAX_BATCH, ParsedDocument, ProgressFn, Upload,
    generated::types, jobs::far_after,
};

/// A batch run: its client, where it records, and its settings. See [`crate::batch`].
#[must_use]
pub struct Runner<'a> {
    pub(super) client: &'a Client,
    pub(super) store: &'a dyn Store,
    kind: DocumentKind,
    concurrency: usize,
    pub(super) retry_in_doubt: bool,
    deadline: Option<Deadline>,
    start_only: bool,
    progress: Option<ProgressFn>,
    observer: Option<Observer>,
}

/// When the run stops waiting for jobs.
#[derive(Clone, Copy)]
enum Deadline {
    After(Duration),
    At(Instant),
}

/// What became of one item of a run ([`Runner::run_settled`]): its entry, what its job
/// parsed (when this run waited it to the end) and the error that failed or ended it (when
/// one came from a call).
#[derive(Debug)]
pub struct Settled {
    /// The item's entry, as last recorded.
    pub entry: Entry,
    /// What the job parsed, when this run waited it to the end.
    pub parsed: Option<ParsedDocument>,
    /// The error that failed, stopped in doubt or ended the item, when one came from a call.
    pub error: Option<Arc<Error>>,
    pub(super) item: Item,
    /// Left out of the run (a file that cannot be read, recorded as failed).
    left_out: bool,
    job: Option<Job>,
}

/// What the next step of an item is.
pub(super) enum Flow {
    Next,
    Stop,
}

impl<'a> Runner<'a> {
    /// A run of documents of `kind` through `client`, its entries kept in memory; 4 files
    /// uploading or starting at once.
    pub fn new(client: &'a Client, kind: DocumentKind) -> Self {
        Self {
            client,
            store: &Memory,
            kind,
            concurrency: 4,
            retry_in_doubt: false,
            deadline: None,
            start_only: false,
            progress: None,
            observer: None,
        }
    }

    /// Records every step in `journal`, before it is sent, so that a rerun on the same journal
    /// resumes (see [`crate::batch`]). Every item must then be a file.
    #[cfg(feature = "journal")]
    #[cfg_attr(docsrs, doc(cfg(feature = "journal")))]
    pub fn journal(mut self, journal: &'a super::Journal) -> Self {
        self.store = journal;
        self
    }

    /// Files uploading or starting at once (at least 1; the client's rate limiter paces the
    /// requests). Jobs that have started are waited on together, without a slot.
    pub fn concurrency(mut self, files: usize) -> Self {
        self.concurrency = files.max(1);
        self
    }

    /// Sends again what is in doubt (an upload or start that may have arrived and cannot be
    /// confirmed), accepting that it may then exist twice. Default false: reported instead.
    pub fn retry_in_doubt(mut self, retry: bool) -> Self {
        self.retry_in_doubt = retry;
        self
    }

    /// How long the run waits for jobs, from its start, for every job alike. Default: the
    /// client's poll deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(Deadline::After(deadline));
        self
    }

    /// Waits for jobs until `at` (rather than for a time from the run's start).
    pub fn until(mut self, at: Instant) -> Self {
        self.deadline = Some(Deadline::At(at));
        self
    }

    /// Stops each item once its job has started, without waiting for it.
    pub fn start_only(mut self, start_only: bool) -> Self {
        self.start_only = start_only;
        self
    }

    /// Tells `progress` of every chunk of every upload sent.
    pub fn upload_progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Calls `observer` after every change of an item is recorded.
    pub fn on_event(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Runs every item to its end (or to a step in doubt) and returns their entries, in the
    /// order given. Only a store that cannot be written stops the run early: nothing is sent
    /// that could not be recorded first. Dropping the future stops the run; a journal holds
    /// what it did, and the next run resumes from there.
    ///
    /// # Errors
    ///
    /// The journal could not be written ([`Error::Journal`]), or an item is not a file while
    /// a journal records the run ([`Error::InvalidInput`]). What happens to one item (a
    /// failed upload, a failed job) is in its entry, not an error of the run.
    pub async fn run(&self, items: Vec<Item>) -> Result<Vec<Entry>, Error> {
        let tracks = self.run_settled(items).await?;
        Ok(tracks.into_iter().map(|t| t.entry).collect())
    }

    /// [`run`](Self::run), keeping what each item parsed into or the error that ended it.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub async fn run_settled(&self, items: Vec<Item>) -> Result<Vec<Settled>, Error> {
        if self.store.is_durable() && items.iter().any(|item| item.path().is_none()) {
            return Err(Error::invalid(
                "batch item",
                "a journal records files only; run documents and jobs without one",
            ));
        }
        let deadline = match self.deadline {
            Some(Deadline::At(at)) => at,
            Some(Deadline::After(wait)) => far_after(Instant::now(), wait),
            None => far_after(Instant::now(), self.client.config().poll.get_deadline()),
        };
        // A 429 is temporary: within the batch it holds the client and the request goes again,
        // so that no document fails for it before the batch's own deadline.
        crate::transport::patient_until(deadline, self.settle(items, deadline)).await
    }

    /// The work of [`run_settled`](Self::run_settled), until `deadline`.
    async fn settle(&self, items: Vec<Item>, deadline: Instant) -> Result<Vec<Settled>, Error> {
        let mut tracks = Vec::with_capacity(items.len());
        for item in items {
            tracks.push(self.register(item).await?);
        }
        self.find_uploads(&mut tracks).await?;
        self.start_documents(&mut tracks).await?;
        // The concurrency bounds uploads and starts; a started job is waited on without its
        // slot, so the next file goes up while it runs, and the client's one scheduler spends
        // on status checks only what uploads and starts leave.
        let sending = tokio::sync::Semaphore::new(self.concurrency);
        let all = tracks.len().max(1);
        let driven: Vec<Result<Settled, Error>> = futures_util::stream::iter(tracks)
            .map(|track| self.drive(track, deadline, &sending))
            .buffered(all)
            .collect()
            .await;
        driven.into_iter().collect()
    }

    /// The item's entry. For a file: the store's when the file is the same (content and
    /// kind), else a new one (a changed file is parsed again); a file that cannot be read is
    /// recorded as failed (its entry kept, if it had one) and left out of this run.
    async fn register(&self, item: Item) -> Result<Settled, Error> {
        let mut track = Settled {
            entry: Entry::new(Default::default(), 0, String::new(), self.kind),
            item,
            left_out: false,
            job: None,
            parsed: None,
            error: None,
        };
        let path = match &track.item.from {
            From::File(path) => path.clone(),
            From::Document(id) => {
                track.entry.state = State::Uploaded;
                track.entry.document_id = Some(id.clone());
                return Ok(track);
            }
            From::Job(id) => {
                track.entry.state = State::Started;
                track.entry.job_id = Some(id.clone());
                return Ok(track);
            }
        };
        let known = self.store.get(&path)?;
        let (size, sha256) = match hash(&path).await {
            Ok(hashed) => hashed,
            Err(e) => {
                track.left_out = true;
                track.entry =
                    known.unwrap_or_else(|| Entry::new(path, 0, String::new(), self.kind));
                if !track.entry.is_final() {
                    self.fail_with(&mut track, "", e)?;
                }
                return Ok(track);
            }
        };
        track.entry = match known.filter(|e| e.sha256 == sha256 && e.kind == self.kind) {
            Some(entry) => entry,
            None => {
                let entry = Entry::new(path, size, sha256, self.kind);
                self.store.put(&entry)?;
                entry
            }
        };
        Ok(track)
    }

    /// Starts the items given as documents, in requests of at most [`MAX_BATCH`]; when a
    /// request fails, every document of it fails with the same error.
    async fn start_documents(&self, tracks: &mut [Settled]) -> Result<(), Error> {
        let mut waiting: Vec<&mut Settled> = tracks
            .iter_mut()
            .filter(|t| {
                matches!(t.item.from, From::Document(_)) && t.entry.state == State::Uploaded
            })
            .collect();
        for chunk in waiting.chunks_mut(MAX_BATCH) {
            for track in chunk.iter_mut() {
                track.entry.state = State::Starting;
                track.entry.intent_at = Some(now_ms());
                self.record(&track.entry, Event::Starting)?;
            }
            let ids: Vec<String> = chunk
                .iter()
                .map(|t| t.entry.document_id.clone().unwrap_or_default())
                .collect();
            match self.start_batch(&ids).await {
                Ok(jobs) => {
                    for (track, job) in chunk.iter_mut().zip(jobs) {
                        self.started(track, job)?;
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for track in chunk.iter_mut() {
                        self.fail(track, format!("start: {e}"))?;
                        track.error = Some(e.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts the documents `ids` in one request: their jobs, in the same order.
    async fn start_batch(&self, ids: &[String]) -> Result<Vec<Job>, Error> {
        let request = types::BatchRequest {
            files: ids
                .iter()
                .map(|id| types::DocumentRef {
                    document_id: id.clone(),
                })
                .collect(),
            callback_url: self.client.config().callback_url.clone(),
        };
        let api = self.client.api();
        let started = match self.kind {
            DocumentKind::Invoice => {
                let call = api.process_invoices_batch().body(request).send();
                self.client.call(call).await?
            }
            DocumentKind::Statement => {
                let call = api.process_statements_batch().body(request).send();
                self.client.call(call).await?
            }
        };
        let batch = started.data;
        if batch.job_ids.len() != ids.len() {
            return Err(Error::invalid(
                format!("batch {}", batch.batch_id),
                format!(
                    "started {} jobs for {} documents",
                    batch.job_ids.len(),
                    ids.len()
                ),
            ));
        }
        let kind = self.kind;
        Ok(batch
            .job_ids
            .into_iter()
            .map(|id| Job::started(self.client, kind, id))
            .collect())
    }

    /// Takes an item from its state to its end, or to a step in doubt, holding a slot of
    /// `sending` until its job has started.
    async fn drive(
        &self,
        mut track: Settled,
        deadline: Instant,
        sending: &tokio::sync::Semaphore,
    ) -> Result<Settled, Error> {
        if track.left_out {
            return Ok(track);
        }
        if track.entry.is_final() {
            if track.entry.state == State::Done {
                self.restore(&mut track).await?;
            }
            self.tell(&track.entry, Event::Skipped);
            return Ok(track);
        }
        let mut slot = None;
        if track.entry.state != State::Started {
            slot = Some(
                sending
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            );
        }
        loop {
            let entry = &mut track.entry;
            let flow = match entry.state {
                State::New => self.upload(&mut track).await?,
                State::Failed => {
                    // A failure before any job ran: try again from the last confirmed step.
                    entry.state = if entry.document_id.is_some() {
                        State::Uploaded
                    } else {
                        State::New
                    };
                    Flow::Next
                }
                State::Uploading if self.retry_in_doubt => {
                    entry.state = State::New;
                    Flow::Next
                }
                State::Uploading => {
                    let reason = entry.error.clone().unwrap_or_else(|| {
                        "the upload may have arrived; it could not be found".into()
                    });
                    self.doubt(&mut track, reason)?
                }
                State::Uploaded => self.start(&mut track).await?,
                State::Starting => self.find_start(&mut track, deadline).await?,
                State::Started if self.start_only => return Ok(track),
                State::Started => {
                    drop(slot.take());
                    let id = entry.job_id.clone().unwrap_or_default();
                    let job = match track.job.take() {
                        Some(job) => job,
                        None => Job::resume(self.client, entry.kind, id),
                    };
                    self.wait(&mut track, &job, deadline).await?;
                    return Ok(track);
                }
                State::Done => return Ok(track),
            };
            if let Flow::Stop = flow {
                return Ok(track);
            }
        }
    }

    /// Records the intent, sends the upload, records the answer.
    async fn upload(&self, track: &mut Settled) -> Result<Flow, Error> {
        let permit = self
            .intend(track, State::Uploading, Event::Uploading)
            .await?;
        let files = [Upload::path(&track.entry.path)];
        let upload = self
            .client
            .upload_with_progress(&files, self.progress.clone());
        let sent = crate::transport::with_permit(permit, upload).await;
        match sent.map(|docs| docs.into_iter().next()) {
            Ok(Some(document)) => {
                track.entry.state = State::Uploaded;
                track.entry.document_id = Some(document.doc_id.clone());
                let document_id = document.doc_id;
                self.record(&track.entry, Event::Uploaded { document_id })?;
                Ok(Flow::Next)
            }
            Ok(None) => self.doubt(
                track,
                "the upload's answer lists no document: it may exist on the API".into(),
            ),
            Err(e) if refused(&e) => self.fail_with(track, "upload: ", e),
            Err(e) => self.doubt_with(track, "the upload may have arrived: ", e),
        }
    }

    /// Records the intent, sends the start, records the answer.
    async fn start(&self, track: &mut Settled) -> Result<Flow, Error> {
        let document = track.entry.document_id.clone().unwrap_or_default();
        let permit = self.intend(track, State::Starting, Event::Starting).await?;
        let start = self.client.start_job(track.entry.kind, &document);
        match crate::transport::with_permit(permit, start).await {
            Ok(job) => {
                self.started(track, job)?;
                Ok(Flow::Next)
            }
            Err(e) if refused(&e) => self.fail_with(track, "start: ", e),
            Err(e) => self.doubt_with(track, "the start may have arrived: ", e),
        }
    }

    /// Records a job started.
    fn started(&self, track: &mut Settled, job: Job) -> Result<(), Error> {
        let job_id = job.id().to_string();
        track.entry.state = State::Started;
        track.entry.job_id = Some(job_id.clone());
        track.job = Some(job);
        self.record(&track.entry, Event::Started { job_id })
    }

    /// Waits for the job and records how it ended.
    async fn wait(&self, track: &mut Settled, job: &Job, deadline: Instant) -> Result<(), Error> {
        let told = |job: &types::Job| self.tell(&track.entry, Event::Status(Box::new(job.clone())));
        let waited = match &self.observer {
            Some(_) => job.wait_until_with(deadline, told).await,
            None => job.wait_until(deadline).await,
        };
        match waited {
            Ok(parsed) => {
                let output = parsed.output().cloned().unwrap_or_default();
                track.parsed = Some(parsed);
                self.finish(track, &output).await
            }
            Err(e @ Error::JobFailed { .. }) => {
                track.entry.status = Some("failed".into());
                self.fail_with(track, "", e).map(drop)
            }
            Err(e) => {
                let reason = e.to_string();
                track.entry.error = Some(reason.clone());
                track.error = Some(Arc::new(e));
                self.record(&track.entry, Event::Unfinished { reason })
            }
        }
    }

    /// Saves the result (if asked), then records it: a crash between the two saves it again,
    /// the same bytes at the same place.
    pub(super) async fn finish(
        &self,
        track: &mut Settled,
        output: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(output).expect("a JSON map always serializes");
        if let Some(path) = track.item.save_as.clone() {
            if let Err(e) = save(&path, &text).await {
                return self.fail_with(track, "", e).map(drop);
            }
            track.entry.result_path = Some(path);
        }
        let entry = &mut track.entry;
        entry.state = State::Done;
        entry.status = Some("completed".into());
        entry.result = Some(text);
        entry.error = None;
        self.record(entry, Event::Done)
    }

    /// An item done earlier whose result file is asked for and missing: written again from
    /// the entry.
    async fn restore(&self, track: &mut Settled) -> Result<(), Error> {
        let (Some(path), Some(text)) = (&track.item.save_as, &track.entry.result) else {
            return Ok(());
        };
        if tokio::fs::try_exists(path).await.unwrap_or(false) {
            return Ok(());
        }
        save(path, text).await?;
        track.entry.result_path = Some(path.clone());
        self.store.put(&track.entry)
    }

    /// Waits for the rate limiter's permit for one request, then records the intent to send
    /// it (`state`, told as `event`); the request's first attempt goes on that permit. The
    /// wait comes first because a run spends most of its time there: one stopped while it
    /// waits has sent nothing and leaves the entry as it was, not in doubt.
    async fn intend(
        &self,
        track: &mut Settled,
        state: State,
        event: Event,
    ) -> Result<crate::transport::rate_limit::Permit, Error> {
        let permit = self.client.limiter().acquire(1).await;
        let entry = &mut track.entry;
        entry.state = state;
        entry.intent_at = Some(now_ms());
        entry.error = None;
        match self.record(entry, event) {
            Ok(()) => Ok(permit),
            Err(e) => {
                permit.release_unused();
                Err(e)
            }
        }
    }

    /// A failure: recorded, told, and the item stops here.
    pub(super) fn fail(&self, track: &mut Settled, reason: String) -> Result<Flow, Error> {
        track.entry.state = State::Failed;
        track.entry.error = Some(reason.clone());
        self.record(&track.entry, Event::Failed { reason })?;
        Ok(Flow::Stop)
    }

    /// A failure caused by `error` (its message after `context`), which the track keeps.
    fn fail_with(&self, track: &mut Settled, context: &str, error: Error) -> Result<Flow, Error> {
        let flow = self.fail(track, format!("{context}{error}"))?;
        track.error = Some(Arc::new(error));
        Ok(flow)
    }

    /// A step in doubt: recorded with why, told, and the item stops here.
    pub(super) fn doubt(&self, track: &mut Settled, reason: String) -> Result<Flow, Error> {
        track.entry.error = Some(reason.clone());
        self.record(&track.entry, Event::InDoubt { reason })?;
        Ok(Flow::Stop)
    }

    /// A step in doubt because of `error` (its message after `context`), which the track keeps.
    fn doubt_with(&self, track: &mut Settled, context: &str, error: Error) -> Result<Flow, Error> {
        let flow = self.doubt(track, format!("{context}{error}"))?;
        track.error = Some(Arc::new(error));
        Ok(flow)
    }

    /// Writes the entry, then tells the observer.
    pub(super) fn record(&self, entry: &Entry, event: Event) -> Result<(), Error> {
        self.store.put(entry)?;
        self.tell(entry, event);
        Ok(())
    }

    fn tell(&self, entry: &Entry, event: Event) {
        if let Some(observer) = &self.observer {
            observer(entry, &event);
        }
    }
}

/// Whether a failed POST certainly did nothing on the server: it never arrived, met a 429, was
/// refused with a 4xx, or was stopped before sending.
fn refused(error: &Error) -> bool {
    error.is_retryable()
        || error.status().is_some_and(|s| s.is_client_error())
        || matches!(error, Error::InvalidInput { .. } | Error::Io { .. })
}
