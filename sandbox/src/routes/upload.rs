//! The multipart upload shared by POST /parse/upload and POST /files/upload.
//!
//! Files arrive chunk by chunk, and each is checked as it comes: the second and later files are
//! charged to the rate limit when their part begins, and a file over the size limit, a file too
//! many, a file that is not a PDF, JPEG or PNG (by its first bytes), a file that would overflow
//! the storage cap, or a refused charge stops the reading: the whole upload is rejected, nothing
//! is stored, and the rest of the body is discarded unread (within [`DRAIN_CAP`]) so the client
//! can read the answer.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use bytes::Bytes;

use super::request::{DRAIN_CAP, Owner};
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
    Owner(owner): Owner,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Vec<String>> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::invalid_request(format!("expected a multipart/form-data body: {e}"))
    })?;
    let mut drained = 0;
    let files = match read_files(state, owner, &mut multipart, &mut drained).await {
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
    let total = files.iter().map(|file| file.bytes.len()).sum();
    let mut store = state.store();
    // Checked again under the lock: uploads running side by side each saw room for themselves.
    let cap = state.config.limits.max_storage_bytes;
    if store.file_bytes().saturating_add(total) > cap {
        return Err(ApiError::storage_full(cap));
    }
    let hashed = super::stats::hashes(files.iter().map(|file| &file.bytes));
    let ids = files
        .into_iter()
        .map(|file| store.add_file(file.filename, file.bytes, file.format))
        .collect();
    drop(store);
    super::stats::record_uploads(state, hashed);
    Ok(ids)
}

async fn read_files(
    state: &AppState,
    owner: usize,
    multipart: &mut Multipart,
    drained: &mut usize,
) -> ApiResult<Vec<Incoming>> {
    let limits = state.config.limits;
    let mut files: Vec<Incoming> = Vec::new();
    let mut received = 0usize;
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
        // Each file counts as one request; the rate-limit layer already took the first.
        if !files.is_empty() {
            state
                .rate
                .charge(owner, 1)
                .map_err(|quota| ApiError::rate_limited(quota.retry_after))?;
        }
        let filename = field
            .file_name()
            .filter(|name| !name.trim().is_empty())
            .map_or_else(|| format!("upload-{}", files.len() + 1), str::to_owned);
        let room = limits
            .max_storage_bytes
            .saturating_sub(state.store().file_bytes().saturating_add(received));
        let limit = FileLimit {
            per_file: limits.max_file_bytes,
            room,
            cap: limits.max_storage_bytes,
        };
        let bytes = read_file(&mut field, &filename, limit, drained).await?;
        let format = Format::sniff(&bytes).ok_or_else(|| {
            ApiError::validation(format!(
                "`{filename}` is not a PDF, JPEG or PNG file (checked by its content)"
            ))
        })?;
        received += bytes.len();
        files.push(Incoming {
            filename,
            bytes,
            format,
        });
    }
    Ok(files)
}

/// How large the file being read may grow.
#[derive(Clone, Copy)]
struct FileLimit {
    /// The size limit of one file.
    per_file: usize,
    /// What is left of the storage cap.
    room: usize,
    /// The storage cap, for the message.
    cap: usize,
}

async fn read_file(
    field: &mut Field<'_>,
    filename: &str,
    limit: FileLimit,
    drained: &mut usize,
) -> ApiResult<Bytes> {
    let mut buffer = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        let size = buffer.len().saturating_add(chunk.len());
        let refusal = if size > limit.per_file {
            Some(ApiError::upload(format!(
                "`{filename}` is larger than the limit of {} bytes per file",
                limit.per_file
            )))
        } else if size > limit.room {
            Some(ApiError::storage_full(limit.cap))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            *drained += size;
            discard_field(field, drained).await;
            return Err(refusal);
        }
        buffer.extend_from_slice(&chunk);
    }
    // Held for as long as the file is: no spare capacity.
    buffer.shrink_to_fit();
    Ok(Bytes::from(buffer))
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
