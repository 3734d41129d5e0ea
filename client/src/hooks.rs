//! What happens around every call, generated or hand-written: authentication, the shared rate
//! limiter, retries, per-attempt timeouts and tracing.
//!
//! progenitor gives the generated `Client` an inner value of type [`Hooks`] and calls the
//! [`ClientHooks`] methods implemented here for every operation; the hand-written uploads call
//! `Hooks::send` directly, so both go through the same code.

use std::{cell::Cell, fmt, sync::Arc, time::Duration};

use backon::Retryable;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    Method, Request, Response, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT},
};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    Config, Error, generated,
    rate_limit::Limiter,
    retry::{Failure, RetryPolicy},
};

tokio::task_local! {
    /// The status of the last response of the call running in this task, for errors that
    /// progenitor reports without it (a body that does not decode).
    static LAST_STATUS: Cell<Option<StatusCode>>;
}

/// The state every call shares: one per [`crate::Client`], cloned cheaply.
#[derive(Clone)]
pub struct Hooks(Arc<Shared>);

struct Shared {
    authorization: HeaderValue,
    user_agent: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
    limiter: Limiter,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorization", &"Bearer [REDACTED]")
            .field("timeout", &self.0.timeout)
            .field("retry", &self.0.retry)
            .field("limiter", &self.0.limiter)
            .finish()
    }
}

impl Hooks {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let bearer = format!("Bearer {}", config.api_key.expose_secret());
        let mut authorization = HeaderValue::from_str(&bearer)
            .map_err(|_| Error::invalid("api_key", "must be printable ASCII"))?;
        // Marked sensitive so that HTTP-level logging never prints it.
        authorization.set_sensitive(true);
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::invalid("user_agent", "must be printable ASCII"))?;
        Ok(Self(Arc::new(Shared {
            authorization,
            user_agent,
            timeout: config.timeout,
            retry: config.retry.clone(),
            limiter: Limiter::new(config.rate_limit),
        })))
    }

    /// Adds the headers every call carries.
    pub(crate) fn prepare(&self, request: &mut Request) {
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.0.authorization.clone());
        headers.insert(USER_AGENT, self.0.user_agent.clone());
        *request.timeout_mut() = Some(self.0.timeout);
    }

    /// Sends the request `make` builds, again on retryable failures: every attempt waits for
    /// the rate limiter (where it counts as `cost` requests), and is built anew (so a file
    /// upload re-opens its files).
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        operation: &'static str,
        cost: u32,
        make: impl Fn() -> Request,
    ) -> reqwest::Result<Response> {
        let first = make();
        let method = first.method().clone();
        let started = Instant::now();
        let attempt = Cell::new(0u32);
        let first = Cell::new(Some(first));
        let hooks = self;
        let once = move || {
            attempt.set(attempt.get() + 1);
            let request = first.take().unwrap_or_else(&make);
            hooks.attempt(http, operation, cost, attempt.get(), request)
        };
        let result = once
            .retry(self.0.retry.backoff())
            .sleep(tokio::time::sleep)
            .when(|failure| failure.is_retryable(&method))
            .adjust(|failure, backoff| {
                self.0
                    .retry
                    .next_wait(backoff, failure.server_delay(), started.elapsed())
            })
            .notify(|failure, wait| {
                tracing::debug!(operation, ?wait, failure = %describe(failure), "retrying");
            })
            .await;
        match result {
            Ok(response) | Err(Failure::Status(response)) => Ok(response),
            Err(Failure::Transport(e)) => Err(e),
        }
    }

    /// One attempt: a permit, the request, and what the response teaches the limiter.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        operation: &'static str,
        cost: u32,
        attempt: u32,
        request: Request,
    ) -> Result<Response, Failure> {
        let span = tracing::info_span!(
            "invaro.attempt",
            operation,
            attempt,
            status = tracing::field::Empty,
            limiter_wait_ms = tracing::field::Empty,
        );
        async {
            let waited = Instant::now();
            // Held until the answer is in: the limiter counts from when requests finish.
            let _permit = self.0.limiter.acquire(cost).await;
            let waited = waited.elapsed().as_millis() as u64;
            tracing::Span::current().record("limiter_wait_ms", waited);
            let idempotent = request.method() != Method::POST;
            let response = http.execute(request).await.map_err(Failure::Transport)?;
            // Reading a JSON body here, inside the attempt, lets a connection that dies
            // mid-body be retried like any other transport failure (progenitor reads the
            // whole body anyway). Downloads stay streamed.
            let response = if idempotent && is_json(&response) {
                buffered(response).await.map_err(Failure::Transport)?
            } else {
                response
            };
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            self.0.limiter.observe(response.headers());
            let _ = LAST_STATUS.try_with(|last| last.set(Some(status)));
            if crate::retry::is_retryable_status(status) {
                return Err(Failure::Status(response));
            }
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// What a request counts as against the API's rate limit: each document of a batch is one
/// request; everything else is one.
fn documents_in_batch(operation: &str, request: &Request) -> u32 {
    if !operation.ends_with("_batch") {
        return 1;
    }
    #[derive(serde::Deserialize)]
    struct Batch {
        files: Vec<serde::de::IgnoredAny>,
    }
    request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .and_then(|body| serde_json::from_slice::<Batch>(body).ok())
        .map_or(1, |batch| batch.files.len().max(1) as u32)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// The same response with its body read into memory.
async fn buffered(response: Response) -> reqwest::Result<Response> {
    let mut builder = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = builder.headers_mut() {
        headers.extend(response.headers().clone());
    }
    let body = response.bytes().await?;
    Ok(builder
        .body(body)
        .expect("status, version and headers come from a valid response")
        .into())
}

fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Status(response) => response.status().to_string(),
        Failure::Transport(e) => e.to_string(),
    }
}

/// Runs one generated call, turning its error into an [`Error`] that knows the response status.
pub(crate) async fn call<T, F>(future: F) -> Result<T, Error>
where
    F: Future<
        Output = Result<
            progenitor_client::ResponseValue<T>,
            progenitor_client::Error<generated::types::ErrorEnvelope>,
        >,
    >,
{
    let (result, status) = LAST_STATUS
        .scope(Cell::new(None), async {
            let result = future.await;
            (result, LAST_STATUS.with(Cell::get))
        })
        .await;
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(e) => Err(Error::from_generated(e, status).await),
    }
}

impl ClientHooks<Hooks> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner().prepare(request);
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        if request.body().is_some_and(|body| body.as_bytes().is_none()) {
            // A streamed body cannot be sent twice; generated calls only stream nothing.
            return self.client().execute(request).await;
        }
        let cost = documents_in_batch(info.operation_id, &request);
        let make = || request.try_clone().expect("a body in memory can be cloned");
        self.inner()
            .send(self.client(), info.operation_id, cost, make)
            .await
    }
}
