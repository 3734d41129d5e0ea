//! Running the command-line tools this command drives.

use std::{path::Path, process::Command};

/// Runs `program` in `dir`; its stdout, or an error naming the command with its stderr.
pub fn run_tool(program: &str, dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e} (is it installed and on PATH?)"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed ({}): {}",
            shown(args),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("`{program}` printed non-UTF-8 text"))
}

/// The arguments as an error shows them: file paths and long texts shortened.
pub fn shown(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.chars().count() > 60 {
                format!("{}...", a.chars().take(57).collect::<String>())
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
