//! The sync pipeline as a library: sources served by a local docs site, fixture overlays, and the
//! drift report's classification.

mod sync_support;

use serde_json::{Value, json};
use sync_support::{docs_site, root, shared_upstream};
use xtask::sync::{
    self,
    report::{self, Breaks, Status, Subject},
    source::{self, Kind, Material},
};

/// An overlay with no corrections.
const NO_CORRECTIONS: &str = "overlay: 1.0.0\ninfo: {title: none, version: '1'}\nactions: []\n";

fn overlay(actions: &str) -> String {
    format!("overlay: 1.0.0\ninfo: {{title: test, version: '1'}}\n{actions}")
}

fn yaml(text: &str) -> Value {
    yaml_serde::from_str(text).expect("the pipeline writes valid YAML")
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a map")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn an_index_and_a_whole_spec_merge_into_one_document_relative_to_its_server() {
    let site = docs_site();
    let materials = source::fetch(&[format!("{site}/llms.txt"), format!("{site}/openapi.json")])
        .expect("the site is up")
        .materials;
    let kinds: Vec<Kind> = materials.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Index,
            Kind::Page,
            Kind::Page,
            Kind::Page,
            Kind::Document
        ]
    );

    let outcome = sync::build(&materials, "overlay.yaml", NO_CORRECTIONS, None).unwrap();
    let doc = yaml(&outcome.spec);
    // `/api/v1` is stripped where the server URL already ends in it; `/health` had no prefix.
    assert_eq!(keys(&doc["paths"]), ["/jobs/{id}", "/jobs", "/health"]);
    assert_eq!(
        doc["servers"],
        json!([{"url": "https://api.test/api/v1", "description": "Production"}])
    );
    assert_eq!(
        doc["info"]["title"], "Test API",
        "document fields come from the first fragment"
    );
    assert_eq!(keys(&doc["components"]), ["securitySchemes", "schemas"]);
    assert_eq!(keys(&doc)[..4], ["openapi", "info", "servers", "paths"]);
    assert_eq!(
        outcome.report.skipped_pages,
        [format!("{site}/guides/intro.md")]
    );
    assert_eq!(outcome.report.sources.len(), 5);
    // Without a previous spec, every operation is new.
    let added: Vec<&str> = outcome
        .report
        .operations
        .iter()
        .map(|o| o.path.as_str())
        .collect();
    assert_eq!(added, ["/health", "/jobs", "/jobs/{id}"]);
    assert!(
        outcome
            .report
            .operations
            .iter()
            .all(|o| o.status == Status::Added && o.breaks == Breaks::NONE)
    );
}

#[test]
fn the_same_operation_from_two_sources_merges_when_identical() {
    let site = docs_site();
    let materials = source::fetch(&[
        format!("{site}/api/jobs/get-job.md"),
        format!("{site}/copy/get-job.md"),
    ])
    .unwrap()
    .materials;
    let outcome = sync::build(&materials, "overlay.yaml", NO_CORRECTIONS, None).unwrap();
    assert_eq!(keys(&yaml(&outcome.spec)["paths"]), ["/jobs/{id}"]);
}

#[test]
fn the_same_operation_defined_differently_is_a_conflict_naming_both_sources() {
    let site = docs_site();
    let first = format!("{site}/api/jobs/get-job.md");
    let second = format!("{site}/bad/conflict.md");
    let materials = source::fetch(&[first.clone(), second.clone()])
        .unwrap()
        .materials;
    let error = sync::build(&materials, "overlay.yaml", NO_CORRECTIONS, None).unwrap_err();
    assert!(error.contains("GET /jobs/{id}"), "{error}");
    assert!(error.contains(&first) && error.contains(&second), "{error}");
}

#[test]
fn overlay_updates_merge_and_removes_delete() {
    let site = docs_site();
    let materials = source::fetch(&[format!("{site}/llms.txt"), format!("{site}/openapi.json")])
        .unwrap()
        .materials;
    let corrections = overlay(
        "x-path-order: [/health, /jobs]
actions:
  - target: $.info
    description: Retitle.
    update: {title: Corrected, x-note: kept}
  - target: $.paths['/jobs/{id}'].get.responses['200'].content['application/json'].schema.properties.status.enum
    description: The third status.
    update: failed
  - target: $.paths['/jobs'].post.requestBody.content['application/json'].schema.required[?@ == 'name']
    description: The name is optional.
    remove: true
  - target: $.components.schemas.Health
    description: Not a client concern.
    remove: true
",
    );
    let outcome = sync::build(&materials, "overlay.yaml", &corrections, None).unwrap();
    let doc = yaml(&outcome.spec);
    assert_eq!(
        doc["info"],
        json!({"title": "Corrected", "version": "1.0.0", "x-note": "kept"})
    );
    let status = &doc["paths"]["/jobs/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]["status"];
    assert_eq!(status["enum"], json!(["running", "done", "failed"]));
    let body =
        &doc["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!([]));
    assert_eq!(doc["components"]["schemas"], json!({}));
    assert_eq!(
        keys(&doc["paths"]),
        ["/health", "/jobs", "/jobs/{id}"],
        "x-path-order first"
    );
    assert!(outcome.report.stale_actions.is_empty());
}

#[test]
fn stale_actions_and_additions_the_upstream_provides_are_reported() {
    let site = docs_site();
    let materials = source::fetch(&[format!("{site}/api/jobs/get-job.md")])
        .unwrap()
        .materials;
    let corrections = overlay(
        "x-path-order: ['/jobs/{id}', /gone]
actions:
  - target: $.paths['/gone']
    description: Fix a page that was removed.
    remove: true
  - target: $.paths['/jobs/{id}'].get
    description: Name and describe the call.
    update: {summary: Get a job, description: Reads one job.}
",
    );
    let outcome = sync::build(&materials, "overlay.yaml", &corrections, None).unwrap();
    let report = &outcome.report;
    assert_eq!(report.stale_actions.len(), 1);
    assert_eq!(report.stale_actions[0].action, 1);
    assert_eq!(report.stale_actions[0].target, "$.paths['/gone']");
    assert_eq!(report.provided_upstream.len(), 1);
    assert_eq!(report.provided_upstream[0].action, 2);
    assert_eq!(
        report.provided_upstream[0].pointers,
        ["/paths/~1jobs~1{id}/get/summary"]
    );
    assert_eq!(report.unknown_ordered_paths, ["/gone"]);
    let text = report.to_string();
    assert!(text.contains("target matches nothing"), "{text}");
    assert!(text.contains("candidates to delete"), "{text}");
}

#[test]
fn an_invalid_jsonpath_is_an_error_naming_the_action() {
    let site = docs_site();
    let materials = source::fetch(&[format!("{site}/api/jobs/get-job.md")])
        .unwrap()
        .materials;
    let corrections = overlay(
        "actions:\n  - target: $.info\n    update: {title: T}\n  - target: $.paths[\n    description: Broken.\n    remove: true\n",
    );
    let error = sync::build(&materials, "spec/overlay.yaml", &corrections, None).unwrap_err();
    assert!(
        error.starts_with("spec/overlay.yaml: action 2 (\"Broken.\")"),
        "{error}"
    );
    assert!(
        error.contains("`$.paths[` is not valid JSONPath"),
        "{error}"
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes_and_an_empty_report() {
    let site = docs_site();
    let sources = [format!("{site}/llms.txt"), format!("{site}/openapi.json")];
    let first = sync::build(
        &source::fetch(&sources).unwrap().materials,
        "o",
        NO_CORRECTIONS,
        None,
    )
    .unwrap();
    let second = sync::build(
        &source::fetch(&sources).unwrap().materials,
        "o",
        NO_CORRECTIONS,
        Some(&first.spec),
    )
    .unwrap();
    assert_eq!(first.spec, second.spec);
    assert!(second.report.is_empty(), "{}", second.report);
}

#[test]
fn the_committed_spec_is_what_the_vendored_seed_and_the_overlay_build() {
    let root = root();
    let materials = source::read_vendored(&root.join("spec/upstream")).unwrap();
    let overlay = std::fs::read_to_string(root.join("spec/overlay.yaml")).unwrap();
    let committed = std::fs::read_to_string(root.join("openapi.yaml")).unwrap();
    let outcome = sync::build(&materials, "spec/overlay.yaml", &overlay, Some(&committed)).unwrap();
    assert!(
        outcome.spec == committed,
        "openapi.yaml was edited by hand: run `cargo xtask sync --offline`"
    );
    assert!(outcome.report.is_empty(), "{}", outcome.report);
}

#[test]
fn the_february_2025_spec_is_recognised_as_what_the_overlay_already_adds() {
    let root = root();
    let mut materials = source::read_vendored(&root.join("spec/upstream")).unwrap();
    let february = shared_upstream("openapi-2025-02.json");
    materials.extend(
        source::fetch(&[february.display().to_string()])
            .unwrap()
            .materials,
    );
    let overlay = std::fs::read_to_string(root.join("spec/overlay.yaml")).unwrap();
    let committed = std::fs::read_to_string(root.join("openapi.yaml")).unwrap();
    let outcome = sync::build(&materials, "spec/overlay.yaml", &overlay, Some(&committed)).unwrap();
    let report = &outcome.report;

    // Its seven operations are the seven the overlay adds for want of upstream pages: each of
    // those actions is now a candidate to delete, and no other.
    let ids = [
        "uploadDocuments",
        "processStatements",
        "getStatementStatus",
        "processStatementsBatch",
        "processInvoices",
        "getInvoiceStatus",
        "processInvoicesBatch",
    ];
    assert_eq!(report.provided_upstream.len(), ids.len(), "{report}");
    for (note, id) in report.provided_upstream.iter().zip(ids) {
        assert!(note.description.contains(id), "{id}: {note:?}");
        assert!(
            note.pointers.iter().any(|p| p.ends_with("/operationId")),
            "{note:?}"
        );
    }
    assert!(report.stale_actions.is_empty(), "{report}");
    // Nothing is added or removed; the two status calls document `job_id` inline, which the
    // overlay's shared parameter then repeats: a duplicate (a new required argument) the
    // reviewer must see. (`build` judges the wire; the Rust API is judged from the generated
    // code by `report::judge`, which `run` calls.)
    let changed: Vec<(&str, &str, bool, bool)> = report
        .operations
        .iter()
        .map(|o| {
            (
                o.path.as_str(),
                o.method.as_str(),
                o.breaks.wire,
                o.breaks.rust_api,
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("/parse/invoices/{job_id}", "GET", true, false),
            ("/parse/statements/{job_id}", "GET", true, false)
        ]
    );
    assert!(report.operations.iter().all(|o| o.status == Status::Changed
        && o.changes.len() == 1
        && o.changes[0].name == "path job_id (again)"));
    // The upstream's own tags arrive too (the overlay appends Parsing to them).
    let doc = yaml(&outcome.spec);
    assert_eq!(
        doc["paths"]["/parse/upload"]["post"]["tags"],
        json!(["File Upload", "Parsing"])
    );
}

/// The operations of a small spec, in YAML.
fn spec(operations: &str) -> Value {
    yaml(&format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n{operations}"
    ))
}

const OLD: &str = "
  /jobs/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getJob
      parameters:
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: fields, in: query, schema: {type: string}}
        - {name: mode, in: query, schema: {type: string, enum: [fast, full]}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '404': {description: gone}
  /jobs:
    post:
      operationId: createJob
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string}
                size: {type: integer}
      responses:
        '200': {description: ok}
  /old:
    delete:
      operationId: dropOld
      responses:
        '204': {description: ok}
components:
  schemas:
    Job:
      type: object
      required: [id]
      properties:
        id: {type: string}
        note: {type: string}
        status: {type: string, enum: [running, done]}
        owner:
          type: object
          properties:
            name: {type: string}
";

const NEW: &str = "
  /jobs/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getJob
      parameters:
        - {name: verbose, in: query, required: true, schema: {type: boolean}}
        - {name: fields, in: query, schema: {type: array, items: {type: string}}}
        - {name: mode, in: query, schema: {type: string, enum: [fast, full, auto]}}
        - {name: page, in: query, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '429': {description: slow down}
  /jobs:
    post:
      operationId: createJob
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
                size: {type: integer}
                label: {type: string}
                priority: {type: integer}
              required: [name, priority]
      responses:
        '200': {description: ok}
  /new:
    get:
      operationId: getNew
      responses:
        '200': {description: ok}
components:
  schemas:
    Job:
      type: object
      required: [id]
      properties:
        id: {type: string}
        status: {type: string, enum: [running]}
        progress: {type: number}
";

#[test]
fn drift_is_classified_for_the_wire() {
    // `operations` gives the wire verdicts; the Rust API stays false until `report::judge`
    // compares the generated clients (held to its own table in drift_rules.rs).
    let drift = report::operations(&spec(OLD), &spec(NEW));
    let summary: Vec<(&str, &str, Status, bool, bool)> = drift
        .iter()
        .map(|o| {
            let b = o.breaks;
            (
                o.method.as_str(),
                o.path.as_str(),
                o.status,
                b.wire,
                b.rust_api,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/jobs", Status::Changed, true, false),
            ("GET", "/jobs/{id}", Status::Changed, true, false),
            ("GET", "/new", Status::Added, false, false),
            ("DELETE", "/old", Status::Removed, true, false),
        ]
    );
    let changes = |index: usize| -> Vec<(Subject, String, Status, bool, bool)> {
        drift[index]
            .changes
            .iter()
            .map(|c| {
                (
                    c.subject,
                    c.name.clone(),
                    c.change,
                    c.breaks.wire,
                    c.breaks.rust_api,
                )
            })
            .collect()
    };
    use Status::*;
    use Subject::*;
    assert_eq!(
        changes(0),
        [
            (RequestField, "label".into(), Added, false, false),
            (RequestField, "priority".into(), Added, true, false),
        ]
    );
    assert_eq!(
        changes(1),
        [
            (Parameter, "query fields".into(), TypeChanged, true, false),
            (
                EnumValue,
                "parameter query mode".into(),
                Added,
                false,
                false
            ),
            (Parameter, "query page".into(), Added, false, false),
            (Parameter, "query verbose".into(), NowRequired, true, false),
            (ResponseField, "200 note".into(), Removed, false, false),
            (ResponseField, "200 owner".into(), Removed, false, false),
            (ResponseField, "200 progress".into(), Added, false, false),
            (
                EnumValue,
                "response field 200 status".into(),
                Removed,
                false,
                false
            ),
            (StatusCode, "404".into(), Removed, false, false),
            (StatusCode, "429".into(), Added, false, false),
        ]
    );
    assert_eq!(
        drift[1].changes[0].detail.as_deref(),
        Some("string -> array of string")
    );
    assert_eq!(drift[1].changes[7].detail.as_deref(), Some("done"));
}

#[test]
fn the_report_reads_in_a_terminal_and_as_json() {
    let report = report::Report {
        sources: vec!["https://docs.test/llms.txt".into()],
        operations: report::operations(&spec(OLD), &spec(NEW)),
        ..report::Report::default()
    };
    let text = report.to_string();
    for line in [
        "Operations: 4 added, removed, moved or changed; 3 break the wire, 0 break the Rust API of `invaro` (from the generated code).",
        "  wire      Rust API  operation or change",
        "  BREAKING  ok        - DELETE /old (dropOld): removed",
        "  ok        ok        + GET /new (getNew): added",
        "  ok        ok            enum value `done` of response field 200 status: removed",
        "  BREAKING  ok            parameter `query fields`: type changed (string -> array of string)",
        "  ok        ok            status code `404`: removed",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["operations"][3]["status"], "removed");
    assert_eq!(
        json["operations"][3]["breaks"],
        json!({"wire": true, "rust_api": false})
    );
    assert_eq!(json["operations"][1]["changes"][1]["subject"], "enum_value");
    assert_eq!(
        json["operations"][1]["changes"][1]["breaks"],
        json!({"wire": false, "rust_api": false})
    );
}

#[test]
fn a_page_kind_is_read_from_vendored_material_without_network() {
    let material = Material {
        source: "https://docs.test/llms.txt".into(),
        location: None,
        kind: Kind::Page,
        text: sync_support::page(
            "Get a job",
            "GET /api/v1/jobs/{id}",
            &sync_support::get_job_fragment(),
        ),
        vendored_as: Some("get-job.md".into()),
    };
    let outcome = sync::build(&[material], "o", NO_CORRECTIONS, None).unwrap();
    assert_eq!(
        outcome.report.sources,
        ["get-job.md (vendored from https://docs.test/llms.txt)"]
    );
}

#[test]
fn a_page_without_a_length_is_cut_off_at_the_cap_and_refused() {
    let cap = usize::try_from(xtask::sync::http::MAX_PAGE_BYTES).unwrap();
    let site = sync_support::serve_chunked(cap + 1);
    let url = format!("{site}/page.md");
    let error = source::fetch(std::slice::from_ref(&url)).unwrap_err();
    assert_eq!(
        error,
        format!(
            "refused: {url}: the page is larger than the {cap} bytes allowed (stopped reading there)"
        )
    );
    // At the cap exactly, the page is read.
    let site = sync_support::serve_chunked(cap);
    let fetched = source::fetch(&[format!("{site}/page.md")]).unwrap();
    assert_eq!(fetched.materials[0].text.len(), cap);
}

#[test]
fn two_sources_naming_one_path_parameter_differently_are_a_conflict() {
    let page = |fragment: String| Material {
        source: "test".into(),
        location: Some("page.md".into()),
        kind: Kind::Page,
        text: sync_support::page("Get a job", "GET /api/v1/jobs/{id}", &fragment),
        vendored_as: None,
    };
    let renamed = sync_support::get_job_fragment()
        .replace("/jobs/{id}:", "/jobs/{job_id}:")
        .replace("    get:", "    put:")
        .replace("name: id", "name: job_id");
    let materials = [page(sync_support::get_job_fragment()), page(renamed)];
    let error = sync::build(&materials, "o", NO_CORRECTIONS, None).unwrap_err();
    assert_eq!(
        error,
        "conflict: page.md has path /jobs/{job_id}, the same path as /jobs/{id} with its \
         parameters named differently (OpenAPI 3.0.3 forbids both); fix one source or drop it"
    );
}

#[test]
fn an_index_is_read_up_to_its_page_cap_and_the_rest_is_refused() {
    let cap = source::MAX_LINKS;
    let mut index = String::from("# Docs\n\n");
    for i in 0..=cap {
        index.push_str(&format!("- [Page {i}](/intro?n={i})\n"));
    }
    let site = sync_support::serve(&[
        ("/llms.txt", index),
        ("/intro.md", "# Intro\n\nNo API here.\n".into()),
    ]);
    let url = format!("{site}/llms.txt");
    let fetched = source::fetch(std::slice::from_ref(&url)).unwrap();
    assert_eq!(fetched.materials.len(), 1 + cap);
    assert_eq!(
        fetched.refused,
        [format!(
            "{url}: the last 1 of its {} links: an index is read up to {cap} pages",
            cap + 1
        )]
    );
}
