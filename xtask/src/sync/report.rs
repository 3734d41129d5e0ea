//! The drift report: what a sync changes in the API, operation by operation, classified for a
//! client as breaking or non-breaking; plus what the sync found out about the overlay.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::merge::METHODS;
use super::overlay::ActionNote;

/// The report of one sync.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The upstream material read, in order.
    pub sources: Vec<String>,
    /// Pages without an OpenAPI block: skipped, and counted here.
    pub skipped_pages: Vec<String>,
    /// Operations added, removed or changed, by path then method.
    pub operations: Vec<OperationDrift>,
    /// Overlay actions whose target matches nothing.
    pub stale_actions: Vec<ActionNote>,
    /// Overlay actions adding what the upstream now provides itself: candidates to delete.
    pub provided_upstream: Vec<ActionNote>,
    /// Paths in the overlay's `x-path-order` that the spec does not have.
    pub unknown_ordered_paths: Vec<String>,
}

/// How one operation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationDrift {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path, relative to the server URL.
    pub path: String,
    /// Its operationId, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Added, removed or changed.
    pub status: Status,
    /// Whether a client built against the old spec may break.
    pub breaking: bool,
    /// The changes of a changed operation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// What happened to an operation or to a part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It is new.
    Added,
    /// It is gone.
    Removed,
    /// It is there in both, differently.
    Changed,
    /// Its type (or format, or nullability) differs.
    TypeChanged,
    /// It was optional and is now required.
    NowRequired,
    /// It was required and is now optional.
    NowOptional,
}

/// What part of an operation a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A parameter, named `<in> <name>`.
    Parameter,
    /// A field of the request body (`(body)` for the body itself).
    RequestField,
    /// A field of a response body, named `<status> <field>`.
    ResponseField,
    /// A value of an enum; `name` says where, `detail` which value.
    EnumValue,
    /// A response status code.
    StatusCode,
}

/// One change inside an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What part of the operation.
    pub subject: Subject,
    /// Which one.
    pub name: String,
    /// What happened to it.
    pub change: Status,
    /// Old and new type, or the enum value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether a client built against the old spec may break.
    pub breaking: bool,
}

impl Report {
    /// Whether there is nothing to tell: no operation changed and the overlay is all in use.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
            && self.stale_actions.is_empty()
            && self.provided_upstream.is_empty()
            && self.unknown_ordered_paths.is_empty()
    }
}

/// Compares the operations of the old and new spec.
pub fn operations(old: &Value, new: &Value) -> Vec<OperationDrift> {
    let before = shapes(old);
    let after = shapes(new);
    let keys: BTreeSet<&(String, usize)> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (path, rank) = key;
            let drift = |status, breaking, changes, id: &Option<String>| OperationDrift {
                method: METHODS[*rank].to_uppercase(),
                path: path.clone(),
                operation_id: id.clone(),
                status,
                breaking,
                changes,
            };
            match (before.get(key), after.get(key)) {
                (None, Some(new)) => Some(drift(Status::Added, false, Vec::new(), &new.id)),
                (Some(old), None) => Some(drift(Status::Removed, true, Vec::new(), &old.id)),
                (Some(old), Some(new)) => {
                    let changes = compare(old, new);
                    let breaking = changes.iter().any(|c| c.breaking);
                    (!changes.is_empty())
                        .then(|| drift(Status::Changed, breaking, changes, &new.id))
                }
                (None, None) => None,
            }
        })
        .collect()
}

/// What of an operation a client depends on.
#[derive(Debug, Default)]
struct Shape {
    id: Option<String>,
    parameters: Fields,
    request: Fields,
    responses: BTreeMap<String, Fields>,
}

/// Fields by name (`data.items[].id`; the empty name is the body itself).
type Fields = BTreeMap<String, Field>;

#[derive(Debug, Clone, PartialEq)]
struct Field {
    ty: String,
    required: bool,
    enums: Vec<String>,
}

fn shapes(doc: &Value) -> BTreeMap<(String, usize), Shape> {
    let mut shapes = BTreeMap::new();
    let Some(Value::Object(paths)) = doc.get("paths") else {
        return shapes;
    };
    for (path, item) in paths {
        let shared = item.get("parameters");
        for (rank, method) in METHODS.iter().enumerate() {
            if let Some(op) = item.get(*method) {
                shapes.insert((path.clone(), rank), shape(doc, op, shared));
            }
        }
    }
    shapes
}

fn shape(doc: &Value, op: &Value, shared: Option<&Value>) -> Shape {
    let mut shape = Shape {
        id: op
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..Shape::default()
    };
    let parameters = [shared, op.get("parameters")];
    for parameter in parameters
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        let parameter = resolve(doc, parameter);
        let mut name = format!("{} {}", text(parameter, "in"), text(parameter, "name"));
        // A second parameter of the same name is invalid, yet merges can produce one: show it.
        while shape.parameters.contains_key(&name) {
            name.push_str(" (again)");
        }
        let required = parameter.get("required") == Some(&Value::Bool(true));
        let schema = parameter.get("schema").map(|s| resolve(doc, s));
        let field = Field {
            ty: schema.map_or_else(|| "any".into(), |s| type_of(doc, s)),
            required,
            enums: schema.map(enum_values).unwrap_or_default(),
        };
        shape.parameters.insert(name, field);
    }
    if let Some(body) = op.get("requestBody") {
        let body = resolve(doc, body);
        let required = body.get("required") == Some(&Value::Bool(true));
        body_fields(doc, body, required, &mut shape.request);
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        for (status, response) in responses {
            let mut fields = Fields::new();
            body_fields(doc, resolve(doc, response), true, &mut fields);
            shape.responses.insert(status.clone(), fields);
        }
    }
    shape
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The fields of every media type of a request body or a response.
fn body_fields(doc: &Value, body: &Value, required: bool, out: &mut Fields) {
    if let Some(Value::Object(content)) = body.get("content") {
        for media in content.values() {
            if let Some(schema) = media.get("schema") {
                flatten(doc, schema, String::new(), required, out, &mut Vec::new());
            }
        }
    }
}

/// Deep enough for any real spec; stops runaway recursion through `$ref` cycles.
const MAX_DEPTH: usize = 24;

fn flatten(
    doc: &Value,
    schema: &Value,
    name: String,
    required: bool,
    out: &mut Fields,
    stack: &mut Vec<String>,
) {
    let Some(schema) = enter(doc, schema, stack) else {
        return;
    };
    let field = Field {
        ty: type_of(doc, schema),
        required,
        enums: enum_values(schema),
    };
    out.entry(name.clone()).or_insert(field);
    children(doc, schema, &name, out, stack);
}

/// Follows a `$ref` (pushing it on the stack); `None` when the reference loops or nests too deep.
fn enter<'v>(doc: &'v Value, schema: &'v Value, stack: &mut Vec<String>) -> Option<&'v Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) if stack.iter().any(|r| r == reference) || stack.len() > MAX_DEPTH => None,
        Some(reference) => {
            stack.push(reference.to_owned());
            Some(resolve(doc, schema))
        }
        None => Some(schema),
    }
}

fn children(doc: &Value, schema: &Value, prefix: &str, out: &mut Fields, stack: &mut Vec<String>) {
    let depth = stack.len();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (key, sub) in properties {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            flatten(doc, sub, name, required.contains(&key.as_str()), out, stack);
            stack.truncate(depth);
        }
    }
    if let Some(items) = schema.get("items") {
        flatten(doc, items, format!("{prefix}[]"), true, out, stack);
        stack.truncate(depth);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for alternative in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(alternative) = enter(doc, alternative, stack) {
                children(doc, alternative, prefix, out, stack);
            }
            stack.truncate(depth);
        }
    }
}

/// A one-line type: `string (date-time)`, `array of integer (int64)`, `one of: object | string`.
fn type_of(doc: &Value, schema: &Value) -> String {
    let schema = resolve(doc, schema);
    let mut ty = if let Some(alternatives) = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array))
    {
        let types: Vec<String> = alternatives
            .iter()
            .map(|a| shallow_type(resolve(doc, a)))
            .collect();
        format!("one of: {}", types.join(" | "))
    } else if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        shallow_type(resolve(doc, only))
    } else if text(schema, "type") == "array" {
        let items = schema.get("items").map(|i| resolve(doc, i));
        format!(
            "array of {}",
            items.map_or_else(|| "any".into(), shallow_type)
        )
    } else {
        shallow_type(schema)
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        ty.push_str(", nullable");
    }
    ty
}

/// The type of a schema without looking into references or alternatives.
fn shallow_type(schema: &Value) -> String {
    let ty = match schema.get("type").and_then(Value::as_str) {
        Some(ty) => ty,
        None if schema.get("properties").is_some() => "object",
        None if schema.get("allOf").is_some() => "object",
        None => "any",
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{ty} ({format})"),
        None => ty.to_owned(),
    }
}

fn enum_values(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The target of a local `$ref` (`#/components/...`), or the value itself.
fn resolve<'v>(doc: &'v Value, value: &'v Value) -> &'v Value {
    let mut current = value;
    for _ in 0..MAX_DEPTH {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
        {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

fn compare(old: &Shape, new: &Shape) -> Vec<Change> {
    let mut changes = Vec::new();
    compare_fields(
        Side::Parameter,
        "",
        &old.parameters,
        &new.parameters,
        &mut changes,
    );
    compare_fields(Side::Request, "", &old.request, &new.request, &mut changes);
    for (status, old_fields) in &old.responses {
        match new.responses.get(status) {
            Some(new_fields) => {
                compare_fields(Side::Response, status, old_fields, new_fields, &mut changes)
            }
            None => changes.push(status_change(status, Status::Removed)),
        }
    }
    for status in new.responses.keys() {
        if !old.responses.contains_key(status) {
            changes.push(status_change(status, Status::Added));
        }
    }
    changes
}

fn status_change(status: &str, change: Status) -> Change {
    Change {
        subject: Subject::StatusCode,
        name: status.to_owned(),
        change,
        detail: None,
        breaking: change == Status::Removed,
    }
}

/// Which side of the exchange fields are on: it decides what breaks a client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Parameter,
    Request,
    Response,
}

impl Side {
    fn subject(self) -> Subject {
        match self {
            Side::Parameter => Subject::Parameter,
            Side::Request => Subject::RequestField,
            Side::Response => Subject::ResponseField,
        }
    }

    /// Whether `change` to a field (required or not, as given) may break a client.
    fn breaks(self, change: Status, required: bool) -> bool {
        match change {
            Status::Removed | Status::TypeChanged | Status::Changed => true,
            // A client must now send something it never sent.
            Status::Added | Status::NowRequired => self != Side::Response && required,
            // A client may now receive nothing where it always received something.
            Status::NowOptional => self == Side::Response,
        }
    }
}

fn compare_fields(side: Side, status: &str, old: &Fields, new: &Fields, out: &mut Vec<Change>) {
    let label = |name: &str| {
        let name = if name.is_empty() { "(body)" } else { name };
        if status.is_empty() {
            name.to_owned()
        } else {
            format!("{status} {name}")
        }
    };
    let change = |name: &str, change: Status, detail: Option<String>, required: bool| Change {
        subject: side.subject(),
        name: label(name),
        change,
        detail,
        breaking: side.breaks(change, required),
    };
    // The fields inside an added or removed field are that one change, not many.
    let mut whole: Vec<&str> = Vec::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        if whole.iter().any(|w| is_inside(name, w)) {
            continue;
        }
        match (old.get(name), new.get(name)) {
            (None, Some(field)) => {
                let detail = if field.required {
                    "required"
                } else {
                    "optional"
                };
                out.push(change(
                    name,
                    Status::Added,
                    Some(detail.into()),
                    field.required,
                ));
                whole.push(name);
            }
            (Some(field), None) => {
                out.push(change(name, Status::Removed, None, field.required));
                whole.push(name);
            }
            (Some(before), Some(after)) => {
                if before.ty != after.ty {
                    let detail = format!("{} -> {}", before.ty, after.ty);
                    out.push(change(
                        name,
                        Status::TypeChanged,
                        Some(detail),
                        after.required,
                    ));
                }
                if before.required != after.required {
                    let now = if after.required {
                        Status::NowRequired
                    } else {
                        Status::NowOptional
                    };
                    out.push(change(name, now, None, after.required));
                }
                enum_changes(side, &label(name), before, after, out);
            }
            (None, None) => {}
        }
    }
}

/// Whether field `name` lies inside field `outer` (`data.id` inside `data`, `items[]` inside
/// `items`; everything inside the body itself).
fn is_inside(name: &str, outer: &str) -> bool {
    outer.is_empty()
        || name
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
}

fn enum_changes(side: Side, at: &str, before: &Field, after: &Field, out: &mut Vec<Change>) {
    let place = format!("{} {at}", subject_text(side.subject()));
    for value in before.enums.iter().filter(|v| !after.enums.contains(v)) {
        out.push(enum_change(&place, value, Status::Removed));
    }
    for value in after.enums.iter().filter(|v| !before.enums.contains(v)) {
        out.push(enum_change(&place, value, Status::Added));
    }
}

fn enum_change(place: &str, value: &str, change: Status) -> Change {
    Change {
        subject: Subject::EnumValue,
        name: place.to_owned(),
        change,
        detail: Some(value.to_owned()),
        breaking: change == Status::Removed,
    }
}

fn subject_text(subject: Subject) -> &'static str {
    match subject {
        Subject::Parameter => "parameter",
        Subject::RequestField => "request field",
        Subject::ResponseField => "response field",
        Subject::EnumValue => "enum value",
        Subject::StatusCode => "status code",
    }
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
        Status::TypeChanged => "type changed",
        Status::NowRequired => "now required",
        Status::NowOptional => "now optional",
    }
}

fn mark(breaking: bool) -> &'static str {
    if breaking { "BREAKING" } else { "non-breaking" }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Drift report: {} upstream source(s) read, {} page(s) without an OpenAPI block skipped.",
            self.sources.len(),
            self.skipped_pages.len()
        )?;
        for page in &self.skipped_pages {
            writeln!(f, "  skipped: {page}")?;
        }
        if self.is_empty() {
            return writeln!(
                f,
                "No drift: every operation is as openapi.yaml has it, and every overlay action is in use."
            );
        }
        self.write_operations(f)?;
        self.write_overlay(f)
    }
}

impl Report {
    fn write_operations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operations.is_empty() {
            return Ok(());
        }
        let breaking = self.operations.iter().filter(|o| o.breaking).count();
        let count = self.operations.len();
        writeln!(
            f,
            "\nOperations: {count} added, removed or changed; {breaking} breaking."
        )?;
        for op in &self.operations {
            let sign = match op.status {
                Status::Added => '+',
                Status::Removed => '-',
                _ => '~',
            };
            let id = op
                .operation_id
                .as_deref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default();
            let (status, tag) = (status_text(op.status), mark(op.breaking));
            writeln!(f, "  {sign} {} {}{id}: {status}, {tag}", op.method, op.path)?;
            for change in &op.changes {
                let (what, detail) = match change.subject {
                    Subject::EnumValue => {
                        let value = change.detail.as_deref().unwrap_or_default();
                        (
                            format!("enum value `{value}` of {}", change.name),
                            String::new(),
                        )
                    }
                    subject => (
                        format!("{} `{}`", subject_text(subject), change.name),
                        change
                            .detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default(),
                    ),
                };
                let status = status_text(change.change);
                writeln!(
                    f,
                    "      {:<12}  {what}: {status}{detail}",
                    mark(change.breaking)
                )?;
            }
        }
        Ok(())
    }

    fn write_overlay(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.stale_actions.is_empty() {
            writeln!(
                f,
                "\nOverlay actions whose target matches nothing (fix or delete them):"
            )?;
            for note in &self.stale_actions {
                writeln!(
                    f,
                    "  action {} {:?}: {}",
                    note.action, note.description, note.target
                )?;
            }
        }
        if !self.provided_upstream.is_empty() {
            writeln!(
                f,
                "\nOverlay additions the upstream now provides itself (candidates to delete):"
            )?;
            for note in &self.provided_upstream {
                writeln!(f, "  action {} {:?}, at:", note.action, note.description)?;
                for pointer in &note.pointers {
                    writeln!(f, "      {pointer}")?;
                }
            }
        }
        if !self.unknown_ordered_paths.is_empty() {
            let paths = self.unknown_ordered_paths.join(", ");
            writeln!(
                f,
                "\nPaths in the overlay's x-path-order that the spec lacks: {paths}"
            )?;
        }
        Ok(())
    }
}
