//! The drift classifier held to a table of mutations: each edits a small spec one way, and the
//! report must give exactly the expected operations and changes, each with its wire and Rust API
//! verdicts (the rules are in `xtask/src/sync/report/rules.rs`).

use serde_json::{Value, json};
use xtask::sync::report::{self, Status, Subject};

const BASE: &str = "
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /schemas/id/{schema_id}:
    get:
      operationId: getSchema
      parameters:
        - {name: schema_id, in: path, required: true, schema: {type: string}}
        - {name: verbose, in: query, schema: {type: boolean}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Schema'}
        '404': {description: missing}
    put:
      operationId: updateSchema
      parameters:
        - {name: schema_id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Update'}
      responses:
        '200': {description: ok}
        '204': {description: nothing to say}
  /schemas/list:
    get:
      operationId: listSchemas
      parameters:
        - {name: page, in: query, required: true, schema: {type: integer}}
        - {name: type, in: query, schema: {$ref: '#/components/schemas/Kind'}}
      responses:
        '200': {description: ok}
components:
  schemas:
    Kind: {type: string, enum: [invoice, statement]}
    Schema:
      type: object
      required: [id, status]
      properties:
        id: {type: string}
        status: {type: string, enum: [active, retired]}
        note: {type: string}
        kind: {$ref: '#/components/schemas/Kind'}
    Update:
      type: object
      required: [definition]
      properties:
        definition: {type: string}
        mode: {type: string, enum: [merge, replace]}
        description: {type: string}
";

fn base() -> Value {
    yaml_serde::from_str(BASE).expect("the base spec is YAML")
}

fn at<'v>(doc: &'v mut Value, pointer: &str) -> &'v mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is in the base spec"))
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

fn remove_item(doc: &mut Value, pointer: &str, item: &str) {
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

const GET_SCHEMA: &str = "/paths/~1schemas~1id~1{schema_id}/get";
const PUT_SCHEMA: &str = "/paths/~1schemas~1id~1{schema_id}/put";
const LIST: &str = "/paths/~1schemas~1list/get";
const SCHEMA: &str = "/components/schemas/Schema";
const UPDATE: &str = "/components/schemas/Update";

/// One operation of the expected report: `METHOD path`, its status and verdicts (wire, Rust
/// API), and its changes as (subject, change, wire, Rust API).
#[derive(Debug, PartialEq)]
struct Op {
    op: String,
    status: Status,
    breaks: (bool, bool),
    changes: Vec<(Subject, Status, bool, bool)>,
}

/// An operation with one change, whose verdicts are the operation's.
fn one(op: &str, subject: Subject, change: Status, wire: bool, rust_api: bool) -> Op {
    Op {
        op: op.into(),
        status: Status::Changed,
        breaks: (wire, rust_api),
        changes: vec![(subject, change, wire, rust_api)],
    }
}

/// An operation added, removed or moved, without changes of its own.
fn whole(op: &str, status: Status, wire: bool, rust_api: bool) -> Op {
    Op {
        op: op.into(),
        status,
        breaks: (wire, rust_api),
        changes: Vec::new(),
    }
}

const GET: &str = "GET /schemas/id/{schema_id}";
const PUT: &str = "PUT /schemas/id/{schema_id}";
const GET_LIST: &str = "GET /schemas/list";

type Mutation = fn(&mut Value);

fn table() -> Vec<(&'static str, Mutation, Vec<Op>)> {
    use Status::*;
    use Subject::*;
    vec![
        (
            "operation added",
            |d| {
                let get = json!({"get": {"operationId": "health", "responses": {"200": {"description": "up"}}}});
                insert(d, "/paths", "/health", get);
            },
            vec![whole("GET /health", Added, false, false)],
        ),
        (
            "operation removed",
            |d| remove(d, "/paths/~1schemas~1list", "get"),
            vec![whole(GET_LIST, Removed, true, true)],
        ),
        (
            "required parameter added",
            |d| {
                let p = json!({"name": "fields", "in": "query", "required": true, "schema": {"type": "string"}});
                push(d, &format!("{GET_SCHEMA}/parameters"), p);
            },
            vec![one(GET, Parameter, Added, true, true)],
        ),
        (
            "optional parameter added (a new positional argument)",
            |d| {
                let p = json!({"name": "fields", "in": "query", "schema": {"type": "string"}});
                push(d, &format!("{GET_SCHEMA}/parameters"), p);
            },
            vec![one(GET, Parameter, Added, false, true)],
        ),
        (
            "parameter removed",
            |d| {
                at(d, &format!("{GET_SCHEMA}/parameters"))
                    .as_array_mut()
                    .unwrap()
                    .retain(|p| p["name"] != "verbose");
            },
            vec![one(GET, Parameter, Removed, false, true)],
        ),
        (
            "parameter now required",
            |d| {
                insert(
                    d,
                    &format!("{GET_SCHEMA}/parameters/1"),
                    "required",
                    json!(true),
                )
            },
            vec![one(GET, Parameter, NowRequired, true, true)],
        ),
        (
            "parameter now optional",
            |d| insert(d, &format!("{LIST}/parameters/0"), "required", json!(false)),
            vec![one(GET_LIST, Parameter, NowOptional, false, true)],
        ),
        (
            "enum value added in a request",
            |d| push(d, &format!("{UPDATE}/properties/mode/enum"), json!("patch")),
            vec![one(PUT, EnumValue, Added, false, true)],
        ),
        (
            "enum value removed in a request",
            |d| remove_item(d, &format!("{UPDATE}/properties/mode/enum"), "merge"),
            vec![one(PUT, EnumValue, Removed, true, true)],
        ),
        (
            "enum value added in a response (a new status)",
            |d| {
                push(
                    d,
                    &format!("{SCHEMA}/properties/status/enum"),
                    json!("draft"),
                )
            },
            vec![one(GET, EnumValue, Added, true, true)],
        ),
        (
            "enum value removed in a response",
            |d| remove_item(d, &format!("{SCHEMA}/properties/status/enum"), "retired"),
            vec![one(GET, EnumValue, Removed, false, true)],
        ),
        (
            "enum value added to a schema used on both sides",
            |d| push(d, "/components/schemas/Kind/enum", json!("receipt")),
            vec![
                one(GET, EnumValue, Added, true, true),
                one(GET_LIST, EnumValue, Added, false, true),
            ],
        ),
        (
            "enum value removed from a schema used on both sides",
            |d| remove_item(d, "/components/schemas/Kind/enum", "statement"),
            vec![
                one(GET, EnumValue, Removed, false, true),
                one(GET_LIST, EnumValue, Removed, true, true),
            ],
        ),
        (
            "request field type changed",
            |d| {
                insert(
                    d,
                    &format!("{UPDATE}/properties"),
                    "definition",
                    json!({"type": "object"}),
                )
            },
            vec![one(PUT, RequestField, TypeChanged, true, true)],
        ),
        (
            "response field type changed",
            |d| {
                insert(
                    d,
                    &format!("{SCHEMA}/properties"),
                    "id",
                    json!({"type": "integer"}),
                )
            },
            vec![one(GET, ResponseField, TypeChanged, true, true)],
        ),
        (
            "required request property added",
            |d| {
                insert(
                    d,
                    &format!("{UPDATE}/properties"),
                    "owner",
                    json!({"type": "string"}),
                );
                push(d, &format!("{UPDATE}/required"), json!("owner"));
            },
            vec![one(PUT, RequestField, Added, true, true)],
        ),
        (
            "optional request property added (a new struct field to fill)",
            |d| {
                insert(
                    d,
                    &format!("{UPDATE}/properties"),
                    "owner",
                    json!({"type": "string"}),
                )
            },
            vec![one(PUT, RequestField, Added, false, true)],
        ),
        (
            "response property added",
            |d| {
                insert(
                    d,
                    &format!("{SCHEMA}/properties"),
                    "owner",
                    json!({"type": "string"}),
                )
            },
            vec![one(GET, ResponseField, Added, false, false)],
        ),
        (
            "request property now required",
            |d| push(d, &format!("{UPDATE}/required"), json!("description")),
            vec![one(PUT, RequestField, NowRequired, true, true)],
        ),
        (
            "request property now optional",
            |d| remove_item(d, &format!("{UPDATE}/required"), "definition"),
            vec![one(PUT, RequestField, NowOptional, false, true)],
        ),
        (
            "response property now optional",
            |d| remove_item(d, &format!("{SCHEMA}/required"), "status"),
            vec![one(GET, ResponseField, NowOptional, true, true)],
        ),
        (
            "response property now required",
            |d| push(d, &format!("{SCHEMA}/required"), json!("note")),
            vec![one(GET, ResponseField, NowRequired, false, true)],
        ),
        (
            "required response property removed",
            |d| remove(d, &format!("{SCHEMA}/properties"), "id"),
            vec![one(GET, ResponseField, Removed, true, true)],
        ),
        (
            "optional response property removed",
            |d| remove(d, &format!("{SCHEMA}/properties"), "note"),
            vec![one(GET, ResponseField, Removed, false, true)],
        ),
        (
            "error status removed",
            |d| remove(d, &format!("{GET_SCHEMA}/responses"), "404"),
            vec![one(GET, StatusCode, Removed, false, false)],
        ),
        (
            "error status added",
            |d| {
                insert(
                    d,
                    &format!("{GET_SCHEMA}/responses"),
                    "429",
                    json!({"description": "slow"}),
                )
            },
            vec![one(GET, StatusCode, Added, false, false)],
        ),
        (
            "success status removed",
            |d| remove(d, &format!("{PUT_SCHEMA}/responses"), "204"),
            vec![one(PUT, StatusCode, Removed, true, false)],
        ),
        (
            "success status added",
            |d| {
                insert(
                    d,
                    &format!("{PUT_SCHEMA}/responses"),
                    "202",
                    json!({"description": "later"}),
                )
            },
            vec![one(PUT, StatusCode, Added, true, false)],
        ),
        (
            "path parameter renamed (one operation each, same wire, same positional signature)",
            |d| {
                rename_path(d, "/schemas/id/{schema_id}", "/schemas/id/{id}");
                for method in ["get", "put"] {
                    let pointer =
                        format!("/paths/~1schemas~1id~1{{id}}/{method}/parameters/0/name");
                    *at(d, &pointer) = json!("id");
                }
            },
            vec![
                one("GET /schemas/id/{id}", Parameter, Renamed, false, false),
                one("PUT /schemas/id/{id}", Parameter, Renamed, false, false),
            ],
        ),
        (
            "path moved (same operationId)",
            |d| rename_path(d, "/schemas/list", "/schemas"),
            vec![whole("GET /schemas", Moved, true, false)],
        ),
        (
            "operationId renamed (the method is renamed)",
            |d| *at(d, &format!("{LIST}/operationId")) = json!("findSchemas"),
            vec![one(GET_LIST, OperationId, Renamed, false, true)],
        ),
    ]
}

#[test]
fn every_mutation_gets_its_wire_and_rust_api_verdicts() {
    let mut wrong = Vec::new();
    for (name, mutate, expected) in table() {
        let old = base();
        let mut new = old.clone();
        mutate(&mut new);
        let found: Vec<Op> = report::operations(&old, &new)
            .into_iter()
            .map(|o| Op {
                op: format!("{} {}", o.method, o.path),
                status: o.status,
                breaks: (o.breaks.wire, o.breaks.rust_api),
                changes: o
                    .changes
                    .iter()
                    .map(|c| (c.subject, c.change, c.breaks.wire, c.breaks.rust_api))
                    .collect(),
            })
            .collect();
        if found != expected {
            wrong.push(format!(
                "{name}:\n  expected {expected:?}\n  found    {found:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_moved_operation_says_where_it_was_and_the_unchanged_spec_has_no_drift() {
    let old = base();
    assert!(report::operations(&old, &old).is_empty());
    let mut new = old.clone();
    rename_path(&mut new, "/schemas/list", "/schemas");
    let drift = report::operations(&old, &new);
    assert_eq!(drift[0].moved_from.as_deref(), Some("GET /schemas/list"));
    let renamed = {
        let mut new = old.clone();
        rename_path(&mut new, "/schemas/id/{schema_id}", "/schemas/id/{id}");
        *at(&mut new, "/paths/~1schemas~1id~1{id}/get/parameters/0/name") = json!("id");
        report::operations(&old, &new)
    };
    assert_eq!(renamed[0].changes[0].name, "path id");
    assert_eq!(
        renamed[0].changes[0].detail.as_deref(),
        Some("schema_id -> id")
    );
}

#[test]
fn a_new_job_status_breaks_the_wire_but_not_the_rust_api_of_the_open_enum() {
    let root = xtask::project_root().expect("the workspace");
    let text = std::fs::read_to_string(root.join("openapi.yaml")).expect("the spec");
    let old: Value = yaml_serde::from_str(&text).expect("YAML");
    let mut new = old.clone();
    push(
        &mut new,
        "/components/schemas/JobStatus/enum",
        json!("queued"),
    );
    let changes: Vec<_> = report::operations(&old, &new)
        .into_iter()
        .flat_map(|o| o.changes)
        .filter(|c| c.subject == Subject::EnumValue)
        .collect();
    assert!(!changes.is_empty(), "every job status response changed");
    for change in changes {
        assert!(
            change.breaks.wire,
            "{change:?}: other clients meet a value they never saw"
        );
        assert!(
            !change.breaks.rust_api,
            "{change:?}: JobStatus keeps unknown values"
        );
    }
}
