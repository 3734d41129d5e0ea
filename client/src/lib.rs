//! Rust SDK for the [Invaro Document Processing API](https://docs.invaro.ai): upload bank
//! statements and invoices, parse them with OCR and AI, and read typed results.
//!
//! ```no_run
//! # async fn demo() -> Result<(), invaro::Error> {
//! let client = invaro::Client::from_env()?;
//! let parsed = client.parse_file("invoice.pdf", invaro::DocumentKind::Invoice).await?;
//! println!("{:#?}", parsed.invoice()?);
//! # Ok(()) }
//! ```
//!
//! The rest of the API is in resource groups that answer with the spec's named types
//! ([`types`]): [`Client::files`], [`Client::schemas`], [`Client::jobs`].
//!
//! ```no_run
//! # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
//! use futures::TryStreamExt;
//! let page = client.files().list().page_size(20).send().await?;
//! let all: Vec<_> = client.schemas().list().into_stream().try_collect().await?;
//! println!("{} files on page 1, {} schemas", page.files.len(), all.len());
//! # Ok(()) }
//! ```
//!
//! # Where things are
//!
//! - [`generated`] (`src/generated.rs`, the committed snapshot of what `build.rs` generates from
//!   `openapi.yaml`): every operation in progenitor's builder style, on [`Client::api`], and the
//!   spec's types, re-exported as [`types`]. `src/generated_ext.rs` beside it holds everything
//!   this crate adds to generated code: the two multipart operations progenitor cannot generate,
//!   and helpers on the spec's types.
//! - [`resources`]: the resource groups (`client.files()`, `client.schemas()`,
//!   `client.jobs()`), each call one operation, lists also as streams over every page.
//! - `src/transport/` (private): what happens around every call, generated or hand-written:
//!   authentication, the rate limiter ([`RateLimit`]), the one retry classifier
//!   ([`RetryPolicy`]), timeouts, bounded bodies, exact numbers, tracing.
//! - [`Client`] and its flows ([`Client::parse_file`], [`Client::parse_batch`]), configured by
//!   [`ClientBuilder`]; [`Job`] waits ([`PollPolicy`]).
//! - [`facts`]: what the API accepts, defined once; [`Upload`]: files checked and streamed.
//! - [`Error`]: the one error type; [`results`]: typed results; [`webhook`]: verification and
//!   an opt-in receiver; [`batch`]: journaled batches that survive a crash.
//!
//! What the SDK adds to the generated API, for every call:
//! - authentication, with the key kept out of `Debug`, errors and traces;
//! - a rate limiter shared by all clones of a [`Client`] (default 60 requests per minute,
//!   [`RateLimit`]), kept in step with the API's `X-RateLimit-*` headers;
//! - retries with jittered exponential backoff ([`RetryPolicy`]: 4 attempts, 500 ms doubling up
//!   to 20 s, a 60 s budget), lengthened by `Retry-After`; one classifier decides what may be sent
//!   again: a POST or PUT only when it cannot have reached the server or was refused with a 429,
//!   so no job is started twice ([`Error::is_retryable`] gives the same answer);
//! - any 2xx is a success, and errors are read by status first, whatever their body;
//! - jobs that wait ([`Job::wait`], [`Job::wait_with`], [`Job::updates`]), polled as
//!   [`PollPolicy`] states;
//! - uploads streamed from disk and checked before sending ([`Upload`]);
//! - one [`Error`] type, webhook verification and an opt-in receiver that ends waits at once
//!   ([`webhook`]), and typed results ([`results`]).

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The client progenitor generates from `openapi.yaml`, plus the two hand-written multipart
/// operations (`upload_documents`, `upload_files`). Its docs are the spec's descriptions, and
/// the spec does not describe every field.
#[allow(missing_docs)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

/// The spec's named types (requests, answers and their parts), as generated.
pub use generated::types;

pub mod batch;
mod client;
mod config;
mod document_kind;
mod error;
pub mod facts;
mod generated_ext;
mod job_status;
mod jobs;
mod open_enum;
mod poll_policy;
pub mod resources;
pub mod results;
mod scheduler;
mod transport;
mod upload;
pub mod webhook;

pub use client::{BatchOutcome, BatchReport, Client, ParsedDocument};
pub use config::{ClientBuilder, Config, DEFAULT_BASE_URL};
pub use document_kind::DocumentKind;
pub use error::{ApiError, Error};
pub use facts::{MAX_BATCH, MAX_FILE_BYTES, MAX_FILES, sniff};
pub use job_status::JobStatus;
pub use jobs::Job;
pub use poll_policy::PollPolicy;
pub use results::{
    Amount, AmountError, BankDetails, BuyerDetails, InvoiceDetails, InvoiceResult, StatementResult,
    TaxCalculation, Transaction, TransactionType,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use transport::SharedLimit;
pub use transport::{MAX_SERVER_WINDOW, RateLimit, RetryPolicy};
pub use upload::{ProgressFn, Upload, UploadProgress};
