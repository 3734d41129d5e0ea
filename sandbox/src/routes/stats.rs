//! `GET /_sandbox/stats`: the counters of [`crate::Stats`] as JSON, outside the API's prefix and
//! its layers (no key, no rate limit, not counted), so that a test or a CI job in another
//! process can assert what the sandbox saw: uploads by content hash, jobs started per document.

use axum::Json;
use axum::extract::State;
use sha2::{Digest, Sha256};

use crate::state::{AppState, Stats};

/// Where the counters are served.
pub(crate) const PATH: &str = "/_sandbox/stats";

/// GET /_sandbox/stats
pub(crate) async fn get(State(state): State<AppState>) -> Json<Stats> {
    Json(state.stats().clone())
}

/// The hex SHA-256 of each file's content (computed before the store is locked).
pub(crate) fn hashes<'a>(files: impl Iterator<Item = &'a bytes::Bytes>) -> Vec<String> {
    files
        .map(|bytes| hex::encode(Sha256::digest(bytes)))
        .collect()
}

/// Counts the files of one stored upload by the hashes of their content.
pub(crate) fn record_uploads(state: &AppState, hashes: Vec<String>) {
    let mut stats = state.stats();
    for hash in hashes {
        *stats.uploads_by_sha256.entry(hash).or_default() += 1;
    }
}
