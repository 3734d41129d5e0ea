//! Writing generated files: atomically one at a time, several together ([`Batch`]), or in check
//! mode not at all. The writing itself is `invaro_atomic`'s, which needs nothing of the SDK, so
//! xtask builds (to repair it) when `openapi.yaml` is broken.

use std::{fs, io, path::Path};

use similar::TextDiff;

/// Makes `path` hold exactly `contents`.
///
/// In check mode nothing is written: a difference is an error carrying a unified diff and the
/// command that fixes it (`fix`).
pub fn ensure_contents(path: &Path, contents: &str, check: bool, fix: &str) -> Result<(), String> {
    let current = read_or_empty(path)?;
    if current == contents {
        return Ok(());
    }
    if check {
        return Err(out_of_date(path, &current, contents, fix));
    }
    write_atomic(path, contents.as_bytes())
        .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
}

/// The text of `path`, or an empty string when it does not exist.
fn read_or_empty(path: &Path) -> Result<String, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("{}: cannot be read: {e}", path.display())),
    }
}

/// The error of a check: a unified diff from `current` to `expected`, and the command that fixes it.
pub fn out_of_date(path: &Path, current: &str, expected: &str, fix: &str) -> String {
    let name = path.display().to_string();
    let diff = TextDiff::from_lines(current, expected)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{name} (committed)"),
            &format!("{name} (expected)"),
        )
        .to_string();
    format!("{diff}\n{name} is out of date. Run `{fix}` to update it.")
}

/// Writes `bytes` to a uniquely named temporary file beside `path`, flushes it to disk, then
/// renames it over `path`, so a reader (or a crash) never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    invaro_atomic::write(path, bytes)
}

/// Files and folders replaced together, all or nothing: [`invaro_atomic::Replacement`], with
/// errors as messages naming the file.
#[derive(Debug, Default)]
pub struct Batch(invaro_atomic::Replacement);

impl Batch {
    /// Stages `bytes` as the new contents of the file `path`; a file that already holds them is
    /// left alone (its modification time too, so cargo does not rebuild what depends on it).
    pub fn file(&mut self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        self.0.file(path, bytes).map_err(|e| cannot_write(path, &e))
    }

    /// Stages a new folder `path` holding exactly `files` (names and contents).
    pub fn folder(&mut self, path: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
        self.0
            .folder(path, files)
            .map_err(|e| cannot_write(path, &e))
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves every staged version into place, or, on an error, none.
    pub fn commit(self) -> Result<(), String> {
        self.0.commit().map_err(|e| e.to_string())
    }
}

fn cannot_write(path: &Path, e: &io::Error) -> String {
    format!("{}: cannot be written: {e}", path.display())
}

#[cfg(test)]
mod tests {
    //! What the wrapper adds: errors that name the file. The replacement itself (all or
    //! nothing, unchanged files skipped, no temporary left) is tested in `invaro-atomic`.
    use super::*;

    #[test]
    fn a_failed_commit_names_the_file_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/c");
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut batch = Batch::default();
        batch.file(&target, b"new c").unwrap();
        // The target's folder disappears between staging and commit.
        fs::remove_dir_all(target.parent().unwrap()).unwrap();
        let error = batch.commit().unwrap_err();
        assert!(error.contains("sub/c: cannot be written"), "{error}");
    }
}
