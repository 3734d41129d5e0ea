//! Every operation of openapi.yaml, called once against a scripted server on 127.0.0.1:
//! method, exact path, auth header, query, body, and the decoding of documented responses.

use invaro::{
    Client, DocumentKind, JobStatus, RateLimit, RetryPolicy, Upload,
    types::{BatchRequest, DocumentRef, FileStatus},
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_json, header, method, path, query_param},
};

const KEY: &str = "sk_test_operations";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .retry(RetryPolicy::none())
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings");
    (server, client)
}

/// A mock of one call: this method, this exact path under `/api/v1`, and the bearer key.
fn once(verb: &str, at: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("/api/v1{at}")))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn job_json(status: &str, output_key: &str) -> Value {
    json!({
        "job_id": "job_1739261168870934041",
        "status": status,
        "file_id": "1739260380783576729_invoice.pdf",
        "created_at": "2025-02-11T08:19:37Z",
        "updated_at": "2025-02-11T08:19:53Z",
        "progress": 100,
        output_key: {"account_no": "XXXX1234", "transactions": []}
    })
}

fn schema_json(version: i64) -> Value {
    json!({
        "id": "sch_1", "user_id": "u_1", "name": "gst-invoice", "type": "invoice",
        "description": "GST invoices", "schema_string": "{\"type\":\"object\"}",
        "version": version, "is_active": true,
        "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"
    })
}

fn file_json() -> Value {
    json!({
        "id": "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4", "filename": "invoice.pdf",
        "file_id": "1234567890_invoice.pdf", "type": "invoice", "status": "completed",
        "size": 245678, "created_at": "2025-03-01T10:00:00Z",
        "completed_at": "2025-03-01T10:01:00Z", "processed_data": {"total": "1,234.56"}
    })
}

/// Checks a multipart upload: one `files` part per file, named, typed, with its bytes.
fn is_pdf_upload(request: &Request) -> bool {
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&request.body);
    content_type.starts_with("multipart/form-data; boundary=")
        && body.contains("name=\"files\"; filename=\"invoice.pdf\"")
        && body.contains("Content-Type: application/pdf")
        && body.contains("%PDF-1.4")
}

#[tokio::test]
async fn upload_documents_sends_multipart_and_decodes_ids() {
    let (server, client) = setup().await;
    let answer = json!({"success": true, "data": {"files": [{
        "file_id": "1739260380783576729_invoice.pdf",
        "file_url": "https://files.example/1739260380783576729_invoice.pdf",
        "doc_id": "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4"}], "status": "done"}});
    once("POST", "/parse/upload")
        .and(is_pdf_upload)
        .respond_with(ok(answer))
        .expect(1)
        .mount(&server)
        .await;
    let uploaded = client
        .upload(&[Upload::bytes("invoice.pdf", PDF)])
        .await
        .unwrap();
    assert_eq!(uploaded[0].doc_id, "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4");
}

#[tokio::test]
async fn upload_files_sends_multipart_and_decodes_validation() {
    let (server, client) = setup().await;
    let answer = json!({"success": true, "data": {"files": [{
        "doc_id": "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4", "type": "invoice",
        "validation": {"page_count": 3, "file_size": 245678, "format": "pdf"}}], "status": "done"}});
    once("POST", "/files/upload")
        .and(is_pdf_upload)
        .respond_with(ok(answer))
        .expect(1)
        .mount(&server)
        .await;
    let response = client
        .files()
        .upload(&[Upload::bytes("invoice.pdf", PDF)])
        .await
        .unwrap();
    let validation = response.files[0].validation.as_ref().unwrap();
    assert_eq!(validation.page_count, Some(3));
    assert_eq!(validation.format.as_deref(), Some("pdf"));
}

#[tokio::test]
async fn starting_jobs_posts_the_document_id() {
    let (server, client) = setup().await;
    for (kind, at) in [
        (DocumentKind::Statement, "/parse/statements"),
        (DocumentKind::Invoice, "/parse/invoices"),
    ] {
        once("POST", at)
            .and(body_json(json!({"document_id": "doc-1"})))
            .respond_with(ok(json!({"success": true, "data": {"job_id": format!("job_{kind}"), "status": "pending"}})))
            .expect(1)
            .mount(&server)
            .await;
        let job = client.start_job(kind, "doc-1").await.unwrap();
        assert_eq!(job.id(), format!("job_{kind}"));
    }
}

#[tokio::test]
async fn statement_status_reads_results_and_invoice_status_reads_both_shapes() {
    let (server, client) = setup().await;
    once("GET", "/parse/statements/job_s")
        .respond_with(ok(
            json!({"success": true, "data": job_json("completed", "results")}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    once("GET", "/parse/invoices/job_bare")
        .respond_with(ok(job_json("completed", "result")))
        .expect(1)
        .mount(&server)
        .await;
    once("GET", "/parse/invoices/job_wrapped")
        .respond_with(ok(
            json!({"success": true, "data": job_json("processing", "result")}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let statement = client
        .job(DocumentKind::Statement, "job_s")
        .status()
        .await
        .unwrap();
    assert_eq!(statement.status, JobStatus::Completed);
    assert_eq!(statement.output().unwrap()["account_no"], "XXXX1234");

    let bare = client
        .job(DocumentKind::Invoice, "job_bare")
        .status()
        .await
        .unwrap();
    let wrapped = client
        .job(DocumentKind::Invoice, "job_wrapped")
        .status()
        .await
        .unwrap();
    assert_eq!(bare.status, JobStatus::Completed);
    assert_eq!(wrapped.status, JobStatus::Processing);
    assert!(bare.output().is_some() && wrapped.output().is_some());
}

#[tokio::test]
async fn general_status_decodes_an_unknown_status() {
    let (server, client) = setup().await;
    once("GET", "/parse/job_q")
        .respond_with(ok(
            json!({"success": true, "data": job_json("queued_for_review", "result")}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let job = client.jobs().get("job_q").await.unwrap();
    assert_eq!(job.status, JobStatus::Unknown("queued_for_review".into()));
    assert_eq!(job.status.to_string(), "queued_for_review");
}

#[tokio::test]
async fn batches_post_up_to_ten_documents() {
    let (server, client) = setup().await;
    let request = BatchRequest {
        files: vec![
            DocumentRef {
                document_id: "d1".into(),
            },
            DocumentRef {
                document_id: "d2".into(),
            },
        ],
        callback_url: None,
    };
    let answer = json!({"success": true, "data": {"batch_id": "batch_123", "status": "pending",
        "job_ids": ["job_1", "job_2"], "created_at": "2024-01-07T10:00:00Z",
        "updated_at": "2024-01-07T10:00:00Z"}});
    for at in ["/parse/statements/batch", "/parse/invoices/batch"] {
        once("POST", at)
            .and(body_json(
                json!({"files": [{"document_id": "d1"}, {"document_id": "d2"}]}),
            ))
            .respond_with(ok(answer.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    let api = client.api();
    let statements = client
        .call(api.process_statements_batch().body(request.clone()).send())
        .await
        .unwrap();
    let invoices = client
        .call(api.process_invoices_batch().body(request).send())
        .await
        .unwrap();
    assert_eq!(statements.data.job_ids, ["job_1", "job_2"]);
    assert_eq!(invoices.data.batch_id, "batch_123");
}

#[tokio::test]
async fn schemas_create_list_get_update() {
    let (server, client) = setup().await;
    let definition = json!({"type": "object"});
    once("POST", "/schemas")
        .and(body_json(json!({"name": "gst-invoice", "type": "invoice",
            "description": "GST invoices", "schema_string": {"type": "object"}})))
        .respond_with(ok(json!({"success": true, "data": schema_json(1)})))
        .expect(1)
        .mount(&server)
        .await;
    once("GET", "/schemas/list")
        .and(query_param("page", "2"))
        .and(query_param("page_size", "50"))
        .and(query_param("type", "bank_statement"))
        .respond_with(ok(
            json!({"success": true, "data": {"schemas": [schema_json(1)],
            "page": 2, "limit": 50, "total": 51}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    once("GET", "/schemas/id/sch_1")
        .respond_with(ok(json!({"success": true, "data": schema_json(1)})))
        .expect(1)
        .mount(&server)
        .await;
    once("PUT", "/schemas/id/sch_1")
        .and(body_json(json!({"schema_string": {"type": "object"}})))
        .respond_with(ok(json!({"success": true, "data": schema_json(2)})))
        .expect(1)
        .mount(&server)
        .await;

    let schemas = client.schemas();
    let created = schemas
        .create("gst-invoice", DocumentKind::Invoice, definition.clone())
        .description("GST invoices")
        .send()
        .await
        .unwrap();
    assert_eq!(created.version.get(), 1);
    let page = schemas
        .list()
        .page(2)
        .page_size(50)
        .kind(DocumentKind::Statement)
        .send()
        .await
        .unwrap();
    assert_eq!((page.limit, page.total), (Some(50), Some(51)));
    let fetched = schemas.get("sch_1").await.unwrap();
    assert_eq!(fetched.name, "gst-invoice");
    let updated = schemas.update("sch_1", definition).send().await.unwrap();
    assert_eq!(updated.version.get(), 2);
}

#[tokio::test]
async fn files_list_get_download_delete() {
    let (server, client) = setup().await;
    once("GET", "/files")
        .and(query_param("page", "1"))
        .and(query_param("page_size", "100"))
        .and(query_param("type", "invoice"))
        .and(query_param("status", "completed"))
        .respond_with(ok(json!({"success": true, "data": {"files": [file_json()],
            "page": 1, "page_size": 100, "total": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    let id = "f663d9ac-6d5b-4cfe-bf30-ac19ad9429e4";
    once("GET", &format!("/files/{id}"))
        .respond_with(ok(json!({"success": true, "data": file_json()})))
        .expect(1)
        .mount(&server)
        .await;
    once("GET", &format!("/files/{id}/download"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/pdf")
                .insert_header(
                    "content-disposition",
                    "attachment; filename=\"invoice.pdf\"",
                )
                .set_body_bytes(PDF),
        )
        .expect(1)
        .mount(&server)
        .await;
    once("DELETE", &format!("/files/{id}"))
        .respond_with(ok(json!({"success": true, "data": {"file_id": id,
            "message": "File deleted successfully"}})))
        .expect(1)
        .mount(&server)
        .await;

    let files = client.files();
    let list = files
        .list()
        .page(1)
        .page_size(100)
        .kind(DocumentKind::Invoice)
        .status(FileStatus::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(list.files[0].status, FileStatus::Completed);
    let file = files.get(id).await.unwrap();
    assert_eq!(file.processed_data.unwrap()["total"], "1,234.56");
    let download = client
        .api()
        .download_file()
        .file_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(download.headers()["content-type"], "application/pdf");
    let bytes = download.into_inner().into_inner();
    let bytes: Vec<u8> =
        futures::TryStreamExt::try_concat(futures::TryStreamExt::map_ok(bytes, |chunk| {
            chunk.to_vec()
        }))
        .await
        .unwrap();
    assert_eq!(bytes, PDF);
    let deleted = files.delete(id).await.unwrap();
    assert_eq!(deleted.file_id, id);
}

#[tokio::test]
async fn error_envelopes_decode_as_object_or_string() {
    let (server, client) = setup().await;
    once("GET", "/schemas/id/missing")
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"success": false,
            "error": {"code": "SCHEMA_NOT_FOUND", "message": "Schema not found"}})),
        )
        .mount(&server)
        .await;
    once("GET", "/parse/invoices/bad")
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"success": false,
            "error": "Invalid job ID provided"})),
        )
        .mount(&server)
        .await;
    let missing = client.schemas().get("missing").await.unwrap_err();
    assert_eq!(missing.status(), Some(reqwest::StatusCode::NOT_FOUND));
    assert_eq!(missing.code(), Some("SCHEMA_NOT_FOUND"));
    let bad = client
        .job(DocumentKind::Invoice, "bad")
        .status()
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(reqwest::StatusCode::BAD_REQUEST));
    assert!(bad.to_string().contains("Invalid job ID provided"), "{bad}");
}

#[test]
fn every_operation_is_generated_or_hand_written() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let spec = invaro_codegen::parse("openapi.yaml", &spec).unwrap();
    invaro_codegen::check_operations("openapi.yaml", &spec).unwrap();
    let generated = include_str!("../src/generated.rs");
    let hand_written = include_str!("../src/generated_ext.rs");
    for op in invaro_codegen::operations(&spec) {
        let name = snake(&op.id);
        let listed = invaro_codegen::HAND_WRITTEN.contains(&op.id.as_str());
        let written = hand_written.contains(&format!("pub async fn {name}("));
        let in_snapshot = generated.contains(&format!("pub fn {name}(&self)"));
        assert_eq!(
            listed, written,
            "{}: HAND_WRITTEN and generated_ext.rs agree",
            op.id
        );
        assert!(
            written != in_snapshot,
            "{} must be generated xor hand-written",
            op.id
        );
    }
}

fn snake(id: &str) -> String {
    id.chars().fold(String::new(), |mut out, c| {
        if c.is_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        out
    })
}
