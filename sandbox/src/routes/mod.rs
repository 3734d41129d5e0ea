//! The API's routes under `/api/v1`, and the extractors they share.

mod files;
mod layers;
mod parse;
mod request;
mod schemas;
mod stats;
mod upload;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::ApiError;
use crate::state::{AppState, Holdings};

/// Where the API is served, as on the real host.
pub(crate) const API_PREFIX: &str = "/api/v1";

/// Every documented operation: method, path relative to [`API_PREFIX`], operationId.
pub(crate) const OPERATIONS: &[(Method, &str, &str)] = &[
    (Method::POST, "/parse/upload", "uploadDocuments"),
    (Method::POST, "/parse/statements", "processStatements"),
    (
        Method::GET,
        "/parse/statements/{job_id}",
        "getStatementStatus",
    ),
    (
        Method::POST,
        "/parse/statements/batch",
        "processStatementsBatch",
    ),
    (Method::POST, "/parse/invoices", "processInvoices"),
    (Method::GET, "/parse/invoices/{job_id}", "getInvoiceStatus"),
    (
        Method::POST,
        "/parse/invoices/batch",
        "processInvoicesBatch",
    ),
    (Method::GET, "/parse/{job_id}", "getGeneralJobStatus"),
    (Method::POST, "/schemas", "createSchema"),
    (Method::GET, "/schemas/list", "listSchemas"),
    (Method::GET, "/schemas/id/{schema_id}", "getSchema"),
    (Method::PUT, "/schemas/id/{schema_id}", "updateSchema"),
    (Method::POST, "/files/upload", "uploadFiles"),
    (Method::GET, "/files", "listFiles"),
    (Method::GET, "/files/{file_id}", "getFile"),
    (Method::DELETE, "/files/{file_id}", "deleteFile"),
    (Method::GET, "/files/{file_id}/download", "downloadFile"),
];

/// The operationId served at `method` and the route template `path` (relative to the prefix).
pub(crate) fn operation_id(method: &Method, path: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, id)| *id)
}

/// Where the sandbox reports what it holds, outside the API (authenticated, never rate-limited
/// or faulted).
pub(crate) const HOLDINGS_PATH: &str = "/sandbox/holdings";

/// The whole application: routes, then faults, the rate limit, auth, the body deadline and
/// logging around them (outermost last). Auth runs before the rate limit, so a refused key is
/// answered 401 whatever the load and never holds or uses up a window.
pub(crate) fn router(state: AppState) -> Router {
    // Uploads enforce their own per-file limits while streaming, so axum's whole-body limit is off.
    let api = Router::new()
        .route(
            "/parse/upload",
            post(parse::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/parse/statements", post(parse::start_statement))
        .route("/parse/statements/batch", post(parse::batch_statements))
        .route("/parse/statements/{job_id}", get(parse::statement_status))
        .route("/parse/invoices", post(parse::start_invoice))
        .route("/parse/invoices/batch", post(parse::batch_invoices))
        .route("/parse/invoices/{job_id}", get(parse::invoice_status))
        .route("/parse/{job_id}", get(parse::general_status))
        .route("/schemas", post(schemas::create))
        .route("/schemas/list", get(schemas::list))
        .route(
            "/schemas/id/{schema_id}",
            get(schemas::get).put(schemas::update),
        )
        .route(
            "/files/upload",
            post(files::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/files", get(files::list))
        .route("/files/{file_id}", get(files::get).delete(files::delete))
        .route("/files/{file_id}/download", get(files::download));
    Router::new()
        .nest(API_PREFIX, api)
        .route(HOLDINGS_PATH, get(holdings))
        .fallback(|| async { ApiError::not_found("NOT_FOUND", "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(from_fn_with_state(state.clone(), layers::inject_faults))
        .layer(from_fn_with_state(state.clone(), layers::rate_limit))
        .layer(from_fn_with_state(state.clone(), layers::authenticate))
        .layer(from_fn_with_state(state.clone(), layers::body_deadline))
        .layer(from_fn_with_state(state.clone(), layers::observe))
        .route(stats::PATH, get(stats::get))
        .with_state(state)
}

/// GET /sandbox/holdings: what the sandbox holds now, as JSON.
async fn holdings(State(state): State<AppState>) -> Json<Holdings> {
    Json(state.holdings())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_id_is_listed_once() {
        let mut ids: Vec<_> = OPERATIONS.iter().map(|(_, _, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 17);
        assert_eq!(
            operation_id(&Method::PUT, "/schemas/id/{schema_id}"),
            Some("updateSchema")
        );
        assert_eq!(operation_id(&Method::GET, "/parse/upload"), None);
    }
}
