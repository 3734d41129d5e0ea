//! What happens around every call, generated or hand-written: authentication, the shared rate
//! limiter, retries, reading bodies whole and bounded, and tracing.
//!
//! progenitor gives the generated `Client` an inner value of type [`Transport`] and calls the
//! `ClientHooks` methods of [`hooks`] for every operation; the hand-written uploads call
//! `Transport::send` directly, so both go through the same code and the same retry classifier
//! (`retry::may_resend`). This module knows nothing of the generated code (which names it);
//! [`hooks`], above both, joins them.

use std::{cell::Cell, fmt, sync::Arc};

use bytes::{Bytes, BytesMut};
use reqwest::{
    Method, Request, Response, ResponseBuilderExt, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT},
};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::Attempted;
use crate::{Config, Error, MAX_FILE_BYTES};

pub(crate) mod exact_numbers;
pub(crate) mod hooks;
pub(crate) mod rate_limit;
pub(crate) mod retry;
#[cfg(feature = "redis")]
pub(crate) mod shared_limit;

use rate_limit::Limiter;
use retry::Delivery;

pub use rate_limit::{MAX_SERVER_WINDOW, RateLimit};
pub use retry::RetryPolicy;
#[cfg(feature = "redis")]
pub use shared_limit::SharedLimit;

/// The largest response body read: a downloaded document is at most [`MAX_FILE_BYTES`], and
/// no JSON answer of the API comes near this.
const MAX_BODY_BYTES: u64 = 4 * MAX_FILE_BYTES;

tokio::task_local! {
    /// What the transport saw of the last attempt of the call running in this task, for the
    /// errors that progenitor reports without it (a body that does not decode).
    static LAST_ATTEMPT: Cell<Attempted>;
    /// A permit the wait scheduler already took for the call running in this task: its first
    /// attempt uses it instead of queueing again.
    static PREPAID: Cell<Option<rate_limit::Permit>>;
    /// The caller's own deadline, for calls that wait out 429s until then (a batch, the CLI)
    /// instead of giving up with the retry policy.
    static PATIENT_UNTIL: Instant;
}

/// Runs `call` so that a 429 never ends one of its requests before `deadline`: each refusal
/// holds the whole client until the server's reset, then the request goes again. Without it, a
/// call gives up on 429s as its [`RetryPolicy`] says.
pub(crate) async fn patient_until<T>(deadline: Instant, call: impl Future<Output = T>) -> T {
    PATIENT_UNTIL.scope(deadline, call).await
}

/// Runs `call` with `permit` already taken for its first attempt.
pub(crate) async fn with_permit<T>(permit: rate_limit::Permit, call: impl Future<Output = T>) -> T {
    PREPAID.scope(Cell::new(Some(permit)), call).await
}

/// The state every call shares: one per [`crate::Client`], cloned cheaply.
#[derive(Clone)]
pub struct Transport(Arc<TransportState>);

/// What every call of one client uses: its headers, retry policy, rate limiter and timeouts.
struct TransportState {
    authorization: HeaderValue,
    user_agent: HeaderValue,
    retry: RetryPolicy,
    limiter: Limiter,
    read_timeout: std::time::Duration,
    /// The HTTP client for uploads: one without a read timeout, whose clock would otherwise
    /// run while a large body is still being sent.
    uploads: reqwest::Client,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("authorization", &"Bearer [REDACTED]")
            .field("retry", &self.0.retry)
            .field("limiter", &self.0.limiter)
            .finish()
    }
}

impl Transport {
    pub(crate) fn new(config: &Config, uploads: reqwest::Client) -> Result<Self, Error> {
        let bearer = format!("Bearer {}", config.api_key.expose_secret());
        let mut authorization = HeaderValue::from_str(&bearer)
            .map_err(|_| Error::invalid("api_key", "must be printable ASCII"))?;
        // Marked sensitive so that HTTP-level logging never prints it.
        authorization.set_sensitive(true);
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::invalid("user_agent", "must be printable ASCII"))?;
        Ok(Self(Arc::new(TransportState {
            authorization,
            user_agent,
            retry: config.retry.clone(),
            limiter: limiter(config)?,
            read_timeout: config.read_timeout,
            uploads,
        })))
    }

    /// The HTTP client uploads are sent with.
    pub(crate) fn uploads(&self) -> &reqwest::Client {
        &self.0.uploads
    }

    /// The rate limiter every call of this client shares.
    pub(crate) fn limiter(&self) -> &Limiter {
        &self.0.limiter
    }

    /// The configured read timeout (uploads build their own ceiling from it).
    pub(crate) fn read_timeout(&self) -> std::time::Duration {
        self.0.read_timeout
    }

    /// Adds the headers every call carries.
    pub(crate) fn prepare(&self, request: &mut Request) {
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.0.authorization.clone());
        headers.insert(USER_AGENT, self.0.user_agent.clone());
        // A view's extra headers (never one of the two above: `CallOptions` refuses those).
        crate::options::add_headers(headers);
    }

    /// Sends the request `make` builds, again while the retry classifier allows: every attempt
    /// waits for the rate limiter (where it counts as `cost` requests), and is built anew (so a
    /// file upload re-opens its files). Any status comes back as a response; only a failure
    /// with no response at all is an error. A response that says an earlier attempt already
    /// did the work carries [`DoneByEarlierAttempt`].
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        operation: &'static str,
        cost: u32,
        make: impl Fn() -> Request,
    ) -> reqwest::Result<Response> {
        let first = make();
        let method = first.method().clone();
        let mut next = Some(first);
        let repeat_safe = retry::repeat_safe(&method);
        record(|last| last.repeat_safe = repeat_safe);
        let started = Instant::now();
        // A view's policy for this call, else the client's.
        let policy = crate::options::retry();
        let retry = policy.as_ref().unwrap_or(&self.0.retry);
        let mut backoff = retry.backoff();
        // Whether an attempt that failed may still have done the work on the server.
        let mut earlier_arrived = false;
        let mut attempt = 0;
        // 429s in a row: they hold the client and do not use up attempts.
        let mut refusals = 0;
        let patient_until = PATIENT_UNTIL.try_with(|deadline| *deadline).ok();
        let failure = loop {
            attempt += 1;
            let request = next.take().unwrap_or_else(&make);
            let failure = match self
                .attempt(http, retry, operation, cost, attempt, request)
                .await
            {
                Ok(mut response) if earlier_arrived && already_done(&method, response.status()) => {
                    tracing::debug!(operation, status = %response.status(), "an earlier attempt did the work");
                    response.extensions_mut().insert(DoneByEarlierAttempt);
                    return Ok(response);
                }
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let delivery = failure.delivery();
            earlier_arrived |= delivery.may_have_arrived();
            if !retry::may_resend(repeat_safe, delivery) {
                break failure;
            }
            let (server, elapsed) = (failure.server_delay(), started.elapsed());
            let wait = match (delivery, patient_until) {
                // A 429 said nothing was done: the whole client stays away until the server's
                // reset, and the call goes again, until the caller's own deadline.
                (Delivery::Status(StatusCode::TOO_MANY_REQUESTS), Some(deadline)) => {
                    let wait = retry.throttle_wait(refusals, server);
                    refusals = refusals.saturating_add(1);
                    if Instant::now()
                        .checked_add(wait)
                        .is_none_or(|end| end > deadline)
                    {
                        break failure;
                    }
                    Some(wait)
                }
                (Delivery::Status(StatusCode::TOO_MANY_REQUESTS), None) => {
                    let wait = retry.next_wait(backoff.next(), server, elapsed);
                    refusals = refusals.saturating_add(1);
                    wait
                }
                _ => {
                    refusals = 0;
                    retry.next_wait(backoff.next(), server, elapsed)
                }
            };
            let Some(wait) = wait else {
                if refusals > 0 {
                    // This call gives up (its policy allows no more), but the server's word
                    // still holds every call of the client.
                    self.0
                        .limiter
                        .hold(retry.throttle_wait(refusals - 1, server));
                }
                break failure;
            };
            if refusals > 0 {
                // Every call of this client waits with this one, not just the one refused.
                self.0.limiter.hold(wait);
            }
            tracing::debug!(operation, ?wait, failure = %failure.describe(), "retrying");
            crate::metrics::retry(operation);
            tokio::time::sleep(wait).await;
        };
        match failure {
            FailedAttempt::Status(response) => Ok(response),
            FailedAttempt::Transport(e) => Err(e),
        }
    }

    /// One attempt: a permit, the request, its whole body, and what the response teaches the
    /// limiter. Traced in an `invaro.attempt` span.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        retry: &RetryPolicy,
        operation: &'static str,
        cost: u32,
        attempt: u32,
        request: Request,
    ) -> Result<Response, FailedAttempt> {
        let span = tracing::info_span!(
            "invaro.attempt",
            operation,
            attempt,
            status = tracing::field::Empty,
            limiter_wait_ms = tracing::field::Empty,
        );
        let result = self
            .exchange(http, retry, cost, request, &span)
            .instrument(span.clone())
            .await;
        let status = match &result {
            Ok(response) | Err(FailedAttempt::Status(response)) => Some(response.status()),
            Err(FailedAttempt::Transport(_)) => None,
        };
        crate::metrics::request(operation, status);
        result
    }

    /// The work of [`attempt`](Self::attempt), recording what it learns in `span`.
    async fn exchange(
        &self,
        http: &reqwest::Client,
        retry: &RetryPolicy,
        cost: u32,
        request: Request,
        span: &tracing::Span,
    ) -> Result<Response, FailedAttempt> {
        let waited = Instant::now();
        // Held until the answer is in: the limiter counts from when requests finish.
        let _permit = match PREPAID.try_with(Cell::take) {
            Ok(Some(permit)) => permit,
            _ => self.0.limiter.acquire(cost).await,
        };
        let waited = waited.elapsed();
        crate::metrics::limiter_wait(waited);
        let waited = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
        span.record("limiter_wait_ms", waited);
        let response = http
            .execute(request)
            .await
            .map_err(FailedAttempt::Transport)?;
        let status = response.status();
        span.record("status", status.as_u16());
        self.0.limiter.observe(response.headers());
        crate::response::record(status, response.headers());
        let asked = retry::server_delay(status, response.headers());
        let retry_after = asked.map(|delay| retry.cap_server_delay(delay));
        if asked != retry_after {
            tracing::warn!(
                ?asked,
                cap = ?retry_after,
                "the API asked for a longer wait than the retry policy's max_server_delay; waiting for the cap"
            );
        }
        record(|last| {
            last.status = Some(status);
            last.retry_after = retry_after;
        });
        // Reading the body here, inside the attempt, lets a connection that dies mid-body
        // be retried like any other transport failure.
        let response = read_whole(response)
            .await
            .map_err(FailedAttempt::Transport)?;
        if retry::is_transient(status) {
            return Err(FailedAttempt::Status(response));
        }
        Ok(response)
    }
}

/// The client's rate limiter: its own, and the budget it shares, if configured.
fn limiter(config: &Config) -> Result<Limiter, Error> {
    let limiter = Limiter::new(config.rate_limit);
    #[cfg(feature = "redis")]
    if let Some(shared) = &config.shared_limit {
        let gate = shared.gate(
            config.rate_limit,
            config.api_key.expose_secret(),
            &config.base_url,
        )?;
        if let Some(gate) = gate {
            return Ok(limiter.with_gate(gate));
        }
    }
    Ok(limiter)
}

/// Marks a response to a repeated request that says an earlier attempt already did the work
/// (a DELETE that meets "not found"): the caller answers as that attempt would have been.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DoneByEarlierAttempt;

/// Runs `call`, and returns its output with what the transport saw of its last attempt (for
/// the errors that progenitor reports without it). A combinator rather than an `async fn`, so
/// that the future of `call` is held once, not twice (an `async fn` keeps its argument and the
/// future it awaits side by side).
pub(crate) fn with_last_attempt<F: Future>(
    call: F,
) -> impl Future<Output = (F::Output, Attempted)> {
    use futures_util::FutureExt;
    let with_last = call.map(|output| (output, LAST_ATTEMPT.with(Cell::get)));
    LAST_ATTEMPT.scope(Cell::new(Attempted::default()), with_last)
}

/// Updates what this task's call knows of its last attempt (nothing outside a call).
fn record(update: impl FnOnce(&mut Attempted)) {
    let _ = LAST_ATTEMPT.try_with(|last| {
        let mut value = last.get();
        update(&mut value);
        last.set(value);
    });
}

/// A failed attempt, as the retry loop sees it.
#[derive(Debug)]
enum FailedAttempt {
    /// The server answered with a status worth retrying.
    Status(Response),
    /// Nothing usable came back.
    Transport(reqwest::Error),
}

impl FailedAttempt {
    fn delivery(&self) -> Delivery {
        match self {
            Self::Status(response) => Delivery::Status(response.status()),
            Self::Transport(e) => Delivery::of_transport(e),
        }
    }

    /// How long the server asked us to wait, if it did.
    fn server_delay(&self) -> Option<std::time::Duration> {
        match self {
            Self::Status(response) => retry::server_delay(response.status(), response.headers()),
            Self::Transport(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Status(response) => response.status().to_string(),
            Self::Transport(e) => e.to_string(),
        }
    }
}

/// Whether a `status` answered to a repeated `method` request means that an earlier attempt
/// already did the work: a DELETE that meets "not found", "conflict: already deleted" or "gone".
fn already_done(method: &Method, status: StatusCode) -> bool {
    *method == Method::DELETE && matches!(status.as_u16(), 404 | 409 | 410)
}

/// The same response with its body read into memory, at most [`MAX_BODY_BYTES`]. A longer
/// body is cut there and ends in an error, so that whoever reads it learns why.
async fn read_whole(mut response: Response) -> reqwest::Result<Response> {
    let (body, too_long) = read_capped(&mut response).await?;
    // Numbers serde_json cannot hold exactly become strings of their exact text, so that no
    // 30-digit account number or 1e400 makes a whole answer unreadable.
    // Only JSON: a downloaded document's bytes stay as they came.
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let body = match json.then(|| exact_numbers::quote_inexact_numbers(&body)) {
        Some(std::borrow::Cow::Owned(quoted)) => Bytes::from(quoted),
        _ => body,
    };
    let body = if too_long {
        response
            .headers_mut()
            .remove(reqwest::header::CONTENT_LENGTH);
        let cut = std::io::Error::other(format!(
            "the response body is longer than {MAX_BODY_BYTES} bytes, the most this client reads"
        ));
        reqwest::Body::wrap_stream(futures_util::stream::iter([Ok(body), Err(cut)]))
    } else {
        reqwest::Body::from(body)
    };
    // The head moves over (headers and extensions are taken, not copied), and so does the URL:
    // without it, reqwest would parse a placeholder URL for every response.
    let mut rebuilt = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone())
        .body(body)
        .expect("status and version come from a valid response");
    *rebuilt.headers_mut() = std::mem::take(response.headers_mut());
    rebuilt
        .extensions_mut()
        .extend(std::mem::take(response.extensions_mut()));
    Ok(rebuilt.into())
}

/// The body of `response`, up to [`MAX_BODY_BYTES`], and whether it went on beyond.
async fn read_capped(response: &mut Response) -> reqwest::Result<(Bytes, bool)> {
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_BODY_BYTES {
        return Ok((Bytes::new(), true));
    }
    let mut body = BytesMut::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await? {
        if body.len() as u64 + chunk.len() as u64 > MAX_BODY_BYTES {
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}

#[cfg(test)]
mod tests {
    use crate::{Client, DocumentKind};

    /// Wrapping a generated call adds a few bytes to its future, not a second copy of it (an
    /// `async fn` taking the future by value kept both, and `Job::status` then held four).
    #[test]
    fn a_call_future_holds_the_generated_future_once() {
        let client = Client::builder()
            .api_key("key")
            .base_url("http://127.0.0.1:9")
            .build()
            .expect("valid settings");
        let generated = client.api().get_statement_status().job_id("job").send();
        let inner = std::mem::size_of_val(&generated);
        let wrapped = std::mem::size_of_val(&client.call(generated));
        assert!(wrapped < inner + 256, "{wrapped} bytes around {inner}");
        let job = client.job(DocumentKind::Statement, "job");
        let status = std::mem::size_of_val(&job.status());
        assert!(
            status < inner + 512,
            "status: {status} bytes around {inner}"
        );
    }
}
