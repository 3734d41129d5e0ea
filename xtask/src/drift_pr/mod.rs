//! `cargo xtask drift-pr`: the scheduled drift check. Runs the live sync and turns its outcome
//! into at most one pull request and at most one issue on GitHub, through `git` and `gh`.
//!
//! - the upstream cannot be read (the sync exits 3): one issue labelled `upstream-unreadable` is opened,
//!   or updated while it stays open; nothing is pushed; the command exits with the sync's status;
//! - `openapi.yaml` does not change: the drift pull request, if open, is closed (the upstream came
//!   back to what the base branch has) and its branch deleted;
//! - `openapi.yaml` changes: the spec, the vendored pages and the regenerated client are
//!   committed on one fixed branch made from the base branch and force-pushed, and the one pull
//!   request from that branch is opened or edited: its body is the sync's Markdown report, its
//!   labels say which axes break and the bump.
//!
//! The sync runs as its own process through its command-line contract (`sync --format
//! markdown`), so this file depends only on what the sync prints and its exit status; the last
//! line of the report carries the verdicts ([`Verdict`]).

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Output},
};

use crate::project_root;
use git::{Git, Push};
use github::Gh;
use verdict::{Label, PR_LABELS, Verdict};

mod git;
mod github;
mod tool;
pub mod verdict;

/// The label that finds the one issue about an unreadable upstream.
const UNREADABLE: Label = (
    "upstream-unreadable",
    "e11d21",
    "The scheduled drift check cannot read the upstream docs",
);
const ISSUE_TITLE: &str = "Drift check: the upstream API docs cannot be read";
/// GitHub refuses bodies over 65,536 characters; the report is cut below that.
const MAX_BODY: usize = 60_000;
/// The exit status the sync's contract gives to an upstream or parse failure.
const UPSTREAM_FAILURE: u8 = 3;

/// Arguments of `cargo xtask drift-pr`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Read this source (URL or path) instead of spec/sources.toml; may be repeated.
    #[arg(long, value_name = "URL_OR_PATH")]
    pub from: Vec<String>,
    /// Give up on an upstream request after this many seconds (passed to the sync).
    #[arg(long, value_name = "SECS")]
    pub fetch_timeout: Option<String>,
    /// The one branch the drift is committed on, remade from the base at every run.
    #[arg(long, default_value = "invaro/spec-drift")]
    pub branch: String,
    /// The branch the pull request targets; the command runs on a clean checkout of it.
    #[arg(long, default_value = "main")]
    pub base: String,
    /// The git remote of the GitHub repository.
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// Work on the workspace at this folder instead (for tests).
    #[arg(long, hide = true)]
    pub root: Option<PathBuf>,
}

/// How a run failed.
enum Failure {
    /// The sync could not read or parse the upstream: its exit status.
    Upstream(u8),
    /// Anything else: git, gh, the contract, the checkout.
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Other(message)
    }
}

/// The command `cargo xtask drift-pr`: 0 when the pull request is in step with the upstream
/// (opened, edited, closed or not needed), the sync's status (3) when the upstream cannot be
/// read, 1 on any other failure.
pub fn run(args: &Args) -> ExitCode {
    match drive(args) {
        Ok(done) => {
            println!("drift-pr: {done}");
            ExitCode::SUCCESS
        }
        Err(Failure::Upstream(status)) => {
            eprintln!(
                "error: the upstream docs cannot be read (sync status {status}); \
                 the issue \"{ISSUE_TITLE}\" says why"
            );
            ExitCode::from(status)
        }
        Err(Failure::Other(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn drive(args: &Args) -> Result<String, Failure> {
    let root = match &args.root {
        Some(root) => root.clone(),
        None => project_root()?,
    };
    let git = Git { root: &root };
    let gh = Gh { root: &root };
    git.ready(&args.base)?;

    let sync = run_sync(&root, args)?;
    let stderr = String::from_utf8_lossy(&sync.stderr);
    eprint!("{stderr}");
    match sync.status.code() {
        Some(0) => {}
        Some(2) => {
            return Err(Failure::Other(format!(
                "the sync refused its arguments: {}",
                stderr.trim()
            )));
        }
        code => {
            let status = code
                .and_then(|c| u8::try_from(c).ok())
                .filter(|c| *c != 0)
                .unwrap_or(UPSTREAM_FAILURE);
            report_unreadable(&gh, status, &stderr)?;
            return Err(Failure::Upstream(status));
        }
    }
    let report = String::from_utf8(sync.stdout)
        .map_err(|_| "the sync's report is not UTF-8 text".to_owned())?;
    let verdict = Verdict::parse(&report)?;
    close_unreadable(&gh)?;

    let open = gh.open_pull(&args.branch, &args.base)?;
    if !git.changed("openapi.yaml")? {
        git.restore()?;
        let mut done = "no drift: openapi.yaml is what the upstream gives".to_owned();
        if let Some(pull) = open {
            gh.run(&[
                "pr",
                "close",
                &pull.number.to_string(),
                "--comment",
                "The upstream docs came back to what the base branch has: no drift left.",
            ])?;
            done.push_str(&format!("; closed pull request #{}", pull.number));
        }
        if git.remote_branch(&args.remote, &args.branch)?.is_some() {
            git.run(&["push", "--quiet", &args.remote, "--delete", &args.branch])?;
            done.push_str(&format!("; deleted branch {}", args.branch));
        }
        return Ok(done);
    }

    gh.ensure_labels(&PR_LABELS)?;
    let pushed = git.commit_and_push(
        &Push {
            branch: &args.branch,
            base: &args.base,
            remote: &args.remote,
        },
        &verdict.title(),
    )?;
    let body = Body::new(&cap(&report))?;
    let wanted = verdict.labels();
    let title = verdict.title();
    let number = match open {
        None => {
            let mut create = vec![
                "pr",
                "create",
                "--base",
                &args.base,
                "--head",
                &args.branch,
                "--title",
                &title,
                "--body-file",
                body.path(),
            ];
            for label in &wanted {
                create.extend(["--label", label]);
            }
            let url = gh.run(&create)?;
            format!("opened {}", url.trim())
        }
        Some(pull) => {
            let number = pull.number.to_string();
            let mut edit = vec![
                "pr",
                "edit",
                &number,
                "--title",
                &title,
                "--body-file",
                body.path(),
            ];
            for label in &wanted {
                edit.extend(["--add-label", label]);
            }
            let stale: Vec<&str> = pull
                .labels
                .iter()
                .map(|l| l.name.as_str())
                .filter(|name| PR_LABELS.iter().any(|(ours, ..)| ours == name))
                .filter(|name| !wanted.contains(name))
                .collect();
            for label in &stale {
                edit.extend(["--remove-label", label]);
            }
            gh.run(&edit)?;
            format!("edited pull request #{number}")
        }
    };
    let pushed = if pushed {
        format!("pushed {}", args.branch)
    } else {
        format!("{} already held this drift", args.branch)
    };
    Ok(format!("{}; {pushed}; {number}", verdict.title()))
}

/// Runs this binary's `sync --format markdown` in `root`. `CARGO_MANIFEST_DIR` is removed so
/// that the sync finds its workspace from the folder it runs in, never from cargo's.
fn run_sync(root: &Path, args: &Args) -> Result<Output, String> {
    let exe = env::current_exe().map_err(|e| format!("cannot find the running xtask: {e}"))?;
    let mut command = Command::new(exe);
    command
        .args(["sync", "--format", "markdown"])
        .current_dir(root)
        .env_remove("CARGO_MANIFEST_DIR");
    for from in &args.from {
        command.arg("--from").arg(from);
    }
    if let Some(timeout) = &args.fetch_timeout {
        command.arg("--fetch-timeout").arg(timeout);
    }
    command
        .output()
        .map_err(|e| format!("cannot run `xtask sync`: {e}"))
}

/// Opens the one issue about an unreadable upstream, or updates it while it is open.
fn report_unreadable(gh: &Gh, status: u8, stderr: &str) -> Result<(), String> {
    let error = cap(stderr.trim());
    let fence = "`".repeat(longest_run(&error, '`').max(2) + 1);
    let run = match (
        env::var("GITHUB_SERVER_URL"),
        env::var("GITHUB_REPOSITORY"),
        env::var("GITHUB_RUN_ID"),
    ) {
        (Ok(server), Ok(repo), Ok(id)) => {
            format!("\nLast failed run: {server}/{repo}/actions/runs/{id}\n")
        }
        _ => String::new(),
    };
    let body = Body::new(&format!(
        "The scheduled drift check (`cargo xtask drift-pr`) could not read the upstream API \
         docs, so it compared nothing and pushed nothing. `cargo xtask sync` exited with status \
         {status}:\n\n{fence}text\n{error}\n{fence}\n{run}\n\
         The check updates this issue while the failure lasts and closes it once it reads the \
         upstream again. To try by hand: `cargo xtask sync --check`.\n"
    ))?;
    gh.ensure_labels(&[UNREADABLE])?;
    match gh.open_issue(UNREADABLE.0)? {
        Some(number) => gh.run(&[
            "issue",
            "edit",
            &number.to_string(),
            "--body-file",
            body.path(),
        ]),
        None => gh.run(&[
            "issue",
            "create",
            "--title",
            ISSUE_TITLE,
            "--body-file",
            body.path(),
            "--label",
            UNREADABLE.0,
        ]),
    }
    .map(drop)
}

/// Closes the issue about an unreadable upstream, if open: the upstream was just read.
fn close_unreadable(gh: &Gh) -> Result<(), String> {
    if let Some(number) = gh.open_issue(UNREADABLE.0)? {
        gh.run(&[
            "issue",
            "close",
            &number.to_string(),
            "--comment",
            "The drift check read the upstream docs again.",
        ])?;
    }
    Ok(())
}

fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// `text` cut at a line boundary below GitHub's body limit, keeping its last line (the marker).
fn cap(text: &str) -> String {
    if text.len() <= MAX_BODY {
        return text.to_owned();
    }
    let last = text.trim_end().lines().last().unwrap_or_default();
    let mut end = MAX_BODY - last.len() - 200;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end].rfind('\n').unwrap_or(end);
    format!(
        "{}\n\n_(The report is cut here: GitHub limits a body to 65,536 characters. Run \
         `cargo xtask sync --check` on this branch for all of it.)_\n\n{last}\n",
        &text[..cut]
    )
}

/// A body handed to `gh` as a file (`--body-file`): no size limit of the command line.
struct Body(tempfile::NamedTempFile);

impl Body {
    fn new(text: &str) -> Result<Body, String> {
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| format!("cannot create a temporary file: {e}"))?;
        fs::write(file.path(), text).map_err(|e| format!("cannot write a temporary file: {e}"))?;
        Ok(Body(file))
    }

    fn path(&self) -> &str {
        self.0.path().to_str().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_report_is_cut_keeping_its_marker() {
        let marker = "<!-- invaro-drift wire=no rust-api=no bump=patch next=0.1.1 -->";
        let report = format!("{}{marker}\n", "| a | b |\n".repeat(10_000));
        let body = cap(&report);
        assert!(body.len() < 65_536);
        assert_eq!(body.trim_end().lines().last(), Some(marker));
        assert_eq!(Verdict::parse(&body).unwrap().bump, "patch");
    }
}
