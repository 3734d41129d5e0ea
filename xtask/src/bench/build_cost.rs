//! Section 8: what invaro costs to build.
//!
//! First as a user pays it: a hello-world binary crate in a folder of its own (outside the
//! workspace, with the workspace's lock file so the versions are the same), depending on
//! `invaro` by path, built cold (`cargo build`, an empty target folder of its own) with the
//! default features and with `default-features = false`, against the same program on reqwest
//! (rustls and the features invaro uses), tokio and serde_json alone, all in one run. A
//! discarded build first reads every source into the page cache (otherwise whichever program
//! builds first pays for the disk, which once made the baseline look slow); then the three
//! builds go in rounds, each round in another order, and the medians are compared. Then
//! what generating the client at build time adds: a cold `cargo build -p invaro` against the
//! same crate compiling the committed snapshot, and `cargo xtask codegen --check` on a warm
//! build.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use super::{Settings, report::Figure, report::median};
use crate::project_root;

/// The dependencies every program shares: those of the workspace, as invaro uses them.
const SHARED: &str = r#"tokio = { version = "1.47", features = ["rt-multi-thread", "macros", "fs", "time", "sync", "net", "io-util"] }
serde_json = { version = "1", features = ["preserve_order"] }
"#;

const BASELINE_DEPS: &str = r#"reqwest = { version = "0.13.4", default-features = false, features = ["rustls", "http2", "charset", "json", "query", "stream", "multipart"] }
"#;

const BASELINE_MAIN: &str = r#"#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();
    let body = serde_json::json!({"hello": "world"});
    println!("{body} {}", client.get("http://127.0.0.1:1/").build().is_ok());
}
"#;

const INVARO_MAIN: &str = r#"#[tokio::main]
async fn main() {
    let client = invaro::Client::builder().api_key("hello").build();
    let body = serde_json::json!({"hello": "world"});
    println!("{body} {}", client.is_ok());
}
"#;

/// The downstream rows' goals: build time against the baseline's.
const DEFAULT_TARGET: f64 = 1.4;
const NO_DEFAULT_TARGET: f64 = 1.2;

/// One cold build of a downstream program: seconds and crates compiled.
struct Cold {
    seconds: f64,
    crates: usize,
}

/// Runs the section and returns its figures.
pub fn run(settings: &Settings, work: &Path) -> Result<Vec<Figure>, String> {
    let root = project_root()?;
    let client = root.join("client");
    let lock = std::fs::read(root.join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: cannot be read: {e}"))?;
    let invaro = |extra: &str| {
        format!(
            "invaro = {{ path = {:?}{extra} }}\n",
            client.display().to_string()
        )
    };
    let programs = [
        ("hello-reqwest", BASELINE_DEPS.to_owned(), BASELINE_MAIN),
        ("hello-invaro", invaro(""), INVARO_MAIN),
        (
            "hello-invaro-light",
            invaro(", default-features = false"),
            INVARO_MAIN,
        ),
    ];
    let build =
        |(name, deps, main): &(&str, String, &str)| downstream(&work.join(name), deps, main, &lock);
    // The warm-up: the default build reads the sources of all three.
    build(&programs[1])?;
    let mut runs: [Vec<Cold>; 3] = Default::default();
    let rounds = settings.build_rounds.max(1);
    for round in 0..rounds {
        for i in 0..3 {
            let which = (round + i) % 3;
            runs[which].push(build(&programs[which])?);
        }
    }
    let [baseline, default, light] = runs.map(|runs| Cold {
        seconds: median(&runs.iter().map(|run| run.seconds).collect::<Vec<_>>()),
        crates: runs.last().map_or(0, |run| run.crates),
    });
    let mut figures = Vec::new();
    let base_name = "reqwest + tokio + serde_json";
    for (what, cold, goal) in [
        ("default features", &default, DEFAULT_TARGET),
        ("default-features = false", &light, NO_DEFAULT_TARGET),
    ] {
        let ratio = cold.seconds / baseline.seconds;
        let verdict = if ratio <= goal { "met" } else { "not met" };
        figures.push(
            Figure::new(
                format!("cold build of a hello-world on invaro, {what} (median of {rounds})"),
                cold.seconds,
                "s",
            )
            .against(base_name, baseline.seconds, ratio)
            .target(format!("<= {goal}x: {verdict}")),
        );
        figures.push(
            Figure::new(
                format!("crates compiled for it, {what}"),
                cold.crates as f64,
                "crates",
            )
            .against(
                base_name,
                baseline.crates as f64,
                cold.crates as f64 / baseline.crates as f64,
            ),
        );
    }
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
    cargo(&["xtask", "codegen", "--check"], &root, None)?;
    let mut times = Vec::new();
    for _ in 0..settings.check_runs {
        times.push(cargo(&["xtask", "codegen", "--check"], &root, None)?.seconds);
    }
    figures.push(
        Figure::new("`cargo xtask codegen --check`, warm", median(&times), "s").target("< 2 s"),
    );
    Ok(figures)
}

/// Writes the program (its own workspace, with `lock` as its lock file) in `dir` and builds
/// it cold; the folder is removed afterwards.
fn downstream(dir: &Path, deps: &str, main: &str, lock: &[u8]) -> Result<Cold, String> {
    let _ = std::fs::remove_dir_all(dir);
    let manifest = format!(
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Its own workspace: not a member of the one around it.\n[workspace]\n\n\
         [dependencies]\n{deps}{SHARED}"
    );
    let write = |path: &Path, bytes: &[u8]| {
        invaro_atomic::write(path, bytes)
            .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
    };
    std::fs::create_dir_all(dir.join("src"))
        .map_err(|e| format!("{}: cannot be created: {e}", dir.display()))?;
    write(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    write(&dir.join("Cargo.lock"), lock)?;
    write(&dir.join("src/main.rs"), main.as_bytes())?;
    let built = cargo(&["build"], dir, Some(&dir.join("target")));
    let _ = std::fs::remove_dir_all(dir);
    built
}

/// Seconds of a `cargo build -p invaro` from nothing in `dir`, which is removed afterwards.
fn cold_build(dir: &Path, extra: &[&str]) -> Result<f64, String> {
    let _ = std::fs::remove_dir_all(dir);
    let mut args = vec!["build", "-p", "invaro"];
    args.extend(extra);
    let built = cargo(&args, &project_root()?, Some(dir));
    let _ = std::fs::remove_dir_all(dir);
    built.map(|cold| cold.seconds)
}

/// Runs cargo with `args` in `folder` (building in `target_dir` if given) and returns its
/// seconds and the crates it compiled.
fn cargo(args: &[&str], folder: &Path, target_dir: Option<&Path>) -> Result<Cold, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(folder)
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("cargo {} failed:\n{stderr}", args.join(" ")));
    }
    let crates = stderr
        .lines()
        .filter(|line| line.trim_start().starts_with("Compiling "))
        .count();
    Ok(Cold { seconds, crates })
}
