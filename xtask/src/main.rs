//! `cargo xtask`: the developer commands of the invaro workspace.

use std::{process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use xtask::{bench, codegen, project_root, sync};

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
    ///
    /// The report judges each change on the wire and in the Rust API of the `invaro` client
    /// (from the code generated before and after, and what the hand-written layer uses), and
    /// proposes the version bump under Cargo's semver rules.
    ///
    /// Exit status: 0 no drift, drift the --fail-on gate accepts (the report says so), or the
    /// files written; 1 drift the gate rejects (--check); 3 no verdict: an upstream or parse
    /// failure (fetch failed, timed out or cut short, no OpenAPI fragment, bad YAML, a spec the
    /// client cannot be generated from) or a local file that cannot be read or written, and then
    /// nothing is written; 2 a usage error.
    #[command(verbatim_doc_comment)]
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
        /// How to print the report: text, json, or markdown (a pull-request body whose last line
        /// is `<!-- invaro-drift wire=yes|no rust-api=yes|no bump=KIND next=X.Y.Z|- -->`).
        #[arg(long, value_enum, default_value_t = sync::Format::Text)]
        format: sync::Format,
        /// Same as --format json.
        #[arg(long, hide = true, conflicts_with = "format")]
        json: bool,
        /// How long one request to the upstream may take, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        fetch_timeout: u64,
        /// Work on the workspace at this folder instead (for tests).
        #[arg(long, hide = true)]
        root: Option<std::path::PathBuf>,
    },
    /// Measure the SDK against plain reqwest, hyper and serde_json; print a Markdown table and
    /// write target/bench/report.json.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message());
            ExitCode::from(failure.status())
        }
    }
}

fn run(command: Command) -> Result<(), sync::Failure> {
    // The other commands keep status 1 for every failure.
    let other = |message: String| sync::Failure::Rejected(message);
    match command {
        Command::Codegen { check } => {
            let root = project_root().map_err(other)?;
            codegen::run(&codegen::Paths::under(&root), check).map_err(other)
        }
        Command::Sync {
            from,
            offline,
            check,
            fail_on,
            format,
            json,
            fetch_timeout,
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
                format: if json { sync::Format::Json } else { format },
                fetch_timeout: Some(Duration::from_secs(fetch_timeout)),
            };
            sync::run(&sync::Paths::under(&root), &options)
        }
        Command::Bench(args) => bench::run(&args).map_err(other),
    }
}
