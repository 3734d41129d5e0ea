//! Section 5: what generating the client at build time costs. A cold `cargo build -p invaro`
//! (progenitor runs in the build script) against the same crate compiling the committed snapshot
//! (`--no-default-features`), each in an empty target folder of its own under `target/bench/` so
//! the workspace's own build stays warm; and `cargo xtask codegen --check` on a warm build.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use super::{Settings, report::Figure, report::median};
use crate::project_root;

/// Runs the section and returns its figures.
pub fn run(settings: &Settings, work: &Path) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let snapshot = cold_build(&work.join("cold-snapshot"), &["--no-default-features"])?;
    let generated = cold_build(&work.join("cold-codegen"), &[])?;
    figures.push(
        Figure::new(
            "cold `cargo build -p invaro` (generated at build time)",
            generated,
            "s",
        )
        .against(
            "committed snapshot, no progenitor",
            snapshot,
            generated / snapshot,
        ),
    );
    // The first run may rebuild xtask's debug binary; only warm runs count.
    cargo(&["xtask", "codegen", "--check"], None)?;
    let mut times = Vec::new();
    for _ in 0..settings.check_runs {
        times.push(cargo(&["xtask", "codegen", "--check"], None)?);
    }
    figures.push(
        Figure::new("`cargo xtask codegen --check`, warm", median(&times), "s").target("< 2 s"),
    );
    Ok(figures)
}

/// Seconds of a `cargo build -p invaro` from nothing in `dir`, which is removed afterwards.
fn cold_build(dir: &Path, extra: &[&str]) -> Result<f64, String> {
    let _ = std::fs::remove_dir_all(dir);
    let mut args = vec!["build", "--quiet", "-p", "invaro"];
    args.extend(extra);
    let seconds = cargo(&args, Some(dir));
    let _ = std::fs::remove_dir_all(dir);
    seconds
}

/// Runs cargo with `args` in the workspace (in `target_dir` if given) and returns its seconds.
fn cargo(args: &[&str], target_dir: Option<&Path>) -> Result<f64, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(project_root()?)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "cargo {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(seconds)
}
