//! A local Invaro Document Processing API, in memory, for demos, tests and CI.
//!
//! The sandbox serves all 17 operations of `openapi.yaml` under `/api/v1`, as the real host does,
//! with the documented rules: bearer keys, the error envelope, upload limits, jobs that go from
//! `pending` through `processing` to `completed` or `failed`, schemas, files, the rate limit and
//! its headers, and signed webhooks. Results are synthetic but deterministic: the same file always
//! parses to the same result. Faults (error statuses, latency, dropped connections, truncated
//! bodies) can be injected, seeded so a run can be reproduced.
//!
//! A job fails when its document's uploaded file name contains `fail` (see
//! [`SandboxBuilder::fail_marker`]).
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

pub use cli::{SandboxArgs, init_logging, serve};
pub use config::{
    DEFAULT_API_KEY, DEFAULT_FAIL_MARKER, DEFAULT_WEBHOOK_SECRET, JobTimings, SandboxBuilder,
};
pub use faults::{Fault, FaultRule, Scope};
pub use server::{Sandbox, SandboxHandle};
pub use state::{DocKind, JobSummary, Stats};
pub use webhooks::{SIGNATURE_HEADER, sign as sign_webhook};
