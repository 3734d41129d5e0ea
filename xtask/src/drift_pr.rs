//! `cargo xtask drift-pr`: the scheduled drift check. Runs the live sync and turns its outcome
//! into at most one pull request and at most one issue on GitHub, through `git` and `gh`.
//!
//! - the upstream cannot be read (the sync exits 3): one issue labelled [`UNREADABLE`] is opened,
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
    env, fmt, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Output},
};

use serde::Deserialize;

use crate::project_root;

/// What the sync writes, relative to the workspace root: all of it is committed together.
const SYNCED: [&str; 3] = ["openapi.yaml", "spec/upstream", "client/src/generated.rs"];

/// A label: name, colour, description.
type Label = (&'static str, &'static str, &'static str);

/// Every drift pull request carries it.
const DRIFT: Label = ("drift", "c5def5", "The upstream API docs changed");
/// The labels this command sets on the pull request and removes again when they stop being
/// true. `drift` is always set; the others follow the report's verdicts.
const PR_LABELS: [Label; 6] = [
    DRIFT,
    (
        "breaks-wire",
        "b60205",
        "Drift that breaks clients on the wire",
    ),
    (
        "breaks-rust-api",
        "d93f0b",
        "Drift that breaks the Rust API of invaro",
    ),
    ("bump-breaking", "5319e7", "Needs a breaking version bump"),
    ("bump-additive", "0e8a16", "Needs an additive version bump"),
    ("bump-patch", "fbca04", "Needs a patch version bump"),
];
/// The label that finds the one issue about an unreadable upstream.
const UNREADABLE: Label = (
    "upstream-unreadable",
    "e11d21",
    "The scheduled drift check cannot read the upstream docs",
);
const ISSUE_TITLE: &str = "Drift check: the upstream API docs cannot be read";
/// GitHub refuses bodies over 65,536 characters; the report is cut below that.
const MAX_BODY: usize = 60_000;
/// In the message of every commit this command makes: a branch tip without it was pushed by
/// someone else.
const SIGNATURE: &str = "Written by `cargo xtask drift-pr`";
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

/// The verdicts on the report's last line,
/// `<!-- invaro-drift wire=yes rust-api=no bump=additive next=0.2.0 -->`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The change breaks clients on the wire.
    pub wire: bool,
    /// The change breaks the Rust API of `invaro`.
    pub rust_api: bool,
    /// `breaking`, `additive`, `patch` or `none`.
    pub bump: String,
    /// The proposed next version, if any.
    pub next: Option<String>,
}

impl Verdict {
    /// Reads the marker from the last non-empty line of `report`.
    ///
    /// # Errors
    /// When that line is not the marker or a field is missing or unknown.
    pub fn parse(report: &str) -> Result<Verdict, String> {
        let last = report.lines().rev().find(|l| !l.trim().is_empty());
        let fields = last
            .and_then(|l| l.trim().strip_prefix("<!-- invaro-drift "))
            .and_then(|l| l.strip_suffix("-->"))
            .ok_or_else(|| {
                format!(
                    "the sync's Markdown report does not end with the `<!-- invaro-drift ... -->` \
                     line (its last line is {:?})",
                    last.unwrap_or_default()
                )
            })?;
        let field = |name: &str| {
            fields
                .split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("the drift marker has no `{name}=`: {fields:?}"))
        };
        let yes = |name: &str| match field(name)? {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(format!("drift marker: `{name}={other}` is not yes or no")),
        };
        let bump = field("bump")?;
        if !["breaking", "additive", "patch", "none"].contains(&bump) {
            return Err(format!(
                "drift marker: `bump={bump}` is not breaking, additive, patch or none"
            ));
        }
        let next = field("next")?;
        Ok(Verdict {
            wire: yes("wire")?,
            rust_api: yes("rust-api")?,
            bump: bump.to_owned(),
            next: (next != "-").then(|| next.to_owned()),
        })
    }

    /// The pull request's labels for these verdicts.
    pub fn labels(&self) -> Vec<&'static str> {
        let wanted = |name: &str| match name {
            "drift" => true,
            "breaks-wire" => self.wire,
            "breaks-rust-api" => self.rust_api,
            bump => bump.strip_prefix("bump-") == Some(self.bump.as_str()),
        };
        PR_LABELS
            .iter()
            .map(|(name, ..)| *name)
            .filter(|name| wanted(name))
            .collect()
    }

    /// The title of the pull request and the subject of its commit.
    pub fn title(&self) -> String {
        let breaks: Vec<&str> = [(self.wire, "wire"), (self.rust_api, "Rust API")]
            .into_iter()
            .filter_map(|(b, axis)| b.then_some(axis))
            .collect();
        let breaks = if breaks.is_empty() {
            "breaks nothing".to_owned()
        } else {
            format!("breaks the {}", breaks.join(" and the "))
        };
        let bump = match &self.next {
            Some(next) => format!("{} bump to {next}", self.bump),
            None => format!("bump {}", self.bump),
        };
        format!("Spec drift from the upstream docs: {breaks}, {bump}")
    }
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

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Upstream(status) => write!(f, "the sync failed with status {status}"),
            Failure::Other(message) => f.write_str(message),
        }
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
    let pushed = git.commit_and_push(args, &verdict.title())?;
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
    match gh.open_issue()? {
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
    if let Some(number) = gh.open_issue()? {
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

#[derive(Deserialize)]
struct Pull {
    number: u64,
    #[serde(default)]
    labels: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Numbered {
    number: u64,
}

/// `gh`, run from the workspace root (it finds the repository from the git remote, or
/// `GH_REPO`).
struct Gh<'a> {
    root: &'a Path,
}

impl Gh<'_> {
    fn run(&self, args: &[&str]) -> Result<String, String> {
        run_tool("gh", self.root, args)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, args: &[&str]) -> Result<T, String> {
        let text = self.run(args)?;
        serde_json::from_str(&text)
            .map_err(|e| format!("`gh {}` answered unexpected JSON: {e}", args.join(" ")))
    }

    /// The oldest open pull request from `branch` into `base`.
    fn open_pull(&self, branch: &str, base: &str) -> Result<Option<Pull>, String> {
        let mut pulls: Vec<Pull> = self.json(&[
            "pr",
            "list",
            "--head",
            branch,
            "--base",
            base,
            "--state",
            "open",
            "--json",
            "number,labels",
        ])?;
        pulls.sort_by_key(|p| p.number);
        Ok(pulls.into_iter().next())
    }

    /// The oldest open issue about an unreadable upstream.
    fn open_issue(&self) -> Result<Option<u64>, String> {
        let issues: Vec<Numbered> = self.json(&[
            "issue",
            "list",
            "--label",
            UNREADABLE.0,
            "--state",
            "open",
            "--json",
            "number",
        ])?;
        Ok(issues.iter().map(|i| i.number).min())
    }

    /// Creates the labels, or brings their colour and description up to date.
    fn ensure_labels(&self, labels: &[Label]) -> Result<(), String> {
        for (name, color, description) in labels {
            self.run(&[
                "label",
                "create",
                name,
                "--color",
                color,
                "--description",
                description,
                "--force",
            ])?;
        }
        Ok(())
    }
}

/// `git` in the workspace.
struct Git<'a> {
    root: &'a Path,
}

impl Git<'_> {
    fn run(&self, args: &[&str]) -> Result<String, String> {
        run_tool("git", self.root, args)
    }

    /// The checkout is the base branch and the files the sync writes are as committed.
    fn ready(&self, base: &str) -> Result<(), String> {
        let head = self.run(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        if head.trim() != base {
            return Err(format!(
                "the checkout is on `{}`, not on the base branch `{base}`: the drift branch is \
                 made from the base",
                head.trim()
            ));
        }
        let mut status = vec!["status", "--porcelain", "--"];
        status.extend(SYNCED);
        let dirty = self.run(&status)?;
        if !dirty.trim().is_empty() {
            return Err(format!(
                "uncommitted changes in the files the sync writes; commit or discard them \
                 first:\n{}",
                dirty.trim_end()
            ));
        }
        Ok(())
    }

    fn changed(&self, path: &str) -> Result<bool, String> {
        Ok(!self
            .run(&["status", "--porcelain", "--", path])?
            .trim()
            .is_empty())
    }

    /// Puts back what the sync wrote.
    fn restore(&self) -> Result<(), String> {
        let mut checkout = vec!["checkout", "HEAD", "--"];
        checkout.extend(SYNCED);
        self.run(&checkout)?;
        self.run(&["clean", "-fdq", "--", "spec/upstream"])
            .map(drop)
    }

    /// The commit the remote's `branch` points at, if it exists.
    fn remote_branch(&self, remote: &str, branch: &str) -> Result<Option<String>, String> {
        let line = self.run(&["ls-remote", remote, &format!("refs/heads/{branch}")])?;
        Ok(line.split_whitespace().next().map(str::to_owned))
    }

    /// Commits the synced files on `args.branch` (made from the base) and force-pushes it,
    /// unless the remote branch already holds the same files. Leaves the checkout on the
    /// base. Returns whether it pushed.
    fn commit_and_push(&self, args: &Args, subject: &str) -> Result<bool, String> {
        self.run(&["switch", "--quiet", "-C", &args.branch])?;
        let committed = self.commit(subject);
        let pushed = committed.and_then(|()| {
            let ours = self.run(&["rev-parse", "HEAD^{tree}"])?;
            let theirs = match self.remote_branch(&args.remote, &args.branch)? {
                Some(_) => {
                    self.run(&["fetch", "--quiet", "--no-tags", &args.remote, &args.branch])?;
                    // A force-push would drop what a maintainer pushed to the branch (fixes of
                    // the hand-written layer, say).
                    let tip = self.run(&["log", "-1", "--format=%B", "FETCH_HEAD"])?;
                    if !tip.contains(SIGNATURE) {
                        return Err(format!(
                            "{remote}/{branch} has commits this command did not make; it is not \
                             overwritten. Merge or close its pull request, or delete the branch, \
                             and the next run remakes it from {base}",
                            remote = args.remote,
                            branch = args.branch,
                            base = args.base
                        ));
                    }
                    Some(self.run(&["rev-parse", "FETCH_HEAD^{tree}"])?)
                }
                None => None,
            };
            if theirs.as_deref() == Some(ours.as_str()) {
                return Ok(false);
            }
            let refspec = format!("HEAD:refs/heads/{}", args.branch);
            self.run(&["push", "--quiet", "--force", &args.remote, &refspec])?;
            Ok(true)
        });
        let back = self.run(&["switch", "--quiet", &args.base]);
        let pushed = pushed?;
        back?;
        Ok(pushed)
    }

    fn commit(&self, subject: &str) -> Result<(), String> {
        let mut add = vec!["add", "--all", "--"];
        add.extend(SYNCED);
        self.run(&add)?;
        let message = format!(
            "{subject}\n\n{SIGNATURE}: openapi.yaml, the vendored pages and the generated \
             client as `cargo xtask sync` made them from the upstream docs."
        );
        // A runner has no identity configured; one set by the user or the environment wins.
        let mut commit = Vec::new();
        if self.run(&["config", "user.email"]).is_err() {
            commit.extend([
                "-c",
                "user.name=invaro drift check",
                "-c",
                "user.email=41898282+github-actions[bot]@users.noreply.github.com",
            ]);
        }
        commit.extend(["commit", "--quiet", "--no-verify", "-m", &message]);
        self.run(&commit).map(drop)
    }
}

/// Runs `program` in `dir`; its stdout, or an error naming the command with its stderr.
fn run_tool(program: &str, dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e} (is it installed and on PATH?)"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed ({}): {}",
            shown(args),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("`{program}` printed non-UTF-8 text"))
}

/// The arguments as an error shows them: file paths and long texts shortened.
fn shown(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.chars().count() > 60 {
                format!("{}...", a.chars().take(57).collect::<String>())
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_gives_the_verdicts_and_labels() {
        let report = "# Drift\n\nstuff\n<!-- invaro-drift wire=yes rust-api=no bump=breaking next=0.2.0 -->\n";
        let verdict = Verdict::parse(report).unwrap();
        assert_eq!(
            verdict,
            Verdict {
                wire: true,
                rust_api: false,
                bump: "breaking".into(),
                next: Some("0.2.0".into())
            }
        );
        assert_eq!(verdict.labels(), ["drift", "breaks-wire", "bump-breaking"]);
        let none =
            Verdict::parse("<!-- invaro-drift wire=no rust-api=no bump=none next=- -->").unwrap();
        assert_eq!(none.labels(), ["drift"]);
        assert_eq!(none.next, None);
    }

    #[test]
    fn a_report_without_the_marker_is_refused() {
        assert!(Verdict::parse("# Drift\n\nno marker\n").is_err());
        assert!(
            Verdict::parse("<!-- invaro-drift wire=maybe rust-api=no bump=none next=- -->")
                .is_err()
        );
        assert!(
            Verdict::parse("<!-- invaro-drift wire=no rust-api=no bump=major next=- -->").is_err()
        );
    }

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
