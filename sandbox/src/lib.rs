//! A local Invaro Document Processing API, in memory, for demos, tests and CI.
//!
//! The sandbox serves all 17 operations of `openapi.yaml` under `/api/v1`, as the real host does,
//! so a client points at `http://127.0.0.1:PORT/api/v1` exactly as it would at
//! `https://api.invaro.ai/api/v1`. Its rules:
//!
//! - **Auth**: `Authorization: Bearer <key>` with a configured key (default [`DEFAULT_API_KEY`],
//!   `sandbox-key`; the scheme in any case, spaces around it ignored); anything else is 401 with
//!   the error envelope, checked before the rate limit, so under any load.
//! - **Uploads**: repeated multipart field `files`; PDF, JPEG or PNG recognised by content; at most
//!   10 MB per file (400 `UPLOAD_ERROR`) and 50 files (400 `VALIDATION_ERROR`); at most
//!   [`DEFAULT_MAX_STORAGE_BYTES`] held in all (507 `STORAGE_FULL`,
//!   [`SandboxBuilder::max_storage_bytes`]). A deleted file gives its bytes back and keeps its
//!   record (downloads answer 410).
//! - **Jobs** are `pending`, then `processing` with rising `progress`, then `completed` or `failed`,
//!   on [`JobTimings`] (computed from the job's age). A job fails when its document's uploaded file
//!   name contains `fail`, any case ([`SandboxBuilder::fail_marker`]). Output is under `result` on
//!   the invoice and general routes and under `results` on the statement route. The invoice status
//!   is enveloped like every other answer unless [`SandboxBuilder::invoice_status_bare`] says
//!   otherwise.
//! - **Schemas**: `schema_string` in requests is a JSON object or a string holding one.
//! - **Results** are synthetic and deterministic: the same bytes always parse to the same result.
//! - **Rate limit**: 60 per minute per key by default, `X-RateLimit-*` on every response, 429 with
//!   `Retry-After` beyond it; each file of an upload (charged as its part arrives) and each
//!   document of a batch counts as one. The headers are in whole seconds, as the API's are:
//!   with a window of a second or so (compressed time), turn them off with
//!   [`SandboxBuilder::rate_limit_headers`].
//! - **Connections**: 10 s to send a request's header (idle connections close after as long), 60 s
//!   for its body (then 408 `REQUEST_TIMEOUT`), 60 s at most without taking any of an answer, 5 s
//!   of grace for requests in flight on shutdown; see [`SandboxBuilder::header_timeout`] and its
//!   neighbours.
//! - **Webhooks**: a `callback_url` receives `job.created`, `job.started`, `job.progress`, then
//!   `job.completed` or `job.failed`, signed `X-Signature: sha256=<hex HMAC-SHA256>` with the
//!   webhook secret ([`DEFAULT_WEBHOOK_SECRET`] by default) and retried with doubling delays;
//!   only to loopback unless [`SandboxBuilder::webhook_allow_host`] allows more (any other
//!   `callback_url` is 400 `VALIDATION_ERROR`).
//! - **Faults** ([`FaultRule`]): error statuses, latency, dropped connections and truncated GET
//!   bodies (the full `Content-Length` announced, part of the body sent, the connection closed),
//!   globally or per route, seeded. Status and drop faults answer before the handler runs, so an
//!   injected failure never creates anything.
//! - **Observability**: [`Sandbox::stats`], [`Sandbox::jobs`] and
//!   [`Sandbox::holdings`] (also `GET /sandbox/holdings`, outside the API).
//!
//! **An independent oracle.** The sandbox speaks the spec's wire types (it serialises the
//! generated `invaro::types`, so its answers have the spec's shape, and its conformance tests
//! still validate every answer against `openapi.yaml` itself), but it keeps its own copy of the
//! API's rules: the size, count and batch limits, the accepted file types and the first-bytes
//! check. It does not read `invaro::facts`: if it did, a wrong fact in the SDK would agree with
//! itself in every test. `tests/tests/facts.rs` sends both sides the same boundary cases and
//! fails on any disagreement.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use invaro_sandbox::{JobTimings, Sandbox};
//!
//! let sandbox = Sandbox::builder()
//!     .job_timings(JobTimings::INSTANT)
//!     .start()
//!     .await?;
//! assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
//! assert!(sandbox.base_url().ends_with("/api/v1"));
//! assert_eq!(sandbox.api_key(), "sandbox-key");
//! // Point a client at `sandbox.base_url()` with `sandbox.api_key()` here.
//! sandbox.shutdown().await
//! # }
//! ```

#![warn(missing_docs)]

mod builder;
mod cli;
mod config;
mod error;
mod faults;
mod rate_limit;
mod results;
mod routes;
pub mod samples;
mod server;
mod state;
mod webhooks;

pub use builder::SandboxBuilder;
pub use cli::{SandboxArgs, init_logging, serve};
pub use config::{
    DEFAULT_API_KEY, DEFAULT_FAIL_MARKER, DEFAULT_MAX_STORAGE_BYTES, DEFAULT_WEBHOOK_SECRET,
    JobTimings,
};
pub use faults::{Fault, FaultRule, Scope};
pub use server::Sandbox;
pub use state::{Holdings, JobSummary, Stats};
pub use webhooks::{SIGNATURE_HEADER, sign as sign_webhook};
