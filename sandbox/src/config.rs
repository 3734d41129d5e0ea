//! The sandbox's settings and the builder that collects them.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::faults::FaultRule;
use crate::server::SandboxHandle;

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
    /// Whether responses carry `X-RateLimit-*` (and 429s `Retry-After`).
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

/// Collects the sandbox's settings; [`SandboxBuilder::start`] binds and serves.
///
/// Every setting has a default that mirrors the real API (60 requests a minute, 10 MB per file,
/// 50 files per upload), suits a demo (jobs take about four seconds), or keeps a long-running
/// sandbox safe (256 MiB of uploads held at most, 10 s for a request's header and 60 s for its
/// body, webhooks to loopback only).
#[derive(Clone, Default)]
pub struct SandboxBuilder {
    config: Config,
    keys_given: bool,
}

impl fmt::Debug for SandboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys and the webhook secret stay out of Debug output.
        f.debug_struct("SandboxBuilder")
            .field("addr", &self.config.addr)
            .field("api_keys", &self.config.api_keys.len())
            .field("timings", &self.config.timings)
            .finish_non_exhaustive()
    }
}

impl SandboxBuilder {
    /// The address to bind; the default is 127.0.0.1 on a free port.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.config.addr = addr;
        self
    }

    /// Accepts this API key. The first call replaces the default `sandbox-key`; later calls add.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        if !self.keys_given {
            self.config.api_keys.clear();
            self.keys_given = true;
        }
        self.config.api_keys.push(key.into());
        self
    }

    /// How long jobs stay pending and processing; use [`JobTimings::INSTANT`] in tests.
    pub fn job_timings(mut self, timings: JobTimings) -> Self {
        self.config.timings = timings;
        self
    }

    /// The number of transactions in every bank statement result (default 40).
    pub fn statement_transactions(mut self, count: usize) -> Self {
        self.config.statement_transactions = count;
        self
    }

    /// Whether GET /parse/invoices/{job_id} answers without the `{success, data}` envelope, as
    /// the upstream reference page documents (default `false`: enveloped, as the implementations
    /// that could be read send and expect it).
    pub fn invoice_status_bare(mut self, bare: bool) -> Self {
        self.config.invoice_status_bare = bare;
        self
    }

    /// Jobs of documents whose uploaded file name contains `marker` (any case) fail
    /// (default `fail`).
    pub fn fail_marker(mut self, marker: impl Into<String>) -> Self {
        self.config.fail_marker = marker.into().to_lowercase();
        self
    }

    /// At most `limit` requests per key in each `window` (default 60 per minute).
    pub fn rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.config.rate_limit = limit;
        self.config.rate_window = window.max(Duration::from_millis(1));
        self
    }

    /// Whether responses report the window in `X-RateLimit-*` headers and 429s carry
    /// `Retry-After` (default `true`). Both count whole seconds, so a sandbox whose window is a
    /// second or less (time compressed, as the bench runs it) is better off without them.
    pub fn rate_limit_headers(mut self, send: bool) -> Self {
        self.config.rate_limit_headers = send;
        self
    }

    /// The largest accepted uploaded file, in bytes (default 10 MB).
    pub fn max_file_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_file_bytes = bytes;
        self
    }

    /// The most files accepted in one upload (default 50).
    pub fn max_files(mut self, count: usize) -> Self {
        self.config.limits.max_files = count;
        self
    }

    /// The largest accepted JSON request body, in bytes (default 1 MB).
    pub fn max_json_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_json_bytes = bytes;
        self
    }

    /// The most uploaded bytes held at once (default 256 MiB); an upload that would pass it is
    /// refused with 507 `STORAGE_FULL`. Deleting a file gives its bytes back.
    pub fn max_storage_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_storage_bytes = bytes;
        self
    }

    /// How long a client has to send a request's header, counted from when the connection
    /// opened or finished its previous request (default 10 s). A connection idle that long is
    /// closed.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.header = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a client has to send a request's body after its header (default 60 s); a body
    /// still arriving then is answered 408 `REQUEST_TIMEOUT` and its connection closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.body = timeout;
        self
    }

    /// How long a client may take none of an answer being sent to it before its connection is
    /// closed (default 60 s), so a client that stops reading does not hold its connection.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.write_stall = timeout;
        self
    }

    /// How long a shutdown waits for requests in flight before it closes their connections
    /// (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.timeouts.shutdown = grace;
        self
    }

    /// Lets webhooks go to `host` (a name or an IP address, as written in the callback URL) as
    /// well as to loopback; `*` lets them go anywhere. By default only loopback is allowed, so a
    /// sandbox reachable from elsewhere cannot be made to send requests to other hosts.
    pub fn webhook_allow_host(mut self, host: impl Into<String>) -> Self {
        let host = host.into().trim().to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        self.config.webhooks.allowed_hosts.push(host);
        self
    }

    /// The secret webhook signatures are computed with (default `sandbox-webhook-secret`).
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.webhooks.secret = secret.into();
        self
    }

    /// Retries of a failed webhook delivery: how many, the first delay, and the largest delay
    /// (default 5, 5 s, 1 h; delays double).
    pub fn webhook_retries(mut self, retries: u32, first: Duration, max: Duration) -> Self {
        self.config.webhooks.retries = retries;
        self.config.webhooks.first_retry = first;
        self.config.webhooks.max_retry = max.max(first);
        self
    }

    /// The seed fault decisions are drawn from (default 0).
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.config.fault_seed = seed;
        self
    }

    /// Adds a fault-injection rule; none are set by default.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.config.fault_rules.push(rule);
        self
    }

    /// Binds the address and serves until the handle is dropped or shut down.
    pub async fn start(self) -> std::io::Result<SandboxHandle> {
        crate::server::start(self.config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_keys_and_secrets() {
        let builder = SandboxBuilder::default()
            .api_key("key-one")
            .webhook_secret("whsec-two");
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("key-one") && !debug.contains("whsec-two"),
            "{debug}"
        );
        assert_eq!(
            builder.config.api_keys,
            ["key-one"],
            "the first key replaces the default"
        );
    }
}
