//! Files: upload and validate, list newest first, read with extracted data, download, soft delete.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Extension, Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use invaro::generated::types::{
    FileDeleted, FileDeletedResponse, FileList, FileListResponse, FileRecord, FileStatus,
    FileUploadResponse, FileUploadResult, FileValidation, ValidatedFile,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::request::{ListQuery, Owner, PathId};
use super::upload;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Phase, Store, StoredFile};

/// POST /files/upload
pub(crate) async fn upload(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult {
    let ids = upload::receive(&state, owner, multipart).await?;
    let store = state.store();
    let files = ids
        .iter()
        .filter_map(|id| store.files.get(id))
        .map(|file| ValidatedFile {
            doc_id: file.id.clone(),
            type_: Some(invaro::types::SchemaType::from(file.kind).to_string()),
            validation: Some(FileValidation {
                page_count: Some(file.page_count()),
                file_size: i64::try_from(file.size).ok(),
                format: Some(file.format.name().to_owned()),
            }),
        })
        .collect();
    Ok(Json(FileUploadResponse {
        success: true,
        data: FileUploadResult {
            files,
            status: Some("done".to_owned()),
        },
    })
    .into_response())
}

/// GET /files: newest first; deleted files only when asked for with `status=deleted`.
pub(crate) async fn list(State(state): State<AppState>, query: ListQuery) -> ApiResult {
    let page = query.page()?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            s.parse::<FileStatus>().map_err(|_| {
                ApiError::validation(format!(
                    "`status` must be pending, processing, completed, failed or deleted, got `{s}`"
                ))
            })
        })
        .transpose()?;
    let store = state.store();
    let mut files: Vec<&StoredFile> = store.files.values().collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.sequence));
    let matching: Vec<FileRecord> = files
        .into_iter()
        .map(|file| record(&state, &store, file))
        .filter(|r| match status {
            Some(wanted) => r.status == wanted,
            None => r.status != FileStatus::Deleted,
        })
        .filter(|r| query.kind.is_none() || r.type_ == query.kind)
        .collect();
    let total = matching.len() as i64;
    Ok(Json(FileListResponse {
        success: true,
        data: FileList {
            files: page.of(matching),
            page: Some(page.number as i64),
            page_size: Some(page.size as i64),
            total: Some(total),
        },
    })
    .into_response())
}

/// GET /files/{file_id}: the record with `processed_data` (null until a job completed).
pub(crate) async fn get(State(state): State<AppState>, PathId(id): PathId) -> ApiResult {
    let store = state.store();
    let file = find(&store, &id)?;
    let mut record = record(&state, &store, file);
    let finished_job = file
        .last_job
        .as_ref()
        .and_then(|job| store.jobs.get(job))
        .filter(|job| job.phase(Instant::now(), state.config.timings) == Phase::Completed);
    record.processed_data = finished_job.map(|job| (*job.result).clone());
    let mut data = serde_json::to_value(record).expect("a FileRecord serialises");
    // Both are nullable: show them as null rather than leave them out.
    for key in ["processed_data", "completed_at"] {
        data.as_object_mut()
            .expect("a FileRecord is an object")
            .entry(key)
            .or_insert(Value::Null);
    }
    Ok(Json(json!({ "success": true, "data": data })).into_response())
}

/// GET /files/{file_id}/download: the original bytes; 410 once deleted.
pub(crate) async fn download(State(state): State<AppState>, PathId(id): PathId) -> ApiResult {
    let store = state.store();
    let file = find(&store, &id)?;
    if file.deleted {
        return Err(ApiError::gone(format!("file `{id}` was deleted")));
    }
    let safe_name: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\""))
        .expect("the name was reduced to printable ASCII");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.bytes.clone(),
    )
        .into_response())
}

/// DELETE /files/{file_id}: soft delete (the content is let go, the record stays); 409 the
/// second time.
pub(crate) async fn delete(State(state): State<AppState>, PathId(id): PathId) -> ApiResult {
    let mut store = state.store();
    if find(&store, &id)?.deleted {
        return Err(ApiError::conflict(
            "FILE_ALREADY_DELETED",
            format!("file `{id}` is already deleted"),
        ));
    }
    store.delete_file(&id);
    Ok(Json(FileDeletedResponse {
        success: true,
        data: FileDeleted {
            file_id: id,
            message: Some("File deleted successfully".to_owned()),
        },
    })
    .into_response())
}

fn find<'a>(store: &'a Store, id: &str) -> ApiResult<&'a StoredFile> {
    store.files.get(id).ok_or_else(|| file_not_found(id))
}

fn file_not_found(id: &str) -> ApiError {
    ApiError::not_found("NOT_FOUND", format!("no file with id `{id}`"))
}

/// The file as the API lists it; its status follows its latest parse job.
fn record(state: &AppState, store: &Store, file: &StoredFile) -> FileRecord {
    let now = Instant::now();
    let timings = state.config.timings;
    let job = file.last_job.as_ref().and_then(|id| store.jobs.get(id));
    let status = match job.map(|job| job.phase(now, timings)) {
        _ if file.deleted => FileStatus::Deleted,
        None | Some(Phase::Pending) => FileStatus::Pending,
        Some(Phase::Processing { .. }) => FileStatus::Processing,
        Some(Phase::Completed) => FileStatus::Completed,
        Some(Phase::Failed) => FileStatus::Failed,
    };
    FileRecord {
        id: file.id.clone(),
        filename: file.filename.clone(),
        file_id: Some(file.storage_name.clone()),
        type_: Some(invaro::types::SchemaType::from(file.kind).to_string()),
        status,
        size: i64::try_from(file.size).ok(),
        created_at: Some(file.created_at),
        completed_at: job.and_then(|job| job.finished_at(now, timings)),
        processed_data: None,
    }
}
