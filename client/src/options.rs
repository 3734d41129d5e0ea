//! Per-call options: [`CallOptions`], applied through [`Client::with_options`](crate::Client::with_options),
//! a view of the same client (same connection pool, rate limiter, scheduler) whose calls run
//! with them.
//!
//! The view hands its options to the transport through a task-local, scoped around each call
//! ([`scope`]): the transport reads the retry policy and the extra headers from there, so the
//! generated builders, the resource groups, uploads and waits all take them without each
//! carrying them.
//!
//! Rules no option turns off: a POST (or PUT) that may have reached the server is never sent
//! again, whatever the retry policy; every request waits for the rate limiter (local or
//! shared); a 429 holds the whole client and never fails a wait or a batch's document; an extra
//! header never replaces one the client sets itself (see [`CallOptions::header`]).

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::{Error, RetryPolicy};

/// Headers the client sets on every request itself: an extra header may not replace them.
/// `Authorization` carries the key the rate budget belongs to; `User-Agent` is set client-wide
/// ([`ClientBuilder::user_agent`](crate::ClientBuilder::user_agent)); the others describe the
/// request's body and connection, which the client builds.
const RESERVED: [HeaderName; 8] = [
    reqwest::header::AUTHORIZATION,
    reqwest::header::PROXY_AUTHORIZATION,
    reqwest::header::USER_AGENT,
    reqwest::header::HOST,
    reqwest::header::CONTENT_TYPE,
    reqwest::header::CONTENT_LENGTH,
    reqwest::header::TRANSFER_ENCODING,
    reqwest::header::CONNECTION,
];

/// Options for the calls of one view of a client: a timeout, a retry policy, extra headers.
/// What is not set comes from the client. Apply them with
/// [`Client::with_options`](crate::Client::with_options).
///
/// ```
/// use std::time::Duration;
/// use invaro::{CallOptions, RetryPolicy};
/// let options = CallOptions::new()
///     .timeout(Duration::from_secs(2))
///     .retry(RetryPolicy::none())
///     .header("X-Request-Id", "order-1234")?;
/// assert_eq!(options.get_timeout(), Some(Duration::from_secs(2)));
/// # Ok::<(), invaro::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct CallOptions {
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    headers: HeaderMap,
}

impl fmt::Debug for CallOptions {
    /// Header names only: values may carry secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CallOptions {
    /// No options: every setting from the client.
    pub fn new() -> Self {
        Self::default()
    }

    /// The longest one call may take in all: waiting for the rate limiter, every attempt and
    /// every wait between them. A call that outlasts it ends with [`Error::Timeout`]. A wait
    /// ([`Job::wait`](crate::Job::wait)) ends at the earlier of this and its poll policy's
    /// deadline, with [`Error::WaitTimeout`]. The client's read timeout still bounds each
    /// silence on the connection.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How this view's failed calls are retried ([`RetryPolicy::none`] for no retries). No
    /// policy sends a POST again once it may have reached the server, and 429s are held out as
    /// always.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Adds a header to every request of the view, in place of a header of that name the
    /// request would carry otherwise (`Accept`, say); a second value for the same name adds to
    /// the first. Values are kept out of `Debug` and logs.
    ///
    /// ```
    /// let refused = invaro::CallOptions::new().header("Authorization", "Bearer other");
    /// assert!(refused.unwrap_err().to_string().contains("Authorization"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the header when the name or value is not valid in HTTP,
    /// or when the name is one the client sets itself: `Authorization` (the key the rate
    /// budget belongs to), `Proxy-Authorization`, `User-Agent` (set client-wide), `Host`,
    /// `Content-Type`, `Content-Length`, `Transfer-Encoding`, `Connection`.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Result<Self, Error> {
        let name = name.as_ref();
        let subject = || format!("header {name}");
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid(subject(), "is not a valid HTTP header name"))?;
        if RESERVED.contains(&parsed) {
            return Err(Error::invalid(
                subject(),
                "is set by the client on every request and cannot be replaced per call",
            ));
        }
        let mut value = HeaderValue::from_str(value.as_ref()).map_err(|_| {
            Error::invalid(subject(), "value must be visible ASCII (no line breaks)")
        })?;
        value.set_sensitive(true);
        self.headers.append(parsed, value);
        Ok(self)
    }

    /// The timeout set, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The retry policy set, if any.
    pub fn get_retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// The names of the extra headers.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.headers.keys().map(HeaderName::as_str)
    }
}

tokio::task_local! {
    /// The options of the view whose call runs in this task.
    static CURRENT: Arc<CallOptions>;
}

/// Runs `call` with `options` (when there are any) for every request it sends.
pub(crate) fn scope<F: Future>(
    options: Option<Arc<CallOptions>>,
    call: F,
) -> futures_util::future::Either<F, tokio::task::futures::TaskLocalFuture<Arc<CallOptions>, F>> {
    use futures_util::future::Either;
    match options {
        None => Either::Left(call),
        Some(options) => Either::Right(CURRENT.scope(options, call)),
    }
}

/// The retry policy of the call running in this task, if its view set one.
pub(crate) fn retry() -> Option<RetryPolicy> {
    CURRENT
        .try_with(|options| options.retry.clone())
        .ok()
        .flatten()
}

/// Adds the extra headers of the call running in this task, if its view set any: each name
/// the view sets takes the view's values in place of the request's own (an `Accept`, say).
pub(crate) fn add_headers(headers: &mut HeaderMap) {
    let _ = CURRENT.try_with(|options| {
        for name in options.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &options.headers {
            headers.append(name, value.clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_headers_are_refused_by_name_whatever_their_case() {
        for name in ["Authorization", "authorization", "USER-AGENT", "Host"] {
            let error = CallOptions::new().header(name, "x").unwrap_err();
            let text = error.to_string();
            assert!(text.contains(name), "{text}");
            assert!(text.contains("cannot be replaced"), "{text}");
        }
        let error = CallOptions::new().header("X-Ok", "a\nb").unwrap_err();
        assert!(error.to_string().contains("X-Ok"), "{error}");
        assert!(CallOptions::new().header("bad name", "x").is_err());
    }

    #[tokio::test]
    async fn a_views_header_takes_the_place_of_the_requests_own() {
        let options = CallOptions::new()
            .header("Accept", "application/pdf")
            .and_then(|o| o.header("X-Tag", "a"))
            .and_then(|o| o.header("X-Tag", "b"))
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("application/json"));
        scope(Some(Arc::new(options)), async { add_headers(&mut headers) }).await;
        let values = |name| headers.get_all(name).iter().cloned().collect::<Vec<_>>();
        assert_eq!(values("accept"), ["application/pdf"]);
        assert_eq!(values("x-tag"), ["a", "b"]);
        let mut untouched = HeaderMap::new();
        add_headers(&mut untouched);
        assert!(
            untouched.is_empty(),
            "outside a view's call, nothing is added"
        );
    }

    #[test]
    fn debug_shows_header_names_but_never_values() {
        let options = CallOptions::new()
            .header("X-Tenant-Token", "tok_SECRET_99")
            .unwrap();
        let debug = format!("{options:?}");
        assert!(debug.contains("x-tenant-token"), "{debug}");
        assert!(!debug.contains("tok_SECRET_99"), "{debug}");
    }
}
