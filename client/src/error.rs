//! The one error type of the SDK.

use std::{fmt, time::Duration};

use reqwest::StatusCode;

use crate::{JobStatus, generated::types};

/// How much of an undecodable body an error keeps.
const BODY_SNIPPET: usize = 512;

/// Everything that can go wrong in a call: see [`Error::is_retryable`] and [`Error::status`].
///
/// ```
/// # async fn demo(client: invaro::Client) {
/// match client.job(invaro::DocumentKind::Invoice, "job_1").status().await {
///     Ok(job) => println!("{}", job.status),
///     Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => println!("no such job"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error envelope.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The API refused the call for exceeding the rate limit, after every retry.
    #[error("rate limited: {0}")]
    RateLimited(Box<ApiError>),
    /// The job ended in `failed`.
    #[error("job {job_id} failed: {message}")]
    JobFailed {
        /// The job.
        job_id: String,
        /// The server's explanation.
        message: String,
    },
    /// The job did not finish within the poll policy's deadline. Resume it with
    /// [`crate::Job::resume`].
    #[error(
        "job {job_id} still {last_status} after {elapsed:?} and {polls} polls; resume it by id"
    )]
    WaitTimeout {
        /// The job, still running on the server.
        job_id: String,
        /// How long the wait lasted.
        elapsed: Duration,
        /// How many status calls were made.
        polls: u32,
        /// The last status seen.
        last_status: JobStatus,
    },
    /// A client-side check failed before anything was sent.
    #[error("{subject}: {rule}")]
    InvalidInput {
        /// What was wrong: a file, a setting, an argument.
        subject: String,
        /// The rule it broke.
        rule: String,
    },
    /// The request could not be sent or the response not received.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// A response body did not have the documented shape.
    #[error("cannot decode the response{}: {source}; body starts with: {body:?}", status_suffix(*.status))]
    Decode {
        /// The response status, when known.
        status: Option<StatusCode>,
        /// The start of the body, at most 512 bytes.
        body: String,
        /// What the decoder said.
        #[source]
        source: serde_json::Error,
    },
    /// A status the API does not document for this call.
    #[error("unexpected response status {status}; body starts with: {body:?}")]
    UnexpectedStatus {
        /// The status.
        status: StatusCode,
        /// The start of the body, at most 512 bytes.
        body: String,
    },
}

fn status_suffix(status: Option<StatusCode>) -> String {
    status.map(|s| format!(" (status {s})")).unwrap_or_default()
}

/// An error the API reported, from its `{success: false, error: ...}` envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The API's code, such as `VALIDATION_ERROR`; empty when the API sent only a message.
    pub code: String,
    /// The API's message.
    pub message: String,
    /// Whatever details the API gave.
    pub details: Option<serde_json::Value>,
    /// How long the API asked us to wait (`Retry-After` or `X-RateLimit-Reset`).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ApiError {
    /// Reads an error envelope (whether `error` is an object or a plain string).
    pub(crate) fn from_envelope(
        status: StatusCode,
        envelope: types::ErrorEnvelope,
        retry_after: Option<Duration>,
    ) -> Self {
        let (code, message, details) = match envelope.error {
            types::ErrorEnvelopeError::ErrorDetail(d) => (d.code, d.message, d.details),
            types::ErrorEnvelopeError::String(message) => (String::new(), message, None),
        };
        Self {
            status,
            code,
            message,
            details,
            retry_after,
        }
    }
}

impl Error {
    /// Whether trying the same call again later could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited(_) | Self::WaitTimeout { .. } => true,
            Self::Api(e) => crate::retry::is_retryable_status(e.status),
            Self::UnexpectedStatus { status, .. } => crate::retry::is_retryable_status(*status),
            Self::Transport(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            Self::JobFailed { .. } | Self::InvalidInput { .. } | Self::Decode { .. } => false,
        }
    }

    /// The HTTP status behind the error, if a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) | Self::RateLimited(e) => Some(e.status),
            Self::UnexpectedStatus { status, .. } => Some(*status),
            Self::Decode { status, .. } => *status,
            Self::Transport(e) => e.status(),
            Self::JobFailed { .. } | Self::WaitTimeout { .. } | Self::InvalidInput { .. } => None,
        }
    }

    /// The API's error code (such as `SCHEMA_NOT_FOUND`), if the API sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(e) | Self::RateLimited(e) if !e.code.is_empty() => Some(&e.code),
            _ => None,
        }
    }

    /// The id of the job the error is about, if any.
    pub fn job_id(&self) -> Option<&str> {
        match self {
            Self::JobFailed { job_id, .. } | Self::WaitTimeout { job_id, .. } => Some(job_id),
            _ => None,
        }
    }

    pub(crate) fn invalid(subject: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput {
            subject: subject.into(),
            rule: rule.into(),
        }
    }

    pub(crate) fn decode(
        status: Option<StatusCode>,
        body: &[u8],
        source: serde_json::Error,
    ) -> Self {
        Self::Decode {
            status,
            body: snippet(body),
            source,
        }
    }

    /// Turns an error of the generated client into ours. `status` is the status of the
    /// response the error came from, when the caller knows it (progenitor drops it on decode
    /// errors).
    pub(crate) async fn from_generated(
        error: progenitor_client::Error<types::ErrorEnvelope>,
        status: Option<StatusCode>,
    ) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                let retry_after = crate::retry::server_delay(status, response.headers());
                let api = Box::new(ApiError::from_envelope(
                    status,
                    response.into_inner(),
                    retry_after,
                ));
                if status == StatusCode::TOO_MANY_REQUESTS {
                    Self::RateLimited(api)
                } else {
                    Self::Api(api)
                }
            }
            E::InvalidResponsePayload(body, source) => Self::decode(status, &body, source),
            E::UnexpectedResponse(response) => {
                let status = response.status();
                let body = response.bytes().await.unwrap_or_default();
                Self::UnexpectedStatus {
                    status,
                    body: snippet(&body),
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Self::Transport(e)
            }
            E::InvalidRequest(message) | E::Custom(message) => Self::invalid("request", message),
        }
    }
}

/// The start of a body, as text, at most [`BODY_SNIPPET`] bytes (cut on a character boundary).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_SNIPPET)]);
    text.into_owned()
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Self::Transport(e)
    }
}
