//! The builder that collects the sandbox's settings and starts it: [`Sandbox::builder`] to
//! [`SandboxBuilder::start`]. It sits above the server, which reads only the plain
//! [`Config`] it is given.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{Config, JobTimings};
use crate::faults::FaultRule;
use crate::server::Sandbox;

impl Sandbox {
    /// A builder with the defaults: 127.0.0.1 on a free port, API key `sandbox-key`.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
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

    /// Whether responses carry the `X-RateLimit-Limit`, `-Remaining` and `-Reset` headers, and
    /// the limiter's 429s `Retry-After` (default `true`, as the API does). Both are in whole
    /// seconds, so a window shorter than a minute, as a bench compressing time uses, makes them
    /// wrong by up to a whole window: turn them off there, and clients pace themselves alone.
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

    /// Binds the address and serves until the returned [`Sandbox`] is dropped or shut down.
    ///
    /// # Errors
    ///
    /// The address cannot be bound (in use, or not an address of this machine).
    pub async fn start(self) -> std::io::Result<Sandbox> {
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
