//! Binding, serving, and the handle that reports on the running sandbox and stops it.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, SandboxBuilder};
use crate::routes::{self, API_PREFIX};
use crate::state::{AppState, JobSummary, Shared, Stats};

/// The local Invaro API; start one with [`Sandbox::builder`].
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// A builder with the defaults: 127.0.0.1 on a free port, API key `sandbox-key`.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }
}

/// A running sandbox. Dropping it starts a graceful shutdown; [`SandboxHandle::shutdown`] also
/// waits for it to finish.
pub struct SandboxHandle {
    addr: SocketAddr,
    base_url: String,
    state: AppState,
    shutdown: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

pub(crate) async fn start(config: Config) -> io::Result<SandboxHandle> {
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    // A wildcard bind is reachable on loopback, which is what a URL for clients needs.
    let reachable = if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    };
    let base_url = format!("http://{reachable}{API_PREFIX}");
    let shutdown = CancellationToken::new();
    let state = Arc::new(Shared::new(config, base_url.clone(), shutdown.clone()));
    let app = routes::router(state.clone());
    let signal = shutdown.clone().cancelled_owned();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
    });
    Ok(SandboxHandle {
        addr,
        base_url,
        state,
        shutdown,
        task: Some(task),
    })
}

impl SandboxHandle {
    /// The base URL clients use, for example `http://127.0.0.1:41234/api/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the sandbox is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An API key the sandbox accepts (the first configured one).
    pub fn api_key(&self) -> &str {
        self.state
            .config
            .api_keys
            .first()
            .map_or("", String::as_str)
    }

    /// The secret webhook deliveries are signed with.
    pub fn webhook_secret(&self) -> &str {
        &self.state.config.webhooks.secret
    }

    /// A snapshot of the counters: requests, responses by status, faults, jobs, webhooks.
    pub fn stats(&self) -> Stats {
        self.state.stats().clone()
    }

    /// Every job created so far, in creation order, with its status now.
    pub fn jobs(&self) -> Vec<JobSummary> {
        self.state.job_summaries()
    }

    /// Stops accepting requests, lets those in flight finish, and waits until the server is done.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key and webhook secret stay out of Debug output.
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}
