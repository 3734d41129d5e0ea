//! Writing generated files: atomically one at a time, several together ([`Batch`]), or in check
//! mode not at all.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use similar::TextDiff;
use tempfile::{NamedTempFile, TempDir, TempPath};

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
    staged_file(path, bytes)?
        .persist(path)
        .map_err(|e| e.error)?;
    sync_folder(folder_of(path));
    Ok(())
}

/// Files and folders replaced together, all or nothing.
///
/// Each new version is written completely beside its target first (a uniquely named temporary
/// file or folder in the same folder, flushed to disk). [`Batch::commit`] then moves the old
/// versions aside and the new ones in, one target after the other; if any step fails, every
/// target already replaced gets its old version back, so the tree is as it was.
#[derive(Debug, Default)]
pub struct Batch {
    staged: Vec<Staged>,
}

#[derive(Debug)]
struct Staged {
    target: PathBuf,
    new: New,
}

#[derive(Debug)]
enum New {
    File(TempPath),
    Folder(TempDir),
}

/// A target replaced by [`Batch::commit`], with its old version kept aside until the end.
struct Replaced {
    target: PathBuf,
    is_folder: bool,
    old: Option<Aside>,
}

/// The old version of a target, moved into a uniquely named folder beside it.
struct Aside {
    holder: TempDir,
    path: PathBuf,
}

impl Batch {
    /// Stages `bytes` as the new contents of the file `path`; a file that already holds them is
    /// left alone (its modification time too, so cargo does not rebuild what depends on it).
    pub fn file(&mut self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        if fs::read(path).is_ok_and(|current| current == bytes) {
            return Ok(());
        }
        let temp = staged_file(path, bytes).map_err(|e| cannot_write(path, &e))?;
        self.staged.push(Staged {
            target: path.to_path_buf(),
            new: New::File(temp),
        });
        Ok(())
    }

    /// Stages a new folder `path` holding exactly `files` (names and contents).
    pub fn folder(&mut self, path: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
        let dir = staged_folder(path, files).map_err(|e| cannot_write(path, &e))?;
        self.staged.push(Staged {
            target: path.to_path_buf(),
            new: New::Folder(dir),
        });
        Ok(())
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Moves every staged version into place, or, on an error, none.
    pub fn commit(self) -> Result<(), String> {
        let mut replaced: Vec<Replaced> = Vec::new();
        for staged in self.staged {
            let target = staged.target.clone();
            match replace(staged) {
                Ok(done) => replaced.push(done),
                Err(e) => {
                    let mut message = cannot_write(&target, &e);
                    for problem in replaced.into_iter().rev().filter_map(restore) {
                        message.push_str("; ");
                        message.push_str(&problem);
                    }
                    return Err(message);
                }
            }
        }
        for done in &replaced {
            sync_folder(folder_of(&done.target));
        }
        // Dropping the holders deletes the old versions.
        Ok(())
    }
}

/// Moves the target aside (when it exists) and the new version in; on failure, the old version
/// goes back before the error is returned.
fn replace(staged: Staged) -> io::Result<Replaced> {
    let Staged { target, new } = staged;
    let old = set_aside(&target)?;
    let is_folder = matches!(new, New::Folder(_));
    let moved_in = match new {
        New::File(temp) => temp.persist(&target).map_err(|e| e.error),
        New::Folder(dir) => {
            let path = dir.keep();
            fs::rename(&path, &target).inspect_err(|_| {
                let _ = fs::remove_dir_all(&path);
            })
        }
    };
    match moved_in {
        Ok(()) => Ok(Replaced {
            target,
            is_folder,
            old,
        }),
        Err(e) => {
            if let Some(old) = old {
                fs::rename(&old.path, &target)?;
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
        .prefix(&format!(".{}.old-", name_of(target)))
        .tempdir_in(folder_of(target))?;
    let path = holder.path().join(name_of(target));
    fs::rename(target, &path)?;
    Ok(Some(Aside { holder, path }))
}

/// Puts the old version of a replaced target back; says what could not be undone, if anything.
fn restore(done: Replaced) -> Option<String> {
    // A file is renamed back over its replacement in one step; a folder must be removed first.
    let result = match (&done.old, done.is_folder) {
        (Some(old), false) => fs::rename(&old.path, &done.target),
        (Some(old), true) => {
            fs::remove_dir_all(&done.target).and_then(|()| fs::rename(&old.path, &done.target))
        }
        (None, false) => fs::remove_file(&done.target),
        (None, true) => fs::remove_dir_all(&done.target),
    };
    result.err().map(|e| {
        let kept = done.old.map(|old| {
            let _ = old.holder.keep();
            format!(" (the old version is kept at {})", old.path.display())
        });
        format!(
            "{} could not be restored: {e}{}",
            done.target.display(),
            kept.unwrap_or_default()
        )
    })
}

/// A uniquely named temporary file beside `path` holding `bytes`, flushed to disk, with the
/// permissions of the file it replaces (or the usual ones of a new file).
fn staged_file(path: &Path, bytes: &[u8]) -> io::Result<TempPath> {
    let mut file = temp_file_beside(path)?;
    file.write_all(bytes)?;
    if let Ok(meta) = fs::metadata(path) {
        fs::set_permissions(file.path(), meta.permissions())?;
    } else {
        readable_by_all(file.path())?;
    }
    file.as_file().sync_all()?;
    Ok(file.into_temp_path())
}

fn temp_file_beside(path: &Path) -> io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!(".{}.", name_of(path)))
        .suffix(".tmp")
        .tempfile_in(folder_of(path))
}

fn staged_folder(path: &Path, files: &[(String, Vec<u8>)]) -> io::Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(&format!(".{}.new-", name_of(path)))
        .tempdir_in(folder_of(path))?;
    readable_by_all(dir.path())?;
    for (name, bytes) in files {
        let file = dir.path().join(name);
        staged_file(&file, bytes)?
            .persist(&file)
            .map_err(|e| e.error)?;
    }
    sync_folder(dir.path());
    Ok(dir)
}

/// Temporary files are created private; the files they become are ordinary project files.
#[cfg(unix)]
fn readable_by_all(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn readable_by_all(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Flushes a folder's entries (the renames into it) to disk; best effort, as not every platform
/// can open a folder for that.
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

fn cannot_write(path: &Path, e: &io::Error) -> String {
    format!("{}: cannot be written: {e}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    #[test]
    fn a_batch_failing_at_its_last_target_puts_every_earlier_one_back() {
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

        let mut batch = Batch::default();
        batch.file(&a, b"new a").unwrap();
        batch
            .folder(&folder, &[("y".into(), b"new y".to_vec())])
            .unwrap();
        batch.file(&c, b"new c").unwrap();
        // The last target's folder disappears between staging and commit: its move must fail
        // after the first two targets were replaced.
        fs::remove_dir_all(c.parent().unwrap()).unwrap();
        let error = batch.commit().unwrap_err();
        assert!(error.contains("sub/c: cannot be written"), "{error}");

        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(fs::read_to_string(folder.join("x")).unwrap(), "old x");
        assert!(!folder.join("y").exists());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["a", "up"],
            "no temporary file or folder is left behind"
        );
    }

    #[test]
    fn a_batch_replaces_files_and_folders_and_skips_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, folder) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("up"),
        );
        fs::write(&a, "same").unwrap();
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("x"), "old x").unwrap();
        let mut batch = Batch::default();
        batch.file(&a, b"same").unwrap();
        assert!(batch.is_empty(), "an unchanged file is not staged");
        batch.file(&b, b"new b").unwrap();
        batch
            .folder(&folder, &[("y".into(), b"y".to_vec())])
            .unwrap();
        batch.commit().unwrap();
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 1);
        assert_eq!(fs::read_to_string(folder.join("y")).unwrap(), "y");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
