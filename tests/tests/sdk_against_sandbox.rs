//! The SDK against the sandbox, for every operation of the API.

use futures::TryStreamExt;
use invaro::{
    DocumentKind, Error, JobStatus, RateLimit, Upload,
    types::{FileStatus, StartJobRequest},
};
use invaro_sandbox::{JobTimings, Sandbox, samples};
use invaro_tests::{start, upload_and_start};
use reqwest::StatusCode;
use serde_json::json;

fn definition() -> serde_json::Value {
    json!({"type": "object", "properties": {"total": {"type": "string"}}})
}

/// A sandbox whose jobs finish at once, and an unthrottled client for it.
async fn start_instant() -> (invaro_sandbox::Sandbox, invaro::Client) {
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
    let general = client.jobs().get(job.id()).await.unwrap();
    assert_eq!(by_kind.job_id, general.job_id);
    assert_eq!(general.status, JobStatus::Completed);
    assert!(by_kind.output().is_some() && general.output().is_some());
    let generated = client
        .call(
            client
                .api()
                .get_general_job_status()
                .job_id(job.id())
                .send(),
        )
        .await
        .unwrap();
    assert_eq!(generated.data, general);

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
    let ids = invaro_tests::upload_ids(&client, &files).await;
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
        .call(
            client
                .api()
                .process_invoices()
                .body(StartJobRequest {
                    document_id: uploaded[0].doc_id.clone(),
                    callback_url: Some(hook),
                })
                .send(),
        )
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
    let schemas = client.schemas();
    let create = || {
        schemas
            .create("gst-invoice", DocumentKind::Invoice, definition())
            .description("GST invoices")
    };
    let created = create().send().await.unwrap();
    assert_eq!(created.version.get(), 1);
    assert_eq!(created.description.as_deref(), Some("GST invoices"));
    let duplicate = create().send().await.unwrap_err();
    assert_eq!(
        (duplicate.status(), duplicate.code()),
        (Some(StatusCode::CONFLICT), Some("SCHEMA_EXISTS"))
    );
    schemas
        .create("gst-statement", DocumentKind::Statement, definition())
        .send()
        .await
        .unwrap();

    let listed = schemas
        .list()
        .page_size(10)
        .kind(DocumentKind::Invoice)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.schemas.len(), 1);
    assert_eq!(listed.limit, Some(10));
    let statements = schemas
        .list()
        .kind(DocumentKind::Statement)
        .send()
        .await
        .unwrap();
    assert_eq!(statements.schemas[0].name, "gst-statement");

    let fetched = schemas.get(&created.id).await.unwrap();
    assert_eq!(fetched.name, "gst-invoice");
    let updated = schemas
        .update(&created.id, definition())
        .description("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (updated.version.get(), updated.description.as_deref()),
        (2, Some("v2"))
    );

    let missing = schemas.get("sch_missing").await.unwrap_err();
    assert_eq!(missing.code(), Some("SCHEMA_NOT_FOUND"));
    let not_an_object = schemas
        .create("bad", DocumentKind::Invoice, json!(["total"]))
        .send()
        .await
        .unwrap_err();
    assert!(
        not_an_object.to_string().contains("schema")
            && not_an_object.to_string().contains("object"),
        "{not_an_object}"
    );
}

#[tokio::test]
async fn schema_and_file_lists_stream_every_page_in_order() {
    let (_sandbox, client) = start_instant().await;
    for n in 0..5 {
        client
            .schemas()
            .create(format!("schema-{n}"), DocumentKind::Invoice, definition())
            .send()
            .await
            .unwrap();
    }
    let one_page: Vec<_> = client
        .schemas()
        .list()
        .page_size(100)
        .send()
        .await
        .unwrap()
        .schemas;
    let streamed: Vec<_> = client
        .schemas()
        .list()
        .page_size(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        streamed, one_page,
        "five schemas over three pages, in order"
    );

    let uploads: Vec<_> = (0..3)
        .map(|n| Upload::bytes(format!("f{n}.pdf"), samples::INVOICE_PDF))
        .collect();
    client.files().upload(&uploads).await.unwrap();
    let names: Vec<_> = client
        .files()
        .list()
        .page_size(1)
        .into_stream()
        .map_ok(|file| file.filename)
        .try_collect()
        .await
        .unwrap();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["f0.pdf", "f1.pdf", "f2.pdf"],
        "each file once: {names:?}"
    );

    let bad = client.files().list().page_size(0).send().await.unwrap_err();
    assert!(bad.to_string().contains("page_size"), "{bad}");
}

#[tokio::test]
async fn files_upload_list_get_download_delete() {
    let (_sandbox, client) = start_instant().await;
    let files = client.files();
    let uploaded = files
        .upload(&[
            Upload::bytes("invoice.pdf", samples::INVOICE_PDF),
            Upload::bytes("statement.pdf", samples::STATEMENT_PDF),
        ])
        .await
        .unwrap();
    assert_eq!(uploaded.files.len(), 2);
    let id = uploaded.files[0].doc_id.clone();

    let page = files.list().page(1).page_size(1).send().await.unwrap();
    assert_eq!((page.files.len(), page.total), (1, Some(2)));

    let record = files.get(&id).await.unwrap();
    assert_eq!(record.filename, "invoice.pdf");

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.pdf");
    let written = files.download(&id, &copy).await.unwrap();
    assert_eq!(written, samples::INVOICE_PDF.len() as u64);
    assert_eq!(std::fs::read(&copy).unwrap(), samples::INVOICE_PDF);

    let download = client
        .api()
        .download_file()
        .file_id(&id)
        .send()
        .await
        .unwrap();
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

    let deleted = files.delete(&id).await.unwrap();
    assert_eq!(deleted.file_id, id);
    let again = files.delete(&id).await.unwrap_err();
    assert_eq!(again.status(), Some(StatusCode::CONFLICT));
    let gone = files.download(&id, &copy).await.unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::GONE));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        samples::INVOICE_PDF,
        "a failed download keeps the old file"
    );
    let deleted_files = files
        .list()
        .status(FileStatus::Deleted)
        .send()
        .await
        .unwrap();
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

#[tokio::test]
async fn the_sandbox_delivers_to_the_callback_url_the_client_sends() {
    let sandbox = Sandbox::builder()
        .job_timings(JobTimings {
            pending: std::time::Duration::from_millis(100),
            processing: std::time::Duration::from_millis(200),
        })
        .start()
        .await
        .unwrap();
    let receiver = invaro::webhook::Receiver::new(
        invaro::webhook::Verifier::new(sandbox.webhook_secret()).unwrap(),
    );
    let listener = invaro::webhook::Listener::bind("127.0.0.1:0", receiver.clone())
        .await
        .unwrap();
    let client = invaro::Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll(
            invaro::PollPolicy::default()
                .safety_net(std::time::Duration::from_secs(3600))
                .deadline(std::time::Duration::from_secs(30)),
        )
        .webhooks(&receiver, listener.url())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, samples::INVOICE_PDF).unwrap();
    // Polling would not look again within the deadline: only the delivery can end the wait.
    let parsed = client
        .parse_file(&path, DocumentKind::Invoice)
        .await
        .unwrap();
    assert_eq!(parsed.job().status, JobStatus::Completed);
    assert!(sandbox.stats().webhooks_delivered >= 1);
}

#[tokio::test]
async fn wait_with_tells_every_status_change_and_returns_the_result() {
    let (_sandbox, client) = start(
        Sandbox::builder().job_timings(JobTimings {
            pending: std::time::Duration::from_millis(60),
            processing: std::time::Duration::from_millis(120),
        }),
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
    let mut seen = Vec::new();
    let parsed = job
        .wait_with(|update| seen.push((update.status.clone(), update.progress)))
        .await
        .unwrap();
    assert_eq!(
        seen.last().map(|s| &s.0),
        Some(&JobStatus::Completed),
        "{seen:?}"
    );
    assert!(seen.len() >= 2, "saw the job before it completed: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "told of changes only: {seen:?}"
    );
    assert_eq!(parsed.job_id(), job.id());
    assert!(parsed.invoice().is_ok());
}
