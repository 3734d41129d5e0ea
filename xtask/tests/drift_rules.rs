//! The drift verdicts held to a table of spec changes. Each edits the project's own
//! `openapi.yaml` one way; the report compares the clients generated from both specs (no
//! compilation: two generations per case) and must give the expected wire and Rust-API verdicts,
//! name the items, say which of our own files break, and propose the bump. The agreement of these
//! verdicts with cargo-semver-checks on the regenerated crate is recorded in
//! `docs/drift-semver-agreement.md` (by the ignored test `semver_agreement.rs`).

use serde_json::{Value, json};
use xtask::sync::{
    self,
    report::{self, Report, Status, Subject, api::uses::Uses, bump::Kind},
};

fn spec_text() -> String {
    let root = xtask::project_root().expect("the workspace");
    std::fs::read_to_string(root.join("openapi.yaml")).expect("the spec")
}

fn own() -> Vec<Uses> {
    sync::own_code(&xtask::project_root().expect("the workspace")).expect("client/src reads")
}

fn at<'v>(doc: &'v mut Value, pointer: &str) -> &'v mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is in the spec"))
}

fn push(doc: &mut Value, pointer: &str, item: Value) {
    at(doc, pointer).as_array_mut().expect("a list").push(item);
}

fn insert(doc: &mut Value, pointer: &str, key: &str, value: Value) {
    at(doc, pointer)
        .as_object_mut()
        .expect("a map")
        .insert(key.into(), value);
}

fn remove(doc: &mut Value, pointer: &str, key: &str) {
    at(doc, pointer)
        .as_object_mut()
        .expect("a map")
        .shift_remove(key)
        .expect("the key was there");
}

fn remove_item(doc: &mut Value, pointer: &str, item: &Value) {
    at(doc, pointer)
        .as_array_mut()
        .expect("a list")
        .retain(|v| v != item);
}

fn rename_path(doc: &mut Value, from: &str, to: &str) {
    let paths = at(doc, "/paths").as_object_mut().expect("a map");
    let item = paths.shift_remove(from).expect("the path was there");
    paths.insert(to.into(), item);
}

const LIST_FILES: &str = "/paths/~1files/get";
const FILE_RECORD: &str = "/components/schemas/FileRecord";
const START_JOB: &str = "/components/schemas/StartJobRequest";

type Mutation = fn(&mut Value);

/// One row: the change, the verdicts (wire, Rust API), the bump, and the lines the report's
/// Rust-API items must start with.
struct Case {
    name: &'static str,
    base: Option<Mutation>,
    mutate: Mutation,
    wire: bool,
    rust_api: bool,
    bump: Kind,
    items: &'static [&'static str],
}

fn table() -> Vec<Case> {
    vec![
        Case {
            name: "optional query parameter added to listFiles",
            base: None,
            mutate: |d| {
                let sort = json!({"name": "sort", "in": "query", "schema": {"type": "string"}});
                push(d, &format!("{LIST_FILES}/parameters"), sort);
            },
            wire: false,
            rust_api: false,
            bump: Kind::Additive,
            items: &["ListFiles::sort added (String)"],
        },
        Case {
            name: "path parameter {schema_id} renamed {id}",
            base: None,
            mutate: |d| {
                rename_path(d, "/schemas/id/{schema_id}", "/schemas/id/{id}");
                *at(d, "/components/parameters/SchemaId/name") = json!("id");
            },
            wire: false,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/resources/schemas.rs uses GetSchema::schema_id, removed: invaro no longer builds",
                "client/src/resources/schemas.rs uses UpdateSchema::schema_id, removed: invaro no longer builds",
            ],
        },
        Case {
            name: "optional response property added to FileRecord",
            base: None,
            mutate: |d| {
                let pages = json!({"type": "integer"});
                insert(d, &format!("{FILE_RECORD}/properties"), "pages", pages);
            },
            wire: false,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "types::FileRecord::pages added (Option<i64>; every field is public, so a struct literal without it no longer compiles: constructible_struct_adds_field)",
            ],
        },
        Case {
            name: "operation removed",
            base: None,
            mutate: |d| remove(d, "/paths/~1files~1{file_id}", "delete"),
            wire: true,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/resources/files.rs uses Client::delete_file, removed: invaro no longer builds",
            ],
        },
        Case {
            name: "enum value removed",
            base: None,
            mutate: |d| {
                remove_item(d, "/components/schemas/FileStatus/enum", &json!("deleted"));
            },
            wire: true,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/batch/recover.rs uses types::FileStatus::Deleted, removed: invaro no longer builds",
            ],
        },
        Case {
            name: "response property removed",
            base: None,
            mutate: |d| remove(d, &format!("{FILE_RECORD}/properties"), "size"),
            wire: false,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/batch/recover.rs uses types::FileRecord::size, removed: invaro no longer builds",
            ],
        },
        Case {
            name: "required query parameter added",
            base: None,
            mutate: |d| {
                let owner = json!({"name": "owner", "in": "query", "required": true, "schema": {"type": "string"}});
                push(d, &format!("{LIST_FILES}/parameters"), owner);
            },
            wire: true,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "ListFiles::owner added (String, required: code compiles, but .send() fails at run time until it is set)",
            ],
        },
        Case {
            name: "response field type changed (cargo-semver-checks cannot see it)",
            base: None,
            mutate: |d| {
                *at(d, &format!("{FILE_RECORD}/properties/size")) = json!({"type": "string"});
            },
            wire: true,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/batch/recover.rs uses types::FileRecord::size, type changed (Option<i64> -> Option<String>): invaro no longer builds",
            ],
        },
        Case {
            name: "enum value added to an enum only responses use",
            // Without the `status` filter of listFiles, FileStatus is read only.
            base: Some(|d| {
                let parameters = at(d, &format!("{LIST_FILES}/parameters"));
                let list = parameters.as_array_mut().expect("a list");
                let before = list.len();
                list.retain(|p| p["name"] != "status");
                assert_eq!(list.len() + 1, before, "the status filter was removed");
            }),
            mutate: |d| push(d, "/components/schemas/FileStatus/enum", json!("archived")),
            wire: true,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "types::FileStatus::Archived added (a match without a wildcard no longer compiles: enum_variant_added)",
            ],
        },
        Case {
            name: "operation added",
            base: None,
            mutate: |d| {
                let get = json!({"get": {"operationId": "health", "responses": {"200": {"description": "up"}}}});
                insert(d, "/paths", "/health", get);
            },
            wire: false,
            rust_api: false,
            bump: Kind::Additive,
            items: &["Client::health added"],
        },
        Case {
            name: "optional request field added (our own code builds the struct)",
            base: None,
            mutate: |d| {
                let note = json!({"type": "string"});
                insert(d, &format!("{START_JOB}/properties"), "note", note);
            },
            wire: false,
            rust_api: true,
            bump: Kind::Breaking,
            items: &[
                "client/src/client.rs builds or matches the type of types::StartJobRequest::note, added",
            ],
        },
        Case {
            name: "JobStatus value added (a hand-written open enum)",
            base: None,
            mutate: |d| push(d, "/components/schemas/JobStatus/enum", json!("queued")),
            wire: true,
            rust_api: false,
            bump: Kind::Patch,
            items: &[],
        },
    ]
}

fn yaml(doc: &Value) -> String {
    yaml_serde::to_string(doc).expect("a spec writes as YAML")
}

fn judged(case: &Case, own: &[Uses]) -> Report {
    let mut old: Value = yaml_serde::from_str(&spec_text()).expect("YAML");
    if let Some(base) = case.base {
        base(&mut old);
    }
    let mut new = old.clone();
    (case.mutate)(&mut new);
    report::verdict::between(&yaml(&old), &yaml(&new), own, Some("0.1.0"))
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

#[test]
fn every_change_gets_its_wire_and_rust_api_verdicts_with_the_items_named() {
    let own = own();
    let mut wrong = Vec::new();
    for case in table() {
        let report = judged(&case, &own);
        let breaks = report.breaks();
        let lines: Vec<String> = report.rust_api.iter().map(|i| i.line()).collect();
        let mut problems = Vec::new();
        if (breaks.wire, breaks.rust_api) != (case.wire, case.rust_api) {
            problems.push(format!(
                "verdicts (wire, rust api) {:?}, expected {:?}",
                (breaks.wire, breaks.rust_api),
                (case.wire, case.rust_api)
            ));
        }
        if report.bump.kind != case.bump {
            problems.push(format!(
                "bump {:?}, expected {:?}",
                report.bump.kind, case.bump
            ));
        }
        for item in case.items {
            if !lines.iter().any(|l| l.starts_with(item)) {
                problems.push(format!("no line starting {item:?}"));
            }
        }
        if case.items.is_empty() && !lines.is_empty() {
            problems.push("expected no Rust-API item".into());
        }
        if !problems.is_empty() {
            wrong.push(format!(
                "{}: {}\n  items: {lines:#?}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn items_are_tied_to_the_operations_and_changes_they_come_from() {
    let own = own();
    let rename = table().remove(1);
    let report = judged(&rename, &own);
    let get = report
        .operations
        .iter()
        .find(|o| o.operation_id.as_deref() == Some("getSchema"))
        .expect("getSchema changed");
    assert!(!get.breaks.wire && get.breaks.rust_api);
    let items: Vec<&str> = get.rust_api.iter().map(|i| i.item.as_str()).collect();
    assert_eq!(items, ["GetSchema::id", "GetSchema::schema_id"]);
    let change = &get.changes[0];
    assert_eq!(
        (change.subject, change.change, change.breaks.rust_api),
        (Subject::Parameter, Status::Renamed, true)
    );
    assert_eq!(
        get.rust_api[1].breaks_own_code,
        ["client/src/resources/schemas.rs"]
    );

    // A response type reached through a list: both file operations carry the new field.
    let added = judged(&table().remove(2), &own);
    let owners: Vec<&str> = added
        .operations
        .iter()
        .filter(|o| {
            o.rust_api
                .iter()
                .any(|i| i.item == "types::FileRecord::pages")
        })
        .filter_map(|o| o.operation_id.as_deref())
        .collect();
    assert_eq!(owners, ["listFiles", "getFile"]);
}

#[test]
fn the_bump_follows_cargo_rules_and_says_why() {
    let own = own();
    let removed = judged(&table().remove(3), &own);
    assert_eq!(removed.bump.next.as_deref(), Some("0.2.0"));
    assert!(
        removed.bump.reason.starts_with("the Rust API breaks: "),
        "{}",
        removed.bump.reason
    );
    assert!(removed.bump.reason.contains("Client::delete_file"));
    let added = judged(&table().remove(0), &own);
    assert_eq!(added.bump.next.as_deref(), Some("0.1.1"));
    assert!(added.bump.reason.contains("ListFiles::sort added"));
    let same = report::verdict::between(&spec_text(), &spec_text(), &own, Some("0.1.0")).unwrap();
    assert!(same.operations.is_empty() && same.rust_api.is_empty());
    assert_eq!((same.bump.kind, same.bump.next.clone()), (Kind::None, None));
    assert!(report::marker(&same).ends_with("bump=none next=- -->"));
}

/// The table against cargo-semver-checks and rustc: each change is applied to a copy of the
/// workspace, the client regenerated, `cargo semver-checks check-release -p invaro` run against
/// an unchanged copy and `cargo check -p invaro` run on the changed one; the table is written to
/// `docs/drift-semver-agreement.md`. Needs `cargo install cargo-semver-checks --locked` and many
/// minutes: `cargo test -p xtask --test drift_rules -- --ignored`.
#[test]
#[ignore = "installs nothing, but compiles the client twice per change (many minutes)"]
fn cargo_semver_checks_agrees_with_the_report() {
    use std::{path::Path, process::Command};
    let root = xtask::project_root().expect("the workspace");
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let target = std::env::var("SEMVER_TARGET_DIR")
        .unwrap_or_else(|_| scratch.path().join("target").display().to_string());
    // The sources only: not the build folder, not git.
    let copy = |to: &Path| {
        std::fs::create_dir_all(to).expect("a folder");
        let script = format!(
            "tar -C '{}' --exclude=./target --exclude=./.git --exclude=./fuzz -cf - . | tar -C '{}' -xf -",
            root.display(),
            to.display()
        );
        let status = Command::new("sh").args(["-c", &script]).status();
        assert!(status.expect("tar runs").success());
    };
    let baseline = scratch.path().join("baseline");
    copy(&baseline);
    let own = own();
    let mut rows = vec![
        "| change | report: wire | report: Rust API (bump) | cargo-semver-checks | `invaro` compiles | agree |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    let mut disagreements = Vec::new();
    for case in table() {
        let report = judged(&case, &own);
        let mut old: Value = yaml_serde::from_str(&spec_text()).expect("YAML");
        if let Some(base) = case.base {
            base(&mut old);
        }
        let mut new = old.clone();
        (case.mutate)(&mut new);
        let changed = scratch.path().join("changed");
        let _ = std::fs::remove_dir_all(&changed);
        copy(&changed);
        let (old_text, new_text) = (yaml(&old), yaml(&new));
        let generate =
            |text: &str| invaro_codegen::generate("openapi.yaml", text).expect("a client");
        std::fs::write(baseline.join("openapi.yaml"), &old_text).unwrap();
        std::fs::write(
            baseline.join("client/src/generated.rs"),
            generate(&old_text),
        )
        .unwrap();
        std::fs::write(changed.join("openapi.yaml"), &new_text).unwrap();
        std::fs::write(changed.join("client/src/generated.rs"), generate(&new_text)).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("nice")
                .args(["-n", "10", "cargo"])
                .args(args)
                .current_dir(&changed)
                .env("CARGO_TARGET_DIR", &target)
                .output()
                .expect("cargo runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), text)
        };
        let (compiles, _) = run(&["check", "-q", "-p", "invaro"]);
        let base = baseline.display().to_string();
        let (passed, text) = run(&[
            "semver-checks",
            "check-release",
            "-p",
            "invaro",
            "--baseline-root",
            &base,
        ]);
        let lints: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("--- failure "))
            .map(|l| l.split(':').next().unwrap_or(l))
            .collect();
        let tool = if passed {
            "no semver update required".to_owned()
        } else if text.contains("requires new major version") {
            format!("major: {}", lints.join(", "))
        } else if text.contains("requires new minor version") {
            format!("minor: {}", lints.join(", "))
        } else {
            let line = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("did not run: {}", line.trim())
        };
        let tool_breaks = tool.starts_with("major") || !compiles;
        let breaks = report.breaks();
        let agree = if breaks.rust_api == tool_breaks {
            "yes".to_owned()
        } else if case.name.starts_with("required query parameter") {
            "by design: it compiles, `.send()` fails at run time".to_owned()
        } else {
            disagreements.push(case.name);
            "**no**".to_owned()
        };
        let yes = |b: bool| if b { "breaking" } else { "ok" };
        rows.push(format!(
            "| {} | {} | {} ({}) | {} | {} | {} |",
            case.name,
            yes(breaks.wire),
            yes(breaks.rust_api),
            report.bump.kind,
            tool,
            if compiles { "yes" } else { "no" },
            agree
        ));
        eprintln!("{}", rows.last().unwrap());
        // Written after every row: a long run stopped halfway still leaves what it found.
        write_table(&root, &rows);
    }
    assert!(disagreements.is_empty(), "disagreements: {disagreements:?}");
}

fn write_table(root: &std::path::Path, rows: &[String]) {
    let doc = root.join("docs/drift-semver-agreement.md");
    let old = std::fs::read_to_string(&doc).unwrap_or_default();
    let head = old
        .split("<!-- table -->")
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("# Drift report and cargo-semver-checks\n\n")
        .to_owned();
    std::fs::create_dir_all(doc.parent().unwrap()).unwrap();
    std::fs::write(&doc, format!("{head}<!-- table -->\n{}\n", rows.join("\n"))).unwrap();
}
