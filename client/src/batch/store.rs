//! Where the engine records its entries: nowhere but the run itself ([`Memory`]), or a
//! [`Journal`](super::Journal) on disk (feature `journal`).

use std::path::Path;

use super::entry::Entry;
use crate::Error;

/// Where a run records each change of an entry, before it sends the request that follows.
pub(crate) trait Store: Send + Sync {
    /// The recorded entry of the file `path`.
    fn get(&self, path: &Path) -> Result<Option<Entry>, Error>;
    /// Records `entry`; once this returns, a crash cannot lose it.
    fn put(&self, entry: &Entry) -> Result<(), Error>;
    /// Every document id recorded (of this run's items or any other run's).
    fn document_ids(&self) -> Result<Vec<String>, Error>;
    /// Whether entries outlive the run (a store keyed by file, so every item must be one).
    fn is_durable(&self) -> bool;
}

/// Entries kept by the run alone: nothing to resume from, nothing written.
pub(crate) struct Memory;

impl Store for Memory {
    fn get(&self, _: &Path) -> Result<Option<Entry>, Error> {
        Ok(None)
    }

    fn put(&self, _: &Entry) -> Result<(), Error> {
        Ok(())
    }

    fn document_ids(&self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }

    fn is_durable(&self) -> bool {
        false
    }
}

#[cfg(feature = "journal")]
impl Store for super::Journal {
    fn get(&self, path: &Path) -> Result<Option<Entry>, Error> {
        super::Journal::get(self, path)
    }

    fn put(&self, entry: &Entry) -> Result<(), Error> {
        super::Journal::put(self, entry)
    }

    fn document_ids(&self) -> Result<Vec<String>, Error> {
        let entries = self.entries()?;
        Ok(entries.into_iter().filter_map(|e| e.document_id).collect())
    }

    fn is_durable(&self) -> bool {
        true
    }
}
