//! Normalisation: paths relative to the server URL, one server, and a stable key order.
//!
//! The key order of the written `openapi.yaml` follows one rule: keys keep the order in which the
//! pipeline produced them (sources in order, then overlay actions in order), except for these
//! canonical orders, which make the file readable whatever the sources did:
//! - the document: `openapi, info, servers, security, tags, paths, components`, then the rest;
//! - paths: first those the overlay lists in `x-path-order`, in that order, then the others;
//! - a path item: its own fields, then operations in the order get, put, post, delete, options,
//!   head, patch, trace;
//! - an operation: `tags, summary, description, operationId, parameters, requestBody, responses`,
//!   then the rest;
//! - responses: status codes in ascending order, `default` last;
//! - components: `securitySchemes, parameters, headers, requestBodies, responses, examples,
//!   links, callbacks, schemas`, and the entries of each section sorted by name.
//!
//! Schema properties are never reordered: their order is the field order of the generated types.

use serde_json::{Map, Value};

/// OpenAPI's HTTP methods: the keys of a path item that are operations.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const DOCUMENT: &[&str] = &[
    "openapi",
    "info",
    "servers",
    "security",
    "tags",
    "paths",
    "components",
];
const OPERATION: &[&str] = &[
    "tags",
    "summary",
    "description",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
];
const COMPONENTS: &[&str] = &[
    "securitySchemes",
    "parameters",
    "headers",
    "requestBodies",
    "responses",
    "examples",
    "links",
    "callbacks",
    "schemas",
];

/// Strips the server URL's path (such as `/api/v1`) from the front of every path that repeats it:
/// the upstream pages write `/api/v1/parse/{job_id}` under `https://api.invaro.ai/api/v1`.
pub fn relative_paths(doc: &mut Value) {
    let Some(base) = server_path(doc) else {
        return;
    };
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    *paths = std::mem::take(paths)
        .into_iter()
        .map(|(path, item)| match path.strip_prefix(&base) {
            Some("") => ("/".to_owned(), item),
            Some(rest) if rest.starts_with('/') => (rest.to_owned(), item),
            _ => (path, item),
        })
        .collect();
}

/// The path of the first server URL, without a trailing slash; `None` when it is empty.
fn server_path(doc: &Value) -> Option<String> {
    let url = doc.pointer("/servers/0/url")?.as_str()?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map(|i| &after_scheme[i..])?;
    let path = path.trim_end_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

/// `path` with every `{name}` written `{}`: paths with the same template are the same path
/// (OpenAPI 3.0.3, Paths Object), whatever their parameters are called.
pub fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' if inside => inside = false,
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}

/// Keeps only the first server entry: the client has one base URL.
pub fn one_server(doc: &mut Value) {
    if let Some(Value::Array(servers)) = doc.get_mut("servers") {
        servers.truncate(1);
    }
}

/// Puts every map of the document into the order described in the module documentation.
pub fn order(doc: Value, path_order: &[String]) -> Value {
    let Value::Object(mut doc) = doc else {
        return doc;
    };
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        *paths = order_paths(std::mem::take(paths), path_order);
    }
    if let Some(Value::Object(components)) = doc.get_mut("components") {
        *components = order_components(std::mem::take(components));
    }
    Value::Object(by_keys(doc, DOCUMENT))
}

fn order_paths(paths: Map<String, Value>, path_order: &[String]) -> Map<String, Value> {
    let listed: Vec<&str> = path_order.iter().map(String::as_str).collect();
    by_keys(paths, &listed)
        .into_iter()
        .map(|(path, item)| (path, order_path_item(item)))
        .collect()
}

fn order_path_item(item: Value) -> Value {
    let Value::Object(item) = item else {
        return item;
    };
    let (operations, fields): (Map<String, Value>, Map<String, Value>) = item
        .into_iter()
        .partition(|(key, _)| METHODS.contains(&key.as_str()));
    let operations = by_keys(operations, &METHODS)
        .into_iter()
        .map(|(method, op)| (method, order_operation(op)));
    Value::Object(fields.into_iter().chain(operations).collect())
}

fn order_operation(op: Value) -> Value {
    let Value::Object(mut op) = op else {
        return op;
    };
    if let Some(Value::Object(responses)) = op.get_mut("responses") {
        let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
        // `default` sorts after every status code, which all start with a digit.
        sorted.sort_by(|(a, _), (b, _)| (a == "default", a).cmp(&(b == "default", b)));
        *responses = sorted.into_iter().collect();
    }
    Value::Object(by_keys(op, OPERATION))
}

fn order_components(components: Map<String, Value>) -> Map<String, Value> {
    by_keys(components, COMPONENTS)
        .into_iter()
        .map(|(section, entries)| match entries {
            Value::Object(entries) => {
                let mut sorted: Vec<(String, Value)> = entries.into_iter().collect();
                sorted.sort_by(|(a, _), (b, _)| a.cmp(b));
                (section, Value::Object(sorted.into_iter().collect()))
            }
            other => (section, other),
        })
        .collect()
}

/// `map` with the keys of `first` in front, in that order, and the rest after, as they were.
fn by_keys(mut map: Map<String, Value>, first: &[&str]) -> Map<String, Value> {
    let mut ordered = Map::new();
    for key in first {
        if let Some(value) = map.shift_remove(*key) {
            ordered.insert((*key).to_owned(), value);
        }
    }
    ordered.extend(map);
    ordered
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_server_path_is_stripped_once() {
        let mut doc = json!({
            "servers": [{"url": "https://api.invaro.ai/api/v1/"}],
            "paths": {"/api/v1/parse/{job_id}": {}, "/api/v1": {}, "/api/v10/x": {}, "/files": {}}
        });
        relative_paths(&mut doc);
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/parse/{job_id}", "/", "/api/v10/x", "/files"]);
    }

    #[test]
    fn paths_differing_only_in_parameter_names_share_a_template() {
        assert_eq!(template("/schemas/id/{schema_id}"), "/schemas/id/{}");
        assert_eq!(template("/schemas/id/{id}"), "/schemas/id/{}");
        assert_eq!(template("/a/{x}.{y}/b"), "/a/{}.{}/b");
    }

    #[test]
    fn responses_sort_with_default_last() {
        let doc = json!({"paths": {"/x": {"post": {"responses": {"default": 1, "500": 2, "200": 3}}, "get": {}}}});
        let doc = order(doc, &[]);
        let item = doc["paths"]["/x"].as_object().unwrap();
        assert_eq!(item.keys().collect::<Vec<_>>(), ["get", "post"]);
        let codes: Vec<&String> = item["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(codes, ["200", "500", "default"]);
    }
}
