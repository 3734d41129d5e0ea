//! Webhook deliveries to a receiver on 127.0.0.1: events, order, signature, retries.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Api, builder, json_of};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A receiver that records (signature, body) and fails the first `fail_first` deliveries.
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<(String, Bytes)>,
}

async fn receiver(fail_first: usize) -> Receiver {
    type HookState = (
        mpsc::UnboundedSender<(String, Bytes)>,
        Arc<AtomicUsize>,
        usize,
    );
    async fn hook(
        State((tx, seen, fail_first)): State<HookState>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let signature = headers
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = tx.send((signature, body));
        if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        }
    }
    let (tx, deliveries) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state((tx, Arc::new(AtomicUsize::new(0)), fail_first));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, deliveries }
}

impl Receiver {
    /// The next delivery, within a bounded wait.
    async fn next(&mut self) -> (String, Value) {
        let (signature, body) =
            tokio::time::timeout(Duration::from_secs(5), self.deliveries.recv())
                .await
                .expect("a delivery within 5 s")
                .expect("the receiver is running");
        invaro::webhook::Verifier::new("whsec-test")
            .expect("a secret")
            .verify_signature(&body, &signature)
            .expect("signature over the raw body, as the SDK checks it");
        (
            signature,
            serde_json::from_slice(&body).expect("a JSON payload"),
        )
    }
}

fn webhook_sandbox() -> invaro_sandbox::SandboxBuilder {
    builder().webhook_secret("whsec-test").webhook_retries(
        3,
        Duration::from_millis(5),
        Duration::from_millis(20),
    )
}

#[tokio::test]
async fn job_events_arrive_signed_in_order_with_a_retry() {
    let mut hooks = receiver(1).await;
    let api = Api::start(webhook_sandbox()).await;
    let doc = api.upload("invoice.pdf").await;
    let start = json!({ "document_id": doc, "callback_url": hooks.url });
    let job = json_of(api.post_json("/parse/invoices", &start).await, 200).await["data"]["job_id"]
        .as_str()
        .expect("a job id")
        .to_owned();

    let mut events = Vec::new();
    for _ in 0..5 {
        let (_, payload) = hooks.next().await;
        assert_eq!(payload["job_id"], job.as_str());
        assert_eq!(payload["job_type"], "invoice");
        events.push(payload);
    }
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    // The first delivery was answered 500, so job.created arrives twice.
    assert_eq!(
        names,
        [
            "job.created",
            "job.created",
            "job.started",
            "job.progress",
            "job.completed"
        ]
    );
    let completed = &events[4];
    assert_eq!(completed["status"], "completed");
    assert!(completed["results"]["total_calculation"].is_object());
    assert!(completed["completed_at"].is_string());
    assert!(events[0]["results"].is_null() && events[0]["completed_at"].is_null());
}

#[tokio::test]
async fn a_failing_document_sends_job_failed_for_each_batch_job() {
    let mut hooks = receiver(0).await;
    let api = Api::start(webhook_sandbox()).await;
    let doc = api.upload("fail.pdf").await;
    let batch = json!({ "files": [{ "document_id": doc }], "callback_url": hooks.url });
    json_of(api.post_json("/parse/statements/batch", &batch).await, 200).await;
    let mut last = Value::Null;
    for _ in 0..4 {
        last = hooks.next().await.1;
    }
    assert_eq!(last["event"], "job.failed");
    assert_eq!(last["job_type"], "bank_statement");
    assert!(last["results"].is_null());
}

#[tokio::test]
async fn an_unreachable_callback_is_abandoned_after_the_retries() {
    let api =
        Api::start(webhook_sandbox().webhook_retries(1, Duration::ZERO, Duration::ZERO)).await;
    // A port nothing listens on: bind one, note it, close it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}/hook", closed.local_addr().expect("an address"));
    drop(closed);
    let doc = api.upload("invoice.pdf").await;
    let start = json!({ "document_id": doc, "callback_url": url });
    json_of(api.post_json("/parse/invoices", &start).await, 200).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while api.sandbox.stats().webhooks_abandoned < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "4 events abandoned within 5 s"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(api.sandbox.stats().webhooks_delivered, 0);
}
