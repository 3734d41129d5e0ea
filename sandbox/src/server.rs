//! Binding, serving, and the handle that reports on the running sandbox and stops it.
//!
//! Connections are served by hyper directly (not `axum::serve`) for its header read timeout; the
//! body timeout is a layer of the router, and a client that stops reading its answer is dropped
//! by [`WriteDeadline`]. A shutdown stops accepting, lets requests in flight
//! finish for the configured grace, then closes every connection still open, so it always ends.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::routes::{self, API_PREFIX};
use crate::state::{AppState, Holdings, JobSummary, SandboxState, Stats};

/// The local Invaro API, running: [`Sandbox::builder`] configures one and
/// [`SandboxBuilder::start`](crate::SandboxBuilder::start) starts it. Dropping it starts a
/// graceful shutdown; [`Sandbox::shutdown`] also waits for it to finish.
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    state: AppState,
    shutdown: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

pub(crate) async fn start(config: Config) -> io::Result<Sandbox> {
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
    let state = Arc::new(SandboxState::new(
        config,
        base_url.clone(),
        shutdown.clone(),
    ));
    let app = routes::router(state.clone());
    let task = tokio::spawn(serve(listener, app, state.clone()));
    Ok(Sandbox {
        addr,
        base_url,
        state,
        shutdown,
        task: Some(task),
    })
}

/// Accepts connections until shutdown, then lets them finish within the grace period.
async fn serve(listener: TcpListener, app: Router, state: AppState) -> io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, app.clone(), state.clone()));
                }
                Err(error) => {
                    // Out of file descriptors, usually: wait for connections to close.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reaps finished connections, so the set holds only open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let grace = state.config.timeouts.shutdown;
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "closing connections still open after the shutdown grace"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one connection: HTTP/1.1 with the header timeout, until it closes or shutdown asks
/// it to finish its request in flight.
async fn connection(stream: TcpStream, app: Router, state: AppState) {
    let _open = OpenConnection::new(state.clone());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.timeouts.header);
    let stream = WriteDeadline::new(stream, state.config.timeouts.write_stall);
    let served = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(served);
    let result = tokio::select! {
        result = served.as_mut() => result,
        () = state.shutdown.cancelled() => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// A connection whose writes fail once the client has taken nothing for `limit`: a client that
/// stops reading its answer is let go like one that stops sending its request.
struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Armed while a write waits for the client, cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(stream: TcpStream, limit: Duration) -> Self {
        Self {
            stream,
            limit,
            stalled: None,
        }
    }

    /// `attempt`'s outcome, or a timeout error once writes have been waiting for `limit`.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        attempt: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if attempt.is_ready() {
            self.stalled = None;
            return attempt;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took none of the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.guard(cx, attempt)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.guard(cx, attempt)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_flush(cx);
        this.guard(cx, attempt)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Counts a connection as open for as long as it lives, also when its task is aborted.
struct OpenConnection(AppState);

impl OpenConnection {
    fn new(state: AppState) -> Self {
        state.connections.fetch_add(1, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Sandbox {
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

    /// What the sandbox holds now: uploaded bytes, records, open connections.
    pub fn holdings(&self) -> Holdings {
        self.state.holdings()
    }

    /// Every job created so far, in creation order, with its status now.
    pub fn jobs(&self) -> Vec<JobSummary> {
        self.state.job_summaries()
    }

    /// Stops accepting requests, lets those in flight finish within the shutdown grace (then
    /// closes their connections), and waits until the server is done.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key and webhook secret stay out of Debug output.
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}
