//! `cargo xtask sync` as a process: exit codes, messages, and files left as they were on error.
//! Every run works on a throwaway copy of the workspace (`--root`), except the read-only check.

mod sync_support;

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;
use sync_support::{Reply, Workspace, closed_port_url, docs_site, root, serve, serve_replies};

/// The one xtask binary cargo built for these tests.
fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

fn xtask(args: &[&str]) -> Output {
    binary().args(args).output().expect("the xtask binary runs")
}

/// Runs the binary as `cargo xtask` would in the workspace `root`: from `dir`, with
/// `CARGO_MANIFEST_DIR` set to `root/xtask` (`Some`) or unset (`None`, as when run directly).
fn xtask_in(dir: &Path, manifest_dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = binary();
    command.args(args).current_dir(dir);
    match manifest_dir {
        Some(root) => command.env("CARGO_MANIFEST_DIR", root.join("xtask")),
        None => command.env_remove("CARGO_MANIFEST_DIR"),
    };
    command.output().expect("the xtask binary runs")
}

fn sync(workspace: &Workspace, args: &[&str]) -> Output {
    let root = workspace.path().to_str().expect("a UTF-8 temporary path");
    let mut all = vec!["sync", "--root", root];
    all.extend(args);
    xtask(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a sync that must fail without a verdict: one readable error line containing `expected`,
/// exit status 3, and every file of the workspace exactly as it was.
fn fails_leaving_everything(workspace: &Workspace, args: &[&str], expected: &str) -> String {
    let before = workspace.files();
    let output = sync(workspace, args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{message}");
    assert_eq!(message.lines().count(), 1, "one message: {message}");
    assert!(message.starts_with("error: "), "{message}");
    assert!(
        message.contains(expected),
        "expected {expected:?} in: {message}"
    );
    assert!(
        workspace.files() == before,
        "files changed after: {message}"
    );
    message
}

#[test]
fn check_offline_passes_on_the_committed_tree() {
    let root = root();
    let output = xtask(&[
        "sync",
        "--check",
        "--offline",
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("No drift"), "{}", stdout(&output));
}

#[test]
fn check_fails_on_a_hand_edit_and_writes_nothing() {
    let workspace = Workspace::copy();
    let spec = workspace.read("openapi.yaml");
    let edited = spec.replace("        '410':\n", "        '411':\n");
    assert_ne!(edited, spec, "the test must really edit the spec");
    workspace.write("openapi.yaml", &edited);
    let before = workspace.files();

    let output = sync(&workspace, &["--offline", "--check", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Run `cargo xtask sync --offline`"),
        "{}",
        stderr(&output)
    );
    assert!(workspace.files() == before, "check mode writes nothing");
    let report: Value = serde_json::from_str(&stdout(&output)).expect("a JSON report");
    let operations = report["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 1, "{report}");
    assert_eq!(operations[0]["path"], "/files/{file_id}/download");
    // 411 and 410 are error statuses: neither axis breaks, but the spec is out of date, which is
    // what the default `--fail-on any` follows.
    assert_eq!(
        operations[0]["breaks"],
        serde_json::json!({"wire": false, "rust_api": false}),
        "{report}"
    );
    assert_eq!(report["gate"]["fail_on"], "any");
    assert_eq!(report["gate"]["failed"], true);
    let codes: Vec<(&str, &str)> = operations[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["change"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [("411", "removed"), ("410", "added")]);
}

#[test]
fn offline_sync_restores_a_hand_edited_spec_and_its_snapshot() {
    let workspace = Workspace::copy();
    let spec = workspace.read("openapi.yaml");
    let snapshot = workspace.read("client/src/generated.rs");
    workspace.write("openapi.yaml", &spec.replace("Get File", "Fetch File"));
    workspace.write("client/src/generated.rs", "// stale\n");

    let output = sync(&workspace, &["--offline"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        workspace.read("openapi.yaml") == spec,
        "openapi.yaml is rebuilt"
    );
    assert!(
        workspace.read("client/src/generated.rs") == snapshot,
        "snapshot regenerated"
    );

    let again = sync(&workspace, &["--offline", "--check"]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn a_sync_from_a_docs_site_refreshes_the_vendored_copy_for_offline_runs() {
    let workspace = Workspace::copy();
    let seed = workspace.read("spec/upstream/get-general-status.md");
    let site = serve(&[
        (
            "/llms.txt",
            "# Invaro\n\n## Docs\n\n- [Status](/api-reference/status): Job status.\n- [Quickstart](/quickstart)\n"
                .into(),
        ),
        ("/api-reference/status.md", seed.clone()),
        ("/quickstart.md", "# Quickstart\n\nUpload, parse, poll.\n".into()),
    ]);
    let spec = workspace.read("openapi.yaml");

    let index = format!("{site}/llms.txt");
    let output = sync(&workspace, &["--from", &index]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("1 page(s) without an OpenAPI block skipped"));
    assert!(
        workspace.read("openapi.yaml") == spec,
        "same upstream, same spec"
    );
    assert_eq!(
        workspace.read("spec/upstream/api-reference-status.md"),
        seed
    );
    let manifest = workspace.read("spec/upstream/manifest.toml");
    for expected in [
        "name = \"llms.txt\"\nkind = \"index\"",
        "name = \"api-reference-status.md\"\nkind = \"page\"",
        "name = \"quickstart.md\"\nkind = \"page\"",
        &format!("location = \"{site}/api-reference/status.md\""),
    ] {
        assert!(manifest.contains(expected), "{expected} in:\n{manifest}");
    }
    assert!(
        !manifest.contains("get-general-status.md"),
        "the old copy is replaced"
    );

    let offline = sync(&workspace, &["--offline", "--check"]);
    assert!(offline.status.success(), "{}", stderr(&offline));
}

#[test]
fn an_unreachable_default_source_fails_cleanly() {
    let workspace = Workspace::copy();
    let url = closed_port_url("/llms.txt");
    workspace.write("spec/sources.toml", &format!("from = [\"{url}\"]\n"));
    fails_leaving_everything(&workspace, &[], &format!("cannot reach {url}"));
}

#[test]
fn an_http_error_names_the_url_and_status() {
    let workspace = Workspace::copy();
    let url = format!("{}/missing.md", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        &format!("{url}: HTTP 404 Not Found"),
    );
}

#[test]
fn malformed_yaml_names_the_page_and_line() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/malformed.md", docs_site());
    let message = fails_leaving_everything(&workspace, &["--from", &url], &url);
    assert!(
        message.contains("malformed YAML in the fenced block: line 14"),
        "{message}"
    );
}

#[test]
fn openapi_3_2_is_refused_because_the_sync_reads_3_0_and_3_1() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/v32.md", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "OpenAPI 3.2.0 is not supported: the sync reads OpenAPI 3.0.x and 3.1.x",
    );
}

#[test]
fn swagger_2_0_is_refused_because_progenitor_needs_3_0() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/swagger.json", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "OpenAPI Swagger 2.0 is not supported: the sync reads OpenAPI 3.0.x and 3.1.x",
    );
}

#[test]
fn an_html_page_where_markdown_was_expected_is_refused() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/html.md", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "is an HTML page, but a Markdown page",
    );
}

#[test]
fn an_empty_index_is_refused() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/empty.txt", docs_site());
    fails_leaving_everything(&workspace, &["--from", &url], "the index lists no pages");
}

#[test]
fn a_conflict_between_sources_is_refused() {
    let workspace = Workspace::copy();
    let site = docs_site();
    let (first, second) = (
        format!("{site}/api/jobs/get-job.md"),
        format!("{site}/bad/conflict.md"),
    );
    let message = fails_leaving_everything(
        &workspace,
        &["--from", &first, "--from", &second],
        "conflict",
    );
    assert!(
        message.contains(&first) && message.contains(&second),
        "{message}"
    );
}

#[test]
fn an_overlay_target_that_is_not_jsonpath_is_refused() {
    let workspace = Workspace::copy();
    let overlay = workspace.read("spec/overlay.yaml");
    let broken = overlay.replacen("  - target: $.servers[0]\n", "  - target: $.servers[0\n", 1);
    assert_ne!(broken, overlay);
    workspace.write("spec/overlay.yaml", &broken);
    fails_leaving_everything(
        &workspace,
        &["--offline"],
        "spec/overlay.yaml: action 3 (\"Say that every path is relative to the server URL.\"): target `$.servers[0` is not valid JSONPath",
    );
}

#[test]
fn a_spec_the_client_cannot_be_built_from_is_refused() {
    // Without the overlay, the fixture site has no upload operations, which the client writes
    // by hand: the pipeline succeeds, client generation does not.
    let workspace = Workspace::copy();
    workspace.write(
        "spec/overlay.yaml",
        "overlay: 1.0.0\ninfo: {title: none, version: '1'}\nactions: []\n",
    );
    let url = format!("{}/openapi.json", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "the synced spec cannot be turned into a client",
    );
}

#[test]
fn one_binary_acts_on_the_workspace_it_runs_in() {
    let (first, second) = (Workspace::copy(), Workspace::copy());
    let spec = first.read("openapi.yaml");
    first.write("openapi.yaml", &spec.replace("Get File", "Fetch File"));
    second.write("openapi.yaml", &spec.replace("Get File", "Grab File"));
    fs::create_dir_all(second.path().join("spec/upstream/nested")).unwrap();

    // As `cargo xtask` runs it: CARGO_MANIFEST_DIR names the checkout's own xtask folder.
    let check = xtask_in(
        first.path(),
        Some(first.path()),
        &["sync", "--check", "--offline"],
    );
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stderr(&check).contains("-      summary: Fetch File"),
        "{}",
        stderr(&check)
    );
    assert!(!stderr(&check).contains("Grab File"), "{}", stderr(&check));
    // Run directly from a folder inside the checkout: the root is found by walking up.
    let inside = second.path().join("spec/upstream/nested");
    let check = xtask_in(&inside, None, &["sync", "--check", "--offline"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stderr(&check).contains("-      summary: Grab File"),
        "{}",
        stderr(&check)
    );

    let before = second.files();
    let sync = xtask_in(first.path(), Some(first.path()), &["sync", "--offline"]);
    assert!(sync.status.success(), "{}", stderr(&sync));
    assert!(
        first.read("openapi.yaml") == spec,
        "the first checkout is rebuilt"
    );
    assert!(second.files() == before, "the second checkout is untouched");

    // codegen too reads each checkout's own spec and snapshot.
    first.write("client/src/generated.rs", "// stale\n");
    let codegen = xtask_in(second.path(), Some(second.path()), &["codegen", "--check"]);
    assert_eq!(codegen.status.code(), Some(1));
    assert!(
        stderr(&codegen).contains("+    /**Grab File"),
        "{}",
        stderr(&codegen)
    );
    let codegen = xtask_in(first.path(), Some(first.path()), &["codegen", "--check"]);
    assert_eq!(codegen.status.code(), Some(1));
    assert!(
        stderr(&codegen).contains("-// stale"),
        "{}",
        stderr(&codegen)
    );
}

#[test]
fn outside_a_workspace_the_command_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask_in(dir.path(), None, &["sync", "--offline"]);
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(
        message.starts_with("error: no invaro workspace found above"),
        "{message}"
    );
    assert!(
        message.contains("openapi.yaml and a Cargo.toml with a [workspace] table"),
        "{message}"
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_target_that_cannot_be_written_leaves_every_file_as_it_was() {
    // A sync from a docs site replaces spec/upstream, openapi.yaml and the snapshot. The
    // snapshot's folder is a file here, so the last of the three cannot be written: the other
    // two must stay as they were.
    let workspace = Workspace::copy();
    let seed = workspace.read("spec/upstream/get-general-status.md");
    let site = serve(&[
        ("/llms.txt", "# Invaro\n\n- [Status](/status)\n".into()),
        ("/status.md", seed),
    ]);
    let spec = workspace.read("openapi.yaml");
    workspace.write("openapi.yaml", &spec.replace("Get File", "Fetch File"));
    fs::remove_dir_all(workspace.path().join("client/src")).unwrap();
    workspace.write("client/src", "not a folder\n");
    let message = fails_leaving_everything(
        &workspace,
        &["--from", &format!("{site}/llms.txt")],
        "client/src/generated.rs: cannot be written",
    );
    assert!(!message.contains("restored"), "{message}");
    let names: Vec<String> = fs::read_dir(workspace.path())
        .unwrap()
        .chain(fs::read_dir(workspace.path().join("spec")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporaries left: {names:?}"
    );
}

#[test]
fn the_projects_own_spec_as_the_only_source_gives_no_drift() {
    let workspace = Workspace::copy();
    let spec = workspace.path().join("openapi.yaml");
    let output = sync(
        &workspace,
        &["--check", "--json", "--from", spec.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("a JSON report");
    assert_eq!(report["operations"], serde_json::json!([]), "{report}");
    assert_eq!(report["gate"]["spec_changes"], false);
    // The overlay's additions are all there already: the report names them as candidates.
    let provided = report["provided_upstream"].as_array().unwrap();
    assert!(provided.len() >= 17, "{report}");
}

#[test]
fn fail_on_chooses_the_axis_the_exit_status_follows() {
    let workspace = Workspace::copy();
    let spec = workspace.read("openapi.yaml");
    let run = |fail_on: &str| {
        let output = sync(&workspace, &["--offline", "--check", "--fail-on", fail_on]);
        (output.status.code(), stdout(&output))
    };

    // An error status renamed by hand: the spec is out of date, but nothing breaks.
    workspace.write(
        "openapi.yaml",
        &spec.replace("        '410':\n", "        '411':\n"),
    );
    assert_eq!(run("any").0, Some(1));
    for level in ["wire", "rust-api", "breaking"] {
        let (code, out) = run(level);
        assert_eq!(code, Some(0), "--fail-on {level}: {out}");
        assert!(
            out.contains(&format!(
                "Check (--fail-on {level}): the exit status follows"
            )),
            "{out}"
        );
        assert!(out.contains("so the check passes"), "{out}");
    }

    // An optional query parameter added by hand, which the sync takes away again: the wire
    // does not care, the Rust API loses an argument.
    let extra = "        - $ref: '#/components/parameters/PageSize'\n        - name: extra\n          in: query\n          schema:\n            type: string\n";
    let edited = spec.replacen(
        "        - $ref: '#/components/parameters/PageSize'\n",
        extra,
        1,
    );
    assert_ne!(edited, spec);
    workspace.write("openapi.yaml", &edited);
    assert_eq!(run("wire").0, Some(0));
    let (code, out) = run("rust-api");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("ok        BREAKING      parameter `query extra`: removed"),
        "{out}"
    );
    assert!(
        out.contains("a change breaks the Rust API, so the check fails"),
        "{out}"
    );
    assert_eq!(run("breaking").0, Some(1));
}

#[test]
fn links_are_followed_safely_and_the_report_names_each_refusal() {
    let workspace = Workspace::copy();
    let seed = workspace.read("spec/upstream/get-general-status.md");
    let big = format!("# Big\n\n{}\n", "x".repeat(4 * 1024 * 1024 + 1));
    let index = "# Invaro\n\n\
        - [Status](/old/status)\n\
        - [Plain](http://docs.invaro.test/plain)\n\
        - [Elsewhere](/elsewhere)\n\
        - [Loop](/loop)\n\
        - [Big](/big)\n\
        - [File](file:///etc/passwd)\n";
    let site = serve_replies(&[
        ("/llms.txt", Reply::Page(index.into())),
        ("/old/status.md", Reply::Redirect("/status.md".into())),
        ("/status.md", Reply::Page(seed)),
        (
            "/elsewhere.md",
            Reply::Redirect("http://docs.invaro.test/a.md".into()),
        ),
        ("/loop.md", Reply::Redirect("/loop.md".into())),
        ("/big.md", Reply::Page(big)),
    ]);
    let spec = workspace.read("openapi.yaml");
    let output = sync(&workspace, &["--from", &format!("{site}/llms.txt")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        workspace.read("openapi.yaml") == spec,
        "the redirected page was read"
    );
    let out = stdout(&output);
    for refusal in [
        "link `http://docs.invaro.test/plain` of ".to_owned(),
        "http://docs.invaro.test/plain.md: plain http is followed only to this machine".to_owned(),
        "http://docs.invaro.test/a.md: plain http is followed only to this machine".to_owned(),
        format!("{site}/loop.md: more than 5 redirects"),
        format!("{site}/big.md: the page is larger than the 4194304 bytes allowed"),
        "file:///etc/passwd.md: `file` links are not followed".to_owned(),
    ] {
        assert!(out.contains(&refusal), "{refusal:?} in:\n{out}");
    }
    assert!(out.contains("\nRefused (not read;"), "{out}");
}

#[test]
fn a_plain_http_source_elsewhere_than_this_machine_is_refused_without_a_connection() {
    let workspace = Workspace::copy();
    fails_leaving_everything(
        &workspace,
        &["--from", "http://docs.invaro.test/llms.txt"],
        "refused: http://docs.invaro.test/llms.txt: plain http is followed only to this machine (127.0.0.1 or ::1); use https",
    );
}
