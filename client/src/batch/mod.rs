//! Batches that survive a crash: a journal of what was sent, so that a rerun resumes without
//! uploading or starting anything twice.
//!
//! Each file of a batch has a row in a [`Journal`] (an SQLite database): its path, size and
//! SHA-256, the uploaded document id, the job id, the final status, the result and where it
//! was saved. A row moves `new -> uploading -> uploaded -> starting -> started -> done` (or
//! `failed`), and every step that sends something is recorded, synced, *before* it is sent, once
//! the client's rate limiter has let it go (a run stopped while it waits there, where a run under
//! the limit spends most of its time, has sent nothing and leaves nothing in doubt).
//! A [`Batch::run`] on the same journal (after Ctrl-C, `kill -9`, a crash or a dead network)
//! takes each file up where its row says:
//!
//! - `done`: skipped, unless the file's content (or the document kind) changed; a result file
//!   that has gone is written again from the journal. `failed` because the job failed: skipped
//!   too (starting it again would be billed again). Any other failure is tried again.
//! - `uploaded`: started without uploading again. `started`: waited on by job id.
//! - `starting` (the start was sent, or about to be, and no answer was recorded): the
//!   document's file record (`GET /files/{id}`) says `processing`, `completed` or `failed` once
//!   a job runs on it, so such a file is waited on through its record, or finished from its
//!   `processed_data`, and never started again. `pending` cannot tell "no job" from "a job not
//!   picked up yet": the file is reported **in doubt** and left alone, unless the run is told
//!   [`Batch::retry_in_doubt`].
//! - `uploading` (the upload may have arrived): the API has no lookup by content, so the run
//!   looks in its file list (`GET /files`, newest first) for a file of the same name and size
//!   made since the upload was recorded (less a 10 minute clock margin) and not already in the
//!   journal. Exactly one: taken as this upload. None, in a listing that reached back that far:
//!   the upload never arrived, and is sent again. Several (or a listing cut short): in doubt.
//!   Another client uploading a file of the same name and size at the same time can be
//!   mistaken for ours; uploading twice costs a request, never a parse.
//!
//! A POST that fails in a way that proves it did nothing (it never left, met a 429, or was
//! refused with a 4xx) is recorded as failed; one that may have arrived (a timeout, a 5xx, an
//! unreadable answer) leaves its row in `uploading` or `starting`, in doubt, for the next run
//! to settle as above. One run holds a journal at a time ([`Error::JournalBusy`] for the
//! second); the lock is an OS file lock, released when the process ends however it ends.
//!
//! ```no_run
//! # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
//! use invaro::batch::{Batch, Item, Journal};
//! let journal = Journal::open("statements/.invaro-batch.sqlite")?;
//! let items = vec![
//!     Item::new("statements/march.pdf").save_as("results/march.json"),
//!     Item::new("statements/april.pdf"),
//! ];
//! for row in Batch::new(&client, &journal, invaro::DocumentKind::Statement).run(items).await? {
//!     println!("{}: {}", row.path.display(), row.state.as_str());
//! }
//! # Ok(()) }
//! ```
//!
//! [`Error::JournalBusy`]: crate::Error::JournalBusy

mod journal;
mod run;

pub use journal::{Entry, Journal, SCHEMA_VERSION, State};
pub use run::{Batch, Event, Item, Observer};
