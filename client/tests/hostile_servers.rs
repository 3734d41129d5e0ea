//! The SDK against servers that answer the way other people's do: 201 and 202 for success,
//! `{"detail": ...}` and HTML for errors, absurd rate-limit headers, dropped connections, bodies
//! cut short, slow links, jobs not visible yet. Each server here is scripted on 127.0.0.1 and
//! counts what it saw, so the tests assert on attempts, their timing and their effects.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use invaro::{Client, DocumentKind, Error, JobStatus, PollPolicy, RateLimit, RetryPolicy, Upload};
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const KEY: &str = "sk_test_hostile";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    at: Instant,
    body_len: usize,
}

/// What the server does with one connection.
enum Reply {
    /// Answer with this status, headers and body, then close.
    Answer(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close without a word once the request is in.
    Drop,
    /// Announce `announced` bytes of body, send `body`, close.
    Cut(Vec<u8>, usize),
    /// Send the body in pieces with a pause between them.
    Trickle(Vec<u8>, usize, Duration),
    /// Read the request body slowly (a slow uplink), then answer.
    ReadSlowly(Duration, Box<Reply>),
}

fn json(status: u16, body: &str) -> Reply {
    Reply::Answer(
        status,
        vec![("content-type", "application/json".into())],
        body.as_bytes().to_vec(),
    )
}

type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A server on 127.0.0.1 that answers each connection as `script` says, given the request
/// and how many came before it.
struct Scripted {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move { serve(socket, &*script, &log).await });
            }
        });
        Self { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn client(&self) -> invaro::ClientBuilder {
        Client::builder()
            .api_key(KEY)
            .base_url(&self.base)
            .rate_limit(RateLimit::unlimited())
            .retry(quick_retries())
            .poll(quick_polls())
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(4)
        .initial_delay(Duration::from_millis(40))
        .max_delay(Duration::from_millis(200))
        .max_server_delay(Duration::from_millis(300))
        .budget(Duration::from_secs(5))
}

fn quick_polls() -> PollPolicy {
    PollPolicy::default()
        .first_check(Duration::from_millis(10))
        .max_interval(Duration::from_millis(30))
        .deadline(Duration::from_secs(5))
}

async fn serve(mut socket: TcpStream, script: &Script, log: &Mutex<Vec<Seen>>) {
    let Some((seen, body_left)) = read_head(&mut socket).await else {
        return;
    };
    // Logged as soon as the head is in, so a client that gives up early is still counted.
    let n = {
        let mut log = log.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let (reply, pause) = match script(&seen, n) {
        Reply::ReadSlowly(pause, then) => (*then, Some(pause)),
        reply => (reply, None),
    };
    let body_len = drain(&mut socket, body_left, pause).await;
    log.lock().unwrap()[n].body_len = body_len;
    let _ = respond(&mut socket, reply).await;
}

async fn respond(socket: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Answer(status, headers, body) => {
            let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body).await
        }
        Reply::Drop => Ok(()),
        Reply::Cut(body, announced) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/pdf\r\ncontent-length: {announced}\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body).await
        }
        Reply::Trickle(body, pieces, pause) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/pdf\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            for piece in body.chunks(body.len().div_ceil(pieces)) {
                tokio::time::sleep(pause).await;
                socket.write_all(piece).await?;
                socket.flush().await?;
            }
            Ok(())
        }
        Reply::ReadSlowly(_, then) => Box::pin(respond(socket, *then)).await,
    }
}

/// Reads a request's head; returns it and how many body bytes follow.
async fn read_head(socket: &mut TcpStream) -> Option<(Seen, usize)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let length = text
        .lines()
        .find_map(|l| {
            let l = l.to_ascii_lowercase();
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let seen = Seen {
        method,
        path,
        at: Instant::now(),
        body_len: 0,
    };
    Some((seen, length))
}

/// Reads `left` body bytes, pausing after each 16 KiB when asked to.
async fn drain(socket: &mut TcpStream, mut left: usize, pause: Option<Duration>) -> usize {
    let mut read = 0;
    let mut buf = vec![0u8; 16 * 1024];
    while left > 0 {
        let want = left.min(buf.len());
        match socket.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                left -= n;
                read += n;
            }
        }
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
    read
}

const STARTED: &str = r#"{"success": true, "data": {"job_id": "job_1", "status": "pending"}}"#;

fn job_body(status: &str) -> String {
    format!(
        r#"{{"success": true, "data": {{"job_id": "job_1", "status": "{status}", "result": {{"account_no": "1"}}}}}}"#
    )
}

// --- Responses the client must accept -------------------------------------------------------

#[tokio::test]
async fn every_2xx_with_the_success_body_is_a_success() {
    let schema = r#"{"success": true, "data": {"id": "s1", "name": "n", "type": "invoice",
        "schema_string": "{}", "version": 1, "is_active": true}}"#;
    let server = Scripted::start(
        move |seen, _| match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/api/v1/parse/invoices") => json(202, STARTED),
            ("POST", "/api/v1/schemas") => json(201, schema),
            // Not declared anywhere: still a success when the body is the success body.
            ("GET", _) => json(203, &job_body("completed")),
            _ => json(500, "{}"),
        },
    )
    .await;
    let client = server.client().build().unwrap();
    let job = client
        .start_job(DocumentKind::Invoice, "doc")
        .await
        .unwrap();
    assert_eq!(job.id(), "job_1");
    let status = job.status().await.unwrap();
    assert_eq!(status.status, JobStatus::Completed);
    let created = client
        .schemas()
        .create("n", DocumentKind::Invoice, serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.id, "s1");
    let posts = server.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 2, "each POST was sent once");
}

#[tokio::test]
async fn error_statuses_are_api_errors_whatever_their_body() {
    let cases: Vec<(u16, &'static str, &'static str, &'static str)> = vec![
        (
            503,
            "text/html",
            "<html><body>502 Bad Gateway by nginx</body></html>",
            "Service Unavailable",
        ),
        (500, "application/json", "", "Internal Server Error"),
        (
            422,
            "application/json",
            r#"{"detail": [{"loc": ["body", "file_id"], "msg": "field required"}]}"#,
            "field required",
        ),
        (
            404,
            "application/json",
            r#"{"detail": "Not Found"}"#,
            "Not Found",
        ),
        (
            401,
            "application/json",
            r#"{"detail": {"message": "bad key"}}"#,
            "bad key",
        ),
    ];
    for (status, content_type, body, expected) in cases {
        let server = Scripted::start(move |_, _| {
            Reply::Answer(
                status,
                vec![("content-type", content_type.into())],
                body.into(),
            )
        })
        .await;
        let client = server.client().build().unwrap();
        let e = client
            .job(DocumentKind::Statement, "job_1")
            .status()
            .await
            .unwrap_err();
        let Error::Api(api) = &e else {
            panic!("{status}: expected an API error, got {e:?}");
        };
        assert_eq!(api.status.as_u16(), status);
        assert!(e.to_string().contains(expected), "{status}: {e}");
        if !body.is_empty() && !body.contains("\"detail\"") {
            assert!(api.body.as_deref().unwrap().contains("nginx"), "{api:?}");
        }
        let attempts = server.seen().len();
        let transient = matches!(status, 500 | 503);
        assert_eq!(attempts, if transient { 4 } else { 1 }, "{status}");
        assert_eq!(e.is_retryable(), transient, "{status}");
    }
}

#[tokio::test]
async fn a_429_whose_body_is_not_the_envelope_is_rate_limited_and_retried() {
    let server = Scripted::start(|_, n| match n {
        0 => Reply::Answer(
            429,
            vec![
                ("content-type", "application/json".into()),
                ("retry-after", "0".into()),
            ],
            br#"{"detail": "Rate limit exceeded: 60 per 1 minute"}"#.to_vec(),
        ),
        _ => json(200, &job_body("processing")),
    })
    .await;
    let client = server.client().build().unwrap();
    let job = client
        .job(DocumentKind::Statement, "job_1")
        .status()
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(server.seen().len(), 2);

    let refusing = Scripted::start(|_, _| {
        Reply::Answer(
            429,
            vec![("content-type", "text/html".into())],
            b"<h1>slow down</h1>".to_vec(),
        )
    })
    .await;
    let e = refusing
        .client()
        .build()
        .unwrap()
        .start_job(DocumentKind::Invoice, "doc")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::RateLimited(_)), "{e:?}");
    assert_eq!(e.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(e.is_retryable());
    assert_eq!(
        refusing.seen().len(),
        4,
        "a refused POST did nothing: it is sent again"
    );
}

#[tokio::test]
async fn numbers_beyond_f64_and_i64_are_kept_exactly() {
    let body = r#"{"success": true, "data": {"job_id": "job_1", "status": "completed",
        "result": {"account_no": 123456789012345678901234567890, "closing_balance": 1e400,
        "transactions": [{"amount": 12345678901234567890.125, "balance": 10.5}]}}}"#;
    let server = Scripted::start(move |_, _| json(200, body)).await;
    let client = server.client().build().unwrap();
    let job = client
        .job(DocumentKind::Statement, "job_1")
        .wait()
        .await
        .unwrap();
    let output = job.output().unwrap();
    assert_eq!(output["account_no"], "123456789012345678901234567890");
    assert_eq!(output["closing_balance"], "1e400");
    let statement = job.statement().unwrap();
    let amount = statement.transactions[0].amount.as_ref().unwrap();
    assert_eq!(amount.as_str(), "12345678901234567890.125");
    assert_eq!(
        statement.account_no.as_deref(),
        Some("123456789012345678901234567890")
    );
}

// --- Headers that must never crash or freeze the client -------------------------------------

/// A 429 carrying `headers`, then success.
async fn refused_once_with(
    headers: Vec<(&'static str, String)>,
) -> (Scripted, Result<(), Error>, Duration) {
    let server = Scripted::start(move |_, n| match n {
        0 => {
            let mut all = headers.clone();
            all.push(("content-type", "application/json".into()));
            Reply::Answer(
                429,
                all,
                br#"{"success": false, "error": "slow down"}"#.to_vec(),
            )
        }
        _ => json(200, &job_body("processing")),
    })
    .await;
    let client = server.client().build().unwrap();
    let started = Instant::now();
    let result = client
        .job(DocumentKind::Statement, "job_1")
        .status()
        .await
        .map(drop);
    (server, result, started.elapsed())
}

#[tokio::test]
async fn absurd_rate_limit_headers_neither_panic_nor_freeze() {
    let absurd = [
        vec![
            ("x-ratelimit-reset", u64::MAX.to_string()),
            ("x-ratelimit-remaining", "0".into()),
        ],
        vec![("x-ratelimit-reset", "99999999999999999999999".into())],
        vec![("retry-after", u64::MAX.to_string())],
        vec![("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT".into())],
        vec![
            ("retry-after", "-5".into()),
            ("x-ratelimit-reset", "-1".into()),
        ],
        vec![
            ("retry-after", "soon".into()),
            ("x-ratelimit-remaining", "lots".into()),
        ],
    ];
    for headers in absurd {
        let (server, result, took) = refused_once_with(headers.clone()).await;
        assert!(result.is_ok(), "{headers:?}: {result:?}");
        assert_eq!(server.seen().len(), 2, "{headers:?}");
        // The policy caps a server's wait at 300 ms.
        assert!(took < Duration::from_secs(3), "{headers:?} took {took:?}");
    }
}

#[tokio::test]
async fn a_server_hint_of_no_wait_never_shortens_the_backoff() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for headers in [
        vec![("retry-after", "0".to_string())],
        vec![("x-ratelimit-reset", (now - 100).to_string())],
    ] {
        let server = Scripted::start(move |_, _| {
            let mut all = headers.clone();
            all.push(("content-type", "application/json".into()));
            Reply::Answer(503, all, b"{}".to_vec())
        })
        .await;
        let client = server.client().build().unwrap();
        let _ = client
            .job(DocumentKind::Statement, "job_1")
            .status()
            .await
            .unwrap_err();
        let seen = server.seen();
        assert_eq!(seen.len(), 4);
        // Ceilings 40, 80, 160 ms: each wait is at least half of its ceiling.
        for (n, pair) in seen.windows(2).enumerate() {
            let gap = pair[1].at - pair[0].at;
            let floor = Duration::from_millis(20 << n);
            assert!(gap >= floor, "wait {n} was {gap:?}, less than {floor:?}");
        }
    }
}

// --- Effects that must not happen twice ------------------------------------------------------

#[tokio::test]
async fn a_put_that_may_have_arrived_is_not_sent_again() {
    let server = Scripted::start(|_, _| Reply::Drop).await;
    let client = server.client().build().unwrap();
    let update = || client.schemas().update("s1", serde_json::json!({})).send();
    let e = update().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        !e.is_retryable(),
        "a PUT bumps the version: not safe to send again"
    );
    assert_eq!(server.seen().len(), 1);

    let busy = Scripted::start(|_, _| json(503, "{}")).await;
    let client = busy.client().build().unwrap();
    let e = client
        .schemas()
        .update("s1", serde_json::json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(!e.is_retryable());
    assert_eq!(
        busy.seen().len(),
        1,
        "a 503 to a PUT may have come after the update"
    );
}

#[tokio::test]
async fn a_delete_repeated_after_a_lost_attempt_succeeds_on_already_deleted() {
    let dropped: fn() -> Reply = || Reply::Drop;
    let bad_gateway: fn() -> Reply = || json(502, "<html>bad gateway</html>");
    for (first, again) in [(dropped, 409), (bad_gateway, 404), (dropped, 410)] {
        let server = Scripted::start(move |_, n| match n {
            0 => first(),
            _ => json(again, r#"{"success": false, "error": {"code": "ALREADY_DELETED", "message": "already deleted"}}"#),
        })
        .await;
        let client = server.client().build().unwrap();
        let deleted = client.files().delete("f-1").await;
        let deleted = deleted.unwrap_or_else(|e| panic!("{again}: {e}"));
        assert_eq!(deleted.file_id, "f-1");
        assert_eq!(server.seen().len(), 2);
    }

    // Met first, "already deleted" is the truth: the caller asked for a file that was gone.
    let server =
        Scripted::start(|_, _| json(409, r#"{"success": false, "error": "already deleted"}"#))
            .await;
    let client = server.client().build().unwrap();
    let e = client.files().delete("f-1").await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CONFLICT));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_post_that_timed_out_is_not_retryable_for_the_caller() {
    let server = Scripted::start(|_, _| {
        Reply::ReadSlowly(Duration::from_secs(3), Box::new(json(200, STARTED)))
    })
    .await;
    let client = server
        .client()
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = client
        .start_job(DocumentKind::Invoice, "doc")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Transport { source, .. } if source.is_timeout()),
        "{e:?}"
    );
    assert!(!e.is_retryable(), "the job may have started");
    assert_eq!(server.seen().len(), 1);
}

// --- Waiting that honours its deadline -------------------------------------------------------

#[tokio::test]
async fn a_wait_returns_at_its_deadline_whatever_the_server_asks() {
    let server = Scripted::start(|_, _| {
        Reply::Answer(
            429,
            vec![
                ("content-type", "application/json".into()),
                ("retry-after", "3600".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "99999999999".into()),
            ],
            br#"{"detail": "Too Many Requests"}"#.to_vec(),
        )
    })
    .await;
    let client = server
        .client()
        .rate_limit(RateLimit::per_minute(60))
        .retry(
            quick_retries()
                .max_server_delay(Duration::from_secs(60))
                .budget(Duration::from_secs(120)),
        )
        .poll(quick_polls().deadline(Duration::from_millis(500)))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client
        .job(DocumentKind::Invoice, "job_1")
        .wait()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "a 500 ms deadline took {took:?}"
    );
    let Error::WaitTimeout { last_status, .. } = &e else {
        panic!("expected a timeout, got {e:?}");
    };
    assert_eq!(*last_status, None, "no status was ever seen");
    assert!(e.to_string().contains("reported no status"), "{e}");
}

#[tokio::test]
async fn every_job_of_a_batch_shares_one_deadline_from_the_call() {
    const DOCS: usize = 25;
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            let ids: Vec<String> = (0..10).map(|n| format!("\"job_{n}\"")).collect();
            json(202, &format!(
                r#"{{"success": true, "data": {{"batch_id": "b", "status": "pending", "job_ids": [{}]}}}}"#,
                ids.join(",")
            ))
        } else {
            json(200, &job_body("processing"))
        }
    })
    .await;
    let client = server
        .client()
        .poll(quick_polls().deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    // Batches of 10 against a server that always starts 10: only full chunks.
    let ids: Vec<String> = (0..DOCS - DOCS % 10 + 10)
        .map(|n| format!("doc_{n}"))
        .collect();
    let started = Instant::now();
    let report = client
        .parse_batch(DocumentKind::Statement, &ids)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "a 1 s deadline over {} jobs took {took:?}",
        ids.len()
    );
    let timeouts = report
        .failed()
        .filter(|(_, e)| {
            matches!(
                e,
                Error::WaitTimeout {
                    last_status: Some(JobStatus::Processing),
                    ..
                }
            )
        })
        .count();
    assert_eq!(timeouts, ids.len());
}

#[tokio::test]
async fn a_job_just_started_may_answer_404_until_it_is_visible() {
    let server = Scripted::start(|seen, _| {
        if seen.method == "POST" {
            json(202, STARTED)
        } else {
            json(404, r#"{"detail": "Job not found"}"#)
        }
    })
    .await;
    let client = server
        .client()
        .poll(quick_polls().not_found_grace(Duration::from_millis(300)))
        .build()
        .unwrap();
    let job = client
        .start_job(DocumentKind::Invoice, "doc")
        .await
        .unwrap();
    let started = Instant::now();
    let e = job.wait().await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND), "{e:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "404s were taken as not visible yet"
    );
    assert!(server.seen().iter().filter(|s| s.method == "GET").count() > 1);

    // A job this client did not start: a 404 is the answer at once.
    let before = server.seen().len();
    let e = client
        .job(DocumentKind::Invoice, "job_1")
        .wait()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(server.seen().len(), before + 1);
}

#[tokio::test]
async fn a_job_that_becomes_visible_after_404s_is_waited_on() {
    let server = Scripted::start(|seen, n| match (seen.method.as_str(), n) {
        ("POST", _) => json(202, STARTED),
        (_, 1 | 2) => json(404, r#"{"detail": "Not Found"}"#),
        _ => json(200, &job_body("completed")),
    })
    .await;
    let client = server.client().build().unwrap();
    let parsed = client
        .start_job(DocumentKind::Statement, "doc")
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(parsed.job_id(), "job_1");
}

// --- Transfers -------------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_upload_that_keeps_moving_is_not_cut_off() {
    let server = Scripted::start(|_, _| {
        let answer = json(
            200,
            r#"{"success": true, "data": {"files": [{"doc_id": "d1"}], "status": "done"}}"#,
        );
        // 16 KiB every 40 ms: about 400 KB/s, so 600 KB takes well over the read timeout.
        Reply::ReadSlowly(Duration::from_millis(40), Box::new(answer))
    })
    .await;
    let client = server
        .client()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut pdf = PDF.to_vec();
    pdf.resize(600 * 1024, b' ');
    let started = Instant::now();
    let uploaded = client
        .upload(&[Upload::bytes("big.pdf", pdf)])
        .await
        .unwrap();
    assert_eq!(uploaded[0].doc_id, "d1");
    assert!(
        started.elapsed() > Duration::from_millis(300),
        "the upload outlasted the read timeout"
    );
    assert!(server.seen()[0].body_len > 600 * 1024);
}

#[tokio::test]
async fn a_slow_download_that_keeps_moving_is_not_cut_off() {
    let content: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
    let body = content.clone();
    let server =
        Scripted::start(move |_, _| Reply::Trickle(body.clone(), 10, Duration::from_millis(60)))
            .await;
    let client = server
        .client()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let bytes = client.files().read("f-1").await.unwrap();
    assert_eq!(&bytes[..], &content[..]);
}

#[tokio::test]
async fn a_cut_download_is_fetched_again_and_never_replaces_the_old_file_with_a_part() {
    let content: Vec<u8> = (0..100_000u32).map(|n| (n % 253) as u8).collect();
    let whole = content.clone();
    let server = Scripted::start(move |_, n| match n {
        0 => Reply::Cut(whole[..1_000].to_vec(), whole.len()),
        _ => Reply::Answer(
            200,
            vec![("content-type", "application/pdf".into())],
            whole.clone(),
        ),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("statement.pdf");
    std::fs::write(&out, b"the old content").unwrap();
    let client = server.client().build().unwrap();
    let written = client.files().download("f-1", &out).await.unwrap();
    assert_eq!(written, content.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), content);
    assert_eq!(server.seen().len(), 2);

    let always_cut = Scripted::start(|_, _| Reply::Cut(vec![7; 1_000], 100_000)).await;
    let e = always_cut
        .client()
        .build()
        .unwrap()
        .files()
        .download("f-1", &out)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        content,
        "the old file is untouched"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no partial or temporary file is left behind");
}

#[tokio::test]
async fn a_body_announced_beyond_the_cap_is_refused_without_reading_it() {
    let server = Scripted::start(|_, _| Reply::Cut(Vec::new(), usize::MAX / 2)).await;
    let client = server.client().retry(RetryPolicy::none()).build().unwrap();
    let e = client.files().read("f-1").await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        std::error::Error::source(&e)
            .map(|s| format!("{s:?}"))
            .unwrap_or_default()
            .contains("longer than"),
        "{e:?}"
    );
}
