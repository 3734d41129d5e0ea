//! `invaro`: parse invoices and bank statements with the Invaro API from a shell.
//!
//! Results go to stdout (JSON with `--json`), progress and errors to stderr, and the exit code
//! says what happened (see [`exit::Exit`]).

mod args;
mod budget;
mod commands;
mod context;
mod exit;
mod out_dir;
mod pool;
mod progress;
mod save;
mod stdout;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::commands::{batch, demo, files, jobs, parse, schemas, webhook};
use crate::context::{Connection, Ctx, Interrupt};
use crate::exit::{Exit, Failure};
use crate::progress::Progress;
use crate::stdout::Output;

fn main() -> ExitCode {
    // A bug should still end in one line, not a trace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("invaro: internal error: {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage as u8 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("invaro: error: cannot start the async runtime: {e}");
            return Exit::Api.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("invaro: error: {failure}");
            failure.exit.into()
        }
    }
}

/// Runs the command, stopping at Ctrl-C with the ids of the jobs left running.
async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Sandbox(args) = cli.command {
        // It stops on Ctrl-C by itself, and must not be cut short by the race below.
        return sandbox(args).await;
    }
    if cli.verbose {
        log_requests();
    }
    let ctx = Ctx {
        connection: Connection {
            api_key: cli.api_key.or_else(|| env("INVARO_API_KEY")),
            base_url: cli.base_url.or_else(|| env("INVARO_BASE_URL")),
            connect_timeout: cli.connect_timeout,
            read_timeout: cli.read_timeout,
            poll_ms: cli.poll_ms,
            rate_limit: cli.rate_limit,
            rate_window: cli.rate_window,
            shared_limit: cli.redis.map(invaro::SharedLimit::redis),
        },
        out: Output::new(cli.json),
        progress: Progress::new(),
        interrupt: Interrupt::listen(),
        verbose: cli.verbose,
    };
    dispatch(&ctx, cli.command).await
}

/// Runs one command. Those that work on many items report what they finished and started
/// when Ctrl-C comes; the others just stop.
async fn dispatch(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Parse(args) => parse::run(ctx, args).await,
        Command::Upload { files } => jobs::upload(ctx, &files).await,
        Command::Start { kind, document_ids } => jobs::start(ctx, kind, &document_ids).await,
        Command::Status { job_ids } => ctx.interruptible(jobs::status(ctx, &job_ids)).await,
        Command::Wait {
            job_ids,
            kind,
            timeout,
        } => jobs::wait(ctx, &job_ids, kind, timeout).await,
        Command::Batch {
            dir,
            kind,
            concurrency,
            out,
            overwrite,
            timeout,
            journal,
            retry_in_doubt,
            status,
        } => {
            let journal = journal.unwrap_or_else(|| batch::default_journal(&dir));
            if status {
                return batch::status(ctx, &journal);
            }
            let batch = batch::BatchOptions {
                dir: &dir,
                kind: kind.ok_or_else(|| Failure::usage("--kind is required"))?,
                concurrency: usize::from(concurrency),
                out: out.as_deref(),
                overwrite,
                timeout,
                journal: &journal,
                retry_in_doubt,
            };
            batch::run(ctx, batch).await
        }
        Command::Schemas(command) => ctx.interruptible(schemas::run(ctx, command)).await,
        Command::Files(command) => ctx.interruptible(files::run(ctx, command)).await,
        Command::Webhook(command) => webhook::run(ctx, command),
        Command::Demo { instant } => demo::run(ctx, instant).await,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "invaro", &mut std::io::stdout());
            Ok(())
        }
        Command::Sandbox(args) => sandbox(args).await,
    }
}

/// Runs `invaro sandbox`: the sandbox in the foreground, logging its requests, until Ctrl-C.
async fn sandbox(args: invaro_sandbox::SandboxArgs) -> Result<(), Failure> {
    invaro_sandbox::init_logging();
    Ok(invaro_sandbox::serve(args).await?)
}

/// A setting from the environment; empty counts as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// `-v`: one line on stderr per request attempt (operation, attempt, status, time), from the
/// SDK's `invaro.attempt` spans. They carry no headers, so the key is never logged.
fn log_requests() {
    use tracing_subscriber::fmt::format::FmtSpan;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("invaro=debug"))
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
