//! For the OpenAPI 3.1 tests: a 3.0 document rewritten as FastAPI writes the same API in 3.1.

use serde_json::{Map, Value, json};

/// `job_id` as pydantic titles it: `Job Id`.
fn title_case(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `doc`, an OpenAPI 3.0 document, as FastAPI writes the same API in 3.1: nullable values as a
/// type list and as `anyOf` with a null branch (in turns), nullable `$ref`s as `anyOf`,
/// described `$ref`s with their siblings, `examples`, `const`, numeric exclusive bounds,
/// `contentMediaType` for binary strings, and a `title` on every schema, property and
/// parameter.
pub fn fastapi_31(doc: &Value) -> Value {
    let mut doc = doc.clone();
    doc["openapi"] = json!("3.1.0");
    let mut turn = 0;
    document(&mut doc, false, &mut turn);
    doc
}

fn document(value: &mut Value, in_response: bool, turn: &mut usize) {
    match value {
        Value::Object(map) => {
            let name = map.get("name").and_then(Value::as_str).map(title_case);
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    "schema" => {
                        let title = if in_response {
                            Some("Response Get General Job Status Parse  Job Id  Get".to_owned())
                        } else {
                            name.clone()
                        };
                        schema(child, title, turn);
                    }
                    "schemas" => {
                        for (name, s) in child.as_object_mut().expect("a map") {
                            schema(s, Some(name.clone()), turn);
                        }
                    }
                    // FastAPI writes response headers as given: no titles.
                    "headers" => document(child, false, turn),
                    _ => document(child, in_response || key == "responses", turn),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| document(item, in_response, turn)),
        _ => {}
    }
}

const ANNOTATIONS: &[&str] = &["title", "description", "default", "example", "examples"];

fn schema(value: &mut Value, title: Option<String>, turn: &mut usize) {
    let Value::Object(map) = value else { return };
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, p) in properties.iter_mut() {
            schema(p, Some(title_case(name)), turn);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            schema(child, None, turn);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            branches.iter_mut().for_each(|b| schema(b, None, turn));
        }
    }
    if let Some(example) = map.get("example").cloned() {
        replace(map, "example", vec![("examples", json!([example]))]);
    }
    if let Some(Value::Array(values)) = map.get("enum").cloned()
        && values.len() == 1
    {
        replace(map, "enum", vec![("const", values[0].clone())]);
    }
    if map.get("format") == Some(&json!("binary")) {
        replace(
            map,
            "format",
            vec![("contentMediaType", json!("application/octet-stream"))],
        );
    }
    if map.get("exclusiveMinimum") == Some(&json!(true)) {
        let bound = map.shift_remove("minimum").expect("a minimum");
        replace(map, "exclusiveMinimum", vec![("exclusiveMinimum", bound)]);
    }
    let single_ref = match map.get("allOf") {
        Some(Value::Array(all)) if all.len() == 1 && all[0].get("$ref").is_some() => {
            Some(all[0].clone())
        }
        _ => None,
    };
    if map.shift_remove("nullable") == Some(json!(true)) {
        let annotations: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let branch = match single_ref {
            Some(reference) => reference,
            None if turn.is_multiple_of(2) && map.contains_key("type") => {
                let t = map["type"].clone();
                map.insert("type".into(), json!([t, "null"]));
                Value::Null
            }
            None => Value::Object(
                map.iter()
                    .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        };
        *turn += 1;
        if !branch.is_null() {
            let mut written = Map::new();
            written.insert("anyOf".into(), json!([branch, {"type": "null"}]));
            written.extend(annotations);
            *map = written;
        }
    } else if let Some(reference) = single_ref {
        let entries = vec![("$ref", reference["$ref"].clone())];
        replace(map, "allOf", entries);
    }
    if let Some(title) = title
        && !(map.len() == 1 && map.contains_key("$ref"))
    {
        map.insert("title".into(), json!(title));
    }
}

fn replace(map: &mut Map<String, Value>, key: &str, entries: Vec<(&str, Value)>) {
    let mut entries = Some(entries);
    *map = std::mem::take(map)
        .into_iter()
        .flat_map(|(k, v)| match k == key {
            true => entries
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            false => vec![(k, v)],
        })
        .collect();
}
