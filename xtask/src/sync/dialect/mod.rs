//! OpenAPI 3.1 read as the 3.0.3 that `openapi.yaml` holds (progenitor reads 3.0.x only).
//!
//! FastAPI has written 3.1 since its 0.99 release, so the upstream docs may turn 3.1 any day.
//! [`to_openapi_30`] walks a 3.1 document (a page's fragment or a whole document) and rewrites
//! what 3.1 writes differently: schemas keyword by keyword (`schema`), the document's 3.1-only
//! fields (`webhooks`, `jsonSchemaDialect`, `info.summary`, `license.identifier`, which are set
//! aside), and what 3.1 allows beside a `$ref`. Every rewrite is a [`Conversion`] the drift
//! report lists; what 3.0.3 cannot express is refused with one error naming the page, the place
//! and the construct, and nothing is dropped silently.

mod place;
mod schema;

use serde_json::{Map, Value};

use place::{Log, Place};
use schema::Named;

pub use place::{Conversion, once};

/// The version every converted document declares.
pub const TARGET: &str = "3.0.3";

/// The fields of a Path Item Object that are not operations.
const PATH_ITEM_FIELDS: &[&str] = &["$ref", "summary", "description", "servers", "parameters"];

/// Whether `doc` declares OpenAPI 3.1.x.
pub fn is_openapi_31(doc: &Value) -> bool {
    doc.get("openapi")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("3.1."))
}

/// `doc`, an OpenAPI 3.1 document read from `page`, rewritten as OpenAPI 3.0.3, with the list
/// of conversions made.
///
/// # Errors
/// One message naming `page`, the place (a JSON pointer) and the construct, for the first
/// construct 3.0.3 cannot express.
pub fn to_openapi_30(page: &str, mut doc: Value) -> Result<(Value, Vec<Conversion>), String> {
    let mut log = Log::new(page);
    let root = Place::root();
    let Value::Object(map) = &mut doc else {
        return Err(format!("{page}: the document is not a map"));
    };
    if let Some(version) = map.insert("openapi".into(), Value::String(TARGET.into())) {
        let version = version.as_str().unwrap_or_default().to_owned();
        log.note(
            &root.join("openapi"),
            format!("`openapi: {version}`"),
            format!("`openapi: {TARGET}`"),
        );
    }
    set_aside(map, &root, &mut log);
    if let Some(Value::Object(paths)) = map.get_mut("paths") {
        let at = root.join("paths");
        for (path, item) in paths.iter_mut() {
            path_item(item, &at.join(path), &mut log)?;
        }
    }
    if let Some(Value::Object(components)) = map.get_mut("components") {
        components_(components, &root.join("components"), &mut log)?;
    }
    let mut conversions = log.conversions;
    if log.derived_titles > 0 {
        conversions.push(Conversion {
            page: page.into(),
            place: "(every schema)".into(),
            from: format!(
                "{} `title`(s) derived from the name of their component, property, parameter or \
                 operation (FastAPI writes one on every schema)",
                log.derived_titles
            ),
            to: "left out: the generator would name types after them".into(),
            also_on: 0,
        });
    }
    if log.null_defaults > 0 {
        conversions.push(Conversion {
            page: page.into(),
            place: "(every schema)".into(),
            from: format!(
                "{} `default: null` on a nullable schema (FastAPI's `Optional[T] = None`)",
                log.null_defaults
            ),
            to: "left out: a nullable value left out is null already".into(),
            also_on: 0,
        });
    }
    Ok((doc, conversions))
}

/// The 3.1-only fields that describe no operation of the client: removed and listed.
fn set_aside(map: &mut Map<String, Value>, root: &Place, log: &mut Log) {
    if let Some(dialect) = map.shift_remove("jsonSchemaDialect") {
        log.note(
            &root.join("jsonSchemaDialect"),
            format!("`jsonSchemaDialect: {}`", place::show(&dialect)),
            "set aside: 3.0 has one schema dialect",
        );
    }
    if let Some(webhooks) = map.shift_remove("webhooks") {
        let at = root.join("webhooks");
        let names: Vec<&String> = webhooks
            .as_object()
            .map(|w| w.keys().collect())
            .unwrap_or_default();
        for name in names {
            log.note(
                &at.join(name),
                format!("webhook `{name}`"),
                "set aside: 3.0 has no webhooks (the SDK's webhook types are written by hand)",
            );
        }
    }
    let info = root.join("info");
    if let Some(Value::Object(fields)) = map.get_mut("info") {
        if let Some(summary) = fields.shift_remove("summary") {
            log.note(
                &info.join("summary"),
                format!("`summary: {}`", place::show(&summary)),
                "set aside: 3.0's `info` has no summary",
            );
        }
        if let Some(Value::Object(license)) = fields.get_mut("license")
            && let Some(identifier) = license.shift_remove("identifier")
        {
            log.note(
                &info.join("license").join("identifier"),
                format!("`identifier: {}`", place::show(&identifier)),
                "set aside: 3.0's `license` has a name and a URL only",
            );
        }
    }
}

fn components_(
    components: &mut Map<String, Value>,
    at: &Place,
    log: &mut Log,
) -> Result<(), String> {
    if components.contains_key("pathItems") {
        return Err(log.refuse(
            &at.join("pathItems"),
            "`components.pathItems`",
            "3.0 has no reusable path items",
        ));
    }
    for (section, entries) in components.iter_mut() {
        let Value::Object(entries) = entries else {
            continue;
        };
        let at = at.join(section);
        for (name, entry) in entries.iter_mut() {
            let at = at.join(name);
            match section.as_str() {
                "schemas" => schema::convert(entry, &at, Named::By(name), log)?,
                "parameters" | "headers" => parameter(entry, &at, log)?,
                "requestBodies" => request_body(entry, &at, log)?,
                "responses" => response(entry, &at, log)?,
                "callbacks" => callback(entry, &at, log)?,
                "securitySchemes" => security_scheme(entry, &at, log)?,
                "examples" | "links" => {
                    own_fields(entry, &at, log);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn path_item(item: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    let Value::Object(item) = item else {
        return Ok(());
    };
    parameters(item, at, log)?;
    // Every other field of a path item is an operation, named by its method.
    for (method, op) in item.iter_mut() {
        if let Value::Object(op) = op
            && !PATH_ITEM_FIELDS.contains(&method.as_str())
            && !method.starts_with("x-")
        {
            operation(op, &at.join(method), log)?;
        }
    }
    Ok(())
}

fn operation(op: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<(), String> {
    parameters(op, at, log)?;
    if let Some(body) = op.get_mut("requestBody") {
        request_body(body, &at.join("requestBody"), log)?;
    }
    if let Some(Value::Object(responses)) = op.get_mut("responses") {
        let at = at.join("responses");
        for (status, r) in responses.iter_mut() {
            response(r, &at.join(status), log)?;
        }
    }
    if let Some(Value::Object(callbacks)) = op.get_mut("callbacks") {
        let at = at.join("callbacks");
        for (name, c) in callbacks.iter_mut() {
            callback(c, &at.join(name), log)?;
        }
    }
    Ok(())
}

fn parameters(owner: &mut Map<String, Value>, at: &Place, log: &mut Log) -> Result<(), String> {
    if let Some(Value::Array(list)) = owner.get_mut("parameters") {
        let at = at.join("parameters");
        for (i, p) in list.iter_mut().enumerate() {
            parameter(p, &at.index(i), log)?;
        }
    }
    Ok(())
}

/// A Parameter or Header Object: its schema is named after the parameter.
fn parameter(p: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    let Some(p) = own_fields(p, at, log) else {
        return Ok(());
    };
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default();
    if let Some(s) = p.get_mut("schema") {
        schema::convert(s, &at.join("schema"), Named::By(&name), log)?;
    }
    content(p, at, Named::By(&name), log)
}

fn request_body(body: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    match own_fields(body, at, log) {
        Some(body) => content(body, at, Named::Anonymous, log),
        None => Ok(()),
    }
}

fn response(r: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    let Some(r) = own_fields(r, at, log) else {
        return Ok(());
    };
    if let Some(Value::Object(headers)) = r.get_mut("headers") {
        let at = at.join("headers");
        for (name, h) in headers.iter_mut() {
            parameter(h, &at.join(name), log)?;
        }
    }
    content(r, at, Named::Response, log)
}

fn callback(c: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    if let Some(expressions) = own_fields(c, at, log) {
        for (expression, item) in expressions.iter_mut() {
            path_item(item, &at.join(expression), log)?;
        }
    }
    Ok(())
}

fn security_scheme(s: &mut Value, at: &Place, log: &mut Log) -> Result<(), String> {
    if s.get("type").and_then(Value::as_str) == Some("mutualTLS") {
        return Err(log.refuse(
            &at.join("type"),
            "the security scheme `mutualTLS`",
            "3.0 has no mutual TLS scheme",
        ));
    }
    own_fields(s, at, log);
    Ok(())
}

/// The media types of `content`, and the headers of their encodings.
fn content(
    owner: &mut Map<String, Value>,
    at: &Place,
    named: Named,
    log: &mut Log,
) -> Result<(), String> {
    let Some(Value::Object(media_types)) = owner.get_mut("content") else {
        return Ok(());
    };
    let at = at.join("content");
    for (media, m) in media_types.iter_mut() {
        let Value::Object(m) = m else { continue };
        let at = at.join(media);
        if let Some(s) = m.get_mut("schema") {
            schema::convert(s, &at.join("schema"), named, log)?;
        }
        if let Some(Value::Object(encodings)) = m.get_mut("encoding") {
            for (property, e) in encodings.iter_mut() {
                if let Some(Value::Object(headers)) = e.get_mut("headers") {
                    let at = at.join("encoding").join(property).join("headers");
                    for (name, h) in headers.iter_mut() {
                        parameter(h, &at.join(name), log)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The fields of `value` when it is a map and not a Reference Object. A Reference Object
/// outside a schema may carry `summary` and `description` in 3.1; 3.0 reads nothing beside a
/// `$ref` there, so they are left out and listed.
fn own_fields<'v>(
    value: &'v mut Value,
    at: &Place,
    log: &mut Log,
) -> Option<&'v mut Map<String, Value>> {
    let map = value.as_object_mut()?;
    let Some(target) = map.get("$ref").cloned() else {
        return Some(map);
    };
    let siblings: Vec<String> = map
        .keys()
        .filter(|k| *k != "$ref")
        .map(|k| format!("`{k}`"))
        .collect();
    if !siblings.is_empty() {
        map.retain(|k, _| k == "$ref");
        log.note(
            at,
            format!("{} beside `$ref: {}`", siblings.join(", "), place::show(&target)),
            "left out: 3.0 reads nothing beside a `$ref` outside a schema (the target's own text applies)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn notes(conversions: &[Conversion]) -> Vec<String> {
        conversions
            .iter()
            .map(|c| format!("{}: {} -> {}", c.place, c.from, c.to))
            .collect()
    }

    #[test]
    fn the_version_becomes_3_0_3() {
        let (doc, conversions) =
            to_openapi_30("p", json!({"openapi": "3.1.0", "paths": {}})).unwrap();
        assert_eq!(doc, json!({"openapi": "3.0.3", "paths": {}}));
        assert_eq!(
            notes(&conversions),
            ["#/openapi: `openapi: 3.1.0` -> `openapi: 3.0.3`"]
        );
        assert!(is_openapi_31(&json!({"openapi": "3.1.1"})));
        assert!(!is_openapi_31(&json!({"openapi": "3.0.3"})));
    }

    #[test]
    fn webhooks_and_the_dialect_are_set_aside_and_listed() {
        let (doc, conversions) = to_openapi_30(
            "p",
            json!({
                "openapi": "3.1.0",
                "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
                "info": {"title": "t", "summary": "s", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
                "webhooks": {"jobCompleted": {"post": {"responses": {"200": {"description": "ok"}}}}}
            }),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1", "license": {"name": "MIT"}}})
        );
        let notes = notes(&conversions);
        assert!(notes[1].starts_with("#/jsonSchemaDialect: "), "{notes:?}");
        assert!(
            notes[2].starts_with("#/webhooks/jobCompleted: webhook `jobCompleted` -> set aside"),
            "{notes:?}"
        );
        assert!(notes[3].starts_with("#/info/summary: "), "{notes:?}");
        assert!(
            notes[4].starts_with("#/info/license/identifier: "),
            "{notes:?}"
        );
    }

    #[test]
    fn schemas_are_found_in_parameters_bodies_responses_and_components() {
        let (doc, conversions) = to_openapi_30(
            "p",
            json!({
                "openapi": "3.1.0",
                "paths": {"/jobs/{job_id}": {"get": {
                    "parameters": [{"name": "job_id", "in": "path", "required": true,
                                    "schema": {"type": "string", "title": "Job Id"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"const": 1}}}},
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Job"},
                                   "title": "Response Get Job Jobs  Job Id  Get"},
                        "examples": {"one": {"value": []}}
                    }}}}
                }}},
                "components": {"schemas": {"Job": {"title": "Job", "type": ["object", "null"]}}}
            }),
        )
        .unwrap();
        let op = &doc["paths"]["/jobs/{job_id}"]["get"];
        assert_eq!(op["parameters"][0]["schema"], json!({"type": "string"}));
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"],
            json!({"enum": [1]})
        );
        let media = &op["responses"]["200"]["content"]["application/json"];
        assert_eq!(
            media["schema"],
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Job"}})
        );
        // A media type's `examples` map is 3.0 already.
        assert_eq!(media["examples"], json!({"one": {"value": []}}));
        assert_eq!(
            doc["components"]["schemas"]["Job"],
            json!({"type": "object", "nullable": true})
        );
        let notes = notes(&conversions);
        assert!(notes.contains(&"#/paths/~1jobs~1{job_id}/get/requestBody/content/application~1json/schema/const: `const: 1` -> `enum: [1]`".to_owned()), "{notes:?}");
        assert!(
            notes
                .last()
                .unwrap()
                .starts_with("(every schema): 3 `title`(s) derived"),
            "{notes:?}"
        );
    }

    #[test]
    fn summary_and_description_beside_a_reference_are_listed() {
        let (doc, conversions) = to_openapi_30(
            "p",
            json!({"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": {
                "404": {"$ref": "#/components/responses/NotFound", "description": "No such job."}
            }}}}}),
        )
        .unwrap();
        assert_eq!(
            doc["paths"]["/x"]["get"]["responses"]["404"],
            json!({"$ref": "#/components/responses/NotFound"})
        );
        assert!(notes(&conversions)[1].starts_with("#/paths/~1x/get/responses/404: `description` beside `$ref: \"#/components/responses/NotFound\"` -> left out"));
    }

    #[test]
    fn path_items_in_components_and_mutual_tls_are_refused() {
        let error = to_openapi_30(
            "p",
            json!({"openapi": "3.1.0", "components": {"pathItems": {"a": {}}}}),
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "p: #/components/pathItems: `components.pathItems` cannot be converted"
            ),
            "{error}"
        );
        let error = to_openapi_30(
            "p",
            json!({"openapi": "3.1.0", "components": {"securitySchemes": {"m": {"type": "mutualTLS"}}}}),
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "p: #/components/securitySchemes/m/type: the security scheme `mutualTLS`"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_refusal_deep_in_a_page_names_the_operation_path() {
        let error = to_openapi_30(
            "https://docs.test/jobs.md",
            json!({"openapi": "3.1.0", "paths": {"/jobs": {"post": {"responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}
                }}}}}}}}}}),
        )
        .unwrap_err();
        assert!(
            error.starts_with("https://docs.test/jobs.md: #/paths/~1jobs/post/responses/200/content/application~1json/schema/properties/pair/prefixItems: `prefixItems` cannot be converted"),
            "{error}"
        );
    }
}
