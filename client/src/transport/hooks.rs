//! Where the generated client meets the transport: progenitor's [`ClientHooks`] for every
//! generated operation, and [`call`], which turns what a generated call returns into this
//! crate's [`Error`].
//!
//! This module sits above both: the generated code names [`Transport`] (its inner value), and
//! the transport and [`Error`] know nothing of the generated code. What needs the spec's types
//! (the error envelope, the body a repeated DELETE answers with) is here.

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{Request, Response, StatusCode, header::CONTENT_TYPE};

use super::{DoneByEarlierAttempt, Transport};
use crate::Error;
use crate::error::{ApiError, Attempted};
use crate::generated::{self, types};

/// Runs one generated call, within `timeout` if given, turning its error into an [`Error`]
/// that knows the response status.
///
/// Built from combinators rather than as an `async fn`: an `async fn` keeps its argument and
/// the future it awaits side by side, which would double the size of every call's future (and
/// the bytes moved each time one is polled into place). The timer is boxed, and only when
/// there is a timeout, for the same reason.
pub(crate) fn call<T, F>(
    future: F,
    timeout: Option<std::time::Duration>,
) -> impl Future<Output = Result<T, Error>>
where
    F: Future<
        Output = Result<
            progenitor_client::ResponseValue<T>,
            progenitor_client::Error<types::ErrorEnvelope>,
        >,
    >,
{
    use futures_util::{FutureExt, future::Either};
    let bounded = match timeout {
        None => Either::Left(future.map(Ok)),
        Some(limit) => Either::Right(Box::pin(tokio::time::timeout(limit, future))),
    };
    super::with_last_attempt(bounded).then(move |(result, last)| async move {
        match result {
            Ok(Ok(value)) => Ok(value.into_inner()),
            Ok(Err(e)) => Err(from_generated(e, last).await),
            Err(_) => Err(Error::Timeout {
                after: timeout.unwrap_or_default(),
                resend_safe: last.repeat_safe,
            }),
        }
    })
}

/// Turns an error of the generated client into ours, classified by the HTTP status first and
/// the body second. `context` is what the transport saw of the call's last attempt (progenitor
/// drops the status when a body does not decode).
async fn from_generated(
    error: progenitor_client::Error<types::ErrorEnvelope>,
    context: Attempted,
) -> Error {
    use progenitor_client::Error as E;
    match error {
        E::ErrorResponse(response) => {
            let status = response.status();
            Error::api(from_envelope(status, response.into_inner(), context))
        }
        E::InvalidResponsePayload(body, source) => match context.status {
            Some(status) if !status.is_success() => Error::api(api_error(status, &body, context)),
            status => Error::decode(status, &body, source),
        },
        E::UnexpectedResponse(response) => {
            let status = response.status();
            // The transport has already read (and capped) the body.
            let body = response.bytes().await.unwrap_or_default();
            Error::api(api_error(status, &body, context))
        }
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            Error::transport(e, context)
        }
        E::InvalidRequest(message) | E::Custom(message) => Error::invalid("request", message),
    }
}

/// Reads an error response from its status and body: the API's envelope (whether `error` is
/// an object or a plain string), else whatever [`ApiError::from_body`] makes of it.
fn api_error(status: StatusCode, body: &[u8], context: Attempted) -> ApiError {
    match serde_json::from_slice::<types::ErrorEnvelope>(body) {
        Ok(envelope) => from_envelope(status, envelope, context),
        Err(_) => ApiError::from_body(status, body, context),
    }
}

/// Reads the API's error envelope.
fn from_envelope(
    status: StatusCode,
    envelope: types::ErrorEnvelope,
    context: Attempted,
) -> ApiError {
    let mut error = ApiError::from_body(status, b"", context);
    match envelope.error {
        types::ErrorEnvelopeError::ErrorDetail(d) => {
            (error.code, error.message, error.details) = (d.code, d.message, d.details);
        }
        types::ErrorEnvelopeError::String(message) => error.message = message,
    }
    error
}

/// What a request counts as against the API's rate limit: each document of a batch is one
/// request; everything else is one.
fn documents_in_batch(operation: &str, request: &Request) -> u32 {
    if !operation.ends_with("_batch") {
        return 1;
    }
    #[derive(serde::Deserialize)]
    struct BatchBody {
        files: Vec<serde::de::IgnoredAny>,
    }
    request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .and_then(|body| serde_json::from_slice::<BatchBody>(body).ok())
        .map_or(1, |batch| {
            u32::try_from(batch.files.len()).unwrap_or(u32::MAX).max(1)
        })
}

/// The success an earlier attempt would have received: the operation's success body.
fn done_by_earlier_attempt(operation: &str, url: &reqwest::Url, response: Response) -> Response {
    let file_id = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default()
        .to_string();
    let body = match operation {
        "delete_file" => types::FileDeletedResponse {
            success: true,
            data: types::FileDeleted {
                file_id,
                message: Some("deleted by an earlier attempt of this call".into()),
            },
        },
        _ => return response,
    };
    let body = serde_json::to_vec(&body).expect("generated types serialize");
    http::Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a static status and header are valid")
        .into()
}

/// A success status as the one every generated operation declares: servers answer success
/// with 201, 202 or another 2xx where the docs say 200, and progenitor knows only the statuses
/// the spec lists.
fn as_declared_success(response: Response) -> Response {
    if !response.status().is_success() || response.status() == StatusCode::OK {
        return response;
    }
    let mut response = http::Response::from(response);
    *response.status_mut() = StatusCode::OK;
    Response::from(response)
}

impl ClientHooks<Transport> for generated::Client {
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
        let response = self
            .inner()
            .send(self.client(), info.operation_id, cost, make)
            .await?;
        if response
            .extensions()
            .get::<DoneByEarlierAttempt>()
            .is_some()
        {
            return Ok(done_by_earlier_attempt(
                info.operation_id,
                request.url(),
                response,
            ));
        }
        Ok(as_declared_success(response))
    }
}
