//! The local side of an item: its file's size and hash, and its result saved whole.

use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::Error;

/// The size and hex SHA-256 of the file at `path`, read in pieces.
pub(super) async fn hash(path: &Path) -> Result<(u64, String), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).await.map_err(io)?;
        if read == 0 {
            break;
        }
        size = size.saturating_add(read as u64);
        hasher.update(&buffer[..read]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Writes `text` and a newline to `path` atomically, removing what a run killed while saving
/// it left behind (the journal's lock says no one else saves there).
pub(super) async fn save(path: &Path, text: &str) -> Result<(), Error> {
    let (path, content) = (path.to_path_buf(), format!("{text}\n"));
    tokio::task::spawn_blocking(move || {
        invaro_atomic::remove_partials(&path);
        invaro_atomic::write(&path, content.as_bytes()).map_err(|source| Error::Io { path, source })
    })
    .await
    .map_err(|e| Error::invalid("result", format!("the writing task failed: {e}")))?
}
