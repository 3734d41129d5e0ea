//! Receiving webhook deliveries: a tower service to mount in your own server, and a small
//! standalone [`Listener`] for scripts and the CLI.
//!
//! A [`Receiver`] verifies each delivery with a [`Verifier`], answers 204 to a genuine one, 401
//! to a missing or wrong signature and 400 to a signed body that is no event, and tells every
//! client attached to it ([`crate::ClientBuilder::webhooks`]): a `job.completed` or
//! `job.failed` ends the matching waits at once (after one status check for the full record),
//! and polling slows to the safety net ([`crate::PollPolicy::safety_net`]) that catches a lost
//! delivery.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
    routing::{MethodRouter, post},
};
use tokio::sync::broadcast;

use super::{EventKind, Verifier, WebhookError, WebhookEvent};
use crate::scheduler::{Scheduler, WeakScheduler};

/// How many verified events a slow [`Receiver::subscribe`]r may lag behind before it misses some.
const EVENT_BACKLOG: usize = 1024;

/// Verifies deliveries and hands their events to the attached clients. Cheap to clone.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use invaro::webhook::{Receiver, Verifier};
///
/// let receiver = Receiver::new(Verifier::new("whsec_current")?);
/// let client = invaro::Client::builder()
///     .api_key("sk_test_123")
///     .webhooks(&receiver, "https://example.com/hooks/invaro")
///     .build()?;
/// // Mount it in your own axum server:
/// let app: axum::Router = axum::Router::new().route("/hooks/invaro", receiver.service());
/// # let _ = (client, app);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Receiver {
    shared: Arc<ReceiverState>,
}

/// What every clone of a [`Receiver`] shares.
#[derive(Debug)]
struct ReceiverState {
    verifier: Verifier,
    schedulers: Mutex<Vec<WeakScheduler>>,
    events: broadcast::Sender<WebhookEvent>,
}

impl Receiver {
    /// A receiver that accepts deliveries `verifier` vouches for.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            shared: Arc::new(ReceiverState {
                verifier,
                schedulers: Mutex::default(),
                events: broadcast::channel(EVENT_BACKLOG).0,
            }),
        }
    }

    /// The service that takes deliveries (`POST`, the raw body and its `X-Signature`), for
    /// `axum::Router::route` or any tower stack.
    pub fn service(&self) -> MethodRouter {
        let receiver = self.clone();
        post(move |headers: HeaderMap, body: Bytes| {
            let receiver = receiver.clone();
            async move { receiver.answer(&headers, &body) }
        })
    }

    /// Verified events as they arrive, for code that wants them beside the waits.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use invaro::webhook::{Receiver, Verifier};
    /// let receiver = Receiver::new(Verifier::new("whsec_current")?);
    /// let mut events = receiver.subscribe();
    /// tokio::spawn(async move {
    ///     while let Ok(event) = events.recv().await {
    ///         println!("{} {}", event.job_id, event.event);
    ///     }
    /// });
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self) -> broadcast::Receiver<WebhookEvent> {
        self.shared.events.subscribe()
    }

    /// Checks one delivery and, if genuine, hands its event on. For servers other than axum.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`]: the delivery is not genuine, or not an event.
    pub fn receive(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        let event = self.shared.verifier.verify_headers(headers, raw_body)?;
        let terminal = matches!(event.event, EventKind::JobCompleted | EventKind::JobFailed);
        let progress = event
            .extra
            .get("progress")
            .and_then(serde_json::Value::as_f64);
        self.schedulers().retain(|weak| match weak.upgrade() {
            Some(scheduler) => {
                scheduler.push(&event.job_id, progress, terminal);
                true
            }
            None => false,
        });
        // Nobody subscribed is fine: the waits were told above.
        let _ = self.shared.events.send(event.clone());
        Ok(event)
    }

    fn answer(&self, headers: &HeaderMap, body: &[u8]) -> StatusCode {
        match self.receive(headers, body) {
            Ok(event) => {
                tracing::debug!(job_id = %event.job_id, event = event.event.as_str(), "webhook received");
                StatusCode::NO_CONTENT
            }
            Err(WebhookError::Decode { message }) => {
                tracing::warn!(%message, "signed webhook body is not an event");
                StatusCode::BAD_REQUEST
            }
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery refused");
                StatusCode::UNAUTHORIZED
            }
        }
    }

    /// Tells `scheduler` of every verified event from now on.
    pub(crate) fn attach(&self, scheduler: &Scheduler) {
        self.schedulers().push(scheduler.downgrade());
    }

    fn schedulers(&self) -> std::sync::MutexGuard<'_, Vec<WeakScheduler>> {
        // A list of weak references: a panic elsewhere cannot leave it inconsistent.
        self.shared
            .schedulers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A standalone HTTP server for a [`Receiver`]: takes deliveries on every path of its
/// address until dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use invaro::webhook::{Listener, Receiver, Verifier};
///
/// let receiver = Receiver::new(Verifier::new(std::env::var("INVARO_WEBHOOK_SECRET")?)?);
/// let listener = Listener::bind("127.0.0.1:8787", receiver.clone()).await?;
/// let client = invaro::Client::builder()
///     .api_key(std::env::var("INVARO_API_KEY")?)
///     .webhooks(&receiver, listener.url())
///     .build()?;
/// let parsed = client.parse_file("invoice.pdf", invaro::DocumentKind::Invoice).await?;
/// # let _ = parsed;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Listens on `addr` (port 0 picks a free one).
    ///
    /// # Errors
    ///
    /// The system's error when `addr` cannot be bound.
    pub async fn bind(
        addr: impl tokio::net::ToSocketAddrs,
        receiver: Receiver,
    ) -> std::io::Result<Self> {
        let socket = tokio::net::TcpListener::bind(addr).await?;
        let addr = socket.local_addr()?;
        let app = axum::Router::new().fallback_service(receiver.service());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(socket, app).await {
                tracing::warn!(error = %e, "webhook listener stopped");
            }
        });
        Ok(Self { addr, server })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<address>/`: the callback URL when the API can reach this address directly.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.server.abort();
    }
}
