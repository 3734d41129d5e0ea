//! The curated corrections: an OpenAPI Overlay 1.0 document applied to the merged upstream.
//!
//! Each action selects nodes with a JSONPath `target` (RFC 9535, via `serde_json_path`), then
//! either removes them (`remove: true`) or merges `update` into them: objects merge recursively,
//! scalars are replaced, arrays are appended to (an array `update` on an array target appends
//! its items). Actions apply in order.
//!
//! Applying is idempotent: an item already in the list is not appended again, so an overlay
//! applied to a document that already holds its additions (the project's own `openapi.yaml`, or
//! an upstream that has taken over the corrections) changes nothing. The lists of an OpenAPI
//! document (`enum`, `required`, `tags`, `parameters`, `oneOf`, ...) are sets in meaning. One extension, `x-path-order`, lists paths in the order
//! `openapi.yaml` shows them (see `normalise`).

use serde::Serialize;
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use super::yaml;

/// A parsed overlay.
#[derive(Debug)]
pub struct Overlay {
    actions: Vec<Action>,
    /// The paths in the order `openapi.yaml` lists them.
    pub path_order: Vec<String>,
}

#[derive(Debug)]
struct Action {
    note: ActionNote,
    path: JsonPath,
    change: Change,
}

#[derive(Debug)]
enum Change {
    Update(Value),
    Remove,
}

/// An overlay action as the drift report names it, with the spots it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionNote {
    /// Its position in the overlay's `actions`, from 1.
    pub action: usize,
    /// Its `description`, or an empty string.
    pub description: String,
    /// Its JSONPath.
    pub target: String,
    /// JSON pointers of the spots in question (empty when the whole action is concerned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pointers: Vec<String>,
}

/// What applying the overlay found out about it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Actions whose target matched nothing.
    pub stale: Vec<ActionNote>,
    /// Actions that add what the upstream now provides itself: candidates to delete.
    pub provided: Vec<ActionNote>,
}

impl Overlay {
    /// Parses and checks an overlay; `name` is the file, for messages.
    pub fn parse(name: &str, text: &str) -> Result<Overlay, String> {
        let doc = yaml::parse(text, 1).map_err(|e| format!("{name}: malformed YAML: {e}"))?;
        let version = doc
            .get("overlay")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !version.starts_with("1.0.") {
            return Err(format!(
                "{name}: `overlay: 1.0.x` is required (found `{version}`): this is an OpenAPI Overlay 1.0 document"
            ));
        }
        let Some(Value::Array(raw)) = doc.get("actions") else {
            return Err(format!("{name}: `actions` must be a list of actions"));
        };
        let actions = raw
            .iter()
            .enumerate()
            .map(|(i, action)| Action::parse(name, i + 1, action))
            .collect::<Result<_, _>>()?;
        let path_order = match doc.get("x-path-order") {
            None => Vec::new(),
            Some(Value::Array(paths)) => paths
                .iter()
                .map(|p| p.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("{name}: `x-path-order` must be a list of paths"))?,
            Some(_) => return Err(format!("{name}: `x-path-order` must be a list of paths")),
        };
        Ok(Overlay {
            actions,
            path_order,
        })
    }

    /// Applies the actions to `doc` (the merged upstream), in order.
    pub fn apply(&self, doc: &mut Value) -> Result<Applied, String> {
        let mut applied = Applied::default();
        // What the upstream provides is judged on the upstream alone, before any action.
        let upstream = doc.clone();
        for action in &self.actions {
            if let Change::Update(update) = &action.change {
                let pointers = provided(&upstream, &action.path, update);
                if !pointers.is_empty() {
                    applied.provided.push(action.note_with(pointers));
                }
            }
            let mut targets = locations(doc, &action.path);
            if targets.is_empty() {
                applied.stale.push(action.note.clone());
                continue;
            }
            match &action.change {
                Change::Update(update) => {
                    for steps in &targets {
                        let node = node_mut(doc, steps)
                            .ok_or(MOVED)
                            .map_err(|e| action.error(e))?;
                        merge_into(node, update).map_err(|e| action.error(&e))?;
                    }
                }
                // From the last node back, so that removing an array item does not shift the
                // indexes of the ones still to remove.
                Change::Remove => {
                    targets.reverse();
                    for steps in &targets {
                        remove(doc, steps).map_err(|e| action.error(&e))?;
                    }
                }
            }
        }
        Ok(applied)
    }
}

impl Action {
    fn parse(name: &str, index: usize, raw: &Value) -> Result<Action, String> {
        let field = |key: &str| raw.get(key);
        let description = field("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = format!("{name}: action {index} ({description:?})");
        let target = field("target")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}: `target` (a JSONPath string) is missing"))?;
        // serde_json_path 0.7 panics, instead of failing, on a path ending inside a `\u` escape.
        if ["\\u", "\\uD", "\\ud"]
            .iter()
            .any(|end| target.ends_with(end))
        {
            return Err(format!(
                "{at}: target `{target}` is not valid JSONPath: it ends inside a \\u escape"
            ));
        }
        let path = JsonPath::parse(target)
            .map_err(|e| format!("{at}: target `{target}` is not valid JSONPath: {e}"))?;
        let change = match (field("remove"), field("update")) {
            (Some(Value::Bool(true)), _) => Change::Remove,
            (Some(Value::Bool(false)) | None, Some(update)) => Change::Update(update.clone()),
            (Some(Value::Bool(false)) | None, None) => {
                return Err(format!("{at}: needs `update` or `remove: true`"));
            }
            (Some(_), _) => return Err(format!("{at}: `remove` must be true or false")),
        };
        Ok(Action {
            note: ActionNote {
                action: index,
                description: description.to_owned(),
                target: target.to_owned(),
                pointers: Vec::new(),
            },
            path,
            change,
        })
    }

    fn note_with(&self, pointers: Vec<String>) -> ActionNote {
        ActionNote {
            pointers,
            ..self.note.clone()
        }
    }

    fn error(&self, reason: &str) -> String {
        format!(
            "overlay action {} ({:?}), target `{}`: {reason}",
            self.note.action, self.note.description, self.note.target
        )
    }
}

/// One step down a document: a map key or an array index.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The locations of the nodes `path` selects, in document order.
fn locations(doc: &Value, path: &JsonPath) -> Vec<Vec<Step>> {
    path.query_located(doc)
        .locations()
        .map(|location| {
            location
                .iter()
                .map(|element| match element.as_index() {
                    Some(i) => Step::Index(i),
                    None => Step::Key(element.as_name().unwrap_or_default().to_owned()),
                })
                .collect()
        })
        .collect()
}

/// Why a selected node cannot be reached: an earlier change of the same action (a removal, or
/// an update that replaced a node on its path) moved it.
const MOVED: &str = "the selected node has moved (overlapping selections)";

fn node_mut<'v>(doc: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(doc, |node, step| match step {
        Step::Key(key) => node.get_mut(key.as_str()),
        Step::Index(i) => node.get_mut(*i),
    })
}

fn remove(doc: &mut Value, steps: &[Step]) -> Result<(), String> {
    let Some((last, parent)) = steps.split_last() else {
        return Err("the document itself cannot be removed".into());
    };
    match (node_mut(doc, parent), last) {
        (Some(Value::Object(map)), Step::Key(key)) => {
            map.shift_remove(key);
        }
        (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => return Err(MOVED.into()),
    }
    Ok(())
}

/// Merges `update` into `node` by the Overlay rules.
fn merge_into(node: &mut Value, update: &Value) -> Result<(), String> {
    match (node, update) {
        (Value::Object(node), Value::Object(update)) => {
            merge_maps(node, update);
            Ok(())
        }
        (Value::Array(items), Value::Array(more)) => {
            append_new(items, more);
            Ok(())
        }
        (Value::Array(items), entry) => {
            append_new(items, std::slice::from_ref(entry));
            Ok(())
        }
        (Value::Object(_), _) => Err("`update` must be a map when the target is a map".into()),
        (scalar, _) => Err(format!(
            "the target selects {}, but `update` needs a map or a list to merge into \
             (target the parent and update the field instead)",
            kind_of(scalar)
        )),
    }
}

fn merge_maps(node: &mut Map<String, Value>, update: &Map<String, Value>) {
    for (key, value) in update {
        match (node.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => merge_maps(existing, more),
            (Some(Value::Array(existing)), Value::Array(more)) => append_new(existing, more),
            (Some(existing), _) => *existing = value.clone(),
            (None, _) => {
                node.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Appends the items of `more` that `items` does not hold yet.
fn append_new(items: &mut Vec<Value>, more: &[Value]) {
    for item in more {
        if !items.contains(item) {
            items.push(item.clone());
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Where `update` adds nothing to what `doc` already has at the target: JSON pointers of the
/// parts of the update that the upstream now provides verbatim. Keys the upstream lacks are
/// additions; keys it has with other values are corrections; neither is reported.
fn provided(doc: &Value, path: &JsonPath, update: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for located in path.query_located(doc).iter() {
        let pointer = located.location().to_json_pointer();
        contained(located.node(), update, &pointer, &mut found);
    }
    found
}

fn contained(node: &Value, update: &Value, pointer: &str, found: &mut Vec<String>) {
    match (node, update) {
        (Value::Object(node), Value::Object(update)) => {
            for (key, value) in update {
                let Some(existing) = node.get(key) else {
                    continue;
                };
                let here = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if includes(existing, value) {
                    found.push(here);
                } else if existing.is_object() && value.is_object() {
                    contained(existing, value, &here, found);
                }
            }
        }
        (Value::Array(_), _) if includes(node, update) => found.push(pointer.to_owned()),
        _ => {}
    }
}

/// Whether applying `update` to `node` would add nothing: equal values, or list items that are
/// all there already.
fn includes(node: &Value, update: &Value) -> bool {
    match (node, update) {
        (Value::Array(items), Value::Array(more)) => more.iter().all(|m| items.contains(m)),
        (Value::Array(items), entry) => items.contains(entry),
        (Value::Object(node), Value::Object(update)) => update
            .iter()
            .all(|(key, value)| node.get(key).is_some_and(|v| includes(v, value))),
        _ => node == update,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn overlay(actions: &str) -> Overlay {
        let text = format!("overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nactions:\n{actions}");
        Overlay::parse("overlay.yaml", &text).expect("a valid overlay")
    }

    #[test]
    fn update_merges_recursively_and_appends_to_lists() {
        let mut doc = json!({"a": {"b": 1, "c": [1]}, "d": "x"});
        let applied = overlay("- target: $\n  update: {a: {c: [2], e: 3}, d: y}\n")
            .apply(&mut doc)
            .unwrap();
        assert_eq!(doc, json!({"a": {"b": 1, "c": [1, 2], "e": 3}, "d": "y"}));
        assert_eq!(applied, Applied::default());
    }

    #[test]
    fn applying_twice_is_applying_once() {
        let mut doc = json!({"a": {"c": [1]}, "tags": ["x"]});
        let overlay = overlay(
            "- target: $\n  update: {a: {c: [2]}, tags: [y]}\n- target: $.tags\n  update: z\n",
        );
        overlay.apply(&mut doc).unwrap();
        let once = doc.clone();
        overlay.apply(&mut doc).unwrap();
        assert_eq!(doc, once);
        assert_eq!(doc, json!({"a": {"c": [1, 2]}, "tags": ["x", "y", "z"]}));
    }

    #[test]
    fn remove_takes_every_selected_item_out_of_its_list() {
        let mut doc = json!({"tags": ["a", "b", "a", "c"]});
        overlay("- target: $.tags[?@ == 'a']\n  remove: true\n")
            .apply(&mut doc)
            .unwrap();
        assert_eq!(doc, json!({"tags": ["b", "c"]}));
    }

    #[test]
    fn updates_the_document_already_has_are_reported() {
        let mut doc = json!({"info": {"title": "T", "x": {"y": 1, "z": 2}}});
        let applied = overlay("- target: $.info\n  update: {title: T, x: {y: 1, w: 3}, v: 0}\n")
            .apply(&mut doc)
            .unwrap();
        assert_eq!(applied.provided[0].pointers, ["/info/title", "/info/x/y"]);
    }

    #[test]
    fn a_scalar_target_cannot_be_updated() {
        let mut doc = json!({"info": {"title": "T"}});
        let err = overlay("- target: $.info.title\n  update: U\n")
            .apply(&mut doc)
            .unwrap_err();
        assert!(err.contains("action 1"), "{err}");
        assert!(err.contains("selects a string"), "{err}");
    }
}
