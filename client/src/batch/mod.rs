//! One engine for every set of documents: each item (a file, an uploaded document or a started
//! job) goes through upload, start and wait, several at once, under the client's one rate
//! limiter and scheduler. [`Client::parse_batch`](crate::Client::parse_batch) runs it in
//! memory; with a [`Journal`] (feature `journal`) a batch survives a crash: a journal of what
//! was sent, so that a rerun resumes without uploading or starting anything twice.
//!
//! Each file of a journaled batch has an [`Entry`] in the journal (an SQLite database): its
//! path, size and SHA-256, the uploaded document id, the job id, the final status, the result
//! and where it was saved. An entry moves `new -> uploading -> uploaded -> starting -> started
//! -> done` (or `failed`), and every step that sends something is recorded, synced, *before*
//! it is sent, once the client's rate limiter has let it go (a run stopped while it waits
//! there, where a run under the limit spends most of its time, has sent nothing and leaves
//! nothing in doubt). A [`Runner::run`] on the same journal (after Ctrl-C, `kill -9`, a crash
//! or a dead network) takes each file up where its entry says:
//! - `done`: skipped, unless the file's content (or the document kind) changed; a result file
//!   that has gone is written again from the journal. `failed` because the job failed: skipped
//!   too (starting it again would be billed again). Any other failure is tried again.
//! - `uploaded`: started without uploading again. `started`: waited on by job id.
//! - `starting` (the start was sent, or about to be, and no answer was recorded): the
//!   document's file record (`GET /files/{id}`) says `processing`, `completed` or `failed` once
//!   a job runs on it, so such a file is waited on through its record, or finished from its
//!   `processed_data`, and never started again. `pending` cannot tell "no job" from "a job not
//!   picked up yet": the file is reported **in doubt** and left alone, unless the run is told
//!   [`Runner::retry_in_doubt`].
//! - `uploading` (the upload may have arrived): the API has no lookup by content, so the run
//!   looks in its file list (`GET /files`, newest first) for a file of the same name and size
//!   made since the upload was recorded (less a 10 minute clock margin) and not already in the
//!   journal. Exactly one: taken as this upload. None, in a listing that reached back that far:
//!   the upload never arrived, and is sent again. Several (or a listing cut short): in doubt.
//!   Another client uploading a file of the same name and size at the same time can be
//!   mistaken for ours; uploading twice costs a request, never a parse.
//!
//! A 429 is temporary: it holds the client until the server's reset and the request goes
//! again, until the batch's deadline. A POST that fails in a way that proves it did nothing (it
//! never left, met 429s up to the deadline, or was refused with a 4xx) is recorded as failed; one that may have arrived (a timeout, a 5xx, an
//! unreadable answer) leaves its row in `uploading` or `starting`, in doubt, for the next run
//! to settle as above. One run holds a journal at a time ([`Error::JournalBusy`] for the
//! second); the lock is an OS file lock, released when the process ends however it ends.
//!
//! ```no_run
//! # #[cfg(feature = "journal")]
//! # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
//! use invaro::batch::{Item, Journal, Runner};
//! let journal = Journal::open("statements/.invaro-batch.sqlite")?;
//! let items = vec![
//!     Item::new("statements/march.pdf").save_as("results/march.json"),
//!     Item::new("statements/april.pdf"),
//! ];
//! let runner = Runner::new(&client, invaro::DocumentKind::Statement).journal(&journal);
//! for row in runner.run(items).await? {
//!     println!("{}: {}", row.path.display(), row.state.as_str());
//! }
//! # Ok(()) }
//! ```
//!
//! [`Error::JournalBusy`]: crate::Error::JournalBusy
// `Journal` exists only with the `journal` feature; without it the link leads to this page.
#![cfg_attr(feature = "journal", doc = "[`Journal`]: Journal")]
#![cfg_attr(not(feature = "journal"), doc = "[`Journal`]: self")]

mod entry;
mod item;
#[cfg(feature = "journal")]
mod journal;
mod local;
mod recover;
mod run;
mod store;

pub use entry::{Entry, State};
pub use item::{Event, Item, Observer};
#[cfg(feature = "journal")]
#[cfg_attr(docsrs, doc(cfg(feature = "journal")))]
pub use journal::{Journal, SCHEMA_VERSION};
pub use run::{Runner, Settled};
