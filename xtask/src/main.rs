//! `cargo xtask`: the developer commands of the invaro workspace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::codegen;

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
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Codegen { check } => codegen::run(&codegen::Paths::default(), check),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
