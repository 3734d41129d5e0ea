//! The one error type of the SDK.

use std::{fmt, time::Duration};

use reqwest::StatusCode;

use crate::JobStatus;
use crate::transport::retry::{self, Delivery};

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
    /// The API answered with an error status (whatever the body: the documented envelope, a
    /// framework's `{"detail": ...}`, a proxy's HTML page or nothing).
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
    /// [`crate::Client::job`].
    #[error("job {job_id} {} after {elapsed:?} and {polls} status calls; resume it by id", seen(last_status.as_ref()))]
    WaitTimeout {
        /// The job, still running on the server.
        job_id: String,
        /// How long the wait lasted.
        elapsed: Duration,
        /// How many status calls were made.
        polls: u32,
        /// The last status the server reported, if any answer came.
        last_status: Option<JobStatus>,
    },
    /// The call did not finish within the timeout of its [`CallOptions`](crate::CallOptions)
    /// (waiting for the rate limiter, every attempt and the waits between them).
    #[error("the call did not finish within its timeout of {after:?}{}", in_doubt(*.resend_safe))]
    Timeout {
        /// The timeout.
        after: Duration,
        /// Whether sending the same call again is safe (see [`Error::is_retryable`]): a GET or
        /// DELETE; not a POST or PUT, which may have reached the server.
        resend_safe: bool,
    },
    /// A client-side check failed before anything was sent.
    #[error("{subject}: {rule}")]
    InvalidInput {
        /// What was wrong: a file, a setting, an argument.
        subject: String,
        /// The rule it broke.
        rule: String,
    },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be sent or the response not received whole.
    #[error("transport error: {source}")]
    Transport {
        /// What the HTTP client said.
        #[source]
        source: reqwest::Error,
        /// Whether sending the same request again is safe (see [`Error::is_retryable`]).
        resend_safe: bool,
    },
    /// A batch journal could not be opened, read or written.
    #[error("batch journal {}: {reason}", path.display())]
    Journal {
        /// The journal.
        path: std::path::PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// Another run holds the batch journal.
    #[error(
        "batch journal {} is in use by another run of the same batch; wait for it to end \
         or stop it (a run that died releases it by itself)",
        path.display()
    )]
    JournalBusy {
        /// The journal.
        path: std::path::PathBuf,
    },
    /// A success response whose body did not have the documented shape.
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
}

fn in_doubt(resend_safe: bool) -> &'static str {
    if resend_safe {
        ""
    } else {
        "; its request may have reached the server"
    }
}

fn seen(status: Option<&JobStatus>) -> String {
    match status {
        Some(status) => format!("still {status}"),
        None => "reported no status".into(),
    }
}

fn status_suffix(status: Option<StatusCode>) -> String {
    status.map(|s| format!(" (status {s})")).unwrap_or_default()
}

/// An error status the API answered with, and what its body said.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The API's code, such as `VALIDATION_ERROR`; empty when the body carried none.
    pub code: String,
    /// The API's message, or the status's reason when the body carried none.
    pub message: String,
    /// Whatever details the API gave (a framework's `detail` value lands here too).
    pub details: Option<serde_json::Value>,
    /// The start of the body (at most 512 bytes) when it was not the API's error envelope.
    pub body: Option<String>,
    /// How long the API asked us to wait (`Retry-After` or `X-RateLimit-Reset`), capped by the
    /// retry policy.
    pub retry_after: Option<Duration>,
    /// Whether the same request may safely be sent again.
    resend_safe: bool,
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
    /// Reads an error response that is not the API's envelope from its status and body: a
    /// framework's `{"detail": ...}`, `{"message": ...}` or `{"error": ...}`, or anything else
    /// (HTML, plain text, nothing), which is kept as a bounded snippet. The envelope, a type of
    /// the spec, is read where generated calls end (`transport::hooks`), so that this module
    /// stays below the generated code.
    pub(crate) fn from_body(status: StatusCode, body: &[u8], context: Attempted) -> Self {
        let mut error = Self {
            status,
            code: String::new(),
            message: status.canonical_reason().unwrap_or("error").to_string(),
            details: None,
            body: None,
            retry_after: context.retry_after,
            resend_safe: context.may_resend(status),
        };
        let json = serde_json::from_slice::<serde_json::Value>(body).ok();
        let field = |name| json.as_ref().and_then(|j| j.get(name)).cloned();
        match field("detail")
            .or_else(|| field("message"))
            .or_else(|| field("error"))
        {
            Some(serde_json::Value::String(message)) => error.message = message,
            Some(detail) => {
                error.message = snippet(detail.to_string().as_bytes());
                error.details = Some(detail);
            }
            None => {}
        }
        if !body.is_empty() {
            error.body = Some(snippet(body));
        }
        error
    }
}

/// What the transport knew about the last attempt of a call, for the error it becomes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Attempted {
    /// Whether the call's method may be repeated after it reached the server.
    pub(crate) repeat_safe: bool,
    /// The status of the last response, if one came.
    pub(crate) status: Option<StatusCode>,
    /// The wait the last response asked for, already capped.
    pub(crate) retry_after: Option<Duration>,
}

impl Attempted {
    fn may_resend(self, status: StatusCode) -> bool {
        retry::may_resend(self.repeat_safe, Delivery::Status(status))
    }
}

impl Error {
    /// Whether the caller may safely send the same call again: true when nothing can have
    /// happened on the server (the connection never opened, or a 429), or when the call has no
    /// further effect the second time (a GET or DELETE after a timeout or a 5xx). False for a
    /// POST or PUT that may have reached the server, and for errors that would only repeat.
    /// A [`Error::WaitTimeout`] is retryable: the job is still running; wait on it again.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// match client.files().list().send().await {
    ///     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
    ///     Err(e) => return Err(e),
    ///     Ok(page) => println!("{} files", page.files.len()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited(_) | Self::WaitTimeout { .. } => true,
            Self::Api(e) => e.resend_safe,
            Self::Transport { resend_safe, .. } | Self::Timeout { resend_safe, .. } => *resend_safe,
            Self::JobFailed { .. }
            | Self::InvalidInput { .. }
            | Self::Io { .. }
            | Self::Journal { .. }
            | Self::JournalBusy { .. }
            | Self::Decode { .. } => false,
        }
    }

    /// The HTTP status behind the error, if a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) | Self::RateLimited(e) => Some(e.status),
            Self::Decode { status, .. } => *status,
            Self::Transport { source, .. } => source.status(),
            Self::JobFailed { .. }
            | Self::WaitTimeout { .. }
            | Self::Timeout { .. }
            | Self::InvalidInput { .. }
            | Self::Journal { .. }
            | Self::JournalBusy { .. }
            | Self::Io { .. } => None,
        }
    }

    /// The API's error code (such as `SCHEMA_NOT_FOUND`), if the API sent one.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// match client.schemas().get("schema_1").await {
    ///     Err(e) if e.code() == Some("SCHEMA_NOT_FOUND") => println!("no such schema"),
    ///     other => println!("{:?}", other?.name),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(e) | Self::RateLimited(e) if !e.code.is_empty() => Some(&e.code),
            _ => None,
        }
    }

    /// The id of the job the error is about, if any.
    ///
    /// ```no_run
    /// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
    /// let job = client.job(invaro::DocumentKind::Invoice, "job_4f1c");
    /// if let Err(e) = job.wait().await {
    ///     eprintln!("job {:?}: {e}", e.job_id());
    /// }
    /// # Ok(()) }
    /// ```
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

    /// An error status: [`Error::RateLimited`] for a 429, else [`Error::Api`].
    pub(crate) fn api(error: ApiError) -> Self {
        if error.status == StatusCode::TOO_MANY_REQUESTS {
            Self::RateLimited(Box::new(error))
        } else {
            Self::Api(Box::new(error))
        }
    }

    /// A transport failure of a call sent as `context` describes.
    pub(crate) fn transport(source: reqwest::Error, context: Attempted) -> Self {
        let resend_safe = retry::may_resend(context.repeat_safe, Delivery::of_transport(&source));
        Self::Transport {
            source,
            resend_safe,
        }
    }
}

/// The start of a body, as text, at most [`BODY_SNIPPET`] bytes (cut on a character boundary).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_SNIPPET)]);
    text.into_owned()
}
