//! `cargo xtask`: the developer commands of the invaro workspace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{bench, codegen, sync};

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
        /// Write nothing; print the report and fail when openapi.yaml would change.
        #[arg(long)]
        check: bool,
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
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Codegen { check } => codegen::run(&codegen::Paths::default(), check),
        Command::Sync {
            from,
            offline,
            check,
            json,
            root,
        } => {
            let paths = root.map_or_else(sync::Paths::default, |root| sync::Paths::under(&root));
            let options = sync::Options {
                from,
                offline,
                check,
                json,
            };
            sync::run(&paths, &options)
        }
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
