//! Schema Objects: JSON Schema 2020-12 (OpenAPI 3.1) rewritten as the schema dialect of OpenAPI
//! 3.0.3, keyword by keyword, or refused when 3.0.3 has no way to say the same thing.
//!
//! Keys keep their positions (a converted keyword takes the place of the one it replaces), and
//! `nullable: true` goes before the first annotation (`description`, `default`, `example`, ...),
//! so that a schema written both ways gives the same bytes in `openapi.yaml`.

use serde_json::{Map, Value, json};

use super::place::{Log, Place, replace_key, show};

/// What FastAPI would derive a schema's `title` from: the name of the component, property or
/// parameter it describes, or the operation whose response it is.
#[derive(Debug, Clone, Copy)]
pub enum Named<'a> {
    /// A component, property or parameter of this name.
    By(&'a str),
    /// The schema of a response (FastAPI titles it `Response <Operation Name>`).
    Response,
    /// Anything else: a title here was written on purpose, and is kept.
    Anonymous,
}

const TUPLE: &str = "3.0 has no tuple schemas (one schema per position of a list)";
const CONDITION: &str = "3.0 has no conditional schemas (`if`/`then`/`else`)";
const DEPENDENT: &str = "3.0 cannot make a schema depend on the presence of a property";
const UNEVALUATED: &str = "3.0 has no `unevaluated*` keywords";
const CONTAINS: &str = "3.0 cannot require a list to contain an item of a schema";
const IDENTITY: &str = "3.0 schemas have no identifiers, anchors or dynamic references";
const DIALECT: &str = "3.0 has one schema dialect; a schema cannot choose another";

/// Keywords 3.0.3 has no equivalent of, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("prefixItems", TUPLE),
    ("if", CONDITION),
    ("then", CONDITION),
    ("else", CONDITION),
    ("dependentSchemas", DEPENDENT),
    ("dependentRequired", DEPENDENT),
    ("unevaluatedProperties", UNEVALUATED),
    ("unevaluatedItems", UNEVALUATED),
    ("contains", CONTAINS),
    ("minContains", CONTAINS),
    ("maxContains", CONTAINS),
    (
        "propertyNames",
        "3.0 cannot constrain the names of properties",
    ),
    ("$defs", "3.0 has definitions in `components.schemas` only"),
    ("$id", IDENTITY),
    ("$anchor", IDENTITY),
    ("$dynamicRef", IDENTITY),
    ("$dynamicAnchor", IDENTITY),
    ("$schema", DIALECT),
    ("$vocabulary", DIALECT),
];

/// Keywords that only describe: `nullable: true` is placed before the first of them.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "xml",
];

/// Patterns of `patternProperties` that match every name, so the entry says what
/// `additionalProperties` says in 3.0.
const ANY_NAME: &[&str] = &["", ".*", "^.*$", "^.*", ".*$"];

/// Rewrites the schema at `at` (and every schema inside it) as OpenAPI 3.0.3, recording each
/// conversion in `log`.
///
/// # Errors
/// One message naming the page, the place and the construct, for the first construct 3.0.3
/// cannot express.
pub fn convert(schema: &mut Value, at: &Place, named: Named, log: &mut Log) -> Result<(), String> {
    let map = match schema {
        Value::Object(map) => map,
        Value::Bool(true) => {
            *schema = json!({});
            log.note(at, "`true` (the schema allowing anything)", "`{}`");
            return Ok(());
        }
        Value::Bool(false) => {
            return Err(log.refuse(
                at,
                "the schema `false`",
                "3.0 has no schema that allows nothing",
            ));
        }
        other => {
            return Err(log.refuse(
                at,
                &format!("the schema {}", show(other)),
                "a schema is a map",
            ));
        }
    };
    // First, so that a branch merged into its schema is checked like the rest of it; again
    // while a merged branch brings null branches of its own.
    let mut nullable = false;
    while null_branches(map, at, log)? {
        nullable = true;
    }
    refuse_unsupported(map, at, log)?;
    pattern_properties(map, at, log)?;
    annotations(map, at, named, log);
    children(map, at, log)?;
    nullable |= type_list(map, at, log)?;
    examples(map, at, log);
    constant(map, at, log)?;
    exclusive_bounds(map, at, log);
    content(map, at, log)?;
    ref_siblings(map, at, log);
    if nullable {
        set_nullable(map);
    }
    if map.get("default") == Some(&Value::Null) && map.get("nullable") == Some(&Value::Bool(true)) {
        // FastAPI's `Optional[T] = None`: a nullable schema says nothing more by a null default.
        map.remove("default");
        log.null_defaults += 1;
    }
    Ok(())
}

fn refuse_unsupported(map: &Map<String, Value>, at: &Place, log: &Log) -> Result<(), String> {
    if let Some((key, why)) = UNSUPPORTED.iter().find(|(key, _)| map.contains_key(*key)) {
        return Err(log.refuse(&at.join(key), &format!("`{key}`"), why));
    }
    if map.get("items").is_some_and(Value::is_array) {
        return Err(log.refuse(&at.join("items"), "`items` as a list", TUPLE));
    }
    Ok(())
}

/// `patternProperties` with one pattern matching every name is `additionalProperties`.
fn pattern_properties(
    map: &mut Map<String, Value>,
    at: &Place,
    log: &mut Log,
) -> Result<(), String> {
    let Some(patterns) = map.get("patternProperties") else {
        return Ok(());
    };
    let place = at.join("patternProperties");
    let single = match patterns {
        Value::Object(patterns) if patterns.len() == 1 => patterns.iter().next(),
        _ => None,
    };
    match single {
        Some((pattern, schema))
            if ANY_NAME.contains(&pattern.as_str())
                && !map.contains_key("additionalProperties") =>
        {
            let (pattern, schema) = (pattern.clone(), schema.clone());
            replace_key(
                map,
                "patternProperties",
                vec![("additionalProperties".into(), schema)],
            );
            log.note(
                &place,
                format!("`patternProperties` with the one pattern `{pattern}`"),
                "`additionalProperties`",
            );
            Ok(())
        }
        _ => Err(log.refuse(
            &place,
            "`patternProperties`",
            "3.0 cannot give properties a schema by a pattern of their names (only one schema \
             for every name, `additionalProperties`)",
        )),
    }
}

/// Removes the titles FastAPI derives from names (the generator would name types after them)
/// and the `$comment`s (notes for schema authors, which 3.0 has no place for).
fn annotations(map: &mut Map<String, Value>, at: &Place, named: Named, log: &mut Log) {
    if let Some(Value::String(title)) = map.get("title")
        && derived(title, named)
    {
        map.remove("title");
        log.derived_titles += 1;
    }
    if let Some(comment) = map.shift_remove("$comment") {
        log.note(
            &at.join("$comment"),
            format!("`$comment: {}`", show(&comment)),
            "left out (3.0 schemas have no comments)",
        );
    }
}

/// Whether `title` is what FastAPI writes for a schema named as `named` says: the name itself,
/// with its words in title case (`job_id` gives `Job Id`), or `Response ...` for a response.
fn derived(title: &str, named: Named) -> bool {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    match named {
        Named::By(name) => letters(title) == letters(name),
        Named::Response => title.starts_with("Response "),
        Named::Anonymous => false,
    }
}

/// `anyOf`/`oneOf` with a `{type: 'null'}` branch: the other branches, nullable. One `$ref`
/// left becomes `allOf: [$ref]` (3.0 ignores the siblings of a `$ref`, `nullable` included);
/// one other schema left takes the place of the list. Returns whether a null branch was found.
fn null_branches(map: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<bool, String> {
    let mut nullable = false;
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get(key) else {
            continue;
        };
        let (nulls, rest): (Vec<&Value>, Vec<&Value>) = branches.iter().partition(|b| is_null(b));
        if nulls.is_empty() {
            continue;
        }
        let place = at.join(key);
        let from = format!("`{key}` with a `{{type: 'null'}}` branch");
        let rest: Vec<Value> = rest.into_iter().cloned().collect();
        match rest.as_slice() {
            [] => {
                return Err(log.refuse(
                    &place,
                    &format!("`{key}` of null alone"),
                    "3.0 has no schema allowing only null",
                ));
            }
            [only] if is_plain_ref(only) => {
                replace_key(map, key, vec![("allOf".into(), json!([only]))]);
                log.note(&place, from, "`allOf: [$ref]` + `nullable: true`");
            }
            [Value::Object(only)] => {
                let merged = merge_branch(map, key, only)
                    .map_err(|k| log.refuse(&place, &format!("`{key}` with a null branch whose other branch sets `{k}` differently from the schema around it"), "the two cannot be written as one nullable schema"))?;
                *map = merged;
                log.note(&place, from, "the other branch + `nullable: true`");
            }
            _ => {
                let count = rest.len();
                map.insert(key.into(), Value::Array(rest));
                log.note(
                    &place,
                    from,
                    format!("`{key}` of the other {count} branches + `nullable: true`"),
                );
            }
        }
        nullable = true;
    }
    Ok(nullable)
}

/// `{type: 'null'}`, FastAPI's null branch (a title beside it says nothing).
fn is_null(branch: &Value) -> bool {
    let Value::Object(map) = branch else {
        return false;
    };
    let null_type = match map.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types == &[json!("null")],
        _ => false,
    };
    null_type && map.keys().all(|k| k == "type" || k == "title")
}

fn is_plain_ref(branch: &Value) -> bool {
    branch
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("$ref"))
}

/// The schema `map` with its `key` list replaced by the entries of `branch`; `Err` names a
/// keyword both set differently.
fn merge_branch(
    map: &Map<String, Value>,
    key: &str,
    branch: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut merged = branch.clone();
    for (k, v) in map {
        if k == key {
            continue;
        }
        match merged.get(k) {
            Some(existing) if existing != v => return Err(k.clone()),
            Some(_) => {}
            None => {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(merged)
}

fn children(map: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<(), String> {
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        let place = at.join("properties");
        for (name, schema) in properties.iter_mut() {
            convert(schema, &place.join(name), Named::By(name), log)?;
        }
    }
    for key in ["items", "not"] {
        if let Some(schema) = map.get_mut(key) {
            convert(schema, &at.join(key), Named::Anonymous, log)?;
        }
    }
    if let Some(schema @ Value::Object(_)) = map.get_mut("additionalProperties") {
        convert(
            schema,
            &at.join("additionalProperties"),
            Named::Anonymous,
            log,
        )?;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            let place = at.join(key);
            for (i, branch) in branches.iter_mut().enumerate() {
                convert(branch, &place.index(i), Named::Anonymous, log)?;
            }
        }
    }
    Ok(())
}

/// `type: [T, 'null']` is `type: T` + `nullable: true`. Returns whether `null` was listed.
fn type_list(map: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<bool, String> {
    let place = at.join("type");
    let types = match map.get("type") {
        Some(Value::Array(types)) => types.clone(),
        Some(Value::String(t)) if t == "null" => {
            return Err(log.refuse(
                &place,
                "`type: 'null'`",
                "3.0 has no schema allowing only null",
            ));
        }
        _ => return Ok(false),
    };
    let from = format!("`type: {}`", show(&Value::Array(types.clone())));
    let null = types.contains(&json!("null"));
    let real: Vec<&Value> = types.iter().filter(|t| **t != json!("null")).collect();
    match real.as_slice() {
        [Value::String(one)] => {
            let to = if null {
                format!("`type: {one}` + `nullable: true`")
            } else {
                format!("`type: {one}`")
            };
            map.insert("type".into(), json!(one));
            log.note(&place, from, to);
            Ok(null)
        }
        [] => Err(log.refuse(&place, &from, "3.0 has no schema allowing only null")),
        _ => Err(log.refuse(
            &place,
            &format!("the type list {from}"),
            "a 3.0 schema has one type (a union of types is an `anyOf` of one schema per type, \
             which the upstream should write)",
        )),
    }
}

/// `examples: [a, b]` in a schema is `example: a` (3.0 holds one example per schema).
fn examples(map: &mut Map<String, Value>, at: &Place, log: &mut Log) {
    let Some(Value::Array(list)) = map.get("examples") else {
        return;
    };
    let place = at.join("examples");
    let from = format!("`examples` ({} value(s))", list.len());
    match list.first().cloned() {
        Some(first) if !map.contains_key("example") => {
            replace_key(map, "examples", vec![("example".into(), first)]);
            let to = if from.starts_with("`examples` (1 ") {
                "`example`"
            } else {
                "`example`: the first of them (3.0 holds one)"
            };
            log.note(&place, from, to);
        }
        _ => {
            map.shift_remove("examples");
            log.note(
                &place,
                from,
                "left out: the schema has its `example` already",
            );
        }
    }
}

/// `const: v` is `enum: [v]`.
fn constant(map: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<(), String> {
    let Some(value) = map.get("const").cloned() else {
        return Ok(());
    };
    let place = at.join("const");
    let from = format!("`const: {}`", show(&value));
    match map.get("enum") {
        Some(Value::Array(values)) if values.contains(&value) => {
            map.shift_remove("const");
            log.note(&place, from, "left out: the `enum` beside it says the same");
        }
        Some(_) => {
            return Err(log.refuse(
                &place,
                &format!("{from} beside an `enum` without that value"),
                "no value satisfies both",
            ));
        }
        None => {
            let to = format!("`enum: [{}]`", show(&value));
            replace_key(map, "const", vec![("enum".into(), json!([value]))]);
            log.note(&place, from, to);
        }
    }
    Ok(())
}

/// Numeric `exclusiveMinimum: n` is `minimum: n` + `exclusiveMinimum: true` (the same for the
/// maximum), unless an inclusive bound beside it is stricter.
fn exclusive_bounds(map: &mut Map<String, Value>, at: &Place, log: &mut Log) {
    for (exclusive, bound, lower) in [
        ("exclusiveMinimum", "minimum", true),
        ("exclusiveMaximum", "maximum", false),
    ] {
        let Some(Value::Number(limit)) = map.get(exclusive).cloned() else {
            continue;
        };
        let place = at.join(exclusive);
        let from = format!("`{exclusive}: {limit}`");
        let other = map.get(bound).and_then(Value::as_f64);
        let value = limit.as_f64().unwrap_or_default();
        let stricter = other.is_some_and(|o| if lower { o > value } else { o < value });
        if stricter {
            map.shift_remove(exclusive);
            let other = map.get(bound).map(show).unwrap_or_default();
            log.note(
                &place,
                format!("{from} beside `{bound}: {other}`"),
                format!("`{bound}: {other}` alone (the stricter bound)"),
            );
        } else {
            map.shift_remove(bound);
            let entries = vec![
                (bound.to_owned(), Value::Number(limit.clone())),
                (exclusive.to_owned(), Value::Bool(true)),
            ];
            replace_key(map, exclusive, entries);
            log.note(
                &place,
                from,
                format!("`{bound}: {limit}` + `{exclusive}: true`"),
            );
        }
    }
}

/// `contentMediaType`/`contentEncoding` on a string: base64 is `format: byte`, raw bytes of a
/// binary media type are `format: binary`, and a text media type is a plain string.
fn content(map: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<(), String> {
    let media = map.get("contentMediaType").cloned();
    let encoding = map.get("contentEncoding").cloned();
    if media.is_none() && encoding.is_none() {
        return Ok(());
    }
    let key = if encoding.is_some() {
        "contentEncoding"
    } else {
        "contentMediaType"
    };
    let place = at.join(key);
    let from = [("contentMediaType", &media), ("contentEncoding", &encoding)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("`{k}: {}`", show(v))))
        .collect::<Vec<_>>()
        .join(" + ");
    let text = media
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(is_text_media_type);
    let format = match encoding.as_ref().map(|e| e.as_str()) {
        Some(Some(e)) if e.eq_ignore_ascii_case("base64") => Some("byte"),
        Some(_) => {
            return Err(log.refuse(
                &place,
                &from,
                "3.0 knows one encoding of bytes in a string, base64 (`format: byte`)",
            ));
        }
        None if text => None,
        None => Some("binary"),
    };
    if map.get("type").is_some_and(|t| t != "string") {
        return Err(log.refuse(
            &place,
            &from,
            "only a string has a media type or an encoding",
        ));
    }
    if let (Some(format), Some(existing)) = (format, map.get("format"))
        && existing != format
    {
        return Err(log.refuse(
            &place,
            &format!("{from} beside `format: {}`", show(existing)),
            "the two formats contradict each other",
        ));
    }
    let entries = format.map_or_else(Vec::new, |f| vec![("format".to_owned(), json!(f))]);
    map.shift_remove("format");
    replace_key(map, key, entries);
    map.shift_remove("contentMediaType");
    map.shift_remove("contentEncoding");
    let to = match format {
        Some(f) => format!("`format: {f}`"),
        None => "a plain string (3.0 has no media type for the text of a string)".into(),
    };
    log.note(&place, from, to);
    Ok(())
}

fn is_text_media_type(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or_default().trim();
    media.starts_with("text/")
        || media == "application/json"
        || media.ends_with("+json")
        || media == "application/xml"
        || media.ends_with("+xml")
}

/// A `$ref` with siblings: 3.0 ignores the siblings of a `$ref`, but keeps those of an
/// `allOf: [$ref]`.
fn ref_siblings(map: &mut Map<String, Value>, at: &Place, log: &mut Log) {
    if !map.contains_key("$ref") || map.len() == 1 {
        return;
    }
    let siblings: Vec<String> = map
        .keys()
        .filter(|k| *k != "$ref")
        .map(|k| format!("`{k}`"))
        .collect();
    let reference = json!({"$ref": map["$ref"]});
    match map.get_mut("allOf") {
        Some(Value::Array(all)) => {
            all.insert(0, reference);
            map.shift_remove("$ref");
        }
        _ => replace_key(map, "$ref", vec![("allOf".into(), json!([reference]))]),
    }
    log.note(
        &at.join("$ref"),
        format!("`$ref` beside {}", siblings.join(", ")),
        "`allOf: [$ref]` beside them (3.0 ignores what is beside a `$ref`)",
    );
}

/// Puts `nullable: true` before the first annotation, or last.
fn set_nullable(map: &mut Map<String, Value>) {
    map.shift_remove("nullable");
    let at = map
        .keys()
        .position(|k| ANNOTATIONS.contains(&k.as_str()) || k.starts_with("x-"))
        .unwrap_or(map.len());
    map.shift_insert(at, "nullable".into(), Value::Bool(true));
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// `schema` converted as the component `Thing`: the result, and each conversion as
    /// `place: from -> to`.
    fn run(schema: Value) -> Result<(Value, Vec<String>), String> {
        let mut log = Log::new("page.md");
        let mut schema = schema;
        let at = Place::root()
            .join("components")
            .join("schemas")
            .join("Thing");
        convert(&mut schema, &at, Named::By("Thing"), &mut log)?;
        let notes = log
            .conversions
            .iter()
            .map(|c| format!("{}: {} -> {}", c.place, c.from, c.to))
            .collect();
        Ok((schema, notes))
    }

    fn converted(schema: Value) -> Value {
        run(schema).expect("converts").0
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn a_type_list_with_null_is_nullable() {
        let (schema, notes) =
            run(json!({"type": ["string", "null"], "format": "date-time"})).unwrap();
        assert_eq!(
            schema,
            json!({"type": "string", "format": "date-time", "nullable": true})
        );
        assert_eq!(keys(&schema), ["type", "format", "nullable"]);
        assert_eq!(
            notes,
            [
                "#/components/schemas/Thing/type: `type: [\"string\",\"null\"]` -> `type: string` + `nullable: true`"
            ]
        );
    }

    #[test]
    fn nullable_goes_before_the_first_annotation() {
        let schema = converted(
            json!({"type": ["object", "null"], "additionalProperties": true, "description": "d"}),
        );
        assert_eq!(
            keys(&schema),
            ["type", "additionalProperties", "nullable", "description"]
        );
    }

    #[test]
    fn any_of_a_ref_and_null_is_all_of_the_ref_nullable() {
        let (schema, notes) = run(json!({
            "anyOf": [{"$ref": "#/components/schemas/Job"}, {"type": "null"}],
            "description": "The job."
        }))
        .unwrap();
        assert_eq!(
            schema,
            json!({"allOf": [{"$ref": "#/components/schemas/Job"}], "nullable": true, "description": "The job."})
        );
        assert_eq!(keys(&schema), ["allOf", "nullable", "description"]);
        assert!(
            notes[0].ends_with(
                "`anyOf` with a `{type: 'null'}` branch -> `allOf: [$ref]` + `nullable: true`"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn one_of_a_schema_and_null_is_that_schema_nullable() {
        let schema = converted(json!({
            "oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
            "description": "Pages."
        }));
        assert_eq!(
            keys(&schema),
            ["type", "minimum", "nullable", "description"]
        );
        assert_eq!(schema["nullable"], true);
    }

    #[test]
    fn several_branches_and_null_stay_a_union_nullable() {
        let schema = converted(
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}),
        );
        assert_eq!(
            schema,
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
    }

    #[test]
    fn a_branch_contradicting_its_schema_is_refused() {
        let error = run(json!({"anyOf": [{"type": "string", "description": "a"}, {"type": "null"}], "description": "b"})).unwrap_err();
        assert!(error.starts_with("page.md: #/components/schemas/Thing/anyOf: `anyOf` with a null branch whose other branch sets `description`"), "{error}");
    }

    #[test]
    fn examples_become_the_first_example() {
        let (schema, notes) =
            run(json!({"type": "string", "examples": ["a", "b"], "description": "d"})).unwrap();
        assert_eq!(keys(&schema), ["type", "example", "description"]);
        assert_eq!(schema["example"], "a");
        assert!(
            notes[0].ends_with(
                "`examples` (2 value(s)) -> `example`: the first of them (3.0 holds one)"
            )
        );
    }

    #[test]
    fn const_is_a_one_value_enum() {
        let (schema, notes) = run(json!({"type": "string", "const": "invoice"})).unwrap();
        assert_eq!(schema, json!({"type": "string", "enum": ["invoice"]}));
        assert!(notes[0].ends_with("`const: \"invoice\"` -> `enum: [\"invoice\"]`"));
        // pydantic writes both for a `Literal`: the enum stays, alone.
        let schema = converted(json!({"type": "string", "const": "a", "enum": ["a"]}));
        assert_eq!(schema, json!({"type": "string", "enum": ["a"]}));
        assert!(
            run(json!({"const": "a", "enum": ["b"]}))
                .unwrap_err()
                .contains("`const: \"a\"` beside an `enum` without that value")
        );
    }

    #[test]
    fn numeric_exclusive_bounds_take_the_boolean_form() {
        let (schema, notes) =
            run(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5})).unwrap();
        assert_eq!(
            schema,
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1.5, "exclusiveMaximum": true})
        );
        assert_eq!(
            keys(&schema),
            [
                "type",
                "minimum",
                "exclusiveMinimum",
                "maximum",
                "exclusiveMaximum"
            ]
        );
        assert!(
            notes[0].ends_with("`exclusiveMinimum: 0` -> `minimum: 0` + `exclusiveMinimum: true`")
        );
        // An inclusive bound that is stricter wins; a looser one gives way.
        assert_eq!(
            converted(json!({"minimum": 5, "exclusiveMinimum": 1})),
            json!({"minimum": 5})
        );
        assert_eq!(
            converted(json!({"minimum": 1, "exclusiveMinimum": 1})),
            json!({"minimum": 1, "exclusiveMinimum": true})
        );
    }

    #[test]
    fn a_binary_media_type_is_format_binary() {
        let (schema, notes) =
            run(json!({"type": "string", "contentMediaType": "application/pdf"})).unwrap();
        assert_eq!(schema, json!({"type": "string", "format": "binary"}));
        assert!(notes[0].ends_with("`contentMediaType: \"application/pdf\"` -> `format: binary`"));
        assert_eq!(
            converted(
                json!({"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"})
            ),
            json!({"type": "string", "format": "byte"})
        );
        assert_eq!(
            converted(json!({"type": "string", "contentMediaType": "application/json"})),
            json!({"type": "string"})
        );
        assert!(
            run(json!({"type": "string", "contentEncoding": "base32"}))
                .unwrap_err()
                .contains("base64")
        );
    }

    #[test]
    fn ref_siblings_are_kept_beside_an_all_of() {
        let (schema, notes) =
            run(json!({"$ref": "#/components/schemas/Job", "description": "The job."})).unwrap();
        assert_eq!(
            schema,
            json!({"allOf": [{"$ref": "#/components/schemas/Job"}], "description": "The job."})
        );
        assert!(notes[0].contains("`$ref` beside `description` -> `allOf: [$ref]` beside them"));
        assert_eq!(converted(json!({"$ref": "#/x"})), json!({"$ref": "#/x"}));
    }

    #[test]
    fn derived_titles_go_and_chosen_titles_stay() {
        let mut log = Log::new("p");
        let mut schema = json!({
            "title": "Thing",
            "type": "object",
            "properties": {
                "job_id": {"type": "string", "title": "Job Id"},
                "meta": {"type": "object", "title": "Metadata of the job"}
            }
        });
        convert(&mut schema, &Place::root(), Named::By("Thing"), &mut log).unwrap();
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {
                "job_id": {"type": "string"},
                "meta": {"type": "object", "title": "Metadata of the job"}
            }})
        );
        assert_eq!(log.derived_titles, 2);
        assert!(derived("Response List Files Files Get", Named::Response));
        assert!(!derived("Job", Named::Anonymous));
    }

    #[test]
    fn a_null_default_of_a_nullable_schema_goes() {
        let mut log = Log::new("p");
        let mut schema = json!({"anyOf": [{"type": "string"}, {"type": "null"}], "default": null});
        convert(&mut schema, &Place::root(), Named::Anonymous, &mut log).unwrap();
        assert_eq!(schema, json!({"type": "string", "nullable": true}));
        assert_eq!(log.null_defaults, 1);
    }

    #[test]
    fn a_merged_branch_is_checked_and_converted_like_the_rest() {
        let error = run(json!({"anyOf": [{"prefixItems": []}, {"type": "null"}]})).unwrap_err();
        assert!(
            error.contains("Thing/prefixItems: `prefixItems`"),
            "{error}"
        );
        let nested =
            json!({"anyOf": [{"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "null"}]});
        assert_eq!(
            converted(nested),
            json!({"type": "string", "nullable": true})
        );
    }

    #[test]
    fn true_is_the_empty_schema_and_false_is_refused() {
        assert_eq!(
            converted(
                json!({"type": "object", "additionalProperties": {"type": "integer"}, "items": true})
            )["items"],
            json!({})
        );
        assert!(
            run(json!(false))
                .unwrap_err()
                .contains("the schema `false`")
        );
    }

    #[test]
    fn a_single_pattern_matching_every_name_is_additional_properties() {
        let schema =
            converted(json!({"type": "object", "patternProperties": {".*": {"type": "integer"}}}));
        assert_eq!(
            schema,
            json!({"type": "object", "additionalProperties": {"type": "integer"}})
        );
        let error = run(json!({"patternProperties": {"^x-": {}}})).unwrap_err();
        assert!(
            error.contains("#/components/schemas/Thing/patternProperties: `patternProperties`"),
            "{error}"
        );
    }

    #[test]
    fn a_comment_is_left_out_and_listed() {
        let (schema, notes) = run(json!({"type": "string", "$comment": "why"})).unwrap();
        assert_eq!(schema, json!({"type": "string"}));
        assert_eq!(notes.len(), 1);
    }

    /// Each construct 3.0 cannot express, the place the error names, and the construct.
    #[test]
    fn what_3_0_cannot_express_is_refused_naming_the_place_and_the_construct() {
        let cases = [
            (
                json!({"type": "array", "prefixItems": [{"type": "string"}]}),
                "/prefixItems",
                "`prefixItems`",
            ),
            (
                json!({"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
                "/if",
                "`if`",
            ),
            (json!({"then": {}}), "/then", "`then`"),
            (
                json!({"dependentSchemas": {"a": {}}}),
                "/dependentSchemas",
                "`dependentSchemas`",
            ),
            (
                json!({"dependentRequired": {"a": ["b"]}}),
                "/dependentRequired",
                "`dependentRequired`",
            ),
            (
                json!({"unevaluatedProperties": false}),
                "/unevaluatedProperties",
                "`unevaluatedProperties`",
            ),
            (
                json!({"unevaluatedItems": false}),
                "/unevaluatedItems",
                "`unevaluatedItems`",
            ),
            (
                json!({"contains": {"type": "string"}}),
                "/contains",
                "`contains`",
            ),
            (
                json!({"propertyNames": {"pattern": "^a"}}),
                "/propertyNames",
                "`propertyNames`",
            ),
            (json!({"$defs": {"A": {}}}), "/$defs", "`$defs`"),
            (
                json!({"$dynamicRef": "#node"}),
                "/$dynamicRef",
                "`$dynamicRef`",
            ),
            (
                json!({"items": [{"type": "string"}]}),
                "/items",
                "`items` as a list",
            ),
            (
                json!({"type": ["string", "integer"]}),
                "/type",
                "the type list `type: [\"string\",\"integer\"]`",
            ),
            (
                json!({"type": ["string", "integer", "null"]}),
                "/type",
                "the type list",
            ),
            (json!({"type": "null"}), "/type", "`type: 'null'`"),
            (
                json!({"anyOf": [{"type": "null"}]}),
                "/anyOf",
                "`anyOf` of null alone",
            ),
            (
                json!({"properties": {"a": {"prefixItems": []}}}),
                "/properties/a/prefixItems",
                "`prefixItems`",
            ),
        ];
        for (schema, place, construct) in cases {
            let error = run(schema.clone()).expect_err(&schema.to_string());
            let expected = format!("page.md: #/components/schemas/Thing{place}: {construct}");
            assert!(error.starts_with(&expected), "{expected}\n{error}");
            assert!(error.contains("3.0"), "{error}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    const KEYWORDS: &[&str] = &[
        "type",
        "anyOf",
        "oneOf",
        "allOf",
        "items",
        "properties",
        "additionalProperties",
        "examples",
        "example",
        "const",
        "enum",
        "exclusiveMinimum",
        "minimum",
        "maximum",
        "exclusiveMaximum",
        "$ref",
        "description",
        "title",
        "nullable",
        "contentMediaType",
        "contentEncoding",
        "format",
        "default",
        "not",
        "prefixItems",
        "patternProperties",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..4).prop_map(|n| json!(n)),
            prop::sample::select(vec![
                "string",
                "null",
                "integer",
                "object",
                "binary",
                "base64",
                "image/png",
                "#/components/schemas/X",
                ".*",
            ])
            .prop_map(|s| json!(s)),
        ]
    }

    /// Schema-like trees: maps of keywords, lists, and leaves.
    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYWORDS.to_vec()), inner), 0..6)
                    .prop_map(|entries| {
                        Value::Object(
                            entries
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect::<Map<String, Value>>(),
                        )
                    }),
            ]
        })
    }

    /// Panics where a schema (and the schemas inside it) still says something only 3.1 says.
    fn assert_30(schema: &Value) {
        let Value::Object(map) = schema else {
            assert!(!schema.is_boolean() || schema == &json!(true) || schema == &json!(false));
            return;
        };
        assert!(
            !map.get("type").is_some_and(|t| t.is_array() || t == "null"),
            "{schema}"
        );
        for gone in [
            "const",
            "contentMediaType",
            "contentEncoding",
            "prefixItems",
            "patternProperties",
        ] {
            assert!(!map.contains_key(gone), "{gone} in {schema}");
        }
        assert!(
            !map.get("examples").is_some_and(Value::is_array),
            "{schema}"
        );
        for bound in ["exclusiveMinimum", "exclusiveMaximum"] {
            assert!(!map.get(bound).is_some_and(Value::is_number), "{schema}");
        }
        assert!(!map.contains_key("$ref") || map.len() == 1, "{schema}");
        if let Some(Value::Object(properties)) = map.get("properties") {
            properties.values().for_each(assert_30);
        }
        for key in ["items", "not", "additionalProperties"] {
            if let Some(child @ Value::Object(_)) = map.get(key) {
                assert_30(child);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                branches.iter().for_each(assert_30);
                assert!(!branches.iter().any(is_null), "{schema}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_schema_converts_to_3_0_or_is_refused_without_a_panic(schema in tree()) {
            let mut log = Log::new("p");
            let mut converted = schema.clone();
            match convert(&mut converted, &Place::root(), Named::By("x"), &mut log) {
                Ok(()) => assert_30(&converted),
                Err(error) => prop_assert!(error.starts_with("p: #"), "{}", error),
            }
        }
    }
}
