//! `cargo xtask sync` as a process: exit codes, messages, and files left as they were on error.
//! Every run works on a throwaway copy of the workspace (`--root`), except the read-only check.

mod sync_support;

use std::process::{Command, Output};

use serde_json::Value;
use sync_support::{Workspace, closed_port_url, docs_site, root, serve};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
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

/// Runs a sync that must fail: one readable error line containing `expected`, exit code 1, and
/// every file of the workspace exactly as it was.
fn fails_leaving_everything(workspace: &Workspace, args: &[&str], expected: &str) -> String {
    let before = workspace.files();
    let output = sync(workspace, args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
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
fn openapi_3_1_is_refused_because_progenitor_needs_3_0() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/v31.md", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "OpenAPI 3.1.0 is not supported: progenitor needs OpenAPI 3.0.x",
    );
}

#[test]
fn swagger_2_0_is_refused_because_progenitor_needs_3_0() {
    let workspace = Workspace::copy();
    let url = format!("{}/bad/swagger.json", docs_site());
    fails_leaving_everything(
        &workspace,
        &["--from", &url],
        "OpenAPI Swagger 2.0 is not supported: progenitor needs OpenAPI 3.0.x",
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
