//! Merging the fragments of all sources into one document.
//!
//! Document-level fields (`openapi`, `info`, `servers`, `security`) come from the first fragment
//! that has them. Operations, path-level fields, components and tags come from every fragment; one
//! defined by two sources must be identical in both, or the merge fails naming both.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::extract::Fragment;
use super::normalise::{METHODS, template};

/// Merges `fragments` (whose paths are already relative to their server URL), in order.
pub fn merge(fragments: &[Fragment]) -> Result<Value, String> {
    let mut doc = Map::new();
    let mut owners = Owners::default();
    for fragment in fragments {
        let Value::Object(fields) = &fragment.doc else {
            return Err(format!("{}: the document is not a map", fragment.origin));
        };
        for (key, value) in fields {
            match key.as_str() {
                "paths" => merge_paths(&mut doc, value, &fragment.origin, &mut owners)?,
                "components" => merge_components(&mut doc, value, &fragment.origin, &mut owners)?,
                "tags" => merge_tags(&mut doc, value, &fragment.origin, &mut owners)?,
                _ => {
                    doc.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    Ok(Value::Object(doc))
}

/// Which source first defined each merged item, to name both sides of a conflict.
#[derive(Default)]
struct Owners(HashMap<String, String>);

impl Owners {
    /// Puts `value` at `key` of `map` unless an identical one is there already.
    fn put(
        &mut self,
        map: &mut Map<String, Value>,
        key: &str,
        value: &Value,
        what: String,
        origin: &str,
    ) -> Result<(), String> {
        match map.get(key) {
            Some(existing) if existing == value => Ok(()),
            Some(_) => {
                let first = self
                    .0
                    .get(&what)
                    .map_or("an earlier source", String::as_str);
                Err(format!(
                    "conflict: {what} is defined differently by {first} and by {origin}; \
                     fix one source or drop it"
                ))
            }
            None => {
                map.insert(key.to_owned(), value.clone());
                self.0.insert(what, origin.to_owned());
                Ok(())
            }
        }
    }
}

fn merge_paths(
    doc: &mut Map<String, Value>,
    paths: &Value,
    origin: &str,
    owners: &mut Owners,
) -> Result<(), String> {
    let merged = object_at(doc, "paths");
    for (path, item) in objects(paths, origin, "paths")? {
        let same = template(path);
        if let Some(other) = merged.keys().find(|k| *k != path && template(k) == same) {
            return Err(format!(
                "conflict: {origin} has path {path}, the same path as {other} with its parameters \
                 named differently (OpenAPI 3.0.3 forbids both); fix one source or drop it"
            ));
        }
        let merged_item = object_at(merged, path);
        for (key, value) in objects(item, origin, path)? {
            let what = if METHODS.contains(&key.as_str()) {
                format!("{} {path}", key.to_uppercase())
            } else {
                format!("`{key}` of path {path}")
            };
            owners.put(merged_item, key, value, what, origin)?;
        }
    }
    Ok(())
}

fn merge_components(
    doc: &mut Map<String, Value>,
    components: &Value,
    origin: &str,
    owners: &mut Owners,
) -> Result<(), String> {
    let merged = object_at(doc, "components");
    for (section, entries) in objects(components, origin, "components")? {
        let merged_section = object_at(merged, section);
        for (name, value) in objects(entries, origin, section)? {
            let what = format!("components.{section}.{name}");
            owners.put(merged_section, name, value, what, origin)?;
        }
    }
    Ok(())
}

fn merge_tags(
    doc: &mut Map<String, Value>,
    tags: &Value,
    origin: &str,
    owners: &mut Owners,
) -> Result<(), String> {
    let Value::Array(tags) = tags else {
        return Err(format!("{origin}: `tags` is not a list"));
    };
    // Tags are a list keyed by name; merge them as a map, then write the list back in order.
    let mut by_name: Map<String, Value> = match doc.get("tags") {
        Some(Value::Array(existing)) => existing.iter().map(|t| (tag_name(t), t.clone())).collect(),
        _ => Map::new(),
    };
    for tag in tags {
        let name = tag_name(tag);
        owners.put(&mut by_name, &name, tag, format!("tag {name}"), origin)?;
    }
    doc.insert("tags".into(), Value::Array(by_name.into_values().collect()));
    Ok(())
}

fn tag_name(tag: &Value) -> String {
    tag.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The map at `key` of `map`, created empty when missing (or when not a map).
fn object_at<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

fn objects<'v>(
    value: &'v Value,
    origin: &str,
    what: &str,
) -> Result<&'v Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{origin}: `{what}` is not a map"))
}
