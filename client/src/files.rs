//! Writing files so that nothing half-written is ever left in place.

use std::{io::Write, path::Path};

use crate::Error;

/// Writes `content` to `path` through a uniquely named temporary file in the same folder,
/// synced before it is renamed over `path`: readers see the old file or the new one, never a
/// part.
pub(crate) fn write_atomic(path: &Path, content: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(failed)?;
    file.write_all(content).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}
