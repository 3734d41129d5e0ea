//! The command-line flags of `invaro-sandbox` (and `invaro sandbox`), and serving until Ctrl-C.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::builder::SandboxBuilder;
use crate::config::{DEFAULT_API_KEY, DEFAULT_FAIL_MARKER, JobTimings};
use crate::faults::FaultRule;
use crate::server::Sandbox;

/// The sandbox's flags, shared by the `invaro-sandbox` binary and the `invaro sandbox` command.
#[derive(Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// API key to accept; repeat for several [default: sandbox-key].
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_keys: Vec<String>,

    /// Milliseconds a job stays pending.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub pending_ms: u64,

    /// Milliseconds a job then stays processing.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub processing_ms: u64,

    /// Transactions in each bank statement result.
    #[arg(long, value_name = "COUNT", default_value_t = 40)]
    pub transactions: usize,

    /// Requests allowed per key in each rate-limit window.
    #[arg(long, value_name = "COUNT", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,

    /// Length of the rate-limit window, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_window_secs: u64,

    /// Jobs of files whose name contains this text fail.
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_FAIL_MARKER)]
    pub fail_marker: String,

    /// Answer GET /parse/invoices/{job_id} without the {success, data} envelope, as the
    /// reference page documents (default: enveloped, as real clients expect).
    #[arg(long)]
    pub invoice_status_bare: bool,

    /// Most megabytes (MiB) of uploaded files held at once; uploads beyond get 507.
    #[arg(long, value_name = "MB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub max_storage_mb: u64,

    /// Seconds a client has to send a request's header; idle connections close after as long.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a request's body; later bodies get 408.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub body_timeout_secs: u64,

    /// Seconds a client may take none of an answer before its connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub write_timeout_secs: u64,

    /// Seconds Ctrl-C waits for requests in flight before closing their connections.
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub shutdown_grace_secs: u64,

    /// Also deliver webhooks to this host (only loopback by default); repeat for several, `*`
    /// for any.
    #[arg(long = "webhook-allow-host", value_name = "HOST")]
    pub webhook_allow_hosts: Vec<String>,

    /// Secret that signs webhook deliveries [default: sandbox-webhook-secret].
    #[arg(long, value_name = "SECRET")]
    pub webhook_secret: Option<String>,

    /// Share of requests (0.0 to 1.0) answered with 500, 503 or 429.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub fault_rate: f64,

    /// Share of requests whose connection is dropped.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub fault_drop_rate: f64,

    /// Share of GET responses whose JSON body is cut short.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub fault_truncate_rate: f64,

    /// Milliseconds of latency added to every request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub fault_latency_ms: u64,

    /// Limit faults to an operationId (e.g. processInvoices) or a path prefix (e.g. /files).
    #[arg(long, value_name = "ROUTE")]
    pub fault_route: Option<String>,

    /// Seed of the fault decisions, to reproduce a run.
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub fault_seed: u64,
}

impl fmt::Debug for SandboxArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // API keys and the webhook secret stay out of Debug output.
        f.debug_struct("SandboxArgs")
            .field("addr", &self.addr)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field("pending_ms", &self.pending_ms)
            .field("processing_ms", &self.processing_ms)
            .field("fault_seed", &self.fault_seed)
            .finish_non_exhaustive()
    }
}

impl SandboxArgs {
    /// The builder these flags describe.
    pub fn into_builder(self) -> SandboxBuilder {
        let mut builder = Sandbox::builder()
            .addr(self.addr)
            .job_timings(JobTimings {
                pending: Duration::from_millis(self.pending_ms),
                processing: Duration::from_millis(self.processing_ms),
            })
            .statement_transactions(self.transactions)
            .rate_limit(self.rate_limit, Duration::from_secs(self.rate_window_secs))
            .fail_marker(self.fail_marker)
            .invoice_status_bare(self.invoice_status_bare)
            .max_storage_bytes(mib(self.max_storage_mb))
            .header_timeout(Duration::from_secs(self.header_timeout_secs))
            .body_timeout(Duration::from_secs(self.body_timeout_secs))
            .write_timeout(Duration::from_secs(self.write_timeout_secs))
            .shutdown_grace(Duration::from_secs(self.shutdown_grace_secs))
            .fault_seed(self.fault_seed);
        for key in self.api_keys {
            builder = builder.api_key(key);
        }
        for host in self.webhook_allow_hosts {
            builder = builder.webhook_allow_host(host);
        }
        if let Some(secret) = self.webhook_secret {
            builder = builder.webhook_secret(secret);
        }
        let rules = [
            (FaultRule::errors(), self.fault_rate),
            (FaultRule::drop_connection(), self.fault_drop_rate),
            (FaultRule::truncate(), self.fault_truncate_rate),
            (
                FaultRule::latency(Duration::from_millis(self.fault_latency_ms)),
                f64::from(u8::from(self.fault_latency_ms > 0)),
            ),
        ];
        for (rule, rate) in rules.into_iter().filter(|(_, rate)| *rate > 0.0) {
            let rule = rule.rate(rate);
            builder = builder.fault(match &self.fault_route {
                Some(route) => rule.on(route),
                None => rule,
            });
        }
        builder
    }
}

/// `mb` mebibytes in bytes, saturating where `usize` is small.
fn mib(mb: u64) -> usize {
    usize::try_from(mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

/// Parses a share of requests: a number from 0.0 to 1.0.
fn share(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|share| (0.0..=1.0).contains(share))
        .ok_or_else(|| format!("`{text}` is not a share from 0.0 to 1.0"))
}

/// Serves with `args` until Ctrl-C, then shuts down gracefully. Requests are logged through
/// `tracing` (see [`init_logging`]).
pub async fn serve(args: SandboxArgs) -> std::io::Result<()> {
    let default_key = args.api_keys.is_empty();
    let handle = args.into_builder().start().await?;
    println!("Invaro sandbox listening on {}", handle.base_url());
    if default_key {
        println!("API key: {DEFAULT_API_KEY}");
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await
}

/// Prints `tracing` events (one line per request) to stderr, filtered by `RUST_LOG`
/// (default `info`). Does nothing when a subscriber is already installed.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_parse_with_documented_defaults() {
        let cli = Cli::try_parse_from(["invaro-sandbox"]).expect("no flag is required");
        assert_eq!(cli.args.addr, "127.0.0.1:8080".parse().expect("an address"));
        assert!(cli.args.api_keys.is_empty());
        assert!(!cli.args.invoice_status_bare, "enveloped by default");
        assert!(
            cli.args.webhook_allow_hosts.is_empty(),
            "loopback only by default"
        );
        assert_eq!(
            mib(cli.args.max_storage_mb),
            crate::config::DEFAULT_MAX_STORAGE_BYTES
        );
        let cli = Cli::try_parse_from([
            "invaro-sandbox",
            "--api-key",
            "k1",
            "--api-key",
            "k2",
            "--fault-rate",
            "0.5",
            "--fault-route",
            "processInvoices",
        ])
        .expect("valid flags");
        assert_eq!(cli.args.api_keys, ["k1", "k2"]);
        let debug = format!("{:?}", cli.args);
        assert!(
            !debug.contains("k1") && debug.contains("redacted"),
            "{debug}"
        );
        for bad in [
            ["--addr", "nowhere"],
            ["--fault-rate", "1.5"],
            ["--fault-drop-rate", "-0.1"],
            ["--rate-limit", "0"],
            ["--max-storage-mb", "0"],
            ["--body-timeout-secs", "0"],
        ] {
            let args = std::iter::once("invaro-sandbox").chain(bad);
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }
}
