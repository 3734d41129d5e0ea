//! How the SDK behaves when the network and the server misbehave: retries, timeouts, decode
//! errors, job waits, the shared rate limiter, upload checks, and keeping the key secret.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use invaro::{Client, DocumentKind, Error, JobStatus, PollPolicy, RateLimit, RetryPolicy, Upload};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path, path_regex},
};

const KEY: &str = "sk_live_DO_NOT_LEAK_4242";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .max_server_delay(Duration::from_millis(20))
}

fn fast_polls() -> PollPolicy {
    PollPolicy::default()
        .first_check(Duration::from_millis(2))
        .max_interval(Duration::from_millis(10))
}

fn client_for(base: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .retry(fast_retries())
        .poll(fast_polls())
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings")
}

async fn mock_server() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&format!("{}/api/v1", server.uri()));
    (server, client)
}

fn job(status: &str) -> Value {
    json!({"success": true, "data": {"job_id": "job_1", "status": status, "progress": 50,
        "results": {"account_no": "1234"}, "error": "page 2 is unreadable"}})
}

fn started() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"success": true, "data": {"job_id": "job_1", "status": "pending"}}))
}

fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_json(json!({"success": false,
        "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}}))
}

async fn requests_to(server: &MockServer, at: &str) -> usize {
    let received = server.received_requests().await.unwrap_or_default();
    received.iter().filter(|r| r.url.path() == at).count()
}

#[tokio::test]
async fn a_get_answered_503_is_sent_again() {
    let (server, client) = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(job("processing")))
        .mount(&server)
        .await;
    let job = client
        .job(DocumentKind::Statement, "job_1")
        .status()
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(
        requests_to(&server, "/api/v1/parse/statements/job_1").await,
        2
    );
}

#[tokio::test]
async fn a_post_answered_429_is_sent_again_and_starts_one_job() {
    for retry_after in [Some("1"), None] {
        let (server, client) = mock_server().await;
        let refusal = match retry_after {
            Some(seconds) => rate_limited().insert_header("retry-after", seconds),
            None => rate_limited(),
        };
        Mock::given(method("POST"))
            .respond_with(refusal)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        // The job is created only by the answer that is not a 429.
        Mock::given(method("POST"))
            .respond_with(started())
            .expect(1)
            .mount(&server)
            .await;
        let job = client
            .start_job(DocumentKind::Invoice, "doc")
            .await
            .unwrap();
        assert_eq!(job.id(), "job_1");
        assert_eq!(requests_to(&server, "/api/v1/parse/invoices").await, 2);
    }
}

#[tokio::test]
async fn a_post_answered_500_is_not_sent_again() {
    let (server, client) = mock_server().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"success": false,
            "error": {"code": "INTERNAL_SERVER_ERROR", "message": "boom"}})),
        )
        .mount(&server)
        .await;
    let e = client
        .start_job(DocumentKind::Statement, "doc")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(reqwest::StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(e.code(), Some("INTERNAL_SERVER_ERROR"));
    assert!(
        !e.is_retryable(),
        "a POST that may have reached the server is not safe to send again"
    );
    assert_eq!(requests_to(&server, "/api/v1/parse/statements").await, 1);
}

#[tokio::test]
async fn a_get_is_sent_again_after_a_connection_reset_and_a_post_is_not() {
    let body = job("completed").to_string();
    let ok = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let (base, connections) = scripted(vec![None, Some(ok)]).await;
    let client = client_for(&base);
    let job = client
        .job(DocumentKind::Statement, "job_1")
        .status()
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(connections.load(Ordering::SeqCst), 2);

    let (base, connections) = scripted(vec![None, None]).await;
    let e = client_for(&base)
        .start_job(DocumentKind::Statement, "doc")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        !e.is_retryable(),
        "the caller must not repeat a POST that may have arrived"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "a POST that may have arrived is not repeated"
    );
}

#[tokio::test]
async fn an_attempt_slower_than_the_timeout_is_abandoned_and_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(job("completed"))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .read_timeout(Duration::from_millis(100))
        .retry(fast_retries().max_attempts(2))
        .build()
        .unwrap();
    let e = client
        .job(DocumentKind::Invoice, "job_1")
        .status()
        .await
        .unwrap_err();
    match &e {
        Error::Transport { source, .. } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(
        requests_to(&server, "/api/v1/parse/invoices/job_1").await,
        2
    );
}

#[tokio::test]
async fn bodies_that_do_not_decode_keep_their_status_and_start() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/truncated"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"success": true, "data": {"job_id": "job_9", "stat"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/parse/html"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"),
        )
        .mount(&server)
        .await;
    for (id, expected) in [
        ("truncated", "\"job_id\": \"job_9\""),
        ("html", "<html>maintenance"),
    ] {
        let e = client.jobs().get(id).await.unwrap_err();
        match &e {
            Error::Decode { status, body, .. } => {
                assert_eq!(*status, Some(reqwest::StatusCode::OK));
                assert!(body.contains(expected), "{body}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert!(!e.is_retryable());
    }
}

/// Answers a job's status calls with the given statuses, one per call, then the last forever.
struct Statuses(Mutex<Vec<&'static str>>);

impl Respond for Statuses {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut left = self.0.lock().unwrap();
        let status = if left.len() > 1 {
            left.remove(0)
        } else {
            left[0]
        };
        ResponseTemplate::new(200).set_body_json(job(status))
    }
}

async fn job_answering(statuses: Vec<&'static str>) -> (MockServer, Client) {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/statements/job_1"))
        .respond_with(Statuses(Mutex::new(statuses)))
        .mount(&server)
        .await;
    (server, client)
}

#[tokio::test]
async fn a_job_is_seen_pending_then_processing_then_completed() {
    let (_server, client) =
        job_answering(vec!["pending", "pending", "processing", "completed"]).await;
    let job = client.job(DocumentKind::Statement, "job_1");
    let seen: Vec<JobStatus> = job
        .updates()
        .map(|update| update.unwrap().status)
        .collect()
        .await;
    assert_eq!(
        seen,
        [
            JobStatus::Pending,
            JobStatus::Processing,
            JobStatus::Completed
        ]
    );
    let parsed = job.wait().await.unwrap();
    assert_eq!(parsed.output().unwrap()["account_no"], "1234");
}

#[tokio::test]
async fn a_failed_job_is_an_error_with_its_id_and_reason() {
    let (_server, client) = job_answering(vec!["processing", "failed"]).await;
    let e = client
        .job(DocumentKind::Statement, "job_1")
        .wait()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::JobFailed { job_id, message }
        if job_id == "job_1" && message == "page 2 is unreadable"),
        "{e:?}"
    );
    assert_eq!(e.job_id(), Some("job_1"));
}

#[tokio::test]
async fn a_wait_that_times_out_can_be_resumed_by_id() {
    let (server, _) = job_answering(vec!["processing"]).await;
    let impatient = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .poll(fast_polls().deadline(Duration::from_millis(50)))
        .build()
        .unwrap();
    let e = impatient
        .job(DocumentKind::Statement, "job_1")
        .wait()
        .await
        .unwrap_err();
    let Error::WaitTimeout {
        job_id,
        polls,
        last_status,
        ..
    } = &e
    else {
        panic!("expected a timeout, got {e:?}");
    };
    assert_eq!(
        (job_id.as_str(), last_status),
        ("job_1", &Some(JobStatus::Processing))
    );
    assert!(*polls >= 1);
    assert!(e.to_string().contains("job_1"));

    server.reset().await;
    Mock::given(path("/api/v1/parse/statements/job_1"))
        .respond_with(Statuses(Mutex::new(vec!["completed"])))
        .mount(&server)
        .await;
    let patient = client_for(&format!("{}/api/v1", server.uri()));
    let resumed = patient.job(DocumentKind::Statement, job_id.clone());
    assert_eq!(resumed.wait().await.unwrap().job_id(), "job_1");
}

/// A server that allows `limit` requests per fixed `window` and counts the 429s it sends.
struct Limited {
    limit: usize,
    window: Duration,
    started: std::time::Instant,
    seen: Mutex<Vec<(u128, usize)>>,
    refused: AtomicUsize,
    polls: Mutex<std::collections::HashMap<String, u32>>,
}

impl Respond for Limited {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let window = self.started.elapsed().as_millis() / self.window.as_millis();
        {
            let mut seen = self.seen.lock().unwrap();
            match seen.last_mut() {
                Some((w, count)) if *w == window => *count += 1,
                _ => seen.push((window, 1)),
            }
            if seen.last().unwrap().1 > self.limit {
                self.refused.fetch_add(1, Ordering::SeqCst);
                return rate_limited();
            }
        }
        // Each job completes on its third status call.
        let id = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut polls = self.polls.lock().unwrap();
        let n = polls.entry(id.clone()).or_default();
        *n += 1;
        let status = if *n >= 3 { "completed" } else { "processing" };
        ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"job_id": id, "status": status, "result": {}}}))
    }
}

#[tokio::test]
async fn a_hundred_concurrent_waits_stay_under_the_servers_limit() {
    let server = MockServer::start().await;
    let limited = Arc::new(Limited {
        limit: 40,
        window: Duration::from_millis(200),
        started: std::time::Instant::now(),
        seen: Mutex::default(),
        refused: AtomicUsize::new(0),
        polls: Mutex::default(),
    });
    Mock::given(path_regex("^/api/v1/parse/invoices/job_"))
        .respond_with(SharedResponder(limited.clone()))
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(RateLimit::new(40, Duration::from_millis(200)))
        .poll(fast_polls())
        .build()
        .unwrap();
    let waits = (0..100).map(|n| {
        let job = client.job(DocumentKind::Invoice, format!("job_{n}"));
        async move { job.wait().await }
    });
    let results = futures::future::join_all(waits).await;
    assert!(results.iter().all(Result::is_ok), "every job completes");
    assert_eq!(
        limited.refused.load(Ordering::SeqCst),
        0,
        "no 429 was needed"
    );
    assert_eq!(
        requests_to(&server, "/api/v1/parse/invoices/job_7").await,
        3
    );
}

struct SharedResponder(Arc<Limited>);

impl Respond for SharedResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test]
async fn uploads_are_checked_before_a_byte_is_sent() {
    let (server, client) = mock_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        Upload::path(path)
    };
    let huge = dir.path().join("huge.pdf");
    {
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(invaro::MAX_FILE_BYTES + 1).unwrap();
    }
    // The size check must not be fooled by a PDF header: write one at the start.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"%PDF-1.4"))
        .unwrap();
    let many: Vec<Upload> = (0..51)
        .map(|n| Upload::bytes(format!("{n}.pdf"), PDF))
        .collect();
    let cases: Vec<(Vec<Upload>, &str)> = vec![
        (vec![], "at least one file"),
        (many, "at most 50"),
        (vec![file("empty.pdf", b"")], "empty.pdf: is empty"),
        (vec![Upload::path(huge)], "at most 10485760"),
        (
            vec![file("notes.pdf", b"just text, not a PDF")],
            "notes.pdf: is not a PDF, JPEG or PNG",
        ),
        (
            vec![Upload::path(dir.path().join("missing.pdf"))],
            "missing.pdf: cannot be read",
        ),
    ];
    for (files, expected) in cases {
        let e = client.upload(&files).await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        assert!(e.to_string().contains(expected), "{e} lacks {expected:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rate_limited_upload_is_sent_again_with_its_files_reopened() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/upload"))
        .respond_with(rate_limited())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/parse/upload"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"files": [{"doc_id": "d1"}, {"doc_id": "d2"}], "status": "done"}})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("scan.png");
    let mut png_bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    png_bytes.extend(std::iter::repeat_n(7u8, 200_000));
    std::fs::write(&png, &png_bytes).unwrap();
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let uploaded = client
        .upload_with_progress(
            &[Upload::path(&png), Upload::bytes("invoice.pdf", PDF)],
            Some(Arc::new(move |p: invaro::UploadProgress| {
                seen.lock().unwrap().push(p)
            })),
        )
        .await
        .unwrap();
    assert_eq!(uploaded.len(), 2);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    for request in received {
        let needle = &png_bytes[..64];
        let found = request.body.windows(needle.len()).any(|w| w == needle);
        assert!(
            found && request.body.len() > png_bytes.len(),
            "each attempt carries the whole file"
        );
    }
    let progress = progress.lock().unwrap();
    let total = (png_bytes.len() + PDF.len()) as u64;
    let last = progress.last().unwrap();
    assert_eq!((last.sent, last.total), (total, total));
}

#[tokio::test]
async fn the_key_never_shows_in_debug_errors_or_traces() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || LogWriter(writer.clone()))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, client) = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"success": false,
            "error": {"code": "UNAUTHORIZED", "message": "Invalid API key"}})),
        )
        .mount(&server)
        .await;
    let unauthorized = client
        .job(DocumentKind::Invoice, "job_1")
        .status()
        .await
        .unwrap_err();
    let unreachable = client_for("http://127.0.0.1:9/api/v1")
        .job(DocumentKind::Invoice, "job_1")
        .status()
        .await
        .unwrap_err();
    let bad_config = Client::builder()
        .api_key(KEY)
        .base_url("http://example.com")
        .build()
        .unwrap_err();
    let texts = [
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{:?}", client.api()),
        format!("{unauthorized} {unauthorized:?}"),
        format!("{unreachable} {unreachable:?}"),
        format!("{bad_config} {bad_config:?}"),
        String::from_utf8_lossy(&logs.lock().unwrap()).into_owned(),
    ];
    for text in texts {
        assert!(
            !text.contains(KEY) && !text.contains("DO_NOT_LEAK"),
            "key leaked in: {text}"
        );
    }
    assert!(!logs.lock().unwrap().is_empty(), "the calls were traced");
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A raw HTTP server on 127.0.0.1 that reads each request, then answers it with the next
/// scripted response, or (for `None`) closes the connection without a word.
async fn scripted(script: Vec<Option<String>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        for answer in script {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            read_request(&mut socket).await;
            if let Some(answer) = answer {
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        }
    });
    (base, connections)
}

async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return;
            }
        }
    }
}
