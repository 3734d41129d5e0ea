//! What a batch is given (an [`Item`]: a file, a document or a job) and what it tells while it
//! runs (an [`Event`]).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

/// One item of a batch: a file to upload, a document uploaded already, or a job started
/// already; and where to save its result (if anywhere: the entry keeps it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub(crate) from: From,
    pub(crate) save_as: Option<PathBuf>,
}

/// Where an item joins the way of upload, start and wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum From {
    File(PathBuf),
    Document(String),
    Job(String),
}

impl Item {
    /// A file, uploaded, started and waited on.
    ///
    /// ```
    /// let item = invaro::batch::Item::new("march.pdf").save_as("results/march.json");
    /// assert_eq!(item.path(), Some(std::path::Path::new("march.pdf")));
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            from: From::File(path.into()),
            save_as: None,
        }
    }

    /// A document uploaded already (its `doc_id`), started and waited on. Documents given
    /// together are started in requests of at most [`MAX_BATCH`](crate::MAX_BATCH).
    pub fn document(document_id: impl Into<String>) -> Self {
        Self {
            from: From::Document(document_id.into()),
            save_as: None,
        }
    }

    /// A job started already (of the run's kind), waited on.
    pub fn job(job_id: impl Into<String>) -> Self {
        Self {
            from: From::Job(job_id.into()),
            save_as: None,
        }
    }

    /// Also saves the result at `path` as pretty JSON (written whole or not at all, replacing
    /// what is there).
    pub fn save_as(mut self, path: impl Into<PathBuf>) -> Self {
        self.save_as = Some(path.into());
        self
    }

    /// The file, for an item made from one.
    pub fn path(&self) -> Option<&Path> {
        match &self.from {
            From::File(path) => Some(path),
            From::Document(_) | From::Job(_) => None,
        }
    }
}

/// Something that happened to one item, told to [`Runner::on_event`](super::Runner::on_event)
/// once it is recorded.
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
    /// The job's status as a check while waiting read it (told only to an observer).
    Status(Box<crate::types::Job>),
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

/// What is told of every [`Event`], with the item's entry as recorded.
pub type Observer = Arc<dyn Fn(&super::Entry, &Event) + Send + Sync>;
