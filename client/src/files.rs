//! Writing files so that nothing half-written is ever left in place.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::Error;

/// What a temporary file for `path` is called after its prefix: `.<name>.` + random + this.
const PARTIAL: &str = ".partial";

/// Writes `content` to `path` through a uniquely named temporary file in the same folder
/// (`.<name>.<random>.partial`), synced before it is renamed over `path`: readers see the old
/// file or the new one, never a part.
pub(crate) fn write_atomic(path: &Path, content: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix(&partial_prefix(path))
        .suffix(PARTIAL)
        .tempfile_in(folder_of(path))
        .map_err(failed)?;
    file.write_all(content).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Removes the temporary files of [`write_atomic`] for `path` that a process killed while
/// writing left behind. Only for a caller that knows no one else is writing `path` now.
pub(crate) fn remove_partials(path: &Path) {
    let prefix = partial_prefix(path);
    let Ok(entries) = std::fs::read_dir(folder_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(PARTIAL) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn partial_prefix(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    format!(".{}.", name.unwrap_or_default())
}
