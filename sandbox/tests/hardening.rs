//! Safe to leave running: auth before the rate limit, timeouts, bounded shutdown, storage that is
//! given back and capped, uploads charged as they arrive, webhooks kept on loopback, real body
//! cuts; and faithful to real clients: both `schema_string` forms, the invoice status enveloped.

mod common;

use std::time::Duration;

use common::{Api, assert_error, builder, form, json_of};
use invaro_sandbox::samples::INVOICE_PDF;
use invaro_sandbox::{FaultRule, Sandbox};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A generous bound for things that must happen "soon": it proves a deadline, it times nothing.
const SOON: Duration = Duration::from_secs(10);

/// A raw connection to the sandbox, for clients that misbehave.
async fn connect(sandbox: &Sandbox) -> TcpStream {
    TcpStream::connect(sandbox.addr()).await.expect("connects")
}

/// Reads until the server closes the connection (within [`SOON`]) and returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(SOON, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    });
    read.await
        .expect("the server closes the connection in time");
    received
}

/// Reads one response whose body has a Content-Length; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).into_owned();
            let length = content_length(&head).expect("a Content-Length");
            if received.len() >= end + 4 + length {
                return (head, received[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = tokio::time::timeout(SOON, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("reads");
        assert!(n > 0, "closed mid-response: {received:?}");
        received.extend_from_slice(&buffer[..n]);
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

fn authorization(api: &Api, value: &str) -> reqwest::RequestBuilder {
    api.http
        .get(api.url("/files"))
        .header("authorization", value)
}

#[tokio::test]
async fn bad_keys_get_401_under_any_load_and_never_use_up_a_window() {
    let api = Api::start(builder().rate_limit(3, Duration::from_secs(60))).await;
    for n in 0..300 {
        let key = format!("wrong-{n}-{}", "x".repeat(n * 7));
        let response = authorization(&api, &format!("Bearer {key}"))
            .send()
            .await
            .expect("answered");
        assert!(
            response.headers().get("x-ratelimit-remaining").is_none(),
            "a refused key has no window"
        );
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    // The valid key's window is whole after the flood, and once it is used up, bad keys still
    // get 401, not 429.
    for remaining in ["2", "1", "0"] {
        let response = api.get("/files").await;
        assert_eq!(response.headers()["x-ratelimit-remaining"], remaining);
        json_of(response, 200).await;
    }
    assert_error(api.get("/files").await, 429, "RATE_LIMIT_EXCEEDED").await;
    for value in ["Bearer nope", "Basic c2FuZGJveC1rZXk6", "", "Bearer"] {
        let response = authorization(&api, value).send().await.expect("answered");
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    let stats = api.sandbox.stats();
    assert_eq!((stats.responses(401), stats.responses(429)), (304, 1));
}

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_spacing_does_not_dodge_the_limit() {
    let api = Api::start(builder().rate_limit(4, Duration::from_secs(60))).await;
    let spellings = [
        "Bearer sandbox-key",
        "bearer sandbox-key",
        "BEARER  sandbox-key",
        "Bearer \tsandbox-key ",
    ];
    for (spelling, remaining) in spellings.into_iter().zip(["3", "2", "1", "0"]) {
        let response = authorization(&api, spelling)
            .send()
            .await
            .expect("answered");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            remaining,
            "{spelling:?} shares the key's one window"
        );
        json_of(response, 200).await;
    }
    let response = authorization(&api, "bEaReR   sandbox-key")
        .send()
        .await
        .expect("answered");
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED").await;
}

#[tokio::test]
async fn a_client_stalled_mid_header_is_dropped_after_the_header_timeout() {
    let api = Api::start(
        builder()
            .header_timeout(Duration::from_millis(200))
            .body_timeout(Duration::from_secs(3600)),
    )
    .await;
    let mut idle = connect(&api.sandbox).await;
    let mut stalled = connect(&api.sandbox).await;
    stalled
        .write_all(b"GET /api/v1/files HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bea")
        .await
        .expect("writes");
    let sent = read_to_close(&mut stalled).await;
    assert!(
        sent.is_empty() || sent.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&sent)
    );
    read_to_close(&mut idle).await;
    // The server still serves others.
    json_of(api.get("/files").await, 200).await;
}

#[tokio::test]
async fn a_client_stalled_mid_body_gets_408_and_is_dropped() {
    let api = Api::start(builder().body_timeout(Duration::from_millis(200))).await;
    let mut stalled = connect(&api.sandbox).await;
    let head = "POST /api/v1/parse/invoices HTTP/1.1\r\nHost: sandbox\r\n\
                Authorization: Bearer sandbox-key\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"document_id\":";
    stalled.write_all(head.as_bytes()).await.expect("writes");
    let sent = read_to_close(&mut stalled).await;
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"REQUEST_TIMEOUT\""), "{text}");
    assert_eq!(api.sandbox.stats().responses(408), 1);
    assert_eq!(api.sandbox.stats().jobs_created, 0);
}

#[tokio::test]
async fn shutdown_ends_within_its_grace_whatever_clients_hold_open() {
    let api = Api::start(
        builder()
            .header_timeout(Duration::from_secs(3600))
            .body_timeout(Duration::from_secs(3600))
            .shutdown_grace(Duration::from_millis(100)),
    )
    .await;
    let request = "GET /api/v1/files HTTP/1.1\r\nHost: sandbox\r\n\
                   Authorization: Bearer sandbox-key\r\n\r\n";
    let mut clients = Vec::new();
    for n in 0..20 {
        let mut stream = connect(&api.sandbox).await;
        // One whole request first, so the connection is surely being served.
        stream.write_all(request.as_bytes()).await.expect("writes");
        let (head, _) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // Then half of a header, or a header and half of a body.
        let stall = if n % 2 == 0 {
            "GET /api/v1/files HTTP/1.1\r\nHost: sand".to_owned()
        } else {
            "POST /api/v1/parse/invoices HTTP/1.1\r\nHost: sandbox\r\n\
             Authorization: Bearer sandbox-key\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{"
                .to_owned()
        };
        stream.write_all(stall.as_bytes()).await.expect("writes");
        clients.push(stream);
    }
    assert_eq!(api.sandbox.holdings().connections, 20);
    let Api { sandbox, .. } = api;
    tokio::time::timeout(SOON, sandbox.shutdown())
        .await
        .expect("shutdown ends within its grace, not the clients' timeouts")
        .expect("a clean shutdown");
    for stream in &mut clients {
        read_to_close(stream).await;
    }
}

#[tokio::test]
async fn deleted_uploads_give_their_bytes_back_and_still_answer_410() {
    let api = Api::default().await;
    let mut file = INVOICE_PDF.to_vec();
    file.resize(2 * 1024 * 1024, b' ');
    let files: Vec<(&str, &[u8])> = ["1.pdf", "2.pdf", "3.pdf", "4.pdf", "5.pdf"]
        .into_iter()
        .map(|name| (name, file.as_slice()))
        .collect();
    let ids = api.upload_to("/files/upload", &files).await;
    let held = api.sandbox.holdings();
    assert_eq!(held.file_bytes, 5 * file.len() as u64);
    assert_eq!(held.files, 5);

    for id in &ids {
        let response = api
            .request(Method::DELETE, &format!("/files/{id}"))
            .send()
            .await
            .expect("answered");
        json_of(response, 200).await;
    }
    let held = api.sandbox.holdings();
    assert_eq!(held.file_bytes, 0, "deleted files hold no content");
    assert_eq!(held.files, 5, "their records stay");
    assert_error(
        api.get(&format!("/files/{}/download", ids[0])).await,
        410,
        "FILE_DELETED",
    )
    .await;
    let record = json_of(api.get(&format!("/files/{}", ids[0])).await, 200).await;
    assert_eq!(record["data"]["status"], "deleted");
    assert_eq!(record["data"]["size"], file.len() as u64);

    let report = api
        .http
        .get(format!("http://{}/sandbox/holdings", api.sandbox.addr()))
        .bearer_auth(api.sandbox.api_key())
        .send()
        .await
        .expect("answered");
    let report = json_of(report, 200).await;
    assert_eq!(report["file_bytes"], 0);
    assert_eq!(report["files"], 5);
    let anonymous = api
        .http
        .get(format!("http://{}/sandbox/holdings", api.sandbox.addr()))
        .send()
        .await
        .expect("answered");
    assert_error(anonymous, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn the_storage_cap_refuses_an_upload_with_507_and_stores_nothing() {
    let megabyte = 1024 * 1024;
    let api = Api::start(builder().max_storage_bytes(3 * megabyte)).await;
    let mut file = INVOICE_PDF.to_vec();
    file.resize(2 * megabyte, b' ');
    let first = api.upload_to("/parse/upload", &[("a.pdf", &file)]).await;
    for path in ["/parse/upload", "/files/upload"] {
        let response = api
            .request(Method::POST, path)
            .multipart(form(&[("b.pdf", &file)]))
            .send()
            .await
            .expect("answered, not cut off");
        let body = assert_error(response, 507, "STORAGE_FULL").await;
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--max-storage-mb")),
            "{body}"
        );
    }
    assert_eq!(api.sandbox.holdings().file_bytes, file.len() as u64);
    let listed = json_of(api.get("/files").await, 200).await;
    assert_eq!(listed["data"]["total"], 1);

    let delete = api
        .request(Method::DELETE, &format!("/files/{}", first[0]))
        .send()
        .await;
    json_of(delete.expect("answered"), 200).await;
    api.upload_to("/parse/upload", &[("b.pdf", &file)]).await;
}

#[tokio::test]
async fn an_upload_is_charged_part_by_part_and_stops_at_the_first_broken_rule() {
    let pdf: &[u8] = INVOICE_PDF;
    let mut too_big = INVOICE_PDF.to_vec();
    too_big.resize(64 * 1024, b' ');
    let upload = |api: &Api, files: &[(&str, &[u8])]| {
        api.request(Method::POST, "/files/upload")
            .multipart(form(files))
            .send()
    };

    // The limit runs out at the fourth file: refused before that file is read, so its being
    // too large never comes up.
    let api = Api::start(
        builder()
            .rate_limit(3, Duration::from_secs(60))
            .max_file_bytes(32 * 1024),
    )
    .await;
    let files = [
        ("1.pdf", pdf),
        ("2.pdf", pdf),
        ("3.pdf", pdf),
        ("4.pdf", &too_big),
    ];
    let response = upload(&api, &files).await.expect("answered");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(api.sandbox.holdings().files, 0, "nothing stored");

    // A size rule broken by the second file stops the reading there: the files after it are
    // neither read nor charged.
    let api = Api::start(
        builder()
            .rate_limit(10, Duration::from_secs(60))
            .max_file_bytes(32 * 1024),
    )
    .await;
    let files = [
        ("1.pdf", pdf),
        ("2.pdf", &too_big),
        ("3.pdf", pdf),
        ("4.pdf", pdf),
    ];
    let response = upload(&api, &files).await.expect("answered");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "8");
    assert_error(response, 400, "UPLOAD_ERROR").await;
    assert_eq!(api.sandbox.holdings().files, 0, "nothing stored");
}

#[tokio::test]
async fn webhooks_go_to_loopback_only_unless_a_host_is_allowed() {
    let api = Api::default().await;
    let doc = api.upload("invoice.pdf").await;
    for url in [
        "http://example.com/hook",
        "http://10.1.2.3:8080/hook",
        "http://[fe80::1]/hook",
    ] {
        let start = json!({ "document_id": doc, "callback_url": url });
        let body = assert_error(
            api.post_json("/parse/invoices", &start).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--webhook-allow-host")),
            "{body}"
        );
        let batch = json!({ "files": [{ "document_id": doc }], "callback_url": url });
        let response = api.post_json("/parse/statements/batch", &batch).await;
        assert_error(response, 400, "VALIDATION_ERROR").await;
    }
    assert_eq!(api.sandbox.stats().jobs_created, 0, "no job was started");
}

#[tokio::test]
async fn a_callback_that_redirects_is_not_followed() {
    use axum::http::{StatusCode, header::LOCATION};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // The redirect's target counts what reaches it: nothing may.
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let target = axum::Router::new().route(
        "/elsewhere",
        axum::routing::post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::NO_CONTENT }
        }),
    );
    let target_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let elsewhere = format!(
        "http://{}/elsewhere",
        target_listener.local_addr().expect("an address")
    );
    tokio::spawn(async move { axum::serve(target_listener, target).await });
    let redirect = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let location = elsewhere.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let hook = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, redirect).await });

    let api = Api::start(builder().webhook_retries(0, Duration::ZERO, Duration::ZERO)).await;
    let doc = api.upload("invoice.pdf").await;
    let start = json!({ "document_id": doc, "callback_url": hook });
    json_of(api.post_json("/parse/invoices", &start).await, 200).await;
    let deadline = tokio::time::Instant::now() + SOON;
    while api.sandbox.stats().webhooks_abandoned < 4 {
        assert!(tokio::time::Instant::now() < deadline, "4 events abandoned");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(api.sandbox.stats().webhooks_delivered, 0);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_truncated_body_announces_its_full_length_and_is_cut() {
    let api = Api::start(builder().fault(FaultRule::truncate().on("getFile"))).await;
    let doc = api.upload("invoice.pdf").await;
    let mut stream = connect(&api.sandbox).await;
    let request = format!(
        "GET /api/v1/files/{doc} HTTP/1.1\r\nHost: sandbox\r\n\
         Authorization: Bearer sandbox-key\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let sent = read_to_close(&mut stream).await;
    let end = sent
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    let head = String::from_utf8_lossy(&sent[..end]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let announced = content_length(&head).expect("the full length is announced");
    let body = &sent[end + 4..];
    assert!(
        !body.is_empty() && body.len() < announced,
        "{} of {announced} bytes sent",
        body.len()
    );
    assert!(body.starts_with(b"{\"success\":true"));
}

#[tokio::test]
async fn schema_string_is_accepted_as_an_object_or_a_string_holding_one() {
    let api = Api::default().await;
    let definition = json!({ "type": "object", "properties": { "total": { "type": "string" } } });
    let as_text = definition.to_string();
    let mut ids = Vec::new();
    for (name, sent) in [("object", definition.clone()), ("string", json!(as_text))] {
        let create = json!({ "name": name, "type": "invoice", "schema_string": sent });
        let created = json_of(api.post_json("/schemas", &create).await, 200).await;
        let stored: Value = serde_json::from_str(
            created["data"]["schema_string"]
                .as_str()
                .expect("a string in responses"),
        )
        .expect("holding JSON");
        assert_eq!(stored, definition, "{name}");
        ids.push(created["data"]["id"].as_str().expect("an id").to_owned());
    }
    let changed = json!({ "type": "object", "required": ["total"] });
    for (id, sent) in ids
        .iter()
        .zip([json!(changed.to_string()), changed.clone()])
    {
        let update = api
            .request(Method::PUT, &format!("/schemas/id/{id}"))
            .json(&json!({ "schema_string": sent }))
            .send()
            .await
            .expect("answered");
        let updated = json_of(update, 200).await;
        assert_eq!(updated["data"]["version"], 2);
        assert_eq!(updated["data"]["schema_string"], changed.to_string());
    }
    for bad in [json!("not json"), json!("[1, 2]"), json!(5), json!(["a"])] {
        let create = json!({ "name": "bad", "type": "invoice", "schema_string": bad });
        let response = api.post_json("/schemas", &create).await;
        assert_error(response, 400, "VALIDATION_ERROR").await;
    }
}

#[tokio::test]
async fn the_invoice_status_is_enveloped_by_default_and_bare_behind_the_flag() {
    for (bare, api) in [
        (false, Api::default().await),
        (true, Api::start(builder().invoice_status_bare(true)).await),
    ] {
        let job = api
            .start_job("invoices", &api.upload("invoice.pdf").await)
            .await;
        let body = json_of(api.get(&format!("/parse/invoices/{job}")).await, 200).await;
        let job_view = if bare { &body } else { &body["data"] };
        assert_eq!(body.get("success").is_none(), bare, "{body}");
        assert_eq!(job_view["job_id"], job.as_str(), "{body}");
        assert_eq!(job_view["status"], "completed", "{body}");
    }
}

/// Waits (within [`SOON`]) until the sandbox reports `count` open connections.
async fn until_connections(sandbox: &Sandbox, count: u64) {
    let deadline = tokio::time::Instant::now() + SOON;
    while sandbox.holdings().connections != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} connections open, not {count}",
            sandbox.holdings().connections
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answer_is_dropped_after_the_write_timeout() {
    let megabyte = 1024 * 1024;
    let api = Api::start(
        builder()
            .max_file_bytes(32 * megabyte)
            .header_timeout(Duration::from_millis(300))
            .write_timeout(Duration::from_millis(200)),
    )
    .await;
    let mut file = INVOICE_PDF.to_vec();
    // More than the kernel's socket buffers take in, so that the answer really waits.
    file.resize(24 * megabyte, b' ');
    let id = api.upload_to("/files/upload", &[("big.pdf", &file)]).await[0].clone();
    // The uploading client's idle connection goes after the header timeout.
    until_connections(&api.sandbox, 0).await;

    let mut reader = connect(&api.sandbox).await;
    let request = format!(
        "GET /api/v1/files/{id}/download HTTP/1.1\r\nHost: sandbox\r\n\
         Authorization: Bearer sandbox-key\r\n\r\n"
    );
    reader.write_all(request.as_bytes()).await.expect("writes");
    until_connections(&api.sandbox, 1).await;
    // Nothing is read until the sandbox has let the connection go.
    until_connections(&api.sandbox, 0).await;
    let received = read_to_close(&mut reader).await;
    assert!(
        received.len() < file.len(),
        "{} of {} bytes arrived",
        received.len(),
        file.len()
    );
}
