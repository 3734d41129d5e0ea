//! Where a conversion happened and what it did: the places (JSON pointers into the page's
//! document), the list of conversions, and the one error a refusal gives.

use serde::Serialize;
use serde_json::{Map, Value};

/// One rewrite of OpenAPI 3.1 into 3.0.3: on which page, where, what became what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversion {
    /// The page or document it was read from.
    pub page: String,
    /// A JSON pointer into the page's document, written as a `$ref` would (`#/paths/...`).
    pub place: String,
    /// What the page says.
    pub from: String,
    /// What `openapi.yaml` holds instead.
    pub to: String,
    /// On how many later pages the same conversion was made at the same place (see [`once`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub also_on: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `conversions` with each (place, from, to) listed once, on the first page that has it; the
/// pages repeating it (docs pages repeat their shared components) are counted in `also_on`.
pub fn once(conversions: Vec<Conversion>) -> Vec<Conversion> {
    let mut listed: Vec<Conversion> = Vec::new();
    for conversion in conversions {
        match listed.iter_mut().find(|c| {
            c.place == conversion.place && c.from == conversion.from && c.to == conversion.to
        }) {
            Some(first) if first.page != conversion.page => first.also_on += 1,
            Some(_) => {}
            None => listed.push(conversion),
        }
    }
    listed
}

/// A place in a document: a JSON pointer (RFC 6901), `#` for the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place(String);

impl Place {
    /// The document itself.
    pub fn root() -> Place {
        Place("#".into())
    }

    /// The member `key` of the map here.
    pub fn join(&self, key: &str) -> Place {
        Place(format!(
            "{}/{}",
            self.0,
            key.replace('~', "~0").replace('/', "~1")
        ))
    }

    /// The item `index` of the list here.
    pub fn index(&self, index: usize) -> Place {
        Place(format!("{}/{index}", self.0))
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The conversions of one page, and the counts of the rewrites too common to list one by one.
#[derive(Debug)]
pub struct Log {
    page: String,
    /// The conversions so far, in document order.
    pub conversions: Vec<Conversion>,
    /// Titles removed because FastAPI derives them from a name (see `schema`).
    pub derived_titles: usize,
    /// `default: null` removed from nullable schemas.
    pub null_defaults: usize,
}

impl Log {
    /// An empty log for `page`.
    pub fn new(page: &str) -> Log {
        Log {
            page: page.into(),
            conversions: Vec::new(),
            derived_titles: 0,
            null_defaults: 0,
        }
    }

    /// Records that `from` at `at` became `to`.
    pub fn note(&mut self, at: &Place, from: impl Into<String>, to: impl Into<String>) {
        self.conversions.push(Conversion {
            page: self.page.clone(),
            place: at.to_string(),
            from: from.into(),
            to: to.into(),
            also_on: 0,
        });
    }

    /// The error refusing `construct` at `at`, which 3.0.3 cannot express (`why`).
    pub fn refuse(&self, at: &Place, construct: &str, why: &str) -> String {
        format!(
            "{}: {at}: {construct} cannot be converted from OpenAPI 3.1 to the 3.0.3 progenitor reads: \
             {why}; nothing was written (ask the upstream to write it another way, or leave the page \
             out of the sources)",
            self.page
        )
    }
}

/// `map` with the entry `key` replaced by `entries`, at its position; the other entries keep
/// their order (the order of keys is the order of the written `openapi.yaml`).
pub fn replace_key(map: &mut Map<String, Value>, key: &str, entries: Vec<(String, Value)>) {
    let mut entries = Some(entries);
    *map = std::mem::take(map)
        .into_iter()
        .flat_map(|(k, v)| {
            if k == key {
                entries.take().unwrap_or_default()
            } else {
                vec![(k, v)]
            }
        })
        .collect();
}

/// A short rendering of a value for the report: JSON, cut at 60 characters.
pub fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn places_escape_slashes_and_tildes() {
        let at = Place::root()
            .join("paths")
            .join("/jobs/{id}")
            .join("a~b")
            .index(2);
        assert_eq!(at.to_string(), "#/paths/~1jobs~1{id}/a~0b/2");
    }

    #[test]
    fn a_conversion_repeated_on_later_pages_is_listed_once_and_counted() {
        let note = |page: &str, place: &str| Conversion {
            page: page.into(),
            place: place.into(),
            from: "a".into(),
            to: "b".into(),
            also_on: 0,
        };
        let listed = once(vec![
            note("p1", "#/x"),
            note("p2", "#/x"),
            note("p2", "#/y"),
            note("p3", "#/x"),
        ]);
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].page.as_str(), listed[0].also_on), ("p1", 2));
        assert_eq!((listed[1].page.as_str(), listed[1].also_on), ("p2", 0));
    }

    #[test]
    fn a_replaced_key_keeps_its_position() {
        let Value::Object(mut map) = json!({"a": 1, "b": 2, "c": 3}) else {
            unreachable!()
        };
        replace_key(
            &mut map,
            "b",
            vec![("x".into(), json!(0)), ("y".into(), json!(0))],
        );
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "x", "y", "c"]);
    }
}
