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
//! What the SDK adds to the generated API ([`generated`]), for every call:
//! - authentication, with the key kept out of `Debug`, errors and traces;
//! - a rate limiter shared by all clones of a [`Client`] (default 60 requests per minute,
//!   [`RateLimit`]), kept in step with the API's `X-RateLimit-*` headers;
//! - retries with jittered exponential backoff ([`RetryPolicy`]: 4 attempts, 500 ms doubling up
//!   to 20 s, a 60 s budget), lengthened by `Retry-After`; one classifier decides what may be sent
//!   again: a POST or PUT only when it cannot have reached the server or was refused with a 429,
//!   so no job is started twice ([`Error::is_retryable`] gives the same answer);
//! - any 2xx is a success, and errors are read by status first, whatever their body;
//! - jobs that wait ([`Job::wait`], [`Job::updates`]) under a [`PollPolicy`], all served by one
//!   scheduler per client (first check at once, then at most once a second per job with the
//!   budget other calls leave, spent where a completion is most likely, no job unchecked for more
//!   than 10 s while the budget allows; a 10 minute deadline that bounds every call of the wait);
//! - uploads streamed from disk and checked before sending ([`Upload`]);
//! - one [`Error`] type, webhook verification and an opt-in receiver that ends waits at once
//!   ([`webhook`]), and typed results ([`results`]).

#![deny(missing_docs)]

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
mod files;
mod generated_ext;
mod job_status;
mod jobs;
mod open_enum;
pub mod resources;
pub mod results;
mod scheduler;
mod transport;
mod upload;
pub mod webhook;

pub use client::{BatchOutcome, BatchReport, Client, ParsedDocument};
pub use document_kind::DocumentKind;
pub use facts::{MAX_BATCH, MAX_FILE_BYTES, MAX_FILES, sniff};
pub use config::{ClientBuilder, Config, DEFAULT_BASE_URL};
pub use error::{ApiError, Error};
pub use job_status::JobStatus;
pub use jobs::{Job, PollPolicy};
pub use transport::{MAX_SERVER_WINDOW, RateLimit, RetryPolicy};
pub use results::{
    Amount, AmountError, BankDetails, BuyerDetails, InvoiceDetails, InvoiceResult, StatementResult,
    TaxCalculation, Transaction, TransactionType,
};
pub use upload::{ProgressFn, Upload, UploadProgress};

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
