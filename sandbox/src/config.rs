//! The sandbox's settings: plain data, with the defaults that mirror the API.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::faults::FaultRule;

/// The API key the sandbox accepts when none is configured.
pub const DEFAULT_API_KEY: &str = "sandbox-key";

/// The webhook signing secret used when none is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "sandbox-webhook-secret";

/// The file-name marker that makes a document's jobs fail, unless configured otherwise.
pub const DEFAULT_FAIL_MARKER: &str = "fail";

/// How long a job stays `pending`, then `processing`, before it is `completed` or `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobTimings {
    /// Time spent `pending` after the start call.
    pub pending: Duration,
    /// Time spent `processing` (with rising `progress`) after that.
    pub processing: Duration,
}

impl JobTimings {
    /// Jobs are finished as soon as they are created: the setting for tests.
    pub const INSTANT: Self = Self {
        pending: Duration::ZERO,
        processing: Duration::ZERO,
    };

    /// One second pending, three processing: the setting for demos (and the default).
    pub const DEMO: Self = Self {
        pending: Duration::from_secs(1),
        processing: Duration::from_secs(3),
    };
}

/// The default storage cap: the total of uploaded bytes held at once (256 MiB).
pub const DEFAULT_MAX_STORAGE_BYTES: usize = 256 * 1024 * 1024;

/// Size and count limits on request bodies, and on what is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max_file_bytes: usize,
    pub max_files: usize,
    pub max_json_bytes: usize,
    /// The total of uploaded file bytes held at once; deleted files count for nothing.
    pub max_storage_bytes: usize,
}

/// How long a connection may take over each part of a request, and shutdown over all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// From the moment a connection may send a request (opened, or done with the previous one)
    /// to the end of its header; an idle connection is closed after as long.
    pub header: Duration,
    /// From the end of the header to the end of the body.
    pub body: Duration,
    /// How long a client may take none of an answer being sent before its connection is closed.
    pub write_stall: Duration,
    /// How long a shutdown waits for requests in flight before closing their connections.
    pub shutdown: Duration,
}

/// How webhook deliveries are signed and retried.
#[derive(Clone)]
pub(crate) struct WebhookSettings {
    pub secret: String,
    /// Hosts beyond loopback that callbacks may go to (lower case); `*` allows any.
    pub allowed_hosts: Vec<String>,
    pub retries: u32,
    pub first_retry: Duration,
    pub max_retry: Duration,
}

/// Everything the sandbox can be told.
#[derive(Clone)]
pub(crate) struct Config {
    pub addr: SocketAddr,
    pub api_keys: Vec<String>,
    pub timings: JobTimings,
    pub statement_transactions: usize,
    pub invoice_status_bare: bool,
    pub fail_marker: String,
    pub rate_limit: u32,
    pub rate_window: Duration,
    /// Whether responses carry `X-RateLimit-*`, and 429s `Retry-After`.
    pub rate_limit_headers: bool,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub webhooks: WebhookSettings,
    pub fault_seed: u64,
    pub fault_rules: Vec<FaultRule>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            timings: JobTimings::DEMO,
            statement_transactions: 40,
            invoice_status_bare: false,
            fail_marker: DEFAULT_FAIL_MARKER.to_owned(),
            rate_limit: 60,
            rate_window: Duration::from_secs(60),
            rate_limit_headers: true,
            limits: Limits {
                max_file_bytes: 10 * 1024 * 1024,
                max_files: 50,
                max_json_bytes: 1024 * 1024,
                max_storage_bytes: DEFAULT_MAX_STORAGE_BYTES,
            },
            timeouts: Timeouts {
                header: Duration::from_secs(10),
                body: Duration::from_secs(60),
                write_stall: Duration::from_secs(60),
                shutdown: Duration::from_secs(5),
            },
            webhooks: WebhookSettings {
                secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
                allowed_hosts: Vec::new(),
                retries: 5,
                first_retry: Duration::from_secs(5),
                max_retry: Duration::from_secs(3600),
            },
            fault_seed: 0,
            fault_rules: Vec::new(),
        }
    }
}
