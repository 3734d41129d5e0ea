//! The error envelope `{success: false, error: {code, message, details}}` every failure answers with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use invaro::generated::types::{ErrorDetail, ErrorEnvelope};
use serde_json::Value;

/// A failed request: the status, the documented code and a message naming the rule broken.
#[derive(Debug)]
pub(crate) struct ApiError(Box<ErrorParts>);

#[derive(Debug)]
struct ErrorParts {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorParts {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }))
    }

    /// 400 INVALID_REQUEST: the request itself is malformed (body, content type, path).
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 400 VALIDATION_ERROR: a well-formed request breaks a documented rule.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 400 UPLOAD_ERROR: an uploaded file cannot be accepted (too large, unreadable).
    pub(crate) fn upload(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UPLOAD_ERROR", message)
    }

    /// 400 INVALID_SCHEMA_TYPE: a schema type other than `invoice` or `bank_statement`.
    pub(crate) fn invalid_schema_type(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_SCHEMA_TYPE", message)
    }

    /// 401 UNAUTHORIZED: no API key, or one the sandbox was not configured with.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 404 with the given code (NOT_FOUND, SCHEMA_NOT_FOUND, ...).
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 405: the path exists, the method does not.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "this path does not accept this HTTP method",
        )
    }

    /// 408 REQUEST_TIMEOUT: the request body did not arrive in time.
    pub(crate) fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", message)
    }

    /// 409 with the given code (SCHEMA_EXISTS, ALREADY_DELETED).
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 410: the file was deleted, its content is gone.
    pub(crate) fn gone(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "FILE_DELETED", message)
    }

    /// 507 STORAGE_FULL: storing the upload would pass the storage cap of `cap` bytes.
    pub(crate) fn storage_full(cap: usize) -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "STORAGE_FULL",
            format!(
                "the upload does not fit in the sandbox's storage cap of {cap} bytes: delete files \
                 (DELETE /files/{{file_id}}) or start the sandbox with a larger --max-storage-mb"
            ),
        )
    }

    /// 429 RATE_LIMIT_EXCEEDED, with `Retry-After` in seconds.
    pub(crate) fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!("rate limit exceeded; retry in {retry_after_secs} s"),
        );
        error.0.retry_after = Some(retry_after_secs);
        error
    }

    /// An injected fault answered with `status` (usually 429, 500 or 503).
    pub(crate) fn injected(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
            StatusCode::TOO_MANY_REQUESTS => "RATE_LIMIT_EXCEEDED",
            StatusCode::BAD_GATEWAY => "BAD_GATEWAY",
            StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
            StatusCode::GATEWAY_TIMEOUT => "GATEWAY_TIMEOUT",
            _ => "INTERNAL_SERVER_ERROR",
        };
        let mut error = Self::new(status, code, "fault injected by the sandbox");
        error.0.details = Some(serde_json::json!({ "injected": true }));
        if status == StatusCode::TOO_MANY_REQUESTS {
            error.0.retry_after = Some(1);
        }
        error
    }

    /// Attaches machine-readable details (for example which document was unknown).
    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.0.details = Some(details);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ErrorParts {
            status,
            code,
            message,
            details,
            retry_after,
        } = *self.0;
        let body = ErrorEnvelope {
            success: false,
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                details,
            }
            .into(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What every handler returns.
pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;
