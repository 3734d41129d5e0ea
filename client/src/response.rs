//! A call's answer with its metadata: [`Response`], from
//! [`Client::with_response`](crate::Client::with_response).
//!
//! The transport records the status and headers of each answer it reads into a task-local
//! that [`capture`] scopes around the call, so any call of this crate (a resource group's, a
//! generated builder's through `client.call`, an upload) reports them without a second set of
//! methods. Only calls run inside [`capture`] pay for the copy of the headers.

use std::{cell::RefCell, ops::Deref, time::Duration};

use reqwest::{StatusCode, header::HeaderMap};
use tokio::time::Instant;

use crate::Error;

/// A call's typed answer with the HTTP status and headers of the response it came from, and
/// the time the call took. Derefs to the answer.
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// let job = client.with_response(client.jobs().get("job_4f1c")).await?;
/// let left = job.headers().get("x-ratelimit-remaining");
/// println!("{} in {:?}: {} ({left:?} requests left)", job.status(), job.elapsed(), job.status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Response<T> {
    status: StatusCode,
    headers: HeaderMap,
    elapsed: Duration,
    body: T,
}

impl<T> Response<T> {
    /// The HTTP status the server answered with (a `201` stays `201`, although the typed
    /// answer is read as the spec's `200`). A call that sent no request (a wait answered by
    /// another wait's check) reports `200 OK`.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's headers, such as `X-RateLimit-Remaining` (empty when the call sent no
    /// request).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// How long the call took in all: waiting for the rate limiter, every attempt and the
    /// waits between them.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The typed answer.
    pub fn into_inner(self) -> T {
        self.body
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.body
    }
}

tokio::task_local! {
    /// The status and headers of the last answer read by the call running in this task.
    static LAST: RefCell<Option<(StatusCode, HeaderMap)>>;
}

/// Runs `call` and returns its answer with the metadata of the last response it read.
pub(crate) async fn capture<T>(
    call: impl Future<Output = Result<T, Error>>,
) -> Result<Response<T>, Error> {
    let started = Instant::now();
    LAST.scope(RefCell::new(None), async move {
        let body = call.await?;
        let (status, headers) = LAST
            .with(RefCell::take)
            .unwrap_or((StatusCode::OK, HeaderMap::new()));
        Ok(Response {
            status,
            headers,
            elapsed: started.elapsed(),
            body,
        })
    })
    .await
}

/// Records an answer's status and headers for the call running in this task, if it is
/// captured (nothing otherwise).
pub(crate) fn record(status: StatusCode, headers: &HeaderMap) {
    let _ = LAST.try_with(|last| *last.borrow_mut() = Some((status, headers.clone())));
}
