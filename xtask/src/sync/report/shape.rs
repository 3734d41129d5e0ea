//! What of an operation a client depends on, read out of a spec: its parameters, request fields
//! and response fields by status, each with its type, whether it is required, and its enum values.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sync::normalise::{METHODS, template};

/// An operation's key: its path with the parameter names left out (`/schemas/id/{}`), and the
/// rank of its method in [`METHODS`]. Paths that differ only in the names of their parameters
/// are the same path (OpenAPI 3.0.3, Paths Object).
pub type Key = (String, usize);

/// One operation.
#[derive(Debug, Default)]
pub struct Shape {
    /// Its path as written.
    pub path: String,
    /// The rank of its method in [`METHODS`].
    pub rank: usize,
    /// Its operationId.
    pub id: Option<String>,
    /// The names of the path's parameters, in the order of the path.
    pub path_parameters: Vec<String>,
    /// Parameters by `<in> <name>`.
    pub parameters: Fields,
    /// Request body fields.
    pub request: Fields,
    /// Response body fields, by status code.
    pub responses: BTreeMap<String, Fields>,
}

impl Shape {
    /// `GET /path`.
    pub fn title(&self) -> String {
        format!("{} {}", method(self.rank), self.path)
    }
}

/// The method of rank `rank`, upper case.
pub fn method(rank: usize) -> String {
    METHODS.get(rank).copied().unwrap_or("?").to_uppercase()
}

/// Fields by name (`data.items[].id`; the empty name is the body itself).
pub type Fields = BTreeMap<String, Field>;

/// One field, parameter or body.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// A one-line type.
    pub ty: String,
    /// Whether it must be present.
    pub required: bool,
    /// Its enum values, if any.
    pub enums: Vec<String>,
}

/// Every operation of `doc`, by key.
pub fn shapes(doc: &Value) -> BTreeMap<Key, Shape> {
    let mut shapes = BTreeMap::new();
    let Some(Value::Object(paths)) = doc.get("paths") else {
        return shapes;
    };
    for (path, item) in paths {
        let shared = item.get("parameters");
        for (rank, method) in METHODS.iter().enumerate() {
            if let Some(op) = item.get(*method) {
                let mut shape = shape(doc, op, shared);
                shape.path = path.clone();
                shape.rank = rank;
                shape.path_parameters = template_names(path);
                shapes.insert((template(path), rank), shape);
            }
        }
    }
    shapes
}

/// The parameter names of `path`, in order.
fn template_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameter_names_are_read_in_order() {
        assert_eq!(template_names("/a/{x}.{y}/b"), ["x", "y"]);
        assert!(template_names("/a/b").is_empty());
    }
}
