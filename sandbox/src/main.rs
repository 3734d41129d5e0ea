//! `invaro-sandbox`: serves the local Invaro API until Ctrl-C.

use clap::Parser;
use invaro_sandbox::SandboxArgs;

/// A local Invaro Document Processing API, in memory.
#[derive(Parser)]
#[command(name = "invaro-sandbox", version, about)]
struct Cli {
    #[command(flatten)]
    args: SandboxArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    invaro_sandbox::init_logging();
    match invaro_sandbox::serve(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("invaro-sandbox: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
