//! `cargo xtask`: the developer commands of the invaro workspace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{bench, codegen, drift_pr, project_root, sync};

#[derive(Parser)]
#[command(about = "Developer commands of the invaro workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the committed client snapshot from openapi.yaml.
    Codegen {
        /// Write nothing; fail with a diff when the snapshot is out of date.
        #[arg(long)]
        check: bool,
    },
    /// Rebuild openapi.yaml from the upstream docs plus spec/overlay.yaml, and report the drift.
    Sync {
        /// Read this source (URL or path) instead of spec/sources.toml; may be repeated.
        #[arg(long, value_name = "URL_OR_PATH", conflicts_with = "offline")]
        from: Vec<String>,
        /// Read only the vendored copy in spec/upstream (no network).
        #[arg(long)]
        offline: bool,
        /// Write nothing; print the report and exit 1 when openapi.yaml would change (see
        /// --fail-on).
        #[arg(long)]
        check: bool,
        /// What makes --check fail: any change to openapi.yaml, or only changes that break
        /// the wire, the Rust API of the `invaro` client, or either.
        #[arg(long, value_enum, default_value_t = sync::FailOn::Any, requires = "check")]
        fail_on: sync::FailOn,
        /// Print the drift report as JSON.
        #[arg(long)]
        json: bool,
        /// Work on the workspace at this folder instead (for tests).
        #[arg(long, hide = true)]
        root: Option<std::path::PathBuf>,
    },
    /// Measure the SDK against plain reqwest, hyper and serde_json; print a Markdown table and
    /// write target/bench/report.json.
    Bench(bench::Args),
    /// The scheduled drift check: run the live sync, then open, edit or close the one drift pull
    /// request, or open the one issue saying the upstream cannot be read (needs `git` and `gh`).
    DriftPr(drift_pr::Args),
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    if let Command::DriftPr(args) = &command {
        return drift_pr::run(args);
    }
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Codegen { check } => codegen::run(&codegen::Paths::under(&project_root()?), check),
        Command::Sync {
            from,
            offline,
            check,
            fail_on,
            json,
            root,
        } => {
            let root = match root {
                Some(root) => root,
                None => project_root()?,
            };
            let options = sync::Options {
                from,
                offline,
                check,
                fail_on,
                json,
            };
            sync::run(&sync::Paths::under(&root), &options)
        }
        Command::Bench(args) => bench::run(&args),
        Command::DriftPr(_) => unreachable!("drift-pr sets its own exit status in main"),
    }
}
