//! Several files and folders replaced together, all or nothing.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use tempfile::{TempDir, TempPath};

use crate::{Staged, folder_of, name_of, sync_folder};

/// Files and folders replaced together, all or nothing.
///
/// Each new version is written whole beside its target first (a uniquely named temporary
/// file or folder in the same folder, flushed to disk). [`commit`](Self::commit) then moves
/// the old versions aside and the new ones in, one target after the other; if any step fails,
/// every target already replaced gets its old version back, so the tree is as it was.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let mut replacement = invaro_atomic::Replacement::default();
/// replacement.file(&dir.path().join("spec.yaml"), b"openapi: 3.1.0\n")?;
/// replacement.folder(&dir.path().join("pages"), &[("index.md".into(), b"# API\n".to_vec())])?;
/// replacement.commit()?;
/// assert!(dir.path().join("pages/index.md").is_file());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Replacement {
    staged: Vec<Target>,
}

#[derive(Debug)]
struct Target {
    path: PathBuf,
    new: New,
}

#[derive(Debug)]
enum New {
    File(TempPath),
    Folder(TempDir),
}

/// A target replaced by [`Replacement::commit`], with its old version kept aside until the end.
struct Replaced {
    path: PathBuf,
    is_folder: bool,
    old: Option<Aside>,
}

/// The old version of a target, moved into a uniquely named folder beside it.
struct Aside {
    holder: TempDir,
    path: PathBuf,
}

impl Replacement {
    /// Stages `bytes` as the new contents of the file `path`. A file that already holds them
    /// is left alone (its modification time too, so build tools do not rebuild what depends
    /// on it).
    ///
    /// # Errors
    ///
    /// The temporary file beside `path` could not be created, written or flushed.
    pub fn file(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if fs::read(path).is_ok_and(|current| current == bytes) {
            return Ok(());
        }
        let mut staged = Staged::new(path)?;
        staged.write_all(bytes)?;
        self.staged.push(Target {
            path: path.to_path_buf(),
            new: New::File(staged.into_flushed()?),
        });
        Ok(())
    }

    /// Stages a new folder `path` holding exactly `files` (names and contents).
    ///
    /// # Errors
    ///
    /// The temporary folder beside `path`, or a file in it, could not be written.
    pub fn folder(&mut self, path: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{}.", name_of(path)))
            .suffix(".new")
            .tempdir_in(folder_of(path))?;
        readable_by_all(dir.path())?;
        for (name, bytes) in files {
            crate::write(&dir.path().join(name), bytes)?;
        }
        sync_folder(dir.path());
        self.staged.push(Target {
            path: path.to_path_buf(),
            new: New::Folder(dir),
        });
        Ok(())
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Moves every staged version into place, or, on an error, none.
    ///
    /// # Errors
    ///
    /// A target could not be replaced. Its message names it (`<path>: cannot be written: ...`)
    /// and any earlier target whose old version could not be put back, and where that old
    /// version was kept.
    pub fn commit(self) -> io::Result<()> {
        let mut replaced: Vec<Replaced> = Vec::new();
        for target in self.staged {
            let path = target.path.clone();
            match replace(target) {
                Ok(done) => replaced.push(done),
                Err(e) => {
                    let mut message = format!("{}: cannot be written: {e}", path.display());
                    for problem in replaced.into_iter().rev().filter_map(restore) {
                        message.push_str("; ");
                        message.push_str(&problem);
                    }
                    return Err(io::Error::new(e.kind(), message));
                }
            }
        }
        for done in &replaced {
            sync_folder(folder_of(&done.path));
        }
        // Dropping the holders deletes the old versions.
        Ok(())
    }
}

/// Moves the target aside (when it exists) and the new version in; on failure, the old
/// version goes back before the error is returned.
fn replace(target: Target) -> io::Result<Replaced> {
    let Target { path, new } = target;
    let old = set_aside(&path)?;
    let is_folder = matches!(new, New::Folder(_));
    let moved_in = match new {
        New::File(temp) => temp.persist(&path).map_err(|e| e.error),
        New::Folder(dir) => {
            let staged = dir.keep();
            fs::rename(&staged, &path).inspect_err(|_| {
                let _ = fs::remove_dir_all(&staged);
            })
        }
    };
    match moved_in {
        Ok(()) => Ok(Replaced {
            path,
            is_folder,
            old,
        }),
        Err(e) => {
            if let Some(old) = old {
                fs::rename(&old.path, &path)?;
            }
            Err(e)
        }
    }
}

fn set_aside(target: &Path) -> io::Result<Option<Aside>> {
    if fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let holder = tempfile::Builder::new()
        .prefix(&format!(".{}.", name_of(target)))
        .suffix(".old")
        .tempdir_in(folder_of(target))?;
    let path = holder.path().join(name_of(target));
    fs::rename(target, &path)?;
    Ok(Some(Aside { holder, path }))
}

/// Puts the old version of a replaced target back; says what could not be undone, if anything.
fn restore(done: Replaced) -> Option<String> {
    // A file is renamed back over its replacement in one step; a folder must be removed first.
    let result = match (&done.old, done.is_folder) {
        (Some(old), false) => fs::rename(&old.path, &done.path),
        (Some(old), true) => {
            fs::remove_dir_all(&done.path).and_then(|()| fs::rename(&old.path, &done.path))
        }
        (None, false) => fs::remove_file(&done.path),
        (None, true) => fs::remove_dir_all(&done.path),
    };
    result.err().map(|e| {
        let kept = done.old.map(|old| {
            let _ = old.holder.keep();
            format!(" (the old version is kept at {})", old.path.display())
        });
        format!(
            "{} could not be restored: {e}{}",
            done.path.display(),
            kept.unwrap_or_default()
        )
    })
}

/// Temporary folders are created private; the folders they become are ordinary ones.
#[cfg(unix)]
fn readable_by_all(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn readable_by_all(_: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::names;

    #[test]
    fn a_replacement_failing_at_its_last_target_puts_every_earlier_one_back() {
        let dir = tempfile::tempdir().unwrap();
        let (a, folder, c) = (
            dir.path().join("a"),
            dir.path().join("up"),
            dir.path().join("sub/c"),
        );
        fs::write(&a, "old a").unwrap();
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("x"), "old x").unwrap();
        fs::create_dir_all(c.parent().unwrap()).unwrap();
        fs::write(&c, "old c").unwrap();

        let mut replacement = Replacement::default();
        replacement.file(&a, b"new a").unwrap();
        replacement
            .folder(&folder, &[("y".into(), b"new y".to_vec())])
            .unwrap();
        replacement.file(&c, b"new c").unwrap();
        // The last target's folder disappears between staging and commit: its move must fail
        // after the first two targets were replaced.
        fs::remove_dir_all(c.parent().unwrap()).unwrap();
        let error = replacement.commit().unwrap_err().to_string();
        assert!(error.contains("sub/c: cannot be written"), "{error}");

        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(fs::read_to_string(folder.join("x")).unwrap(), "old x");
        assert!(!folder.join("y").exists());
        assert_eq!(
            names(dir.path()),
            ["a", "up"],
            "no temporary is left behind"
        );
    }

    #[test]
    fn a_replacement_replaces_files_and_folders_and_skips_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, folder) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("up"),
        );
        fs::write(&a, "same").unwrap();
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("x"), "old x").unwrap();
        let mut replacement = Replacement::default();
        replacement.file(&a, b"same").unwrap();
        assert!(replacement.is_empty(), "an unchanged file is not staged");
        replacement.file(&b, b"new b").unwrap();
        replacement
            .folder(&folder, &[("y".into(), b"y".to_vec())])
            .unwrap();
        replacement.commit().unwrap();
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(names(&folder), ["y"]);
        assert_eq!(fs::read_to_string(folder.join("y")).unwrap(), "y");
        assert_eq!(names(dir.path()), ["a", "b", "up"]);
    }
}
