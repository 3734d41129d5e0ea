//! Conformance: every operation of `openapi.yaml`, success and error cases, with each response
//! checked against the spec (status declared, JSON body valid against the response schema,
//! content type of binary bodies, declared headers present). Reads the spec at test time, so a spec
//! change the sandbox does not follow fails here, and an operation the sandbox does not exercise
//! fails the coverage check.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use common::{Api, builder, form};
use invaro_sandbox::FaultRule;
use invaro_sandbox::samples::{INVOICE_PDF, STATEMENT_PDF};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

/// The spec, with OpenAPI's `nullable` turned into JSON Schema.
struct Spec {
    doc: Value,
}

impl Spec {
    fn load() -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut doc: Value = yaml_serde::from_str(&text).expect("openapi.yaml is valid YAML");
        translate_nullable(&mut doc);
        Self { doc }
    }

    /// Every (operationId, method, path template).
    fn operations(&self) -> Vec<(String, Method, String)> {
        let mut operations = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let id = op["operationId"]
                    .as_str()
                    .expect("every operation has an id");
                operations.push((id.to_owned(), method, path.clone()));
            }
        }
        operations
    }

    fn operation(&self, id: &str) -> (Method, String, &Value) {
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                if op["operationId"] == id {
                    let method = method.to_uppercase().parse().expect("an HTTP method");
                    return (method, path.clone(), op);
                }
            }
        }
        panic!("openapi.yaml has no operation `{id}`")
    }

    /// Follows a local `$ref` (`#/components/...`).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved $ref {pointer}")),
            None => value,
        }
    }

    /// The response object the spec declares for `id` and `status`.
    fn response(&self, id: &str, status: u16) -> &Value {
        let (_, _, op) = self.operation(id);
        let response = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("{id} does not declare a {status} response"));
        self.resolve(response)
    }

    /// Validates `body` against the schema of `id`'s `status` response for `content_type`.
    fn validate(&self, id: &str, status: u16, content_type: &str, body: &Value) {
        let errors = self.errors(id, status, content_type, body);
        assert!(
            errors.is_empty(),
            "{id} {status}: body does not match the spec:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }

    /// What is wrong with `body` as `id`'s `status` response, per the spec.
    fn errors(&self, id: &str, status: u16, content_type: &str, body: &Value) -> Vec<String> {
        let schema = self.response(id, status)["content"][content_type]["schema"].clone();
        assert!(
            !schema.is_null(),
            "{id} {status} declares no {content_type} body"
        );
        let root = json!({ "allOf": [schema], "components": self.doc["components"] });
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .expect("the response schema compiles");
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

/// Replaces every `nullable: true` schema with `anyOf: [schema, {type: null}]`.
fn translate_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(translate_nullable);
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(map));
                map.insert("anyOf".to_owned(), json!([inner, { "type": "null" }]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        _ => {}
    }
}

/// Whether a concrete path (no query) fits a spec path template.
fn fits(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Sends requests, checks each answer against the spec and records the operations exercised.
struct Checker {
    spec: Spec,
    exercised: BTreeSet<String>,
}

/// A checked answer.
struct Answer {
    headers: reqwest::header::HeaderMap,
    json: Value,
    bytes: bytes::Bytes,
}

impl Checker {
    /// Sends `request` as operation `id` to `path`, expects `status`, and checks the answer.
    async fn check(
        &mut self,
        api: &Api,
        id: &str,
        path: &str,
        status: u16,
        customise: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Answer {
        let (method, template, _) = self.spec.operation(id);
        let bare_path = path.split('?').next().unwrap_or(path);
        assert!(
            fits(&template, bare_path),
            "{path} is not the spec's path {template} of {id}"
        );
        let response = customise(api.request(method, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{id} {path}: {e}"));
        let answer = self.inspect(id, status, response).await;
        self.exercised.insert(id.to_owned());
        answer
    }

    async fn inspect(&self, id: &str, status: u16, response: reqwest::Response) -> Answer {
        let actual = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a complete body");
        assert_eq!(
            actual,
            status,
            "{id}: unexpected status; body: {}",
            String::from_utf8_lossy(&bytes)
        );
        let declared = self.spec.response(id, status);
        for name in declared["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|h| h.0)
        {
            assert!(
                headers.contains_key(name.as_str()),
                "{id} {status}: no {name} header"
            );
        }
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let contents = declared["content"].as_object().cloned().unwrap_or_default();
        assert!(
            contents.contains_key(&content_type),
            "{id} {status}: content type `{content_type}` is not one of {:?}",
            contents.keys().collect::<Vec<_>>()
        );
        let json = if content_type == "application/json" {
            let json: Value = serde_json::from_slice(&bytes).expect("a JSON body");
            self.spec.validate(id, status, &content_type, &json);
            json
        } else {
            Value::Null
        };
        Answer {
            headers,
            json,
            bytes,
        }
    }
}

fn multipart(files: &[(&str, &[u8])]) -> impl FnOnce(RequestBuilder) -> RequestBuilder {
    let form = form(files);
    move |request| request.multipart(form)
}

fn body(value: Value) -> impl FnOnce(RequestBuilder) -> RequestBuilder {
    move |request| request.json(&value)
}

fn plain(request: RequestBuilder) -> RequestBuilder {
    request
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
}

#[tokio::test]
async fn every_operation_answers_as_the_spec_says() {
    let mut c = Checker {
        spec: Spec::load(),
        exercised: BTreeSet::new(),
    };
    let api = Api::default().await;

    // Uploads.
    let a = c
        .check(
            &api,
            "uploadDocuments",
            "/parse/upload",
            200,
            multipart(&[
                ("invoice.pdf", INVOICE_PDF),
                ("statement.pdf", STATEMENT_PDF),
            ]),
        )
        .await;
    let invoice_doc = str_at(&a.json, "/data/files/0/doc_id").to_owned();
    let statement_doc = str_at(&a.json, "/data/files/1/doc_id").to_owned();
    c.check(
        &api,
        "uploadDocuments",
        "/parse/upload",
        400,
        multipart(&[("notes.txt", b"hello")]),
    )
    .await;
    c.check(
        &api,
        "uploadDocuments",
        "/parse/upload",
        400,
        multipart(&[]),
    )
    .await;
    let a = c
        .check(
            &api,
            "uploadFiles",
            "/files/upload",
            200,
            multipart(&[("scan.png", b"\x89PNG\r\n\x1a\n....")]),
        )
        .await;
    assert_eq!(str_at(&a.json, "/data/files/0/validation/format"), "png");
    c.check(
        &api,
        "uploadFiles",
        "/files/upload",
        400,
        multipart(&[("x.gif", b"GIF89a")]),
    )
    .await;
    let failing_doc = api.upload("will-fail.pdf").await;

    // Single jobs and their status on every route.
    let start = |doc: &str| body(json!({ "document_id": doc }));
    let a = c
        .check(
            &api,
            "processInvoices",
            "/parse/invoices",
            200,
            start(&invoice_doc),
        )
        .await;
    let invoice_job = str_at(&a.json, "/data/job_id").to_owned();
    c.check(
        &api,
        "processInvoices",
        "/parse/invoices",
        400,
        body(json!({})),
    )
    .await;
    c.check(
        &api,
        "processInvoices",
        "/parse/invoices",
        404,
        start("no-such-doc"),
    )
    .await;
    let a = c
        .check(
            &api,
            "processStatements",
            "/parse/statements",
            200,
            start(&statement_doc),
        )
        .await;
    let statement_job = str_at(&a.json, "/data/job_id").to_owned();
    c.check(
        &api,
        "processStatements",
        "/parse/statements",
        404,
        start("no-such-doc"),
    )
    .await;
    c.check(
        &api,
        "processStatements",
        "/parse/statements",
        400,
        body(json!({"document_id": 5})),
    )
    .await;
    let a = c
        .check(
            &api,
            "processInvoices",
            "/parse/invoices",
            200,
            start(&failing_doc),
        )
        .await;
    let failed_job = str_at(&a.json, "/data/job_id").to_owned();

    let a = c
        .check(
            &api,
            "getInvoiceStatus",
            &format!("/parse/invoices/{invoice_job}"),
            200,
            plain,
        )
        .await;
    assert_eq!(
        a.json["data"]["status"], "completed",
        "enveloped by default: {}",
        a.json
    );
    assert!(a.json["data"]["result"]["bank_details"].is_object());
    let a = c
        .check(
            &api,
            "getInvoiceStatus",
            &format!("/parse/invoices/{failed_job}"),
            200,
            plain,
        )
        .await;
    assert_eq!(a.json["data"]["status"], "failed");
    assert!(a.json["data"]["error"].is_string());
    c.check(
        &api,
        "getInvoiceStatus",
        &format!("/parse/invoices/{statement_job}"),
        404,
        plain,
    )
    .await;
    c.check(
        &api,
        "getInvoiceStatus",
        "/parse/invoices/job%20with%20spaces",
        400,
        plain,
    )
    .await;
    let a = c
        .check(
            &api,
            "getStatementStatus",
            &format!("/parse/statements/{statement_job}"),
            200,
            plain,
        )
        .await;
    assert!(
        a.json["data"]["results"]["transactions"].is_array(),
        "{}",
        a.json
    );
    c.check(
        &api,
        "getStatementStatus",
        &format!("/parse/statements/{invoice_job}"),
        404,
        plain,
    )
    .await;
    c.check(
        &api,
        "getStatementStatus",
        "/parse/statements/bad.id",
        400,
        plain,
    )
    .await;
    for job in [&invoice_job, &statement_job] {
        let a = c
            .check(
                &api,
                "getGeneralJobStatus",
                &format!("/parse/{job}"),
                200,
                plain,
            )
            .await;
        assert!(a.json["data"]["result"].is_object(), "{}", a.json);
    }
    c.check(&api, "getGeneralJobStatus", "/parse/job_0", 404, plain)
        .await;
    c.check(&api, "getGeneralJobStatus", "/parse/%E2%9C%93", 400, plain)
        .await;

    // Batches.
    let docs = |ids: &[&str]| {
        body(
            json!({ "files": ids.iter().map(|id| json!({ "document_id": id })).collect::<Vec<_>>() }),
        )
    };
    let a = c
        .check(
            &api,
            "processStatementsBatch",
            "/parse/statements/batch",
            200,
            docs(&[&statement_doc, &invoice_doc]),
        )
        .await;
    assert_eq!(a.json["data"]["job_ids"].as_array().map(Vec::len), Some(2));
    c.check(
        &api,
        "processStatementsBatch",
        "/parse/statements/batch",
        400,
        docs(&[]),
    )
    .await;
    c.check(
        &api,
        "processStatementsBatch",
        "/parse/statements/batch",
        400,
        docs(&[invoice_doc.as_str(); 11]),
    )
    .await;
    c.check(
        &api,
        "processInvoicesBatch",
        "/parse/invoices/batch",
        200,
        docs(&[&invoice_doc]),
    )
    .await;
    c.check(
        &api,
        "processInvoicesBatch",
        "/parse/invoices/batch",
        400,
        docs(&["nope"]),
    )
    .await;

    // Schemas.
    let create = |name: &str, kind: &str| {
        body(json!({ "name": name, "type": kind, "schema_string": { "fields": ["total"] } }))
    };
    let a = c
        .check(
            &api,
            "createSchema",
            "/schemas",
            200,
            create("gst", "invoice"),
        )
        .await;
    let schema_id = str_at(&a.json, "/data/id").to_owned();
    c.check(
        &api,
        "createSchema",
        "/schemas",
        409,
        create("gst", "invoice"),
    )
    .await;
    c.check(
        &api,
        "createSchema",
        "/schemas",
        400,
        create("other", "receipt"),
    )
    .await;
    c.check(
        &api,
        "createSchema",
        "/schemas",
        400,
        body(json!({ "name": "x", "type": "invoice", "schema_string": "text" })),
    )
    .await;
    let a = c
        .check(
            &api,
            "listSchemas",
            "/schemas/list?page=1&page_size=10&type=invoice",
            200,
            plain,
        )
        .await;
    assert_eq!(a.json["data"]["limit"], 10);
    c.check(
        &api,
        "listSchemas",
        "/schemas/list?page_size=1000",
        400,
        plain,
    )
    .await;
    c.check(
        &api,
        "listSchemas",
        "/schemas/list?type=receipt",
        400,
        plain,
    )
    .await;
    c.check(
        &api,
        "getSchema",
        &format!("/schemas/id/{schema_id}"),
        200,
        plain,
    )
    .await;
    c.check(&api, "getSchema", "/schemas/id/unknown", 404, plain)
        .await;
    let update = body(json!({ "schema_string": { "fields": ["total", "tax"] } }));
    let a = c
        .check(
            &api,
            "updateSchema",
            &format!("/schemas/id/{schema_id}"),
            200,
            update,
        )
        .await;
    assert_eq!(a.json["data"]["version"], 2);
    c.check(
        &api,
        "updateSchema",
        "/schemas/id/unknown",
        404,
        body(json!({ "schema_string": {} })),
    )
    .await;
    c.check(
        &api,
        "updateSchema",
        &format!("/schemas/id/{schema_id}"),
        400,
        body(json!({ "description": "no schema" })),
    )
    .await;

    // Files.
    let a = c
        .check(&api, "listFiles", "/files?page=1&page_size=2", 200, plain)
        .await;
    assert_eq!(a.json["data"]["files"].as_array().map(Vec::len), Some(2));
    c.check(
        &api,
        "listFiles",
        "/files?status=completed&type=invoice",
        200,
        plain,
    )
    .await;
    c.check(&api, "listFiles", "/files?page=0", 400, plain)
        .await;
    c.check(&api, "listFiles", "/files?status=lost", 400, plain)
        .await;
    let a = c
        .check(
            &api,
            "getFile",
            &format!("/files/{invoice_doc}"),
            200,
            plain,
        )
        .await;
    assert!(a.json["data"]["processed_data"].is_object(), "{}", a.json);
    let a = c
        .check(
            &api,
            "getFile",
            &format!("/files/{failing_doc}"),
            200,
            plain,
        )
        .await;
    assert!(a.json["data"]["processed_data"].is_null(), "{}", a.json);
    c.check(&api, "getFile", "/files/unknown", 404, plain).await;
    let a = c
        .check(
            &api,
            "downloadFile",
            &format!("/files/{invoice_doc}/download"),
            200,
            plain,
        )
        .await;
    assert_eq!(a.bytes.as_ref(), INVOICE_PDF);
    assert_eq!(a.headers["content-type"], "application/pdf");
    assert_eq!(
        a.headers["content-disposition"],
        "attachment; filename=\"invoice.pdf\""
    );
    c.check(&api, "downloadFile", "/files/unknown/download", 404, plain)
        .await;
    c.check(
        &api,
        "deleteFile",
        &format!("/files/{invoice_doc}"),
        200,
        plain,
    )
    .await;
    c.check(
        &api,
        "deleteFile",
        &format!("/files/{invoice_doc}"),
        409,
        plain,
    )
    .await;
    c.check(&api, "deleteFile", "/files/unknown", 404, plain)
        .await;
    c.check(
        &api,
        "downloadFile",
        &format!("/files/{invoice_doc}/download"),
        410,
        plain,
    )
    .await;

    // 401 on every operation.
    for (id, method, template) in c.spec.operations() {
        let path = template.replace('{', "x").replace('}', "");
        let response = api
            .http
            .request(method, api.url(&path))
            .send()
            .await
            .expect("answered");
        c.inspect(&id, 401, response).await;
    }

    let all: BTreeSet<String> = c.spec.operations().into_iter().map(|(id, ..)| id).collect();
    let missing: Vec<_> = all.difference(&c.exercised).collect();
    assert!(
        missing.is_empty(),
        "operations never exercised: {missing:?}"
    );
}

#[tokio::test]
async fn bare_invoice_status_matches_the_spec() {
    let mut c = Checker {
        spec: Spec::load(),
        exercised: BTreeSet::new(),
    };
    let api = Api::start(builder().invoice_status_bare(true)).await;
    let job = api
        .start_job("invoices", &api.upload("invoice.pdf").await)
        .await;
    let a = c
        .check(
            &api,
            "getInvoiceStatus",
            &format!("/parse/invoices/{job}"),
            200,
            plain,
        )
        .await;
    assert!(a.json.get("success").is_none(), "bare: {}", a.json);
    assert_eq!(a.json["status"], "completed");
}

#[tokio::test]
async fn rate_limited_and_failing_answers_match_the_spec() {
    let mut c = Checker {
        spec: Spec::load(),
        exercised: BTreeSet::new(),
    };
    let api = Api::start(builder().rate_limit(1, Duration::from_secs(60))).await;
    c.check(&api, "listFiles", "/files", 200, plain).await;
    let a = c.check(&api, "listFiles", "/files", 429, plain).await;
    assert_eq!(str_at(&a.json, "/error/code"), "RATE_LIMIT_EXCEEDED");

    let api = Api::start(builder().fault(FaultRule::status(500).on("getSchema"))).await;
    let a = c
        .check(&api, "getSchema", "/schemas/id/any", 500, plain)
        .await;
    assert_eq!(a.json["error"]["details"]["injected"], true);
}

#[tokio::test]
async fn retryable_statuses_are_declared_on_every_operation() {
    let mut c = Checker {
        spec: Spec::load(),
        exercised: BTreeSet::new(),
    };
    for status in [408, 502, 503, 504] {
        let api = Api::start(builder().fault(FaultRule::status(status))).await;
        for (id, _, template) in c.spec.operations() {
            let path = template.replace('{', "x").replace('}', "");
            let a = c.check(&api, &id, &path, status, plain).await;
            assert_eq!(a.json["error"]["details"]["injected"], true);
        }
    }
}

#[tokio::test]
async fn timeouts_and_a_full_store_answer_as_the_spec_says() {
    let mut c = Checker {
        spec: Spec::load(),
        exercised: BTreeSet::new(),
    };
    let api = Api::start(builder().max_storage_bytes(INVOICE_PDF.len())).await;
    c.check(
        &api,
        "uploadFiles",
        "/files/upload",
        200,
        multipart(&[("invoice.pdf", INVOICE_PDF)]),
    )
    .await;
    for (id, path) in [
        ("uploadFiles", "/files/upload"),
        ("uploadDocuments", "/parse/upload"),
    ] {
        let a = c
            .check(&api, id, path, 507, multipart(&[("more.pdf", INVOICE_PDF)]))
            .await;
        assert_eq!(str_at(&a.json, "/error/code"), "STORAGE_FULL");
    }

    // A body that stops arriving: half of it is sent, then nothing until the answer.
    let api = Api::start(builder().body_timeout(Duration::from_millis(100))).await;
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    sender
        .unbounded_send(Ok(b"{\"document_id\":".to_vec()))
        .expect("queued");
    let stalled = reqwest::Body::wrap_stream(receiver);
    let a = c
        .check(&api, "processInvoices", "/parse/invoices", 408, |request| {
            request
                .header("content-type", "application/json")
                .header("content-length", "100")
                .body(stalled)
        })
        .await;
    assert_eq!(str_at(&a.json, "/error/code"), "REQUEST_TIMEOUT");
    drop(sender);
}

#[test]
fn nullable_becomes_a_null_alternative() {
    let mut schema = json!({ "type": "string", "nullable": true, "format": "date-time" });
    translate_nullable(&mut schema);
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    assert!(validator.is_valid(&Value::Null));
    assert!(validator.is_valid(&json!("2025-01-01T00:00:00Z")));
    assert!(!validator.is_valid(&json!(5)));
}

#[test]
fn path_templates_fit_only_their_paths() {
    assert!(fits("/files/{file_id}/download", "/files/abc/download"));
    assert!(!fits("/files/{file_id}/download", "/files/abc"));
    assert!(!fits("/parse/{job_id}", "/parse/"));
}

#[test]
fn validation_rejects_bodies_the_spec_forbids() {
    let spec = Spec::load();
    let json = "application/json";
    let job = json!({ "job_id": "job_1", "status": "completed", "updated_at": "yesterday" });
    assert!(
        !spec.errors("getInvoiceStatus", 200, json, &job).is_empty(),
        "bad date-time"
    );
    let enveloped = json!({ "success": true, "data": { "status": "completed" } });
    assert!(
        !spec
            .errors("getGeneralJobStatus", 200, json, &enveloped)
            .is_empty(),
        "no job_id"
    );
    let file =
        json!({ "success": true, "data": { "id": "f", "filename": "a.pdf", "status": "gone" } });
    assert!(
        !spec.errors("getFile", 200, json, &file).is_empty(),
        "unknown file status"
    );
    let nullable = json!({ "success": true,
        "data": { "id": "f", "filename": "a.pdf", "status": "pending", "completed_at": null } });
    assert!(
        spec.errors("getFile", 200, json, &nullable).is_empty(),
        "completed_at is nullable"
    );
    let error = json!({ "success": false, "error": { "code": "X" } });
    assert!(
        !spec.errors("listFiles", 400, json, &error).is_empty(),
        "no message"
    );
}
