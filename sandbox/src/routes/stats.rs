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

/// Counts the files of one accepted upload by the SHA-256 of their content.
pub(crate) fn record_uploads<'a>(state: &AppState, files: impl Iterator<Item = &'a bytes::Bytes>) {
    let hashes: Vec<String> = files
        .map(|bytes| hex::encode(Sha256::digest(bytes)))
        .collect();
    let mut stats = state.stats();
    for hash in hashes {
        *stats.uploads_by_sha256.entry(hash).or_default() += 1;
    }
}
