//! Running a batch against its journal: each file driven from the state its row records to
//! the end, every request preceded by the row that says it is about to be sent.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::{io::AsyncReadExt, time::Instant};

use super::journal::{Entry, Journal, State, now_ms};
use crate::{
    Client, DocumentKind, Error, Job, ParsedDocument, Upload,
    generated::types::{FileRecord, FileStatus},
    jobs::far_after,
};

/// How far back (from the recorded intent) an upload found in the file list may have been
/// made: the API's clock and ours may disagree by this much.
const CLOCK_MARGIN_MS: i64 = 10 * 60 * 1000;
/// Files per page when looking for an upload in doubt (the API's maximum).
const PAGE_SIZE: u32 = 100;
/// Pages read at most when looking for an upload in doubt.
const MAX_LISTED: usize = 2_000;

/// One file of a batch, and where to save its result (if anywhere: the journal keeps it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The file.
    pub path: PathBuf,
    /// Where to save the result as pretty JSON, replacing what is there.
    pub save_as: Option<PathBuf>,
}

impl Item {
    /// A file whose result is kept in the journal only.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            save_as: None,
        }
    }

    /// Also saves the result at `path` (written whole or not at all).
    pub fn save_as(mut self, path: impl Into<PathBuf>) -> Self {
        self.save_as = Some(path.into());
        self
    }
}

/// Something that happened to one file, told to [`Batch::on_event`] once it is in the journal.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Finished by an earlier run (its result file restored if it had gone).
    Skipped,
    /// The upload is about to be sent.
    Uploading,
    /// Uploaded (or an upload in doubt found in the API's file list).
    Uploaded {
        /// The document.
        document_id: String,
    },
    /// The start is about to be sent.
    Starting,
    /// Started.
    Started {
        /// The job.
        job_id: String,
    },
    /// Completed; the result is recorded (and saved, if asked).
    Done,
    /// Failed; a rerun tries it again unless the job itself failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// A step could not be confirmed: see the module docs.
    InDoubt {
        /// What is not known and why.
        reason: String,
    },
    /// Its job still runs (deadline reached, or its status could not be read): a rerun waits.
    Unfinished {
        /// Why the wait ended.
        reason: String,
    },
}

/// What is told of every [`Event`], with the file's path.
pub type Observer = Arc<dyn Fn(&Path, &Event) + Send + Sync>;

/// A batch run: its client, journal and settings. See [`crate::batch`].
#[must_use]
pub struct Batch<'a> {
    client: &'a Client,
    journal: &'a Journal,
    kind: DocumentKind,
    concurrency: usize,
    retry_in_doubt: bool,
    deadline: Option<Duration>,
    observer: Option<Observer>,
}

/// What the next step of a file is.
enum Flow {
    Next,
    Stop,
}

impl<'a> Batch<'a> {
    /// A run of documents of `kind` through `client`, recorded in `journal`; 4 files at once.
    pub fn new(client: &'a Client, journal: &'a Journal, kind: DocumentKind) -> Self {
        Self {
            client,
            journal,
            kind,
            concurrency: 4,
            retry_in_doubt: false,
            deadline: None,
            observer: None,
        }
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
        self.deadline = Some(deadline);
        self
    }

    /// Calls `observer` after every change of a file is recorded.
    pub fn on_event(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Runs every item to its end (or to a step in doubt) and returns their rows, in the
    /// order given. Only a journal that cannot be written stops the run early: nothing is sent
    /// that could not be recorded first. Dropping the future stops the run; the journal holds
    /// what it did, and the next run resumes from there.
    pub async fn run(&self, items: Vec<Item>) -> Result<Vec<Entry>, Error> {
        let wait = self
            .deadline
            .unwrap_or_else(|| self.client.config().poll.get_deadline());
        let deadline = far_after(Instant::now(), wait);
        let (mut entries, mut todo) = (Vec::with_capacity(items.len()), Vec::new());
        for item in &items {
            if let Some(entry) = self.register(item).await? {
                entries.push(entry);
                todo.push(item);
            }
        }
        self.find_uploads(&mut entries).await?;
        // The concurrency bounds uploads and starts; a started job is waited on without its
        // slot, so the next file goes up while it runs, and the client's one scheduler spends
        // on status checks only what uploads and starts leave.
        let sending = tokio::sync::Semaphore::new(self.concurrency);
        let files = entries.len().max(1);
        let results: Vec<Result<(), Error>> = futures::stream::iter(entries.into_iter().zip(todo))
            .map(|(entry, item)| self.drive(entry, item, deadline, &sending))
            .buffer_unordered(files)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), Error>>()?;
        let mut rows = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(row) = self.journal.get(&item.path)? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// The item's row: the journal's when the file is the same (content and kind), else a
    /// new one (a changed file is parsed again). A file that cannot be read is recorded as
    /// failed (its row kept, if it had one) and left out of this run: `None`.
    async fn register(&self, item: &Item) -> Result<Option<Entry>, Error> {
        let known = self.journal.get(&item.path)?;
        let (size, sha256) = match hash(&item.path).await {
            Ok(hashed) => hashed,
            Err(e) => {
                let mut entry = known
                    .unwrap_or_else(|| Entry::new(item.path.clone(), 0, String::new(), self.kind));
                if !entry.is_final() {
                    self.fail(&mut entry, e.to_string())?;
                }
                return Ok(None);
            }
        };
        if let Some(entry) = known.filter(|e| e.sha256 == sha256 && e.kind == self.kind) {
            return Ok(Some(entry));
        }
        let entry = Entry::new(item.path.clone(), size, sha256, self.kind);
        self.journal.put(&entry)?;
        Ok(Some(entry))
    }

    /// Takes `entry` from its state to its end, or to a step in doubt, holding a slot of
    /// `sending` until its job has started.
    async fn drive(
        &self,
        mut entry: Entry,
        item: &Item,
        deadline: Instant,
        sending: &tokio::sync::Semaphore,
    ) -> Result<(), Error> {
        if entry.is_final() {
            if entry.state == State::Done {
                self.restore(&mut entry, item).await?;
            }
            self.tell(&entry, Event::Skipped);
            return Ok(());
        }
        let mut slot = Some(
            sending
                .acquire()
                .await
                .expect("the semaphore is never closed"),
        );
        let mut job = None;
        loop {
            let flow = match entry.state {
                State::New => self.upload(&mut entry).await?,
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
                    self.doubt(&mut entry, reason)?
                }
                State::Uploaded => {
                    job = self.start(&mut entry).await?;
                    if job.is_some() {
                        Flow::Next
                    } else {
                        Flow::Stop
                    }
                }
                State::Starting => self.find_start(&mut entry, item, deadline).await?,
                State::Started => {
                    drop(slot.take());
                    let id = entry.job_id.clone().unwrap_or_default();
                    let job = job
                        .take()
                        .unwrap_or_else(|| Job::resume(self.client, entry.kind, id));
                    return self.wait(&mut entry, item, &job, deadline).await;
                }
                State::Done => return Ok(()),
            };
            if let Flow::Stop = flow {
                return Ok(());
            }
        }
    }

    /// Records the intent, sends the upload, records the answer.
    async fn upload(&self, entry: &mut Entry) -> Result<Flow, Error> {
        let permit = self
            .intend(entry, State::Uploading, Event::Uploading)
            .await?;
        let files = [Upload::path(&entry.path)];
        let sent = crate::transport::with_permit(permit, self.client.upload(&files)).await;
        match sent.map(|docs| docs.into_iter().next()) {
            Ok(Some(document)) => {
                entry.state = State::Uploaded;
                entry.document_id = Some(document.doc_id.clone());
                self.record(
                    entry,
                    Event::Uploaded {
                        document_id: document.doc_id,
                    },
                )?;
                Ok(Flow::Next)
            }
            Ok(None) => self.doubt(
                entry,
                "the upload's answer lists no document: it may exist on the API".into(),
            ),
            Err(e) if refused(&e) => self.fail(entry, format!("upload: {e}")),
            Err(e) => self.doubt(entry, format!("the upload may have arrived: {e}")),
        }
    }

    /// Records the intent, sends the start, records the answer: the job, or none when the
    /// start failed or is in doubt.
    async fn start(&self, entry: &mut Entry) -> Result<Option<Job>, Error> {
        let document = entry.document_id.clone().unwrap_or_default();
        let permit = self.intend(entry, State::Starting, Event::Starting).await?;
        let start = self.client.start_job(entry.kind, &document);
        match crate::transport::with_permit(permit, start).await {
            Ok(job) => {
                entry.state = State::Started;
                entry.job_id = Some(job.id().to_string());
                self.record(
                    entry,
                    Event::Started {
                        job_id: job.id().to_string(),
                    },
                )?;
                Ok(Some(job))
            }
            Err(e) if refused(&e) => {
                self.fail(entry, format!("start: {e}"))?;
                Ok(None)
            }
            Err(e) => {
                self.doubt(entry, format!("the start may have arrived: {e}"))?;
                Ok(None)
            }
        }
    }

    /// A start sent without a recorded answer: asks the API about the document. A job shows
    /// on its file record once a worker has it; `pending` cannot tell "no job" from "a job
    /// not picked up yet", so only that stays in doubt.
    async fn find_start(
        &self,
        entry: &mut Entry,
        item: &Item,
        deadline: Instant,
    ) -> Result<Flow, Error> {
        let document = entry.document_id.clone().unwrap_or_default();
        let record = match self.file_record_settled(&document, deadline).await {
            Ok(record) => record,
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
                // A document the API does not know cannot have a job: upload it again.
                entry.state = State::New;
                entry.document_id = None;
                return Ok(Flow::Next);
            }
            Err(e) => {
                return self.doubt(
                    entry,
                    format!(
                        "the start may have arrived; asking about document {document} failed: {e}"
                    ),
                );
            }
        };
        match record.status {
            FileStatus::Pending if self.retry_in_doubt => {
                entry.state = State::Uploaded;
                Ok(Flow::Next)
            }
            FileStatus::Completed => {
                let output = record.processed_data.unwrap_or_default();
                self.finish(entry, item, &output).await?;
                Ok(Flow::Stop)
            }
            FileStatus::Failed | FileStatus::Deleted => {
                let status = record.status.to_string();
                entry.status = Some(status.clone());
                self.fail(
                    entry,
                    format!("document {document} is {status} on the API (its job was started)"),
                )
            }
            FileStatus::Processing => self.doubt(
                entry,
                format!("document {document} was started and is still processing at the deadline"),
            ),
            _ => self.doubt(
                entry,
                format!(
                    "the start may have arrived: document {document} is {} on the API, which \
                     does not tell a job not started from one not picked up yet",
                    record.status
                ),
            ),
        }
    }

    /// The document's file record once it is no longer `processing` (or at the deadline).
    async fn file_record_settled(
        &self,
        document: &str,
        deadline: Instant,
    ) -> Result<FileRecord, Error> {
        let policy = self.client.config().poll.clone();
        let mut polls = 0;
        loop {
            let record = self.client.files().get(document).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if record.status != FileStatus::Processing || left.is_zero() {
                return Ok(record);
            }
            tokio::time::sleep(policy.floor(polls).min(left)).await;
            polls = polls.saturating_add(1);
        }
    }

    /// Waits for the job and records how it ended.
    async fn wait(
        &self,
        entry: &mut Entry,
        item: &Item,
        job: &Job,
        deadline: Instant,
    ) -> Result<(), Error> {
        match job.wait_until(deadline).await {
            Ok(parsed) => self.finish(entry, item, &output_of(&parsed)).await,
            Err(e @ Error::JobFailed { .. }) => {
                entry.status = Some("failed".into());
                self.fail(entry, e.to_string()).map(drop)
            }
            Err(e) => {
                entry.error = Some(e.to_string());
                self.record(
                    entry,
                    Event::Unfinished {
                        reason: e.to_string(),
                    },
                )
            }
        }
    }

    /// Saves the result (if asked), then records it: a crash between the two saves it again,
    /// the same bytes at the same place.
    async fn finish(
        &self,
        entry: &mut Entry,
        item: &Item,
        output: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(output).expect("a JSON map always serializes");
        if let Some(path) = &item.save_as {
            if let Err(e) = save(path, &text).await {
                return self.fail(entry, e.to_string()).map(drop);
            }
            entry.result_path = Some(path.clone());
        }
        entry.state = State::Done;
        entry.status = Some("completed".into());
        entry.result = Some(text);
        entry.error = None;
        self.record(entry, Event::Done)
    }

    /// A file done earlier whose result file is asked for and missing: written again from the
    /// journal.
    async fn restore(&self, entry: &mut Entry, item: &Item) -> Result<(), Error> {
        let (Some(path), Some(text)) = (&item.save_as, &entry.result) else {
            return Ok(());
        };
        if tokio::fs::try_exists(path).await.unwrap_or(false) {
            return Ok(());
        }
        save(path, text).await?;
        entry.result_path = Some(path.clone());
        self.journal.put(entry)
    }

    /// Looks for the uploads in doubt (rows left in `uploading`) in the API's file list: one
    /// file of the same name and size, made since the intent (less the clock margin) and not
    /// in the journal already, is taken as this upload; none in a complete listing means it
    /// never arrived; anything else stays in doubt.
    async fn find_uploads(&self, entries: &mut [Entry]) -> Result<(), Error> {
        let doubtful: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].state == State::Uploading)
            .collect();
        let Some(since) = doubtful
            .iter()
            .map(|&i| entries[i].intent_at.unwrap_or(0))
            .min()
        else {
            return Ok(());
        };
        let since = since.saturating_sub(CLOCK_MARGIN_MS);
        let listed = self.list_files_since(since).await;
        let mut claimed: HashSet<String> = self
            .journal
            .entries()?
            .into_iter()
            .filter_map(|e| e.document_id)
            .collect();
        for i in doubtful {
            let entry = &mut entries[i];
            let (records, complete) = match &listed {
                Ok(listed) => listed,
                Err(e) => {
                    entry.error = Some(format!(
                        "the upload may have arrived; listing the API's files failed: {e}"
                    ));
                    self.journal.put(entry)?;
                    continue;
                }
            };
            let name = Upload::path(&entry.path).file_name().to_string();
            let after = entry.intent_at.unwrap_or(0).saturating_sub(CLOCK_MARGIN_MS);
            let matching: Vec<&FileRecord> = records
                .iter()
                .filter(|r| r.filename == name && r.size == i64::try_from(entry.size).ok())
                .filter(|r| r.created_at.is_none_or(|at| at.timestamp_millis() >= after))
                .filter(|r| !claimed.contains(&r.id))
                .collect();
            match (matching.as_slice(), complete) {
                ([one], _) => {
                    claimed.insert(one.id.clone());
                    entry.state = State::Uploaded;
                    entry.document_id = Some(one.id.clone());
                    entry.error = None;
                    self.record(
                        entry,
                        Event::Uploaded {
                            document_id: one.id.clone(),
                        },
                    )?;
                }
                ([], true) => {
                    entry.state = State::New;
                    entry.error = None;
                    self.journal.put(entry)?;
                }
                (found, _) => {
                    entry.error = Some(format!(
                        "the upload may have arrived: the API lists {} files named {name} of \
                         {} bytes made since{}",
                        found.len(),
                        entry.size,
                        if *complete {
                            ""
                        } else {
                            " (the list was read only in part)"
                        }
                    ));
                    self.journal.put(entry)?;
                }
            }
        }
        Ok(())
    }

    /// The API's files, newest first, back to `since` (Unix ms); whether the listing reached it.
    async fn list_files_since(&self, since: i64) -> Result<(Vec<FileRecord>, bool), Error> {
        let files = self
            .client
            .files()
            .list()
            .page_size(PAGE_SIZE)
            .into_stream();
        futures::pin_mut!(files);
        let mut records = Vec::new();
        while let Some(record) = files.next().await.transpose()? {
            let older = record
                .created_at
                .is_some_and(|at| at.timestamp_millis() < since);
            records.push(record);
            if older {
                return Ok((records, true));
            }
            if records.len() >= MAX_LISTED {
                return Ok((records, false));
            }
        }
        Ok((records, true))
    }

    /// Waits for the rate limiter's permit for one request, then records the intent to send
    /// it (`state`, told as `event`); the request's first attempt goes on that permit. The
    /// wait comes first because a run spends most of its time there: one stopped while it
    /// waits has sent nothing and leaves the row as it was, not in doubt.
    async fn intend(
        &self,
        entry: &mut Entry,
        state: State,
        event: Event,
    ) -> Result<crate::transport::rate_limit::Permit, Error> {
        let permit = self.client.limiter().acquire(1).await;
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

    /// A failure: recorded, told, and the file stops here.
    fn fail(&self, entry: &mut Entry, reason: String) -> Result<Flow, Error> {
        entry.state = State::Failed;
        entry.error = Some(reason.clone());
        self.record(entry, Event::Failed { reason })?;
        Ok(Flow::Stop)
    }

    /// A step in doubt: recorded with why, told, and the file stops here.
    fn doubt(&self, entry: &mut Entry, reason: String) -> Result<Flow, Error> {
        entry.error = Some(reason.clone());
        self.record(entry, Event::InDoubt { reason })?;
        Ok(Flow::Stop)
    }

    /// Writes the row, then tells the observer.
    fn record(&self, entry: &Entry, event: Event) -> Result<(), Error> {
        self.journal.put(entry)?;
        self.tell(entry, event);
        Ok(())
    }

    fn tell(&self, entry: &Entry, event: Event) {
        if let Some(observer) = &self.observer {
            observer(&entry.path, &event);
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

fn output_of(parsed: &ParsedDocument) -> serde_json::Map<String, serde_json::Value> {
    parsed.output().cloned().unwrap_or_default()
}

/// The size and hex SHA-256 of the file at `path`, read in pieces.
async fn hash(path: &Path) -> Result<(u64, String), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).await.map_err(io)?;
        if read == 0 {
            break;
        }
        size = size.saturating_add(read as u64);
        hasher.update(&buffer[..read]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Writes `text` and a newline to `path` atomically, removing what a run killed while saving
/// it left behind (the journal's lock says no one else saves there).
async fn save(path: &Path, text: &str) -> Result<(), Error> {
    let (path, content) = (path.to_path_buf(), format!("{text}\n"));
    tokio::task::spawn_blocking(move || {
        crate::files::remove_partials(&path);
        crate::files::write_atomic(&path, content.as_bytes())
    })
    .await
    .map_err(|e| Error::invalid("result", format!("the writing task failed: {e}")))?
}
