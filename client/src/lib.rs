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
//! use futures_util::TryStreamExt;
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
//! - Per call: [`Client::with_options`] ([`CallOptions`]: a timeout, a retry policy, extra
//!   headers), [`Client::with_response`] ([`Response`]: status, headers, time taken) and
//!   [`Client::rate_limit`] ([`RateBudget`]: what the limiter holds now).
//! - [`facts`]: what the API accepts, defined once; [`Upload`]: files checked and streamed.
//! - [`Error`]: the one error type; [`results`]: typed results; [`webhook`]: verification and
//!   an opt-in receiver; [`batch`]: journaled batches that survive a crash.
//!
//! What the SDK adds to the generated API, for every call (each setting's default is on its
//! setter in [`ClientBuilder`]):
//! - authentication, with the key kept out of `Debug`, errors and traces;
//! - a rate limiter shared by all clones of a [`Client`] and by their waits ([`RateLimit`]),
//!   kept in step with the API's `X-RateLimit-*` headers; each file of an upload and each
//!   document of a batch counts as one request;
//! - retries with jittered exponential backoff ([`RetryPolicy`]), lengthened (never shortened)
//!   by `Retry-After`. One classifier decides what may be sent again: anything whose
//!   connection never opened or that met a 429; after a request may have reached the server (a
//!   timeout, a reset, a body cut short, a 408 or 5xx) only a GET or DELETE, never a POST or PUT,
//!   so no job starts twice and no schema version is bumped twice. A DELETE sent again that
//!   finds the file gone is a success. [`Error::is_retryable`] gives the same answer;
//! - any 2xx is a success; errors are read by status first, whatever their body (the API's
//!   envelope, a framework's `{"detail": ...}`, a proxy's HTML page, nothing), as [`Error::Api`]
//!   or [`Error::RateLimited`] with the status and the start of the body;
//! - response bodies read whole within the attempt, at most 40 MiB, so a body cut short is
//!   retried like any other failed GET; numbers beyond what `f64` and `i64` hold exactly (a
//!   30-digit account number) are kept as strings of their exact text;
//! - jobs that wait ([`Job::wait`], [`Job::wait_with`], [`Job::updates`]) within the rate
//!   limit, as [`PollPolicy`] describes;
//! - uploads streamed from disk and checked before sending ([`Upload`], [`facts`]);
//! - webhook verification and an opt-in receiver that ends waits at once ([`webhook`]), and
//!   typed results ([`results`]).
//!
//! # Features
//!
//! - `codegen` (default): generates the client from `openapi.yaml` at build time; without it
//!   the crate compiles the committed snapshot and needs no progenitor.
//! - `journal`: the SQLite journal of [`batch`] (bundled SQLite).
//! - `webhook-receiver`: the axum receiver of [`webhook`]; verifying needs no feature.
//! - `clap`: [`DocumentKind`] as a `clap::ValueEnum`.
//! - `metrics`: what the client does, through the `metrics` facade to any recorder:
//!   counters `invaro_requests_total` (labels `operation`, `status`; `error` when no answer
//!   came), `invaro_retries_total` and `invaro_rate_limited_total` (label `operation`);
//!   histograms `invaro_limiter_wait_seconds` (each attempt's wait for the rate limiter) and
//!   `invaro_wait_seconds` (label `kind`: from a wait's start to the completed status seen).

#![deny(missing_docs)]
#![deny(clippy::missing_errors_doc)]
// docs.rs builds with `--cfg docsrs` on nightly: there `doc_cfg` labels every item gated by a
// feature with that feature. Stable rustdoc never sees the attribute.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The client progenitor generates from `openapi.yaml`, plus the two hand-written multipart
/// operations (`upload_documents`, `upload_files`). Its docs are the spec's descriptions, and
/// the spec does not describe every field.
#[allow(missing_docs, clippy::missing_errors_doc)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

/// The spec's named types (requests, answers and their parts), as generated.
pub use generated::types;

pub mod batch;
mod budget;
mod client;
mod config;
mod document_kind;
mod error;
pub mod facts;
mod generated_ext;
mod job_status;
mod jobs;
mod metrics;
mod open_enum;
mod options;
mod poll_policy;
pub mod resources;
mod response;
pub mod results;
mod scheduler;
mod transport;
mod upload;
pub mod webhook;

pub use budget::{RateBudget, ServerBudget};
pub use client::{BatchOutcome, BatchReport, Client, ParsedDocument};
pub use config::{ClientBuilder, Config, DEFAULT_BASE_URL};
pub use document_kind::DocumentKind;
pub use error::{ApiError, Error};
pub use facts::{MAX_BATCH, MAX_FILE_BYTES, MAX_FILES, sniff};
pub use job_status::JobStatus;
pub use jobs::Job;
pub use options::CallOptions;
pub use poll_policy::PollPolicy;
pub use response::Response;
pub use results::{
    Amount, AmountError, BankDetails, BuyerDetails, InvoiceDetails, InvoiceResult, StatementResult,
    TaxCalculation, Transaction, TransactionType,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use transport::SharedLimit;
pub use transport::{MAX_SERVER_WINDOW, RateLimit, RetryPolicy};
pub use upload::{ProgressFn, Upload, UploadProgress};
