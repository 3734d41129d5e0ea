//! Writing generated files: atomically, or in check mode not at all.

use std::{fs, io, path::Path};

use similar::TextDiff;

/// Makes `path` hold exactly `contents`.
///
/// In check mode nothing is written: a difference is an error carrying a unified diff and the
/// command that fixes it (`fix`).
pub fn ensure_contents(path: &Path, contents: &str, check: bool, fix: &str) -> Result<(), String> {
    let current = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: cannot be read: {e}", path.display())),
    };
    if current == contents {
        return Ok(());
    }
    if check {
        let name = path.display().to_string();
        let diff = TextDiff::from_lines(current.as_str(), contents)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{name} (committed)"),
                &format!("{name} (expected)"),
            )
            .to_string();
        return Err(format!(
            "{diff}\n{name} is out of date. Run `{fix}` to update it."
        ));
    }
    write_atomic(path, contents.as_bytes())
        .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so a reader
/// (or a crash) never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
}
