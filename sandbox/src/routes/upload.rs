//! The multipart upload shared by POST /parse/upload and POST /files/upload.
//!
//! Files arrive chunk by chunk; a file over the size limit, a file too many, or a file that is not
//! a PDF, JPEG or PNG (by its first bytes) rejects the whole upload, and nothing is stored.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use bytes::{Bytes, BytesMut};

use super::request::{DRAIN_CAP, RateBucket};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Format};

/// The form field that carries the files.
const FIELD: &str = "files";

/// A file read from the form, not yet stored.
struct Incoming {
    filename: String,
    bytes: Bytes,
    format: Format,
}

/// Reads, checks and stores the uploaded files; returns their ids in form order.
pub(crate) async fn receive(
    state: &AppState,
    bucket: &RateBucket,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Vec<String>> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::invalid_request(format!("expected a multipart/form-data body: {e}"))
    })?;
    let mut drained = 0;
    let files = match read_files(state, &mut multipart, &mut drained).await {
        Ok(files) => files,
        Err(error) => {
            discard_rest(&mut multipart, &mut drained).await;
            return Err(error);
        }
    };
    if files.is_empty() {
        return Err(ApiError::validation(format!(
            "no file in the form: send each file in a `{FIELD}` field"
        )));
    }
    // Each file counts as one request; the rate-limit layer already took the first.
    let extra = u32::try_from(files.len() - 1).unwrap_or(u32::MAX);
    if extra > 0 {
        state
            .rate
            .charge(&bucket.0, extra)
            .map_err(|quota| ApiError::rate_limited(quota.retry_after))?;
    }
    super::stats::record_uploads(state, files.iter().map(|file| &file.bytes));
    let mut store = state.store();
    Ok(files
        .into_iter()
        .map(|file| store.add_file(file.filename, file.bytes, file.format))
        .collect())
}

async fn read_files(
    state: &AppState,
    multipart: &mut Multipart,
    drained: &mut usize,
) -> ApiResult<Vec<Incoming>> {
    let limits = state.config.limits;
    let mut files = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() != Some(FIELD) {
            // Other fields are ignored, but only up to the drain cap.
            discard_field(&mut field, drained).await;
            if *drained > DRAIN_CAP {
                return Err(ApiError::validation(format!(
                    "the form carries more than {DRAIN_CAP} bytes outside the `{FIELD}` field"
                )));
            }
            continue;
        }
        if files.len() == limits.max_files {
            return Err(ApiError::validation(format!(
                "at most {} files per upload",
                limits.max_files
            )));
        }
        let filename = field
            .file_name()
            .filter(|name| !name.trim().is_empty())
            .map_or_else(|| format!("upload-{}", files.len() + 1), str::to_owned);
        let bytes = read_file(&mut field, &filename, limits.max_file_bytes, drained).await?;
        let format = Format::sniff(&bytes).ok_or_else(|| {
            ApiError::validation(format!(
                "`{filename}` is not a PDF, JPEG or PNG file (checked by its content)"
            ))
        })?;
        files.push(Incoming {
            filename,
            bytes,
            format,
        });
    }
    Ok(files)
}

async fn read_file(
    field: &mut Field<'_>,
    filename: &str,
    limit: usize,
    drained: &mut usize,
) -> ApiResult<Bytes> {
    let mut buffer = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if buffer.len() + chunk.len() > limit {
            *drained += buffer.len() + chunk.len();
            discard_field(field, drained).await;
            return Err(ApiError::upload(format!(
                "`{filename}` is larger than the limit of {limit} bytes per file"
            )));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Reads and drops the rest of a field, within [`DRAIN_CAP`].
async fn discard_field(field: &mut Field<'_>, drained: &mut usize) {
    while *drained <= DRAIN_CAP {
        match field.chunk().await {
            Ok(Some(chunk)) => *drained += chunk.len(),
            _ => return,
        }
    }
}

/// Reads and drops the remaining fields, so the client can finish sending and read the error.
async fn discard_rest(multipart: &mut Multipart, drained: &mut usize) {
    while *drained <= DRAIN_CAP {
        match multipart.next_field().await {
            Ok(Some(mut field)) => discard_field(&mut field, drained).await,
            _ => return,
        }
    }
}

fn malformed(error: MultipartError) -> ApiError {
    ApiError::invalid_request(format!("malformed multipart body: {error}"))
}
