//! Parsing: upload documents, start jobs (one or a batch), read a job's status and result.

use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Extension, Multipart, State};
use axum::response::IntoResponse;
use chrono::Utc;
use invaro::JobStatus;
use invaro::generated::types::{
    BatchRequest, BatchStarted, BatchStartedResponse, Job, JobResponse, JobStarted,
    JobStartedResponse, ParsedDocument, StartJobRequest, UploadResponse, UploadResult,
    UploadedDocument,
};
use serde_json::json;
use tokio::time::Instant;

use super::request::{JsonBody, Owner, PathId};
use super::upload;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Phase, StoredJob};
use crate::{results, webhooks};
use invaro::DocumentKind;

/// The most documents one batch may start.
const MAX_BATCH: usize = 10;

/// POST /parse/upload
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
        .map(|file| UploadedDocument {
            doc_id: file.id.clone(),
            file_id: Some(file.storage_name.clone()),
            file_url: Some(format!("{}/files/{}/download", state.base_url, file.id)),
        })
        .collect();
    Ok(Json(UploadResponse {
        success: true,
        data: UploadResult {
            files,
            status: Some("done".to_owned()),
        },
    })
    .into_response())
}

/// POST /parse/statements
pub(crate) async fn start_statement(state: State<AppState>, body: JsonBody) -> ApiResult {
    start(state, body, DocumentKind::Statement).await
}

/// POST /parse/invoices
pub(crate) async fn start_invoice(state: State<AppState>, body: JsonBody) -> ApiResult {
    start(state, body, DocumentKind::Invoice).await
}

async fn start(State(state): State<AppState>, body: JsonBody, kind: DocumentKind) -> ApiResult {
    let request: StartJobRequest = body.decode()?;
    let callback = callback(&state, request.callback_url.as_deref())?;
    let ids = create_jobs(&state, kind, &[request.document_id], callback).map_err(|missing| {
        ApiError::not_found("NOT_FOUND", format!("no document with id `{}`", missing[0]))
    })?;
    let job_id = ids.into_iter().next().expect("one job per document");
    Ok(Json(JobStartedResponse {
        success: true,
        data: JobStarted {
            job_id,
            status: JobStatus::Pending,
        },
    })
    .into_response())
}

/// POST /parse/statements/batch
pub(crate) async fn batch_statements(
    state: State<AppState>,
    owner: Extension<Owner>,
    body: JsonBody,
) -> ApiResult {
    batch(state, owner, body, DocumentKind::Statement).await
}

/// POST /parse/invoices/batch
pub(crate) async fn batch_invoices(
    state: State<AppState>,
    owner: Extension<Owner>,
    body: JsonBody,
) -> ApiResult {
    batch(state, owner, body, DocumentKind::Invoice).await
}

async fn batch(
    State(state): State<AppState>,
    Extension(Owner(owner)): Extension<Owner>,
    body: JsonBody,
    kind: DocumentKind,
) -> ApiResult {
    let request: BatchRequest = body.decode()?;
    let count = request.files.len();
    if !(1..=MAX_BATCH).contains(&count) {
        return Err(ApiError::validation(format!(
            "`files` must hold 1 to {MAX_BATCH} documents, got {count}"
        )));
    }
    let callback = callback(&state, request.callback_url.as_deref())?;
    // Each document counts as one request; the rate-limit layer already took the first.
    if count > 1 {
        let extra = u32::try_from(count - 1).expect("at most 9");
        state
            .rate
            .charge(owner, extra)
            .map_err(|quota| ApiError::rate_limited(quota.retry_after))?;
    }
    let documents: Vec<String> = request.files.into_iter().map(|f| f.document_id).collect();
    let job_ids = create_jobs(&state, kind, &documents, callback).map_err(|missing| {
        ApiError::validation(format!("{} unknown document id(s)", missing.len()))
            .with_details(json!({ "unknown_document_ids": missing }))
    })?;
    let now = Utc::now();
    let sequence = state.store().next_sequence();
    Ok(Json(BatchStartedResponse {
        success: true,
        data: BatchStarted {
            batch_id: format!("batch_{}{sequence:06}", now.timestamp_millis()),
            status: JobStatus::Pending,
            job_ids,
            created_at: Some(now),
            updated_at: Some(now),
        },
    })
    .into_response())
}

fn callback(state: &AppState, url: Option<&str>) -> ApiResult<Option<reqwest::Url>> {
    let allowed = &state.config.webhooks.allowed_hosts;
    url.map(|url| webhooks::parse_callback(url, allowed))
        .transpose()
        .map_err(ApiError::validation)
}

/// Creates one job per document, all or none; `Err` lists the documents that do not exist.
fn create_jobs(
    state: &AppState,
    kind: DocumentKind,
    documents: &[String],
    callback: Option<reqwest::Url>,
) -> Result<Vec<String>, Vec<String>> {
    let mut store = state.store();
    let missing: Vec<String> = documents
        .iter()
        .filter(|id| store.files.get(*id).is_none_or(|f| f.deleted))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let now = Utc::now();
    let mut ids = Vec::with_capacity(documents.len());
    for document in documents {
        let sequence = store.next_sequence();
        let id = format!("job_{}{sequence:06}", now.timestamp_millis());
        let file = store.files.get_mut(document).expect("checked above");
        file.kind = kind;
        file.last_job = Some(id.clone());
        let marker = &state.config.fail_marker;
        let result = match kind {
            DocumentKind::Invoice => results::invoice(&file.bytes),
            DocumentKind::Statement => {
                results::statement(&file.bytes, state.config.statement_transactions)
            }
        };
        let job = StoredJob {
            id: id.clone(),
            kind,
            document_id: document.clone(),
            storage_name: file.storage_name.clone(),
            started: Instant::now(),
            created_at: now,
            fails: !marker.is_empty() && file.filename.to_lowercase().contains(marker.as_str()),
            result: Arc::new(result),
        };
        store.jobs.insert(id.clone(), job);
        store.job_order.push(id.clone());
        ids.push(id);
    }
    drop(store);
    let mut stats = state.stats();
    stats.jobs_created += ids.len() as u64;
    for document in documents {
        *stats
            .job_starts_by_document
            .entry(document.clone())
            .or_default() += 1;
    }
    drop(stats);
    if let Some(callback) = callback {
        for id in &ids {
            webhooks::spawn(state.clone(), id.clone(), callback.clone());
        }
    }
    Ok(ids)
}

/// Where a completed job's output goes: the docs use both names.
#[derive(Clone, Copy)]
enum Output {
    Result,
    Results,
}

/// GET /parse/statements/{job_id}
pub(crate) async fn statement_status(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult {
    let job = view(&state, &id, Some(DocumentKind::Statement), Output::Results)?;
    Ok(Json(JobResponse {
        success: true,
        data: job,
    })
    .into_response())
}

/// GET /parse/invoices/{job_id}: enveloped unless the sandbox is told to answer bare.
pub(crate) async fn invoice_status(State(state): State<AppState>, PathId(id): PathId) -> ApiResult {
    let job = view(&state, &id, Some(DocumentKind::Invoice), Output::Result)?;
    Ok(if state.config.invoice_status_bare {
        Json(job).into_response()
    } else {
        Json(JobResponse {
            success: true,
            data: job,
        })
        .into_response()
    })
}

/// GET /parse/{job_id}
pub(crate) async fn general_status(State(state): State<AppState>, PathId(id): PathId) -> ApiResult {
    let job = view(&state, &id, None, Output::Result)?;
    Ok(Json(JobResponse {
        success: true,
        data: job,
    })
    .into_response())
}

/// The job `id` as the API shows it; 404 when it does not exist or is of another kind.
fn view(state: &AppState, id: &str, kind: Option<DocumentKind>, output: Output) -> ApiResult<Job> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(ApiError::invalid_request(
            "Invalid job ID provided: use the `job_id` a start call returned \
             (letters, digits, `_` and `-`)",
        ));
    }
    let store = state.store();
    let job = store
        .jobs
        .get(id)
        .filter(|job| kind.is_none_or(|k| k == job.kind));
    let Some(job) = job else {
        let what = kind.map_or("job", |k| match k {
            DocumentKind::Invoice => "invoice job",
            DocumentKind::Statement => "bank statement job",
        });
        return Err(ApiError::not_found(
            "NOT_FOUND",
            format!("no {what} with id `{id}`"),
        ));
    };
    Ok(job_view(job, state, output))
}

fn job_view(job: &StoredJob, state: &AppState, output: Output) -> Job {
    let now = Instant::now();
    let timings = state.config.timings;
    let phase = job.phase(now, timings);
    let progress = match phase {
        Phase::Pending => Some(0.0),
        Phase::Processing { progress } => Some(progress),
        Phase::Completed => Some(100.0),
        Phase::Failed => None,
    };
    let parsed = (phase == Phase::Completed).then(|| ParsedDocument((*job.result).clone()));
    let (result, results) = match output {
        Output::Result => (parsed, None),
        Output::Results => (None, parsed),
    };
    Job {
        job_id: job.id.clone(),
        status: phase.status(),
        file_id: Some(job.storage_name.clone()),
        created_at: Some(job.created_at),
        updated_at: Some(job.updated_at(now, timings)),
        progress,
        result,
        results,
        error: (phase == Phase::Failed).then(|| {
            format!(
                "the document could not be parsed (its file name contains the failure marker `{}`)",
                state.config.fail_marker
            )
        }),
    }
}
