//! The in-memory store: files, jobs, schemas, and the counters tests read through the handle.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use invaro::{DocumentKind, JobStatus};
use serde_json::{Map, Value};
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, JobTimings};
use crate::rate_limit::RateLimiter;

/// A guess at a file's kind from its name, until a parse job says which it is.
fn guess_kind(filename: &str) -> DocumentKind {
    let name = filename.to_lowercase();
    if name.contains("statement") || name.contains("bank") {
        DocumentKind::Statement
    } else {
        DocumentKind::Invoice
    }
}

/// A file format recognised by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Pdf,
    Jpeg,
    Png,
}

impl Format {
    /// The format whose magic bytes `bytes` starts with, if any.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

/// An uploaded file.
pub(crate) struct StoredFile {
    pub id: String,
    pub filename: String,
    pub storage_name: String,
    /// The content; empty once the file is deleted.
    pub bytes: Bytes,
    /// The content's size, kept after the content is let go.
    pub size: u64,
    pub format: Format,
    pub kind: DocumentKind,
    pub created_at: DateTime<Utc>,
    pub sequence: u64,
    pub deleted: bool,
    pub last_job: Option<String>,
}

impl StoredFile {
    /// Pages in a PDF (counted `/Type /Page` objects), 1 for an image.
    pub fn page_count(&self) -> i64 {
        if self.format != Format::Pdf {
            return 1;
        }
        let text = String::from_utf8_lossy(&self.bytes).replace("/Type /Page", "/Type/Page");
        let pages = text.matches("/Type/Page").count() - text.matches("/Type/Pages").count();
        pages.max(1) as i64
    }
}

/// Where a job is in its life, computed from its age.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Phase {
    Pending,
    Processing { progress: f64 },
    Completed,
    Failed,
}

impl Phase {
    pub fn status(self) -> JobStatus {
        match self {
            Self::Pending => JobStatus::Pending,
            Self::Processing { .. } => JobStatus::Processing,
            Self::Completed => JobStatus::Completed,
            Self::Failed => JobStatus::Failed,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// A parse job. Its state is computed from its age, so no task runs per job.
pub(crate) struct StoredJob {
    pub id: String,
    pub kind: DocumentKind,
    pub document_id: String,
    pub storage_name: String,
    pub started: Instant,
    pub created_at: DateTime<Utc>,
    pub fails: bool,
    pub result: Arc<Map<String, Value>>,
}

impl StoredJob {
    /// The job's phase at `now` under `timings`.
    pub fn phase(&self, now: Instant, timings: JobTimings) -> Phase {
        let age = now.saturating_duration_since(self.started);
        if age < timings.pending {
            Phase::Pending
        } else if age < timings.pending + timings.processing {
            let done = (age - timings.pending).as_secs_f64() / timings.processing.as_secs_f64();
            Phase::Processing {
                progress: (done * 100.0).floor().clamp(1.0, 99.0),
            }
        } else if self.fails {
            Phase::Failed
        } else {
            Phase::Completed
        }
    }

    /// When the job last changed state (or now, while its progress rises).
    pub fn updated_at(&self, now: Instant, timings: JobTimings) -> DateTime<Utc> {
        let age = now.saturating_duration_since(self.started);
        let changed = match self.phase(now, timings) {
            Phase::Pending => Duration::ZERO,
            Phase::Processing { .. } => age,
            Phase::Completed | Phase::Failed => timings.pending + timings.processing,
        };
        self.created_at + chrono::Duration::from_std(changed).unwrap_or_default()
    }

    /// When the job finished, if it has.
    pub fn finished_at(&self, now: Instant, timings: JobTimings) -> Option<DateTime<Utc>> {
        self.phase(now, timings)
            .is_final()
            .then(|| self.updated_at(now, timings))
    }
}

/// A custom extraction schema.
pub(crate) struct StoredSchema {
    pub id: String,
    pub owner: usize,
    pub name: String,
    pub kind: DocumentKind,
    pub description: Option<String>,
    pub definition: Map<String, Value>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything the API stores.
#[derive(Default)]
pub(crate) struct Store {
    pub files: HashMap<String, StoredFile>,
    pub jobs: HashMap<String, StoredJob>,
    /// Job ids in creation order, for [`crate::Sandbox::jobs`].
    pub job_order: Vec<String>,
    pub schemas: Vec<StoredSchema>,
    sequence: u64,
    /// Bytes of file content held: the sum of `bytes.len()` over `files`.
    file_bytes: usize,
}

impl Store {
    /// A number that grows with every stored item, for ids and newest-first ordering.
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Stores an uploaded file and returns its id.
    pub fn add_file(&mut self, filename: String, bytes: Bytes, format: Format) -> String {
        let sequence = self.next_sequence();
        let id = uuid_v4();
        let now = Utc::now();
        let storage_name = format!(
            "{}_{filename}",
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        self.file_bytes += bytes.len();
        let file = StoredFile {
            id: id.clone(),
            kind: guess_kind(&filename),
            filename,
            storage_name,
            size: bytes.len() as u64,
            bytes,
            format,
            created_at: now,
            sequence,
            deleted: false,
            last_job: None,
        };
        self.files.insert(id.clone(), file);
        id
    }

    /// Marks file `id` deleted and lets its content go; the record stays, so the API can still
    /// answer for it (410 on download, `deleted` in listings).
    pub fn delete_file(&mut self, id: &str) {
        if let Some(file) = self.files.get_mut(id).filter(|file| !file.deleted) {
            file.deleted = true;
            self.file_bytes -= file.bytes.len();
            file.bytes = Bytes::new();
        }
    }

    /// Bytes of file content held now.
    pub fn file_bytes(&self) -> usize {
        self.file_bytes
    }
}

/// A random UUID (version 4) in its usual text form.
pub(crate) fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Counters of what the sandbox did, for tests to assert on (also served as JSON at
/// `GET /_sandbox/stats`, for clients in another process).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Requests received (all of them, including rejected and fault-injected ones).
    pub requests: u64,
    /// Responses sent, by HTTP status code (dropped connections are not responses).
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Connections aborted by an injected drop fault instead of answered.
    pub connections_dropped: u64,
    /// Faults injected (a request can receive more than one, e.g. latency and truncation).
    pub faults_injected: u64,
    /// Parse jobs created.
    pub jobs_created: u64,
    /// Parse jobs started per document id: a value above 1 means a document was started twice.
    pub job_starts_by_document: BTreeMap<String, u64>,
    /// Files stored per hex SHA-256 of their content: a value above 1 means the same content
    /// was uploaded twice.
    pub uploads_by_sha256: BTreeMap<String, u64>,
    /// Webhook deliveries answered with a 2xx.
    pub webhooks_delivered: u64,
    /// Webhook deliveries abandoned after the last retry.
    pub webhooks_abandoned: u64,
}

impl Stats {
    /// Responses sent with `status`.
    pub fn responses(&self, status: u16) -> u64 {
        self.responses_by_status.get(&status).copied().unwrap_or(0)
    }
}

/// What the sandbox holds in memory now: a report for tests and for anyone watching a long-running
/// sandbox (also served as JSON at `GET /sandbox/holdings`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Holdings {
    /// Bytes of uploaded file content held; a deleted file holds none.
    pub file_bytes: u64,
    /// The storage cap `file_bytes` counts against.
    pub storage_cap_bytes: u64,
    /// Files stored, deleted ones included (their records stay so the API can answer 410).
    pub files: u64,
    /// Parse jobs stored.
    pub jobs: u64,
    /// Schemas stored.
    pub schemas: u64,
    /// Client connections open now.
    pub connections: u64,
}

/// A created job and its status at the time of the call.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSummary {
    /// The job id.
    pub job_id: String,
    /// The document (upload `doc_id`) it parses.
    pub document_id: String,
    /// Invoice or bank statement.
    pub kind: DocumentKind,
    /// Its status now.
    pub status: JobStatus,
}

/// The state shared by every request.
pub(crate) struct SandboxState {
    pub config: Config,
    pub base_url: String,
    pub store: Mutex<Store>,
    pub stats: Mutex<Stats>,
    pub rate: RateLimiter,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    /// Client connections open now.
    pub connections: AtomicU64,
    fault_sequence: AtomicU64,
}

/// A cheap handle on [`SandboxState`].
pub(crate) type AppState = Arc<SandboxState>;

impl SandboxState {
    pub fn new(config: Config, base_url: String, shutdown: CancellationToken) -> Self {
        Self {
            rate: RateLimiter::new(config.rate_limit, config.rate_window, config.api_keys.len()),
            // A callback that redirects must not lead a delivery past the host rules.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client without TLS options builds"),
            config,
            base_url,
            store: Mutex::default(),
            stats: Mutex::default(),
            shutdown,
            connections: AtomicU64::new(0),
            fault_sequence: AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("store lock poisoned")
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().expect("stats lock poisoned")
    }

    /// The next request number for fault decisions.
    pub fn next_fault_sequence(&self) -> u64 {
        self.fault_sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// What is held now.
    pub fn holdings(&self) -> Holdings {
        let store = self.store();
        Holdings {
            file_bytes: store.file_bytes() as u64,
            storage_cap_bytes: self.config.limits.max_storage_bytes as u64,
            files: store.files.len() as u64,
            jobs: store.jobs.len() as u64,
            schemas: store.schemas.len() as u64,
            connections: self.connections.load(Ordering::Relaxed),
        }
    }

    /// Every job with its status now, in creation order.
    pub fn job_summaries(&self) -> Vec<JobSummary> {
        let now = Instant::now();
        let store = self.store();
        store
            .job_order
            .iter()
            .filter_map(|id| store.jobs.get(id))
            .map(|job| JobSummary {
                job_id: job.id.clone(),
                document_id: job.document_id.clone(),
                kind: job.kind,
                status: job.phase(now, self.config.timings).status(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_job(fails: bool) -> StoredJob {
        StoredJob {
            id: "job_1".to_owned(),
            kind: DocumentKind::Invoice,
            document_id: "doc".to_owned(),
            storage_name: "1_invoice.pdf".to_owned(),
            started: Instant::now(),
            created_at: Utc::now(),
            fails,
            result: Arc::default(),
        }
    }

    #[test]
    fn a_job_moves_through_its_phases_with_rising_progress() {
        let timings = JobTimings {
            pending: Duration::from_secs(10),
            processing: Duration::from_secs(100),
        };
        let job = new_job(false);
        let at = |secs| job.phase(job.started + Duration::from_secs(secs), timings);
        assert_eq!(at(0), Phase::Pending);
        assert_eq!(at(9), Phase::Pending);
        assert_eq!(at(10), Phase::Processing { progress: 1.0 });
        assert_eq!(at(30), Phase::Processing { progress: 20.0 });
        assert_eq!(at(60), Phase::Processing { progress: 50.0 });
        assert_eq!(at(110), Phase::Completed);
        assert_eq!(
            new_job(true).phase(job.started + Duration::from_secs(500), timings),
            Phase::Failed
        );
        let finished = job.finished_at(job.started + Duration::from_secs(200), timings);
        assert_eq!(
            finished,
            Some(job.created_at + chrono::Duration::seconds(110))
        );
        assert_eq!(job.finished_at(job.started, timings), None);
    }

    #[test]
    fn formats_are_recognised_by_their_first_bytes() {
        assert_eq!(Format::sniff(b"%PDF-1.7"), Some(Format::Pdf));
        assert_eq!(Format::sniff(b"\xFF\xD8\xFF\xDB"), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n"), Some(Format::Png));
        assert_eq!(Format::sniff(b"GIF89a"), None);
        assert_eq!(Format::sniff(b""), None);
    }

    #[test]
    fn uuids_have_the_version_4_shape() {
        let id = uuid_v4();
        let parts: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid_v4());
    }
}
