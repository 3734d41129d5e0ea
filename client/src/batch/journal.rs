//! The journal: a SQLite database (WAL mode, every change one synced transaction) holding one
//! row per file of a batch, and a lock that keeps a second run away while one holds it.
//!
//! The lock is a second, empty SQLite file beside the journal (`<journal>-lock`) held in an
//! exclusive transaction for as long as the [`Journal`] lives. SQLite takes it with an OS file
//! lock, which the system releases when the process ends however it ends (a `kill -9`
//! included), so a dead run never blocks the next one; readers ([`Journal::read`]) need no lock
//! and see the last committed state while a run goes on.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::entry::{Entry, State, now_ms};
use crate::{DocumentKind, Error};

/// The layout this version writes and reads; a journal written by a newer one is refused.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE files (
    path        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    document_id TEXT,
    job_id      TEXT,
    status      TEXT,
    result_path TEXT,
    result      TEXT,
    error       TEXT,
    intent_at   INTEGER,
    updated_at  INTEGER NOT NULL
);";

/// The journal of one batch, held exclusively. Cheap to share by reference between tasks.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    db: Mutex<Connection>,
    /// Held for the journal's life: its exclusive transaction is the lock. (In a mutex only so
    /// that a journal can be shared between threads: it is never used.)
    _lock: Mutex<Connection>,
}

impl Journal {
    /// Opens (creating if need be) the journal at `path` and takes its lock; a journal held by
    /// another run is [`Error::JournalBusy`].
    ///
    /// # Errors
    ///
    /// [`Error::JournalBusy`] when another run holds the journal;
    /// [`Error::Journal`](crate::Error::Journal) when the database cannot be created, opened or
    /// migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let lock = take_lock(&path)?;
        let db = Connection::open(&path).map_err(|e| failed(&path, e))?;
        setup(&db).map_err(|e| failed(&path, e))?;
        migrate(&db, &path)?;
        Ok(Self {
            path,
            db: Mutex::new(db),
            _lock: Mutex::new(lock),
        })
    }

    /// Every row of the journal at `path`, read without taking the lock (a run may hold it).
    ///
    /// # Errors
    ///
    /// [`Error::Journal`](crate::Error::Journal) when the journal exists but cannot be read.
    pub fn read(path: impl AsRef<Path>) -> Result<Vec<Entry>, Error> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::invalid(
                path.display().to_string(),
                "no batch journal there (it is written by the first run)",
            ));
        }
        let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| failed(path, e))?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(|e| failed(path, e))?;
        check_version(&db, path)?;
        all(&db).map_err(|e| failed(path, e))
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row, ordered by path.
    ///
    /// # Errors
    ///
    /// [`Error::Journal`](crate::Error::Journal) when the journal cannot be read.
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        all(&self.conn()).map_err(|e| self.failed(e))
    }

    /// The row of `path`, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Journal`](crate::Error::Journal) when the journal cannot be read.
    pub fn get(&self, path: &Path) -> Result<Option<Entry>, Error> {
        let db = self.conn();
        let mut query = db
            .prepare_cached(&format!("{SELECT} WHERE path = ?1"))
            .map_err(|e| self.failed(e))?;
        query
            .query_row([path_key(path)], row)
            .optional()
            .map_err(|e| self.failed(e))
    }

    /// Writes `entry` (inserting or replacing its row) in one synced transaction: once this
    /// returns, a crash cannot lose it.
    ///
    /// # Errors
    ///
    /// [`Error::Journal`](crate::Error::Journal) when the row cannot be written.
    pub fn put(&self, entry: &Entry) -> Result<(), Error> {
        let mut db = self.conn();
        let tx = db.transaction().map_err(|e| self.failed(e))?;
        tx.execute(
            "INSERT OR REPLACE INTO files (path, size, sha256, kind, state, document_id, job_id,
                 status, result_path, result, error, intent_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                path_key(&entry.path),
                i64::try_from(entry.size).unwrap_or(i64::MAX),
                entry.sha256,
                entry.kind.as_str(),
                entry.state.as_str(),
                entry.document_id,
                entry.job_id,
                entry.status,
                entry.result_path.as_deref().map(path_key),
                entry.result,
                entry.error,
                entry.intent_at,
                now_ms(),
            ],
        )
        .map_err(|e| self.failed(e))?;
        tx.commit().map_err(|e| self.failed(e))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic elsewhere cannot leave the connection mid-transaction: rusqlite rolls back
        // a transaction that is dropped.
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, e: rusqlite::Error) -> Error {
        failed(&self.path, e)
    }
}

/// The lock file of the journal at `path`, taken, or [`Error::JournalBusy`].
fn take_lock(path: &Path) -> Result<Connection, Error> {
    let mut name = path.as_os_str().to_owned();
    name.push("-lock");
    let lock_path = PathBuf::from(name);
    let lock = Connection::open(&lock_path).map_err(|e| failed(&lock_path, e))?;
    // No waiting: a held lock is reported at once.
    lock.busy_timeout(Duration::ZERO)
        .map_err(|e| failed(&lock_path, e))?;
    match lock.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;") {
        Ok(()) => Ok(lock),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Err(Error::JournalBusy {
                path: path.to_path_buf(),
            })
        }
        Err(e) => Err(failed(&lock_path, e)),
    }
}

/// WAL (a crash mid-write leaves the last committed state), synced commits (a recorded intent
/// is on disk before the request that follows it is sent).
fn setup(db: &Connection) -> rusqlite::Result<()> {
    db.busy_timeout(Duration::from_secs(5))?;
    let mode: String = db.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    db.pragma_update(None, "synchronous", "FULL")
}

/// Creates the tables of a new journal, and checks the version of an existing one.
fn migrate(db: &Connection, path: &Path) -> Result<(), Error> {
    let create = || -> rusqlite::Result<()> {
        db.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
        )?;
        let exists: Option<i64> = db
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            db.execute_batch(SCHEMA)?;
            db.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [SCHEMA_VERSION],
            )?;
        }
        db.execute_batch("COMMIT;")
    };
    if let Err(e) = create() {
        let _ = db.execute_batch("ROLLBACK;");
        return Err(failed(path, e));
    }
    check_version(db, path)
}

fn check_version(db: &Connection, path: &Path) -> Result<(), Error> {
    let version: i64 = db
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .map_err(|e| failed(path, e))?;
    if version > SCHEMA_VERSION {
        return Err(Error::invalid(
            path.display().to_string(),
            format!(
                "the journal has layout {version}, written by a newer invaro; \
                 this one reads layouts up to {SCHEMA_VERSION}"
            ),
        ));
    }
    Ok(())
}

const SELECT: &str = "SELECT path, size, sha256, kind, state, document_id, job_id, status,
    result_path, result, error, intent_at, updated_at FROM files";

fn all(db: &Connection) -> rusqlite::Result<Vec<Entry>> {
    let mut query = db.prepare_cached(&format!("{SELECT} ORDER BY path"))?;
    query.query_map([], row)?.collect()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let text = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let bad = |i: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let kind = match text(3)?.as_str() {
        "invoice" => DocumentKind::Invoice,
        "statement" => DocumentKind::Statement,
        other => return Err(bad(3, format!("document kind `{other}`"))),
    };
    let state = text(4)?;
    let state = State::parse(&state).ok_or_else(|| bad(4, format!("state `{state}`")))?;
    let size: i64 = r.get(1)?;
    Ok(Entry {
        path: PathBuf::from(text(0)?),
        size: u64::try_from(size).unwrap_or(0),
        sha256: text(2)?,
        kind,
        state,
        document_id: r.get(5)?,
        job_id: r.get(6)?,
        status: r.get(7)?,
        result_path: r.get::<_, Option<String>>(8)?.map(PathBuf::from),
        result: r.get(9)?,
        error: r.get(10)?,
        intent_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// How a path is stored: its text (a path that is not UTF-8 is stored lossily, and so is
/// compared lossily; the batch's own scan gives the same text every time).
fn path_key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn failed(path: &Path, e: rusqlite::Error) -> Error {
    Error::Journal {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
