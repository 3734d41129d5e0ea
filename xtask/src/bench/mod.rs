//! `cargo xtask bench`: what the SDK costs next to what a user would otherwise write, measured
//! side by side in one run on one machine, printed as a Markdown table and written as JSON to
//! `target/bench/report.json`; a full run (neither `--only` nor `--quick`) also rewrites the
//! table in `docs/benchmarks.md`.
//!
//! Sections: per-request overhead (`requests`), upload memory (`upload`), decoding a large
//! result (`decode`), polling economy under the rate limit against a schedule that knows every
//! completion (`polling`), 100 documents uploaded, started and waited on through one client
//! (`end_to_end`), completions pushed by webhook (`webhooks`), large journaled batches with and
//! without an interruption (`batch`), several processes on one key, sharing their budget through
//! Redis or not (`shared_budget`), webhook deliveries relayed between replicas (`relay`), and
//! the build cost of generating the client at build time (`build_cost`); `--only <section>` runs one of them. Every comparison runs interleaved
//! against the same local server, and figures are medians over repeated runs.
//!
//! `cargo xtask` builds xtask in debug without the SDK; `bench` therefore runs itself again
//! through `cargo run --release --features bench`, so the figures are those of optimised code.
//! The bench reports; it asserts nothing about time and gates nothing.

#[cfg(feature = "bench")]
mod batch;
#[cfg(feature = "bench")]
mod build_cost;
#[cfg(feature = "bench")]
mod decode;
#[cfg(feature = "bench")]
mod end_to_end;
pub mod oracle;
#[cfg(feature = "bench")]
mod polling;
#[cfg(feature = "bench")]
mod relay;
pub mod report;
#[cfg(feature = "bench")]
mod requests;
#[cfg(feature = "bench")]
mod server;
#[cfg(feature = "bench")]
mod shared_budget;
#[cfg(feature = "bench")]
mod upload;
#[cfg(feature = "bench")]
mod webhooks;

use std::process::Command;

use crate::project_root;

/// The flags of `cargo xtask bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Fewer calls and rounds: to try the bench out, not to publish its figures.
    #[arg(long)]
    pub quick: bool,
    /// Skip the cold builds of the build-cost section, which take most of the run time.
    #[arg(long)]
    pub skip_build: bool,
    /// Run only this section (named as its module: requests, upload, decode, polling,
    /// end_to_end, webhooks, batch, shared_budget, relay, build_cost); its figures go to
    /// report-SECTION.json.
    #[arg(long, value_name = "SECTION", value_parser = clap::builder::PossibleValuesParser::new(SECTIONS))]
    pub only: Option<String>,
    /// Run one upload in this process and print its memory (the bench's own child process).
    #[arg(long, hide = true, num_args = 4, value_names = ["WAY", "COUNT", "URL", "DIR"])]
    pub upload_child: Option<Vec<String>>,
    /// Run one process of the shared-budget section (the bench's own child process).
    #[arg(long, hide = true, num_args = 5, value_names = ["URL", "REDIS", "LIMIT", "WINDOW_MS", "CALLS"])]
    pub budget_child: Option<Vec<String>>,
}

/// The sections, in the order they run.
pub const SECTIONS: [&str; 10] = [
    "requests",
    "upload",
    "decode",
    "polling",
    "end_to_end",
    "webhooks",
    "batch",
    "shared_budget",
    "relay",
    "build_cost",
];

/// How much of everything a run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Status calls per client per round.
    pub calls: usize,
    /// Rounds of the three clients.
    pub rounds: usize,
    /// Runs of each upload size and way.
    pub upload_repeats: usize,
    /// Decodes of the large statement, each way.
    pub decode_rounds: usize,
    /// Runs of each polling size and way.
    pub polling_repeats: usize,
    /// Timed runs of `cargo xtask codegen --check`.
    pub check_runs: usize,
    /// Rounds of the three downstream cold builds (medians are reported).
    pub build_rounds: usize,
    /// Windows' worth of requests in each run of the shared-budget section.
    pub budget_windows: usize,
}

impl Settings {
    /// The settings of a full run, or of a `--quick` one.
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                calls: 1_000,
                rounds: 2,
                upload_repeats: 1,
                decode_rounds: 3,
                polling_repeats: 1,
                check_runs: 2,
                build_rounds: 1,
                budget_windows: 4,
            }
        } else {
            Self {
                calls: 10_000,
                rounds: 5,
                upload_repeats: 3,
                decode_rounds: 9,
                polling_repeats: 3,
                check_runs: 5,
                build_rounds: 3,
                budget_windows: 8,
            }
        }
    }
}

/// The command `cargo xtask bench`.
pub fn run(args: &Args) -> Result<(), String> {
    if cfg!(debug_assertions) || !cfg!(feature = "bench") {
        return relaunch(args);
    }
    #[cfg(feature = "bench")]
    {
        if let Some(child) = &args.upload_child {
            return upload::child_main(child);
        }
        if let Some(child) = &args.budget_child {
            return shared_budget::child_main(child);
        }
        measure(args)
    }
    #[cfg(not(feature = "bench"))]
    unreachable!("a build without the bench feature relaunched itself above")
}

/// Runs the bench from a release build with the `bench` feature, with the same flags.
fn relaunch(args: &Args) -> Result<(), String> {
    eprintln!("building the bench in release (the first build takes a few minutes)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "--features",
            "bench",
            "--",
            "bench",
        ])
        .current_dir(project_root()?);
    if args.quick {
        command.arg("--quick");
    }
    if args.skip_build {
        command.arg("--skip-build");
    }
    if let Some(section) = &args.only {
        command.args(["--only", section]);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo to build the bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the release bench failed ({status})"))
    }
}

/// What a section measures, for the progress lines.
#[cfg(feature = "bench")]
fn title(section: &str) -> &'static str {
    match section {
        "requests" => "per-request overhead",
        "upload" => "upload memory",
        "decode" => "decoding a large result",
        "polling" => "polling economy, against an oracle",
        "end_to_end" => "100 documents through one client (compressed time)",
        "webhooks" => "completions pushed by webhook",
        "batch" => "large batches (two batches of 200, in compressed time)",
        "shared_budget" => "1, 2, 4 and 8 processes on one key, shared through Redis or not",
        "relay" => {
            "webhooks delivered to one replica of 1, 2, 4 and 8, relayed through Redis or not"
        }
        _ => {
            "build cost (a warm-up, three programs in rounds, two `cargo build -p invaro`; all cold)"
        }
    }
}

#[cfg(feature = "bench")]
fn measure(args: &Args) -> Result<(), String> {
    let started = std::time::Instant::now();
    let settings = Settings::new(args.quick);
    let work = project_root()?.join("target/bench");
    let mut figures = Vec::new();
    for (n, name) in SECTIONS.iter().enumerate() {
        if args.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        let place = format!("{}/{}", n + 1, SECTIONS.len());
        if *name == "build_cost" && args.skip_build {
            eprintln!("bench: {place} build cost skipped (--skip-build)");
            continue;
        }
        eprintln!("bench: {place} {}...", title(name));
        figures.extend(match *name {
            "requests" => requests::run(&settings),
            "upload" => upload::run(&settings, &work)?,
            "decode" => decode::run(&settings),
            "polling" => polling::run(&settings),
            "end_to_end" => end_to_end::run(&work)?,
            "webhooks" => webhooks::run(&settings, &work)?,
            "batch" => batch::run(&work)?,
            "shared_budget" => shared_budget::run(&settings)?,
            "relay" => relay::run(&settings, &work)?,
            _ => build_cost::run(&settings, &work)?,
        });
    }
    let report = report::Report {
        machine: report::machine(),
        seconds: started.elapsed().as_secs_f64(),
        figures,
    };
    print!("{}", report.markdown());
    // One section's figures do not replace the whole run's.
    let path = match &args.only {
        Some(section) => work.join(format!("report-{section}.json")),
        None => work.join("report.json"),
    };
    report.write_json(&path)?;
    eprintln!("bench: figures written to {}", path.display());
    // Only a full run's figures replace the published ones.
    if args.only.is_none() && !args.quick {
        let page = project_root()?.join("docs/benchmarks.md");
        report.write_into_page(&page)?;
        eprintln!("bench: table written into {}", page.display());
    }
    Ok(())
}
