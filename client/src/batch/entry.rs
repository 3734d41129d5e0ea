//! One item's row: where it is on its way through upload, start and wait, and what came of it.
//! The batch engine keeps it up to date; a [`Journal`](super::Journal) (feature `journal`)
//! also writes it to disk.

use std::path::PathBuf;

use crate::DocumentKind;

/// Where a file is in its batch. Every step that sends something is recorded before it is
/// sent, so a run that dies leaves the file in the step it was taking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Known, nothing sent.
    New,
    /// The upload was (or was about to be) sent; no answer recorded.
    Uploading,
    /// Uploaded: the document id is known.
    Uploaded,
    /// The start was (or was about to be) sent; no answer recorded.
    Starting,
    /// Started: the job id is known.
    Started,
    /// The job completed and its result is recorded.
    Done,
    /// Something failed: see [`Entry::error`] and [`Entry::is_final`].
    Failed,
}

impl State {
    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Uploading => "uploading",
            Self::Uploaded => "uploaded",
            Self::Starting => "starting",
            Self::Started => "started",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    #[cfg(feature = "journal")]
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::New,
            Self::Uploading,
            Self::Uploaded,
            Self::Starting,
            Self::Started,
            Self::Done,
            Self::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// One file's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The file, as the batch was given it (empty for an item given as a document or a job).
    pub path: PathBuf,
    /// Its size in bytes when it was hashed.
    pub size: u64,
    /// The hex SHA-256 of its content when it was hashed.
    pub sha256: String,
    /// What it is parsed as.
    pub kind: DocumentKind,
    /// Where it is.
    pub state: State,
    /// The uploaded document, once known.
    pub document_id: Option<String>,
    /// The parse job, once known (a job recovered from the file record has none).
    pub job_id: Option<String>,
    /// The job's final status (`completed`, `failed`, or `deleted` for a document removed).
    pub status: Option<String>,
    /// Where the result was saved, if the run was told to save it.
    pub result_path: Option<PathBuf>,
    /// The parsed result, as JSON text.
    pub result: Option<String>,
    /// Why the last attempt failed, or why the file is in doubt.
    pub error: Option<String>,
    /// When the last upload or start was recorded (Unix milliseconds).
    pub intent_at: Option<i64>,
    /// When the row last changed (Unix milliseconds).
    pub updated_at: i64,
}

impl Entry {
    /// A file not sent yet.
    pub fn new(path: PathBuf, size: u64, sha256: String, kind: DocumentKind) -> Self {
        Self {
            path,
            size,
            sha256,
            kind,
            state: State::New,
            document_id: None,
            job_id: None,
            status: None,
            result_path: None,
            result: None,
            error: None,
            intent_at: None,
            updated_at: now_ms(),
        }
    }

    /// Whether a rerun leaves it alone: done, or its job ran and failed (starting it again
    /// would be billed again and most likely fail the same way).
    pub fn is_final(&self) -> bool {
        self.state == State::Done || (self.state == State::Failed && self.status.is_some())
    }

    /// Whether a run stopped at a step it could not confirm (see the module docs of
    /// [`crate::batch`]).
    pub fn in_doubt(&self) -> bool {
        matches!(self.state, State::Uploading | State::Starting) && self.error.is_some()
    }
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
