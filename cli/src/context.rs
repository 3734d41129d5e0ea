//! What every command shares: how to reach the API, where output goes, and whether Ctrl-C
//! was pressed.

use std::time::Duration;

use invaro::{Client, ClientBuilder, PollPolicy, RateLimit};
use tokio::sync::watch;

use crate::exit::{Exit, Failure};
use crate::progress::Progress;
use crate::stdout::Output;

/// How to reach the API, from the global options and the environment.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `--api-key`, else `INVARO_API_KEY`.
    pub api_key: Option<String>,
    /// `--base-url`, else `INVARO_BASE_URL`.
    pub base_url: Option<String>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<Duration>,
    /// `--read-timeout`.
    pub read_timeout: Option<Duration>,
    /// Fixed milliseconds between status checks (hidden, for tests and the demo).
    pub poll_ms: Option<u64>,
    /// `--rate-limit`, else `INVARO_RATE_LIMIT`: requests per minute.
    pub rate_limit: Option<u32>,
    /// The window `rate_limit` counts in (hidden `--rate-window`, for tests); default a minute.
    pub rate_window: Option<Duration>,
    /// `--redis`, else `INVARO_REDIS_URL`: the budget shared with other processes (its
    /// password redacted in `Debug`).
    pub shared_limit: Option<invaro::SharedLimit>,
}

/// The shared state of one command.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// How to reach the API.
    pub connection: Connection,
    /// Where results go.
    pub out: Output,
    /// Where progress goes.
    pub progress: Progress,
    /// Ctrl-C.
    pub interrupt: Interrupt,
    /// `--verbose`: long runs also show the rate budget once a second.
    pub verbose: bool,
}

impl Ctx {
    /// A client for the API. Commands enforce their own deadline over all their jobs, counted
    /// from when they started, so the client's own per-wait deadline is set beyond reach: two
    /// deadlines due at once would race to report.
    pub fn client(&self) -> Result<Client, Failure> {
        Ok(self.watching(self.builder()?.build()?))
    }

    /// `client`, its budget shown once a second with `--verbose`.
    pub fn watching(&self, client: Client) -> Client {
        if self.verbose {
            crate::budget::watch(&client, &self.progress);
        }
        client
    }

    /// The settings of [`client`](Self::client), to add to.
    pub fn builder(&self) -> Result<ClientBuilder, Failure> {
        let key =
            self.connection.api_key.clone().ok_or_else(|| {
                Failure::usage("no API key: pass --api-key or set INVARO_API_KEY")
            })?;
        let mut poll = PollPolicy::default().deadline(Duration::MAX);
        if let Some(ms) = self.connection.poll_ms {
            let every = Duration::from_millis(ms.max(1));
            poll = poll.first_check(every).max_interval(every);
        }
        let mut builder = Client::builder().api_key(key).poll(poll);
        if let Some(url) = &self.connection.base_url {
            builder = builder.base_url(url);
        }
        if let Some(timeout) = self.connection.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = self.connection.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        let window = self.connection.rate_window;
        if self.connection.rate_limit.is_some() || window.is_some() {
            let limit = self.connection.rate_limit.unwrap_or(60);
            let window = window.unwrap_or(Duration::from_secs(60));
            builder = builder.rate_limit(RateLimit::new(limit, window));
        }
        if let Some(shared) = &self.connection.shared_limit {
            builder = builder.shared_limit(shared.clone());
        }
        Ok(builder)
    }

    /// Runs `work`, or stops at Ctrl-C: for commands with nothing to report when cut short.
    pub async fn interruptible(
        &self,
        work: impl Future<Output = Result<(), Failure>>,
    ) -> Result<(), Failure> {
        tokio::select! {
            result = work => result,
            () = self.interrupt.wait() => Err(Failure::new(Exit::Interrupted, "interrupted")),
        }
    }
}

/// Whether Ctrl-C was pressed: every clone sees the same press.
#[derive(Clone, Debug)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// Listens for Ctrl-C from now on (call inside the runtime, before any work starts).
    pub fn listen() -> Self {
        let (pressed, receiver) = watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = pressed.send(true);
            }
            // Keep the sender, so waiters see the press rather than a closed channel.
            std::future::pending::<()>().await;
        });
        Self(receiver)
    }

    /// Resolves once Ctrl-C has been pressed.
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|pressed| *pressed).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
