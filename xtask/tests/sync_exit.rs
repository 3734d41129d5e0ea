//! The exit statuses of `cargo xtask sync` cannot be confused: 0 no drift (or drift the gate
//! accepts, which the report says), 1 drift the gate rejects, 3 no verdict (the upstream failed,
//! was cut short or silent, or could not be parsed), and nothing is written on 3. Also the
//! Markdown report and its marker line, and the determinism of an unchanged upstream.

mod sync_support;

use std::process::{Command, Output};

use sync_support::{Reply, Workspace, root, serve, serve_cut, serve_replies, serve_silent};

fn sync(workspace: &Workspace, args: &[&str]) -> Output {
    let root = workspace.path().to_str().expect("a UTF-8 temporary path");
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["sync", "--root", root])
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a sync, in check mode and not, that must end with status 3, the message containing
/// `expected`, and every file as it was.
fn no_verdict(workspace: &Workspace, args: &[&str], expected: &str) {
    let before = workspace.files();
    for check in [false, true] {
        let mut all = args.to_vec();
        if check {
            all.push("--check");
        }
        let output = sync(workspace, &all);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{all:?}: {message}");
        assert!(message.contains(expected), "{expected:?} in: {message}");
        assert!(!stdout(&output).contains("No drift"), "{}", stdout(&output));
        assert!(
            workspace.files() == before,
            "files changed after: {message}"
        );
    }
}

/// The docs site of the committed spec: an index and its one page.
fn site(page: Reply) -> String {
    let seed = std::fs::read_to_string(root().join("spec/upstream/get-general-status.md"))
        .expect("the vendored page");
    serve_replies(&[
        (
            "/llms.txt",
            Reply::Page("# Invaro\n\n- [Status](/status)\n- [Other](/other)\n".into()),
        ),
        ("/status.md", Reply::Page(seed)),
        ("/other.md", page),
    ])
}

#[test]
fn a_silent_upstream_times_out_with_status_3() {
    let workspace = Workspace::copy();
    let url = format!("{}/llms.txt", serve_silent());
    no_verdict(
        &workspace,
        &["--from", &url, "--fetch-timeout", "1"],
        &format!("cannot reach {url}"),
    );
}

#[test]
fn an_upstream_answering_500_gives_status_3() {
    let workspace = Workspace::copy();
    let url = format!(
        "{}/llms.txt",
        serve_replies(&[("/llms.txt", Reply::Status(500))])
    );
    no_verdict(
        &workspace,
        &["--from", &url],
        &format!("{url}: HTTP 500 Internal Server Error"),
    );
}

#[test]
fn a_partial_fetch_is_never_no_drift() {
    let workspace = Workspace::copy();
    // One page of the index fails: what was read would drop operations, yet there is no verdict.
    let base = site(Reply::Status(502));
    no_verdict(
        &workspace,
        &["--from", &format!("{base}/llms.txt")],
        &format!("{base}/other.md: HTTP 502 Bad Gateway"),
    );
    // A body cut short of its Content-Length.
    let url = format!("{}/page.md", serve_cut());
    no_verdict(
        &workspace,
        &["--from", &url],
        &format!("{url}: cannot read the body"),
    );
}

#[test]
fn no_drift_is_status_0_and_an_unchanged_upstream_gives_identical_output() {
    let workspace = Workspace::copy();
    let seed = workspace.read("spec/upstream/get-general-status.md");
    let site = serve(&[
        ("/llms.txt", "# Invaro\n\n- [Status](/status)\n".into()),
        ("/status.md", seed),
    ]);
    let url = format!("{site}/llms.txt");
    let first = sync(&workspace, &["--from", &url, "--format", "markdown"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let files = workspace.files();
    let second = sync(&workspace, &["--from", &url, "--format", "markdown"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(workspace.files() == files, "a second sync changed files");
    assert_eq!(
        stdout(&first),
        stdout(&second),
        "the report is deterministic"
    );

    let check = sync(
        &workspace,
        &["--from", &url, "--check", "--format", "markdown"],
    );
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let out = stdout(&check);
    assert!(out.contains(&format!("- `{url}`")), "{out}");
    assert!(out.contains("sha256 of the normalised spec"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("<!-- invaro-drift wire=no rust-api=no bump=none next=- -->"),
        "{out}"
    );
}

#[test]
fn gated_drift_is_0_when_accepted_and_1_when_rejected_and_the_marker_says_why() {
    let workspace = Workspace::copy();
    let spec = workspace.read("openapi.yaml");
    // An optional query parameter added by hand, which the sync takes away again: a setter
    // removed, so the Rust API breaks and the wire does not.
    let extra = "        - $ref: '#/components/parameters/PageSize'\n        - name: extra\n          in: query\n          schema:\n            type: string\n";
    let edited = spec.replacen(
        "        - $ref: '#/components/parameters/PageSize'\n",
        extra,
        1,
    );
    assert_ne!(edited, spec);
    workspace.write("openapi.yaml", &edited);
    // The bump is read from the workspace's version: pinned here, whatever the release is.
    let manifest = workspace.read("Cargo.toml");
    let version = manifest
        .lines()
        .find(|line| line.starts_with("version = "))
        .expect("[workspace.package] has a version");
    workspace.write(
        "Cargo.toml",
        &manifest.replacen(version, r#"version = "0.4.2""#, 1),
    );

    let accepted = sync(
        &workspace,
        &[
            "--offline",
            "--check",
            "--fail-on",
            "wire",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    let out = stdout(&accepted);
    assert!(
        out.contains("The check (`--fail-on wire`) passes."),
        "{out}"
    );
    assert!(out.contains("| **BREAKING** |"), "{out}");
    assert!(out.contains("::extra removed"), "{out}");
    assert!(
        out.contains("**breaking bump**: `0.4.2` → `0.5.0`"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("<!-- invaro-drift wire=no rust-api=yes bump=breaking next=0.5.0 -->"),
        "{out}"
    );

    let rejected = sync(
        &workspace,
        &["--offline", "--check", "--fail-on", "rust-api"],
    );
    assert_eq!(rejected.status.code(), Some(1), "{}", stderr(&rejected));
    assert!(stdout(&rejected).contains("so the check fails"));

    // `--json` stays an alias of `--format json`.
    let json = sync(
        &workspace,
        &["--offline", "--check", "--fail-on", "wire", "--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(report["bump"]["kind"], "breaking");
    assert_eq!(report["bump"]["next"], "0.5.0");
    assert_eq!(report["rust_api"][0]["breaking"], true);

    // A usage error stays clap's 2.
    let usage = sync(&workspace, &["--format", "yaml"]);
    assert_eq!(usage.status.code(), Some(2));
}
