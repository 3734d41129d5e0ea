//! Per-call options (`client.with_options(CallOptions)`) against scripted servers on
//! 127.0.0.1: a timeout for one call while the client keeps its own, no retries for one call,
//! extra headers, and the rules no option turns off (a POST that may have arrived is never sent
//! again; a 429 never fails a wait).

use std::{sync::Arc, time::Duration};

use invaro::{CallOptions, Client, DocumentKind, Error, PollPolicy, RateLimit, RetryPolicy};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::{Notify, mpsc},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const KEY: &str = "sk_live_DO_NOT_LEAK_4242";

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .max_server_delay(Duration::from_millis(20))
}

fn client_for(base: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .read_timeout(Duration::from_secs(20))
        .retry(fast_retries(3))
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(2))
                .max_interval(Duration::from_millis(10)),
        )
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings")
}

async fn mock_server() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&format!("{}/api/v1", server.uri()));
    (server, client)
}

fn job(status: &str) -> ResponseTemplate {
    job_with(200, status)
}

fn job_with(code: u16, status: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(
        json!({"success": true, "data": {"job_id": "job_1", "status": status, "results": {}}}),
    )
}

async fn requests_to(server: &MockServer, at: &str) -> usize {
    let received = server.received_requests().await.unwrap_or_default();
    received.iter().filter(|r| r.url.path() == at).count()
}

/// A server that reads each request's head, reports its first line, and answers only once
/// `release` is notified (or, with `answer: false`, closes the connection without a word).
async fn holding_server(answer: bool) -> (String, mpsc::UnboundedReceiver<String>, Arc<Notify>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/api/v1", listener.local_addr().expect("address"));
    let (seen, requests) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let released = release.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (seen, release) = (seen.clone(), released.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut byte).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&byte[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let _ = seen.send(text.lines().next().unwrap_or_default().to_string());
                if !answer {
                    return; // dropped: the request arrived, no answer comes
                }
                release.notified().await;
                let body = r#"{"success":true,"data":{"job_id":"job_1","status":"processing"}}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (base, requests, release)
}

#[tokio::test]
async fn a_timeout_bounds_one_call_while_the_client_keeps_its_own() {
    let (base, mut requests, release) = holding_server(true).await;
    let client = client_for(&base);
    let plain = tokio::spawn({
        let client = client.clone();
        async move { client.jobs().get("job_plain").await }
    });
    let first = requests.recv().await.expect("the plain call arrives");
    assert!(first.contains("job_plain"), "{first}");

    let quick = client.with_options(CallOptions::new().timeout(Duration::from_millis(200)));
    let error = quick.jobs().get("job_quick").await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, resend_safe: true } if after == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(error.is_retryable(), "a GET that timed out may go again");
    assert!(error.to_string().contains("200ms"), "{error}");
    // The plain call started first and is still waiting: the view's timeout is not the client's.
    assert!(
        !plain.is_finished(),
        "the client's own call kept its timeout"
    );
    release.notify_waiters();
    let job = plain
        .await
        .expect("task")
        .expect("the plain call is answered");
    assert_eq!(job.job_id, "job_1");
}

#[tokio::test]
async fn a_timed_out_post_says_it_may_have_arrived_and_is_not_sent_again() {
    let (base, mut requests, _release) = holding_server(true).await;
    let client = client_for(&base);
    let view = client.with_options(
        CallOptions::new()
            .timeout(Duration::from_millis(150))
            .retry(fast_retries(10)),
    );
    let error = view
        .start_job(DocumentKind::Invoice, "doc_1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                resend_safe: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(
        error.to_string().contains("may have reached the server"),
        "{error}"
    );
    assert!(
        requests
            .recv()
            .await
            .expect("one request")
            .starts_with("POST")
    );
    assert!(requests.try_recv().is_err(), "sent once");
}

#[tokio::test]
async fn a_post_cut_off_after_it_arrived_is_never_sent_twice_whatever_the_view_says() {
    let (base, mut requests, _release) = holding_server(false).await;
    let client = client_for(&base);
    let eager = client.with_options(CallOptions::new().retry(fast_retries(10)));
    let error = eager
        .start_job(DocumentKind::Statement, "doc_1")
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{error:?}");
    assert!(
        requests
            .recv()
            .await
            .expect("one request")
            .starts_with("POST")
    );
    assert!(requests.try_recv().is_err(), "the POST went once");
    // A GET cut off the same way is sent as often as the view's policy allows.
    let error = eager.jobs().get("job_1").await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let mut gets = 0;
    while requests.try_recv().is_ok() {
        gets += 1;
    }
    assert_eq!(gets, 10, "every attempt of the view's policy");
}

#[tokio::test]
async fn a_post_answered_503_goes_once_even_with_a_retry_happy_view() {
    let (server, client) = mock_server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/parse/invoices"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let eager = client.with_options(CallOptions::new().retry(fast_retries(10)));
    let error = eager
        .start_job(DocumentKind::Invoice, "doc_1")
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(requests_to(&server, "/api/v1/parse/invoices").await, 1);
}

#[tokio::test]
async fn one_call_without_retries_while_the_client_retries_the_others() {
    let (server, client) = mock_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/parse/job_1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let once = client.with_options(CallOptions::new().retry(RetryPolicy::none()));
    let error = once.jobs().get("job_1").await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(requests_to(&server, "/api/v1/parse/job_1").await, 1);
    // The generated builders through `call` take the view's options too.
    let generated = once.api().get_general_job_status().job_id("job_1").send();
    assert!(once.call(generated).await.is_err());
    assert_eq!(requests_to(&server, "/api/v1/parse/job_1").await, 2);
    // The client itself still retries: three attempts.
    assert!(client.jobs().get("job_1").await.is_err());
    assert_eq!(requests_to(&server, "/api/v1/parse/job_1").await, 5);
}

#[tokio::test]
async fn a_429_never_fails_a_wait_even_without_retries() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/invoices/job_1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/parse/invoices/job_1"))
        .respond_with(job("completed"))
        .mount(&server)
        .await;
    let once = client.with_options(CallOptions::new().retry(RetryPolicy::none()));
    let parsed = once
        .job(DocumentKind::Invoice, "job_1")
        .wait()
        .await
        .expect("the wait outlasts the 429s");
    assert_eq!(parsed.job_id(), "job_1");
    assert!(requests_to(&server, "/api/v1/parse/invoices/job_1").await >= 3);
}

#[tokio::test]
async fn a_views_timeout_ends_a_wait_that_the_client_would_let_run() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/statements/job_1"))
        .respond_with(job("processing"))
        .mount(&server)
        .await;
    assert_eq!(
        client.config().poll.get_deadline(),
        Duration::from_secs(600)
    );
    let quick = client.with_options(CallOptions::new().timeout(Duration::from_millis(300)));
    assert_eq!(
        quick.config().poll.get_deadline(),
        Duration::from_millis(300)
    );
    let error = quick
        .job(DocumentKind::Statement, "job_1")
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::WaitTimeout { .. }), "{error:?}");
    assert_eq!(error.job_id(), Some("job_1"));
}

#[tokio::test]
async fn extra_headers_go_with_every_request_of_the_view_and_the_key_stays() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/job_1"))
        .and(header("x-request-id", "order-1234"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(job("processing"))
        .mount(&server)
        .await;
    let traced = client.with_options(
        CallOptions::new()
            .header("X-Request-Id", "order-1234")
            .expect("an ordinary header"),
    );
    traced
        .jobs()
        .get("job_1")
        .await
        .expect("the header reached the server");
    // Without the view, no header: the mock does not match.
    assert!(client.jobs().get("job_1").await.is_err());
    let debug = format!("{traced:?}");
    assert!(
        !debug.contains("order-1234") && !debug.contains(KEY),
        "{debug}"
    );
    assert!(debug.contains("x-request-id"), "{debug}");

    let refused = CallOptions::new()
        .header("Authorization", "Bearer sk_other")
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }));
    assert!(refused.to_string().contains("Authorization"), "{refused}");
    assert!(!refused.to_string().contains("sk_other"), "{refused}");
}

#[tokio::test]
async fn a_call_answers_with_its_status_headers_and_time() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/job_1"))
        .respond_with(
            job_with(202, "processing")
                .insert_header("x-ratelimit-remaining", "41")
                .insert_header("x-ratelimit-reset", "1999999999"),
        )
        .mount(&server)
        .await;
    let answer = client
        .with_response(client.jobs().get("job_1"))
        .await
        .expect("answered");
    assert_eq!(
        answer.status().as_u16(),
        202,
        "the status as the server sent it"
    );
    let remaining = answer.headers().get("x-ratelimit-remaining");
    assert_eq!(remaining.and_then(|v| v.to_str().ok()), Some("41"));
    assert!(answer.elapsed() > Duration::ZERO);
    assert_eq!(answer.job_id, "job_1", "derefs to the typed answer");

    // A generated builder through `call`, on a view: the same.
    let view = client.with_options(CallOptions::new().retry(RetryPolicy::none()));
    let generated = view.api().get_general_job_status().job_id("job_1").send();
    let answer = view
        .with_response(view.call(generated))
        .await
        .expect("answered");
    assert_eq!(answer.status().as_u16(), 202);
    assert!(answer.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(answer.into_inner().data.job_id, "job_1");
}

#[tokio::test]
async fn a_views_cap_on_the_servers_wait_is_the_one_reported() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/job_1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let view = client.with_options(
        CallOptions::new().retry(RetryPolicy::none().max_server_delay(Duration::from_secs(2))),
    );
    let Error::RateLimited(refused) = view.jobs().get("job_1").await.unwrap_err() else {
        panic!("a 429 is Error::RateLimited");
    };
    assert_eq!(refused.retry_after, Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn a_429_on_a_call_without_retries_still_holds_the_client() {
    let (server, client) = mock_server().await;
    Mock::given(path("/api/v1/parse/job_1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let client = client.with_options(
        CallOptions::new().retry(RetryPolicy::none().max_server_delay(Duration::from_secs(30))),
    );
    let error = client.jobs().get("job_1").await.unwrap_err();
    assert!(matches!(error, Error::RateLimited(_)), "{error:?}");
    assert_eq!(requests_to(&server, "/api/v1/parse/job_1").await, 1);
    let held = client
        .rate_limit()
        .held_for
        .expect("the 429 holds the client");
    assert!(
        held > Duration::from_secs(5) && held <= Duration::from_secs(7),
        "{held:?}"
    );
}
