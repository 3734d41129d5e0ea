//! The SDK against the sandbox, for every operation of the API.

use futures::TryStreamExt;
use invaro::{
    DocumentKind, Error, JobStatus, RateLimit, Upload,
    generated::types::{
        CreateSchemaRequest, FileStatus, SchemaType, StartJobRequest, UpdateSchemaRequest,
    },
};
use invaro_sandbox::{JobTimings, Sandbox, samples};
use invaro_tests::{start, upload_and_start};
use reqwest::StatusCode;
use serde_json::json;

fn definition() -> serde_json::Map<String, serde_json::Value> {
    json!({"type": "object", "properties": {"total": {"type": "string"}}})
        .as_object()
        .cloned()
        .unwrap()
}

/// A sandbox whose jobs finish at once, and an unthrottled client for it.
async fn start_instant() -> (invaro_sandbox::SandboxHandle, invaro::Client) {
    start(
        Sandbox::builder().job_timings(JobTimings::INSTANT),
        RateLimit::unlimited(),
    )
    .await
}

#[tokio::test]
async fn parse_file_uploads_starts_and_waits_for_both_kinds() {
    let (_sandbox, client) = start_instant().await;
    let dir = std::env::temp_dir().join(format!("invaro-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let invoice = dir.join("invoice.pdf");
    let statement = dir.join("statement.pdf");
    std::fs::write(&invoice, samples::INVOICE_PDF).unwrap();
    std::fs::write(&statement, samples::STATEMENT_PDF).unwrap();

    let parsed = client
        .parse_file(&invoice, DocumentKind::Invoice)
        .await
        .unwrap();
    let typed = parsed.invoice().unwrap();
    assert!(typed.buyer_details.and_then(|b| b.name).is_some());

    let parsed = client
        .parse_file(&statement, DocumentKind::Statement)
        .await
        .unwrap();
    let typed = parsed.statement().unwrap();
    assert!(!typed.transactions.is_empty());
    for transaction in &typed.transactions {
        transaction.amount.as_ref().unwrap().value().unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn status_by_kind_and_by_the_general_route() {
    let (_sandbox, client) = start_instant().await;
    let job = upload_and_start(
        &client,
        DocumentKind::Statement,
        "statement.pdf",
        samples::STATEMENT_PDF,
    )
    .await;
    let by_kind = job.status().await.unwrap();
    let general = client
        .call(client.api().get_general_job_status(job.id()))
        .await
        .unwrap();
    assert_eq!(by_kind.job_id, general.data.job_id);
    assert_eq!(general.data.status, JobStatus::Completed);
    assert!(by_kind.output().is_some() && general.data.output().is_some());

    let wrong_kind = client
        .job(DocumentKind::Invoice, job.id())
        .status()
        .await
        .unwrap_err();
    assert_eq!(wrong_kind.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn a_document_marked_to_fail_fails_with_a_reason() {
    let (_sandbox, client) = start_instant().await;
    let job = upload_and_start(
        &client,
        DocumentKind::Invoice,
        "please-fail.pdf",
        samples::INVOICE_PDF,
    )
    .await;
    match job.wait().await.unwrap_err() {
        Error::JobFailed { job_id, message } => {
            assert_eq!(job_id, job.id());
            assert!(!message.is_empty());
        }
        other => panic!("expected a failed job, got {other:?}"),
    }
}

#[tokio::test]
async fn a_batch_reports_each_document_and_survives_a_failure() {
    let (_sandbox, client) = start_instant().await;
    let files: Vec<Upload> = (0..12)
        .map(|n| {
            let name = if n == 4 {
                "fail-4.pdf".to_string()
            } else {
                format!("{n}.pdf")
            };
            Upload::bytes(name, samples::INVOICE_PDF)
        })
        .collect();
    let ids: Vec<String> = client
        .upload(&files)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.doc_id)
        .collect();
    let report = client
        .parse_batch(DocumentKind::Invoice, &ids)
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 12, "two requests of at most ten");
    assert_eq!(report.succeeded().count(), 11);
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, ids[4]);
    assert!(matches!(failed[0].1, Error::JobFailed { .. }));
    assert!(!report.all_succeeded());

    let statements = client
        .parse_batch(DocumentKind::Statement, &ids[..2])
        .await
        .unwrap();
    assert!(statements.all_succeeded());
}

#[tokio::test]
async fn webhook_callbacks_arrive_signed() {
    use std::sync::{Arc, Mutex};
    // Each delivery: its raw body and its X-Signature header.
    type Deliveries = Arc<Mutex<Vec<(Vec<u8>, String)>>>;
    let received: Deliveries = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let signature = headers
                    .get("x-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                sink.lock().unwrap().push((body.to_vec(), signature));
                let _ = tx.send(());
                async { "ok" }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (sandbox, client) = start(
        Sandbox::builder()
            .job_timings(JobTimings::INSTANT)
            .webhook_secret("whsec_e2e"),
        RateLimit::unlimited(),
    )
    .await;
    let uploaded = client
        .upload(&[Upload::bytes("invoice.pdf", samples::INVOICE_PDF)])
        .await
        .unwrap();
    let started = client
        .call(client.api().process_invoices(&StartJobRequest {
            document_id: uploaded[0].doc_id.clone(),
            callback_url: Some(hook),
        }))
        .await
        .unwrap();

    let verifier = invaro::webhook::Verifier::new(sandbox.webhook_secret()).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events: Vec<_> = received
            .lock()
            .unwrap()
            .iter()
            .map(|(body, signature)| verifier.verify(body, signature).expect("signed"))
            .collect();
        if events
            .iter()
            .any(|e| e.event == invaro::webhook::EventKind::JobCompleted)
        {
            assert!(events.iter().all(|e| e.job_id == started.data.job_id));
            assert!(
                events
                    .iter()
                    .any(|e| e.event == invaro::webhook::EventKind::JobCreated)
            );
            break;
        }
        tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("job.completed arrives within 10 s");
    }
}

#[tokio::test]
async fn schemas_create_list_get_update_and_their_errors() {
    let (_sandbox, client) = start(Sandbox::builder(), RateLimit::unlimited()).await;
    let api = client.api();
    let request = CreateSchemaRequest {
        name: "gst-invoice".parse().unwrap(),
        type_: SchemaType::Invoice,
        description: Some("GST invoices".into()),
        schema_string: definition().into(),
    };
    let created = client.call(api.create_schema(&request)).await.unwrap().data;
    assert_eq!(created.version.get(), 1);
    let duplicate = client.call(api.create_schema(&request)).await.unwrap_err();
    assert_eq!(
        (duplicate.status(), duplicate.code()),
        (Some(StatusCode::CONFLICT), Some("SCHEMA_EXISTS"))
    );

    let listed = client
        .call(api.list_schemas(
            None,
            Some(10.try_into().unwrap()),
            Some(SchemaType::Invoice),
        ))
        .await
        .unwrap()
        .data;
    assert_eq!(listed.schemas.len(), 1);
    assert_eq!(listed.limit, Some(10));

    let fetched = client.call(api.get_schema(&created.id)).await.unwrap().data;
    assert_eq!(fetched.name, "gst-invoice");
    let update = UpdateSchemaRequest {
        description: None,
        schema_string: definition().into(),
    };
    let updated = client
        .call(api.update_schema(&created.id, &update))
        .await
        .unwrap()
        .data;
    assert_eq!(updated.version.get(), 2);

    let missing = client
        .call(api.get_schema("sch_missing"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("SCHEMA_NOT_FOUND"));
}

#[tokio::test]
async fn files_upload_list_get_download_delete() {
    let (_sandbox, client) = start_instant().await;
    let api = client.api();
    let uploaded = client
        .call(api.upload_files(&[
            Upload::bytes("invoice.pdf", samples::INVOICE_PDF),
            Upload::bytes("statement.pdf", samples::STATEMENT_PDF),
        ]))
        .await
        .unwrap()
        .data;
    assert_eq!(uploaded.files.len(), 2);
    let id = uploaded.files[0].doc_id.clone();

    let page = client
        .call(api.list_files(
            Some(1.try_into().unwrap()),
            Some(1.try_into().unwrap()),
            None,
            None,
        ))
        .await
        .unwrap()
        .data;
    assert_eq!((page.files.len(), page.total), (1, Some(2)));

    let record = client.call(api.get_file(&id)).await.unwrap().data;
    assert_eq!(record.filename, "invoice.pdf");

    let download = api.download_file(&id).await.unwrap();
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("invoice.pdf")
    );
    let bytes: Vec<u8> = download
        .into_inner()
        .into_inner()
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(bytes, samples::INVOICE_PDF);

    let deleted = client.call(api.delete_file(&id)).await.unwrap().data;
    assert_eq!(deleted.file_id, id);
    let again = client.call(api.delete_file(&id)).await.unwrap_err();
    assert_eq!(again.status(), Some(StatusCode::CONFLICT));
    let gone = api.download_file(&id).await.map(|_| ()).unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::GONE));
    let deleted_files = client
        .call(api.list_files(None, None, Some(FileStatus::Deleted), None))
        .await
        .unwrap()
        .data;
    assert_eq!(deleted_files.files.len(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_named_in_no_message() {
    let (sandbox, _) = start(Sandbox::builder(), RateLimit::unlimited()).await;
    let client = invaro::Client::builder()
        .api_key("sk_wrong_secret_value")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let e = client
        .job(DocumentKind::Invoice, "job_x")
        .status()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(e.code(), Some("UNAUTHORIZED"));
    assert!(!format!("{e} {e:?}").contains("sk_wrong_secret_value"));
}

#[tokio::test]
async fn the_invoice_status_is_read_enveloped_by_default_and_bare_behind_the_flag() {
    for bare in [false, true] {
        let (_sandbox, client) = start(
            Sandbox::builder()
                .job_timings(JobTimings::INSTANT)
                .invoice_status_bare(bare),
            RateLimit::unlimited(),
        )
        .await;
        let job = upload_and_start(
            &client,
            DocumentKind::Invoice,
            "invoice.pdf",
            samples::INVOICE_PDF,
        )
        .await;
        let status = job.status().await.unwrap();
        assert_eq!(status.status, JobStatus::Completed, "bare: {bare}");
        assert!(status.result.is_some(), "bare: {bare}");
        let parsed = job.wait().await.unwrap();
        assert!(parsed.invoice().is_ok(), "bare: {bare}");
    }
}
