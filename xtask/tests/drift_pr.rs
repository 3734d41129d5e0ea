//! `cargo xtask drift-pr`, the scheduled drift check, against a docs site on 127.0.0.1, a bare
//! local `origin` and a fake `gh`: what it pushes, which pull request and issue it opens, edits
//! or closes, and its exit status.

mod drift_pr_support;
mod sync_support;

use std::{collections::BTreeSet, process::Output};

use drift_pr_support::{
    Answer, Repo, Site, health_page, status_page, status_page_requiring_tenant,
};

const BRANCH: &str = "invaro/spec-drift";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeds(output: &Output) {
    assert!(
        output.status.success(),
        "status {:?}: {}",
        output.status.code(),
        stderr(output)
    );
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The verdict line the sync's contract puts last in the Markdown report.
fn marker(body: &str) -> &str {
    body.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn no_drift_pushes_nothing_and_opens_nothing() {
    let repo = Repo::new();
    let site = Site::start();
    site.serve_pages(&[("get-general-status", status_page())]);
    let before = repo.origin_branches();

    let output = repo.drift_pr(&["--from", &site.index()]);
    succeeds(&output);

    assert_eq!(repo.origin_branches(), before, "nothing pushed");
    assert!(repo.pulls().is_empty());
    assert!(repo.issues().is_empty());
    assert!(
        !repo.gh_calls().iter().any(|c| c.starts_with("pr create")),
        "{:?}",
        repo.gh_calls()
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the checkout is left as committed"
    );
}

#[test]
fn drift_opens_one_pull_request_edits_it_and_closes_it_when_the_upstream_reverts() {
    let repo = Repo::new();
    let site = Site::start();
    let from = ["--from", &site.index()];
    let main = repo.origin_branches()["main"].clone();

    // 1. An additive change: a new operation.
    site.serve_pages(&[
        ("get-general-status", status_page()),
        ("get-health", health_page()),
    ]);
    succeeds(&repo.drift_pr(&from));
    let first = repo.origin_branches()[BRANCH].clone();
    assert!(
        repo.origin_file(BRANCH, "openapi.yaml")
            .contains("/health:")
    );
    assert!(
        repo.origin_file(BRANCH, "client/src/generated.rs")
            .contains("get_health"),
        "the regenerated client is committed with the spec"
    );
    assert!(
        repo.origin_file(BRANCH, "spec/upstream/manifest.toml")
            .contains("get-health.md"),
        "the vendored pages are committed with the spec"
    );
    assert_eq!(repo.origin_branches()["main"], main, "main is never pushed");
    let pulls = repo.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pull = &pulls[0];
    assert_eq!(pull.state, "OPEN");
    assert_eq!(pull.head.as_deref(), Some(BRANCH));
    assert!(pull.body.contains("getHealth"), "{}", pull.body);
    assert!(
        marker(&pull.body).starts_with("<!-- invaro-drift wire=no rust-api=no bump=additive "),
        "{}",
        marker(&pull.body)
    );
    assert_eq!(pull.labels, set(&["drift", "bump-additive"]));
    assert!(repo.labels().is_superset(&pull.labels), "labels created");
    assert_eq!(
        repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );

    // 2. A breaking change on top: a required query parameter on an operation main has.
    site.serve_pages(&[
        ("get-general-status", status_page_requiring_tenant()),
        ("get-health", health_page()),
    ]);
    succeeds(&repo.drift_pr(&from));
    let second = repo.origin_branches()[BRANCH].clone();
    assert_ne!(second, first, "the same branch, updated");
    assert!(
        repo.origin_file(BRANCH, "openapi.yaml")
            .contains("name: tenant")
    );
    let pulls = repo.pulls();
    assert_eq!(pulls.len(), 1, "never a second pull request: {pulls:?}");
    let pull = &pulls[0];
    assert_eq!(pull.state, "OPEN");
    assert!(
        marker(&pull.body).starts_with("<!-- invaro-drift wire=yes rust-api=yes bump=breaking "),
        "{}",
        marker(&pull.body)
    );
    assert_eq!(
        pull.labels,
        set(&["drift", "breaks-wire", "breaks-rust-api", "bump-breaking"]),
        "bump-additive removed"
    );
    assert!(pull.title.contains("breaking"), "{}", pull.title);
    assert_eq!(
        repo.gh_calls()
            .iter()
            .filter(|c| c.starts_with("pr create"))
            .count(),
        1
    );
    assert!(
        repo.gh_calls()
            .iter()
            .any(|c| c.starts_with(&format!("pr edit {}", pull.number)))
    );

    // 3. The same drift again: nothing new to push, the pull request stays.
    succeeds(&repo.drift_pr(&from));
    assert_eq!(repo.origin_branches()[BRANCH], second, "no needless push");
    assert_eq!(repo.pulls().len(), 1);

    // 4. The upstream comes back to what main has: the pull request is closed, the branch gone.
    site.serve_pages(&[("get-general-status", status_page())]);
    succeeds(&repo.drift_pr(&from));
    let pulls = repo.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].state, "CLOSED");
    assert!(!pulls[0].comments.is_empty(), "the closing says why");
    assert!(!repo.origin_branches().contains_key(BRANCH));
    assert_eq!(repo.origin_branches()["main"], main);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn an_unreadable_upstream_opens_one_issue_and_pushes_nothing() {
    let repo = Repo::new();
    let site = Site::start();
    let before = repo.origin_branches();

    // 1. The index answers 500.
    site.set(&[("/llms.txt", Answer::Status(500))]);
    let output = repo.drift_pr(&["--from", &site.index(), "--fetch-timeout", "1"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let issues = repo.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].state, "OPEN");
    assert!(issues[0].labels.contains("upstream-unreadable"));
    assert!(issues[0].body.contains("500"), "{}", issues[0].body);
    assert_eq!(repo.origin_branches(), before, "nothing pushed");
    assert!(repo.pulls().is_empty());
    let first_body = issues[0].body.clone();

    // 2. The index never answers: the short timeout ends the wait; the same issue is updated.
    site.set(&[("/llms.txt", Answer::Silent)]);
    let output = repo.drift_pr(&["--from", &site.index(), "--fetch-timeout", "1"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let issues = repo.issues();
    assert_eq!(issues.len(), 1, "never a second issue: {issues:?}");
    assert_ne!(
        issues[0].body, first_body,
        "the issue tells the latest error"
    );
    assert!(
        repo.gh_calls()
            .iter()
            .any(|c| c.starts_with(&format!("issue edit {}", issues[0].number)))
    );
    assert_eq!(repo.origin_branches(), before, "nothing pushed");
    assert!(repo.pulls().is_empty());

    // 3. Readable again, without drift: the issue is closed.
    site.serve_pages(&[("get-general-status", status_page())]);
    succeeds(&repo.drift_pr(&["--from", &site.index()]));
    assert_eq!(repo.issues()[0].state, "CLOSED");
    assert_eq!(repo.origin_branches(), before);
}

#[test]
fn a_checkout_with_changes_to_the_synced_files_is_refused() {
    let repo = Repo::new();
    let site = Site::start();
    site.serve_pages(&[("get-general-status", status_page())]);
    std::fs::write(repo.path().join("openapi.yaml"), "openapi: 3.0.3\n").unwrap();

    let output = repo.drift_pr(&["--from", &site.index()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("uncommitted changes"),
        "{}",
        stderr(&output)
    );
    assert!(repo.gh_calls().is_empty(), "nothing asked of GitHub");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("openapi.yaml")).unwrap(),
        "openapi: 3.0.3\n",
        "the user's edit is kept"
    );
}

#[test]
fn commits_pushed_to_the_drift_branch_by_someone_else_are_not_overwritten() {
    let repo = Repo::new();
    let site = Site::start();
    let from = ["--from", &site.index()];
    site.serve_pages(&[
        ("get-general-status", status_page()),
        ("get-health", health_page()),
    ]);
    succeeds(&repo.drift_pr(&from));

    // A maintainer pushes a fix to the drift branch.
    repo.git(&["fetch", "--quiet", "origin", BRANCH]);
    repo.git(&["switch", "--quiet", "-c", "fix", "FETCH_HEAD"]);
    std::fs::write(repo.path().join("FIX.md"), "fixed by hand\n").unwrap();
    repo.git(&["add", "FIX.md"]);
    repo.git(&[
        "-c",
        "user.name=Maintainer",
        "-c",
        "user.email=m@example.invalid",
        "commit",
        "--quiet",
        "-m",
        "Fix the hand-written layer",
    ]);
    repo.git(&["push", "--quiet", "origin", &format!("HEAD:{BRANCH}")]);
    repo.git(&["switch", "--quiet", "main"]);
    let fixed = repo.origin_branches()[BRANCH].clone();

    site.serve_pages(&[
        ("get-general-status", status_page_requiring_tenant()),
        ("get-health", health_page()),
    ]);
    let output = repo.drift_pr(&from);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not overwritten"),
        "{}",
        stderr(&output)
    );
    assert_eq!(repo.origin_branches()[BRANCH], fixed, "the fix stays");
    assert_eq!(repo.pulls().len(), 1);
    assert_eq!(repo.pulls()[0].labels, set(&["drift", "bump-additive"]));
    assert_eq!(
        repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
}
