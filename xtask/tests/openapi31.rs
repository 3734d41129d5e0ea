//! The sync reading docs written in OpenAPI 3.1, as FastAPI writes them: the same API gives the
//! same `openapi.yaml` as its 3.0 pages, a new operation lands in 3.0.3 form, what 3.0 cannot
//! express is refused without touching a file, and JSON fences read like YAML ones.

mod fastapi31;
mod sync_support;

use std::{
    fs,
    process::{Command, Output},
};

use fastapi31::fastapi_31;
use serde_json::{Value, json};
use sync_support::{Workspace, copy_tree, page, root, serve};
use xtask::sync::{
    self,
    source::{Kind, Material},
};

/// The vendored page the committed `openapi.yaml` is built from.
const VENDORED: &str = "spec/upstream/get-general-status.md";

/// An operation the committed spec does not have, in OpenAPI 3.0.3, with the constructs FastAPI
/// writes differently in 3.1: nullable `$ref`s, a described `$ref`, nullable values, a one-value
/// enum, an exclusive bound, examples.
const THINGS_30: &str = "openapi: 3.0.3
info:
  title: Invaro Document Processing API
  version: 1.0.0
servers:
  - url: https://api.invaro.ai/api/v1
paths:
  /api/v1/things/{thing_id}:
    get:
      summary: Get a thing
      operationId: getThing
      parameters:
        - name: thing_id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The thing.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Thing'
components:
  schemas:
    Owner:
      type: object
      required:
        - name
      properties:
        name:
          type: string
          example: Ada
    Thing:
      type: object
      required:
        - id
        - kind
      properties:
        id:
          type: string
          example: thing_1
        kind:
          type: string
          enum:
            - thing
        size:
          type: integer
          minimum: 0
          exclusiveMinimum: true
          maximum: 100
        owner:
          allOf:
            - $ref: '#/components/schemas/Owner'
          nullable: true
          description: Who owns it, if anyone.
        maker:
          allOf:
            - $ref: '#/components/schemas/Owner'
          description: Who made it.
        note:
          type: string
          nullable: true
        labels:
          type: object
          additionalProperties:
            type: string
          nullable: true
          description: Free labels.
        expires_at:
          type: string
          format: date-time
          nullable: true
          description: When it expires.
";

fn yaml(text: &str) -> Value {
    yaml_serde::from_str(text).expect("valid YAML")
}

/// The page `text` with the body of its first fenced `yaml` block replaced by `body`, fenced
/// as `lang`.
fn refence(text: &str, lang: &str, body: &str) -> String {
    let open = text.find("````yaml").expect("a fenced yaml block");
    let head_end = open + text[open..].find('\n').expect("a fence line");
    let close = head_end + text[head_end..].find("\n````").expect("a closing fence");
    let info = &text[open + "````yaml".len()..head_end];
    format!(
        "{}````{lang}{info}\n{body}{}",
        &text[..open],
        &text[close + 1..]
    )
}

/// The fragment of a page, read as the sync reads it.
fn fragment_of(text: &str) -> Value {
    let open = text.find("````yaml").expect("a fenced yaml block");
    let start = open + text[open..].find('\n').expect("a fence line") + 1;
    let end = start + text[start..].find("````").expect("a closing fence");
    yaml(&text[start..end])
}

/// The vendored page as FastAPI's 3.1 would write it, in a YAML or a JSON fence.
fn vendored_31(json_fence: bool) -> String {
    let text = fs::read_to_string(root().join(VENDORED)).expect("the vendored page");
    let doc = fastapi_31(&fragment_of(&text));
    if json_fence {
        let body = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        refence(&text, "json", &body)
    } else {
        refence(&text, "yaml", &yaml_serde::to_string(&doc).unwrap())
    }
}

fn things_page(version: &str) -> String {
    let doc = yaml(THINGS_30);
    let doc = if version == "3.1" {
        fastapi_31(&doc)
    } else {
        doc
    };
    let body = yaml_serde::to_string(&doc).unwrap();
    page("Get a thing", "GET /api/v1/things/{thing_id}", &body)
}

fn material(location: &str, text: String) -> Material {
    Material {
        source: location.into(),
        location: Some(location.into()),
        kind: Kind::Page,
        text,
        vendored_as: None,
    }
}

fn overlay() -> String {
    fs::read_to_string(root().join("spec/overlay.yaml")).expect("the overlay")
}

fn build(materials: &[Material]) -> sync::Outcome {
    sync::build(materials, "spec/overlay.yaml", &overlay(), None).expect("the pipeline runs")
}

fn xtask_sync(workspace: &Workspace, args: &[&str]) -> Output {
    let root = workspace.path().to_str().expect("a UTF-8 temporary path");
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["sync", "--root", root])
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_rewrite_used_here_writes_every_construct_the_issue_names() {
    let written = serde_json::to_string(&fastapi_31(&yaml(THINGS_30))).unwrap();
    for construct in [
        r#""type":["object","null"]"#,
        r#""anyOf":[{"type":"string"},{"type":"null"}]"#,
        r##""anyOf":[{"$ref":"#/components/schemas/Owner"},{"type":"null"}]"##,
        r#""anyOf":[{"type":"string","format":"date-time"},{"type":"null"}],"description":"When it expires.""#,
        r##""$ref":"#/components/schemas/Owner","description":"Who made it.""##,
        r#""examples":["Ada"]"#,
        r#""const":"thing""#,
        r#""exclusiveMinimum":0"#,
        r#""title":"Thing Id""#,
        r#""title":"Owner""#,
    ] {
        assert!(written.contains(construct), "{construct} in {written}");
    }
    let page = vendored_31(false);
    for construct in [
        "title: Response Get General Job Status",
        "title: Job Id",
        "examples:",
        "openapi: 3.1.0",
    ] {
        assert!(page.contains(construct), "{construct} in {page}");
    }
}

#[test]
fn the_same_api_written_in_3_1_gives_the_same_spec_as_its_3_0_pages() {
    let spec_30 = build(&[
        material(
            "https://docs.test/status.md",
            fs::read_to_string(root().join(VENDORED)).unwrap(),
        ),
        material("https://docs.test/things.md", things_page("3.0")),
    ]);
    let spec_31 = build(&[
        material("https://docs.test/status.md", vendored_31(false)),
        material("https://docs.test/things.md", things_page("3.1")),
    ]);
    assert_eq!(spec_31.spec, spec_30.spec);
    // The conversions are listed, once each, apart from the drift, which is the same.
    let mut without_conversions = spec_31.report.clone();
    without_conversions.conversions.clear();
    assert_eq!(without_conversions, spec_30.report);
    assert!(spec_30.report.conversions.is_empty());
    let listed = |place: &str| {
        spec_31
            .report
            .conversions
            .iter()
            .filter(|c| c.place == place)
            .map(|c| (c.page.as_str(), c.from.as_str(), c.to.as_str(), c.also_on))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed("#/openapi"),
        [(
            "https://docs.test/status.md",
            "`openapi: 3.1.0`",
            "`openapi: 3.0.3`",
            1
        )],
        "the version, once, on the first page and counted on the second"
    );
    assert_eq!(
        listed("#/components/schemas/Thing/properties/owner/anyOf"),
        [(
            "https://docs.test/things.md",
            "`anyOf` with a `{type: 'null'}` branch",
            "`allOf: [$ref]` + `nullable: true`",
            0
        )]
    );
    assert_eq!(
        listed("#/components/schemas/Thing/properties/kind/const").len(),
        1
    );
    assert_eq!(
        listed("#/components/schemas/Thing/properties/size/exclusiveMinimum").len(),
        1
    );
    assert_eq!(
        listed("#/components/schemas/Thing/properties/labels/type").len(),
        1
    );
    assert_eq!(
        listed("#/components/schemas/Thing/properties/maker/$ref").len(),
        1
    );
    // The committed spec is what the vendored page alone gives, in 3.0 and in 3.1.
    let committed = fs::read_to_string(root().join("openapi.yaml")).unwrap();
    assert_eq!(
        build(&[material("https://docs.test/status.md", vendored_31(false))]).spec,
        committed
    );

    // The new operation is in 3.0.3 form.
    let doc = yaml(&spec_31.spec);
    assert_eq!(doc["openapi"], "3.0.3");
    let thing = &doc["components"]["schemas"]["Thing"];
    assert_eq!(thing, &yaml(THINGS_30)["components"]["schemas"]["Thing"]);
    assert_eq!(
        thing["properties"]["owner"],
        json!({"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": true, "description": "Who owns it, if anyone."})
    );
    assert!(
        !spec_31.spec.contains("title: Thing"),
        "FastAPI's titles are left out"
    );

    // The generator sees the same types: no type named after a title.
    let code = invaro_codegen::generate("openapi.yaml", &spec_31.spec).expect("a client");
    assert!(
        code.contains("pub struct Thing {"),
        "the component keeps its name"
    );
    assert!(
        code.contains("pub enum ThingKind {"),
        "the inline enum is named by its place"
    );
    assert!(!code.contains("pub enum Kind {"), "not by FastAPI's title");
    assert!(code.contains("get_thing"), "the operation is a method");
}

#[test]
fn the_whole_committed_spec_written_in_3_1_as_a_json_document_gives_itself() {
    let committed = fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let written = serde_json::to_string_pretty(&fastapi_31(&yaml(&committed))).unwrap();
    for construct in [
        "\"contentMediaType\"",
        "\"null\"",
        "\"examples\"",
        "\"title\": \"Job Id\"",
    ] {
        assert!(written.contains(construct), "{construct}");
    }
    let document = |text: String| Material {
        source: "openapi.json".into(),
        location: Some("https://docs.test/openapi.json".into()),
        kind: Kind::Document,
        text,
        vendored_as: None,
    };
    let from_30 = build(&[document(committed.clone())]);
    let from_31 = build(&[document(written)]);
    if from_31.spec != from_30.spec {
        let diff = similar::TextDiff::from_lines(&from_30.spec, &from_31.spec);
        panic!("{}", diff.unified_diff().header("from 3.0", "from 3.1"));
    }
    assert_eq!(
        from_31.spec, committed,
        "the overlay applies to its own result unchanged"
    );
}

#[test]
fn a_json_fragment_page_reads_like_its_yaml_twin() {
    let as_yaml = build(&[material("https://docs.test/status.md", vendored_31(false))]);
    let as_json = build(&[material("https://docs.test/status.md", vendored_31(true))]);
    assert!(
        vendored_31(true)
            .contains("````json GET /api/v1/parse/{job_id}\n{\n  \"openapi\": \"3.1.0\"")
    );
    assert_eq!(as_json.spec, as_yaml.spec);
    assert_eq!(as_json.report, as_yaml.report);
}

/// A docs site serving the given pages under an `llms.txt` listing them, in order.
fn site(pages: &[(&str, String)]) -> String {
    let index: String = pages
        .iter()
        .map(|(path, _)| format!("- [{path}]({path})\n"))
        .collect();
    let mut served = vec![("/llms.txt", format!("# Docs\n\n{index}"))];
    served.extend(pages.iter().map(|(path, text)| (*path, text.clone())));
    serve(&served) + "/llms.txt"
}

#[test]
fn a_3_1_site_saying_what_main_says_is_no_drift_and_syncs_to_the_same_files() {
    let workspace = Workspace::copy();
    let index = site(&[("/api/status.md", vendored_31(false))]);
    let before = workspace.files();

    let check = xtask_sync(&workspace, &["--check", "--from", &index]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(workspace.files() == before, "--check writes nothing");
    let report = text(&check.stdout);
    assert!(report.contains("No drift"), "{report}");
    assert!(
        report.contains("OpenAPI 3.1 read as 3.0.3") && report.contains("not drift"),
        "{report}"
    );
    assert!(
        report.contains("    #/openapi: `openapi: 3.1.0` -> `openapi: 3.0.3`\n"),
        "{report}"
    );
    let json = xtask_sync(&workspace, &["--check", "--json", "--from", &index]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let json: Value = serde_json::from_slice(&json.stdout).expect("a JSON report");
    let conversions = json["conversions"].as_array().expect("the conversions");
    assert!(conversions.iter().any(|c| c["place"] == "#/paths/~1api~1v1~1parse~1{job_id}/get/responses/200/content/application~1json/schema/properties/data/properties/status/examples"
        && c["from"] == "`examples` (1 value(s))" && c["to"] == "`example`"), "{conversions:?}");
    assert_eq!(json["operations"], json!([]));
    let markdown = xtask_sync(
        &workspace,
        &["--check", "--format", "markdown", "--from", &index],
    );
    assert_eq!(
        markdown.status.code(),
        Some(0),
        "{}",
        text(&markdown.stderr)
    );
    let markdown = text(&markdown.stdout);
    assert!(
        markdown.contains("\n### OpenAPI 3.1 read as 3.0.3 (not drift)\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `#/openapi` | `openapi: 3.1.0` | `openapi: 3.0.3` |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("## Upstream API drift: no change to openapi.yaml"),
        "{markdown}"
    );

    let synced = xtask_sync(&workspace, &["--from", &index]);
    assert_eq!(synced.status.code(), Some(0), "{}", text(&synced.stderr));
    for file in ["openapi.yaml", "client/src/generated.rs"] {
        assert!(
            workspace.read(file) == text(&before[&std::path::PathBuf::from(file)]),
            "{file} changed"
        );
    }
    assert!(
        workspace
            .read("spec/upstream/api-status.md")
            .contains("openapi: 3.1.0"),
        "the 3.1 page is vendored as read"
    );
    // Offline, the vendored 3.1 page gives the same spec again.
    let offline = xtask_sync(&workspace, &["--check", "--offline"]);
    assert_eq!(offline.status.code(), Some(0), "{}", text(&offline.stderr));
}

#[test]
fn a_new_operation_on_a_3_1_site_lands_in_3_0_3_form_with_its_client_code() {
    let workspace = Workspace::copy();
    let index = site(&[
        ("/api/status.md", vendored_31(false)),
        ("/api/things.md", things_page("3.1")),
    ]);
    let synced = xtask_sync(&workspace, &["--from", &index]);
    assert_eq!(synced.status.code(), Some(0), "{}", text(&synced.stderr));
    let expected = build(&[
        material("s", fs::read_to_string(root().join(VENDORED)).unwrap()),
        material("t", things_page("3.0")),
    ]);
    assert_eq!(workspace.read("openapi.yaml"), expected.spec);
    let code = workspace.read("client/src/generated.rs");
    assert_eq!(
        code,
        invaro_codegen::generate("openapi.yaml", &expected.spec).unwrap(),
        "the snapshot is the client of the new spec"
    );
    assert!(code.contains("pub struct Thing {") && code.contains("pub struct Owner {"));
    let built = check_client(&workspace);
    assert!(
        built.status.success(),
        "the regenerated client does not compile:\n{}",
        text(&built.stderr)
    );
}

/// `cargo check` of the client crate as `workspace` holds it after a sync (the regenerated
/// snapshot and the hand-written files), without the `codegen` feature, so that the build
/// compiles that snapshot. The crates it needs are copied beside it with the lock file; the
/// build has its own target folder under the workspace's, kept between runs.
fn check_client(workspace: &Workspace) -> Output {
    let real = root();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let manifest = fs::read_to_string(real.join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find(|line| line.starts_with("members = "))
        .expect("the workspace lists its members");
    let manifest = manifest.replace(members, r#"members = ["atomic", "client", "codegen"]"#);
    fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    fs::copy(real.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    for crate_dir in ["atomic", "codegen", "client/tests"] {
        copy_tree(&real.join(crate_dir), &dir.path().join(crate_dir));
    }
    for file in ["client/Cargo.toml", "client/build.rs"] {
        fs::copy(real.join(file), dir.path().join(file)).unwrap();
    }
    copy_tree(
        &workspace.path().join("client/src"),
        &dir.path().join("client/src"),
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| real.join("target"), std::path::PathBuf::from)
        .join("openapi31-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args([
            "check",
            "--quiet",
            "--offline",
            "-p",
            "invaro",
            "--no-default-features",
        ])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir.path())
        .output()
        .expect("cargo runs")
}

/// Pages with a construct 3.0 cannot express, the place the error names, and the construct.
fn refused_cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        (
            "prefix-items",
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
            "/prefixItems",
            "`prefixItems`",
        ),
        (
            "if-then",
            json!({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}),
            "/if",
            "`if`",
        ),
        (
            "dependent-schemas",
            json!({"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}),
            "/dependentSchemas",
            "`dependentSchemas`",
        ),
        (
            "two-types",
            json!({"type": ["string", "integer"]}),
            "/type",
            "the type list `type: [\"string\",\"integer\"]`",
        ),
        (
            "unevaluated",
            json!({"type": "object", "unevaluatedProperties": false}),
            "/unevaluatedProperties",
            "`unevaluatedProperties`",
        ),
    ]
}

#[test]
fn what_3_0_cannot_express_is_refused_naming_page_place_and_construct_and_nothing_changes() {
    let cases = refused_cases();
    let pages: Vec<(String, String)> = cases
        .iter()
        .map(|(name, schema, _, _)| {
            let mut doc = fastapi_31(&yaml(THINGS_30));
            doc["components"]["schemas"]["Thing"]["properties"]["size"] = schema.clone();
            let body = yaml_serde::to_string(&doc).unwrap();
            (format!("/bad/{name}.md"), page("Bad", "GET /x", &body))
        })
        .collect();
    let served: Vec<(&str, String)> = pages.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let base = serve(&served);
    let workspace = Workspace::copy();
    let before = workspace.files();
    for (name, _, place, construct) in cases {
        let url = format!("{base}/bad/{name}.md");
        let output = xtask_sync(&workspace, &["--from", &url]);
        let message = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{name}: a parse failure: {message}"
        );
        assert_eq!(message.lines().count(), 1, "one error: {message}");
        let expected = format!(
            "{url}: #/components/schemas/Thing/properties/size{place}: {construct} cannot be converted"
        );
        assert!(
            message.contains(&expected),
            "expected {expected:?} in {message}"
        );
        assert!(workspace.files() == before, "{name}: files changed");
    }
}
