//! Files written whole or not at all.
//!
//! Every write goes to a uniquely named temporary file beside its target
//! (`.<name>.<random>.partial`, in the same folder, so the final rename cannot cross file
//! systems), is flushed to disk, and only then is renamed over the target: a reader, or a crash
//! at any moment, sees the old file or the new one, never a part of either.
//!
//! - [`write()`]: one file from bytes in memory.
//! - [`Staged`]: one file from content that arrives in pieces (a download), committed only
//!   when whole, replacing what is there or refusing to ([`Existing`]).
//! - [`Replacement`]: several files and folders replaced together: if one cannot be, every one
//!   already replaced gets its old version back.
//! - [`remove_partials`]: clears the temporary files a killed process left behind.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("result.json");
//! invaro_atomic::write(&path, b"{}\n")?;
//! assert_eq!(std::fs::read(&path)?, b"{}\n");
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod replacement;

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use tempfile::NamedTempFile;

pub use replacement::Replacement;

/// How the name of a temporary file ends: `.<name>.<random>` + this.
const PARTIAL: &str = ".partial";

/// Writes `bytes` to `path`, replacing what is there, whole or not at all.
///
/// A new file gets the permissions a new file in its folder would get (the umask's); a
/// replaced file keeps its own.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.txt");
/// invaro_atomic::write(&path, b"old")?;
/// invaro_atomic::write(&path, b"new")?;
/// assert_eq!(std::fs::read(&path)?, b"new");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// Any error of creating, writing, flushing or renaming the temporary file; `path` is then as
/// it was, and no temporary file is left.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut staged = Staged::new(path)?;
    staged.write_all(bytes)?;
    staged.commit(Existing::Replace).map(drop)
}

/// What [`Staged::commit`] does about a file already at the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it.
    Replace,
    /// Leave it, and fail with [`io::ErrorKind::AlreadyExists`].
    Keep,
}

/// A file being written beside its target: [`commit`](Self::commit) puts it in place whole;
/// dropping it instead removes it, leaving the target as it was.
///
/// ```
/// use std::io::Write;
/// use invaro_atomic::{Existing, Staged};
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("download.pdf");
/// let mut staged = Staged::new(&path)?;
/// staged.write_all(b"%PDF-")?;
/// staged.write_all(b"1.7")?;
/// assert!(!path.exists(), "nothing is in place before the commit");
/// assert_eq!(staged.commit(Existing::Keep)?, 8);
/// assert_eq!(std::fs::read(&path)?, b"%PDF-1.7");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Staged {
    temp: NamedTempFile,
    path: PathBuf,
    written: u64,
}

impl Staged {
    /// Starts writing `path`. Call it before fetching the content: a folder that cannot take
    /// the file fails here, having cost nothing.
    ///
    /// # Errors
    ///
    /// `path` is a folder ([`io::ErrorKind::IsADirectory`]), or its folder does not exist or
    /// cannot be written.
    pub fn new(path: &Path) -> io::Result<Self> {
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a folder, not a file",
            ));
        }
        Ok(Self {
            temp: temp_file_for(path)?,
            path: path.to_path_buf(),
            written: 0,
        })
    }

    /// Where the file will be.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Flushes the file to disk and renames it into place; returns its length.
    ///
    /// # Errors
    ///
    /// Flushing or renaming failed, or a file is there and `existing` is [`Existing::Keep`]
    /// ([`io::ErrorKind::AlreadyExists`]). The target is then as it was and the temporary file
    /// is removed.
    pub fn commit(self, existing: Existing) -> io::Result<u64> {
        self.temp.as_file().sync_all()?;
        let placed = match existing {
            Existing::Replace => self.temp.persist(&self.path),
            Existing::Keep => self.temp.persist_noclobber(&self.path),
        };
        placed.map_err(|e| e.error)?;
        sync_folder(folder_of(&self.path));
        Ok(self.written)
    }

    /// The flushed temporary file, for a [`Replacement`] to move into place.
    fn into_flushed(self) -> io::Result<tempfile::TempPath> {
        self.temp.as_file().sync_all()?;
        Ok(self.temp.into_temp_path())
    }
}

impl Write for Staged {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.temp.write(bytes)?;
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Removes the temporary files that a process killed while writing `path` left beside it.
/// Only for a caller that knows no one else is writing `path` now (it would remove that
/// writer's file too).
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("r.json");
/// std::fs::write(dir.path().join(".r.json.x1y2z3.partial"), b"half")?;
/// invaro_atomic::remove_partials(&path);
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
/// # Ok(()) }
/// ```
pub fn remove_partials(path: &Path) {
    let prefix = partial_prefix(path);
    let Ok(entries) = fs::read_dir(folder_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(PARTIAL) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A temporary file beside `target`, with the permissions of the file it will replace, or
/// those a new file there would get.
fn temp_file_for(target: &Path) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    let prefix = partial_prefix(target);
    builder.prefix(&prefix).suffix(PARTIAL);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(target).map_or(0o666, |meta| meta.permissions().mode() & 0o7777);
        // Applied through open(2), so the umask still narrows a new file's mode.
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    builder.tempfile_in(folder_of(target))
}

/// Flushes a folder's entries (the renames into it) to disk; best effort, as not every
/// platform can open a folder for that.
fn sync_folder(dir: &Path) {
    if let Ok(folder) = fs::File::open(dir) {
        let _ = folder.sync_all();
    }
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn partial_prefix(path: &Path) -> String {
    format!(".{}.", name_of(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("readable")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        fs::write(&path, "old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn a_staged_file_dropped_leaves_the_old_file_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pdf");
        fs::write(&path, b"old").unwrap();
        let mut staged = Staged::new(&path).unwrap();
        staged.write_all(b"new but cut short").unwrap();
        assert_eq!(staged.len(), 17);
        drop(staged);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["x.pdf"]);
    }

    #[test]
    fn keep_refuses_to_replace_and_replace_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let stage = |bytes: &[u8]| {
            let mut staged = Staged::new(&path).unwrap();
            staged.write_all(bytes).unwrap();
            staged
        };
        stage(b"one").commit(Existing::Keep).unwrap();
        let e = stage(b"two").commit(Existing::Keep).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        stage(b"two").commit(Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["r.json"]);
    }

    #[test]
    fn a_folder_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = Staged::new(dir.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        let e = write(&dir.path().join("missing/x"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script.sh");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o751)).unwrap();
        write(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o751);
    }

    #[test]
    fn remove_partials_removes_only_the_targets_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        for name in [".r.json.abc.partial", ".other.json.abc.partial", "r.json"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        remove_partials(&path);
        assert_eq!(names(dir.path()), [".other.json.abc.partial", "r.json"]);
    }
}
