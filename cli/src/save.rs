//! Files the CLI writes land whole or not at all (through `invaro_atomic`): each is written
//! under a temporary name in its own folder, flushed to disk, then renamed into place. A
//! failure at any point leaves what was there before, and no partial or temporary file.

use std::{io::Write, path::Path};

use invaro_atomic::Existing;
use tempfile::NamedTempFile;

use crate::exit::{Exit, Failure};

/// Checks that `dir` is a folder this process can write in, creating it if need be; `flag` is
/// the option it came from, for the message.
pub fn check_folder(dir: &Path, flag: &str) -> Result<(), Failure> {
    let refuse = |rule: String| Failure::usage(format!("{flag} {}: {rule}", dir.display()));
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => return Err(refuse("is a file, not a folder".into())),
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dir)
            .map_err(|e| refuse(format!("is not a folder and cannot be created: {e}")))?,
    }
    // The one sure test of writing is to write.
    NamedTempFile::new_in(dir)
        .map(drop)
        .map_err(|e| refuse(format!("is not writable: {e}")))
}

/// Writes `bytes` to `path` atomically; an existing file is replaced only when `replace`.
pub fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<(), Failure> {
    let mut staged = Staged::new(path)?;
    staged.write(bytes)?;
    staged.commit(None, replace).map(drop)
}

/// A file being written next to where it will live ([`invaro_atomic::Staged`], with the
/// CLI's failures): [`commit`](Self::commit) puts it in place; dropping it removes it.
pub struct Staged(invaro_atomic::Staged);

impl Staged {
    /// Starts writing `path`. Fails (as bad input) when its folder cannot take a file, so call
    /// it before sending anything.
    pub fn new(path: &Path) -> Result<Self, Failure> {
        invaro_atomic::Staged::new(path).map(Self).map_err(|e| {
            Failure::usage(match e.kind() {
                std::io::ErrorKind::IsADirectory => format!("{}: {e}", path.display()),
                _ => format!(
                    "{}: cannot be written in {}: {e}",
                    path.display(),
                    folder_of(path).display()
                ),
            })
        })
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.0
            .write_all(bytes)
            .map_err(|e| self.failed(&e.to_string()))
    }

    /// Checks the length against `expected` (what the server announced, if anything), flushes
    /// to disk and renames into place, replacing a file there only when `replace`. Returns the
    /// length.
    pub fn commit(self, expected: Option<u64>, replace: bool) -> Result<u64, Failure> {
        if let Some(expected) = expected.filter(|&n| n != self.0.len()) {
            return Err(self.failed(&format!(
                "the server announced {expected} bytes but sent {}; the file was left as it was",
                self.0.len()
            )));
        }
        let path = self.0.path().to_path_buf();
        let existing = if replace {
            Existing::Replace
        } else {
            Existing::Keep
        };
        self.0.commit(existing).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "appeared while the command ran; pass --overwrite to replace it".to_string()
                }
                _ => e.to_string(),
            };
            Failure::new(Exit::Api, format!("{}: {why}", path.display()))
        })
    }

    /// The transfer meant for it failed with `cause`: a failure that says what was kept.
    pub fn broke_off(&self, cause: Failure) -> Failure {
        let why = format!("the download failed ({cause}); the file was left as it was");
        Failure::new(cause.exit, format!("{}: {why}", self.0.path().display()))
    }

    fn failed(&self, why: &str) -> Failure {
        Failure::new(Exit::Api, format!("{}: {why}", self.0.path().display()))
    }
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
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
    fn a_short_write_leaves_the_old_file_and_nothing_else() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("x.pdf");
        std::fs::write(&path, b"old").expect("written");
        let mut staged = Staged::new(&path).expect("staged");
        staged.write(b"new but short").expect("written");
        let e = staged.commit(Some(100), true).unwrap_err();
        assert!(e.message.contains("announced 100 bytes but sent 13"), "{e}");
        assert_eq!(std::fs::read(&path).expect("kept"), b"old");
        assert_eq!(entries(dir.path()), ["x.pdf"]);
    }

    #[test]
    fn writes_replace_only_when_told() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("r.json");
        write(&path, b"one", false).expect("a new file");
        let e = write(&path, b"two", false).unwrap_err();
        assert!(e.message.contains("--overwrite"), "{e}");
        assert_eq!(std::fs::read(&path).expect("kept"), b"one");
        write(&path, b"two", true).expect("replaced");
        assert_eq!(std::fs::read(&path).expect("replaced"), b"two");
        assert_eq!(entries(dir.path()), ["r.json"]);
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").expect("written");
        let e = check_folder(&file, "--out").unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("is a file, not a folder"), "{e}");
        let e = check_folder(&file.join("sub"), "--out").unwrap_err();
        assert!(e.message.contains("cannot be created"), "{e}");
    }
}
