//! The scheduler that serves every wait of a client, and the webhooks that wake it, seen from
//! a scripted server that counts the checks of each job.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use invaro::{
    Client, DocumentKind, JobStatus, PollPolicy, RateLimit,
    webhook::{self, Listener, Receiver, Verifier},
};
use serde_json::json;
use tokio::sync::mpsc;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::path_regex};

/// Answers every job as still processing until the test marks it done, counting the checks of
/// each and telling the test.
struct Counting {
    checks: Mutex<HashMap<String, usize>>,
    /// Answers that said "completed", by job.
    completions: Mutex<HashMap<String, usize>>,
    done: Mutex<HashSet<String>>,
    seen: mpsc::UnboundedSender<String>,
}

impl Counting {
    fn checks_of(&self, job: &str) -> usize {
        self.checks.lock().unwrap().get(job).copied().unwrap_or(0)
    }
}

impl Respond for Counting {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        *self.checks.lock().unwrap().entry(id.clone()).or_default() += 1;
        let status = if self.done.lock().unwrap().contains(&id) {
            *self
                .completions
                .lock()
                .unwrap()
                .entry(id.clone())
                .or_default() += 1;
            "completed"
        } else {
            "processing"
        };
        let _ = self.seen.send(id.clone());
        ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"job_id": id, "status": status, "results": {"account_no": "1234"}}}))
    }
}

struct Shared(Arc<Counting>);

impl Respond for Shared {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

async fn counting_server() -> (MockServer, Arc<Counting>, mpsc::UnboundedReceiver<String>) {
    let server = MockServer::start().await;
    let (seen, checks) = mpsc::unbounded_channel();
    let counting = Arc::new(Counting {
        checks: Mutex::default(),
        completions: Mutex::default(),
        done: Mutex::default(),
        seen,
    });
    Mock::given(path_regex("^/api/v1/parse/invoices/"))
        .respond_with(Shared(counting.clone()))
        .mount(&server)
        .await;
    (server, counting, checks)
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .api_key("sk_test")
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(RateLimit::unlimited())
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(5))
                .max_interval(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn dropping_a_wait_stops_its_checks_while_other_waits_go_on() {
    let (server, counting, mut seen) = counting_server().await;
    let client = client(&server);
    let dropped = tokio::spawn({
        let job = client.job(DocumentKind::Invoice, "job_dropped");
        async move { job.wait().await }
    });
    let kept = tokio::spawn({
        // A clone: its waits share the scheduler.
        let job = client.clone().job(DocumentKind::Invoice, "job_kept");
        async move { job.wait().await }
    });
    let mut dropped_checks = 0;
    while dropped_checks < 3 {
        if seen.recv().await.unwrap() == "job_dropped" {
            dropped_checks += 1;
        }
    }
    dropped.abort();
    assert!(dropped.await.unwrap_err().is_cancelled());
    let after_drop = counting.checks.lock().unwrap()["job_dropped"];
    // At most the check in flight when the wait was dropped arrives after it.
    let mut kept_checks = 0;
    while kept_checks < 10 {
        if seen.recv().await.unwrap() == "job_kept" {
            kept_checks += 1;
        }
    }
    let now = counting.checks.lock().unwrap()["job_dropped"];
    assert!(
        now <= after_drop + 1,
        "{after_drop} checks at the drop, {now} later"
    );
    kept.abort();
}

#[tokio::test]
async fn two_waits_on_one_job_fetch_its_completion_once() {
    let (server, counting, mut seen) = counting_server().await;
    let client = client(&server);
    let waits: Vec<_> = (0..2)
        .map(|_| {
            let job = client.job(DocumentKind::Invoice, "job_twice");
            tokio::spawn(async move { job.wait().await })
        })
        .collect();
    let mut checks = 0;
    while checks < 6 {
        if seen.recv().await.unwrap() == "job_twice" {
            checks += 1;
        }
    }
    counting.done.lock().unwrap().insert("job_twice".into());
    for wait in waits {
        let parsed = wait.await.unwrap().expect("each wait sees the completion");
        assert_eq!(parsed.job().status, JobStatus::Completed);
    }
    let completions = counting.completions.lock().unwrap()["job_twice"];
    assert_eq!(
        completions, 1,
        "the completion was fetched once for both waits"
    );
}

#[tokio::test]
async fn the_callers_own_calls_go_before_status_checks() {
    let (server, _counting, mut seen) = counting_server().await;
    Mock::given(path_regex("^/api/v1/files"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"success": true,
            "data": {"files": [], "total": 0, "page": 1, "limit": 10}})),
        )
        .mount(&server)
        .await;
    // One request per 200 ms: a dozen waits could take every slot.
    let client = Client::builder()
        .api_key("sk_test")
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(RateLimit::new(1, Duration::from_millis(200)))
        .poll(PollPolicy::default().first_check(Duration::from_millis(1)))
        .build()
        .unwrap();
    let waits: Vec<_> = (0..12)
        .map(|n| {
            let job = client.job(DocumentKind::Invoice, format!("job_{n}"));
            tokio::spawn(async move { job.wait().await })
        })
        .collect();
    seen.recv().await.unwrap();
    // Ask once a check is queued for the next slot: the call takes that slot instead.
    let listed = client.files().list().send();
    let check_first = tokio::select! {
        result = listed => { result.unwrap(); false }
        _ = seen.recv() => true,
    };
    assert!(!check_first, "the call waited behind a status check");
    for wait in waits {
        wait.abort();
    }
}

const SECRET: &str = "whsec_test";

/// A client of `server` that receives webhooks on a listener of its own; polling falls back to
/// `safety_net`.
async fn pushed_client(server: &MockServer, safety_net: Duration) -> (Client, Listener) {
    let receiver = Receiver::new(Verifier::new(SECRET).unwrap());
    let listener = Listener::bind("127.0.0.1:0", receiver.clone())
        .await
        .unwrap();
    let client = Client::builder()
        .api_key("sk_test")
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(RateLimit::unlimited())
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(5))
                .safety_net(safety_net)
                .deadline(Duration::from_secs(30)),
        )
        .webhooks(&receiver, listener.url())
        .build()
        .unwrap();
    (client, listener)
}

/// Delivers `body` to `listener` with `signature`, and returns the status it answered.
async fn deliver(listener: &Listener, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(listener.url())
        .header(webhook::SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn until_checked(seen: &mut mpsc::UnboundedReceiver<String>, jobs: &[&str]) {
    let mut waiting: HashSet<&str> = jobs.iter().copied().collect();
    while !waiting.is_empty() {
        let job = seen.recv().await.unwrap();
        waiting.remove(job.as_str());
    }
}

#[tokio::test]
async fn a_verified_webhook_wakes_the_right_wait_and_a_forged_one_nothing() {
    let (server, counting, mut seen) = counting_server().await;
    // Polling alone would not come back for an hour.
    let (client, listener) = pushed_client(&server, Duration::from_secs(3600)).await;
    let wait_a = tokio::spawn({
        let job = client.job(DocumentKind::Invoice, "job_a");
        async move { job.wait().await }
    });
    let wait_b = tokio::spawn({
        let job = client.job(DocumentKind::Invoice, "job_b");
        async move { job.wait().await }
    });
    until_checked(&mut seen, &["job_a", "job_b"]).await;
    counting
        .done
        .lock()
        .unwrap()
        .extend(["job_a".to_string(), "job_b".to_string()]);

    let forged = r#"{"event":"job.completed","job_id":"job_b","status":"completed"}"#;
    assert_eq!(
        deliver(
            &listener,
            forged,
            &webhook::sign("not the secret", forged.as_bytes())
        )
        .await,
        401
    );
    assert_eq!(deliver(&listener, forged, "").await, 401);

    let genuine = r#"{"event":"job.completed","job_id":"job_a","status":"completed"}"#;
    assert_eq!(
        deliver(
            &listener,
            genuine,
            &webhook::sign(SECRET, genuine.as_bytes())
        )
        .await,
        204
    );
    let parsed = tokio::time::timeout(Duration::from_secs(20), wait_a)
        .await
        .expect("the webhook ended the wait")
        .unwrap()
        .unwrap();
    assert_eq!(parsed.job().status, JobStatus::Completed);
    assert_eq!(
        counting.checks_of("job_a"),
        2,
        "one check at the start, one for the push"
    );
    assert_eq!(
        counting.checks_of("job_b"),
        1,
        "the forged deliveries woke nothing"
    );
    assert!(!wait_b.is_finished());
    wait_b.abort();
}

#[tokio::test]
async fn a_lost_webhook_is_caught_by_slow_polling() {
    let (server, counting, mut seen) = counting_server().await;
    let (client, _listener) = pushed_client(&server, Duration::from_millis(300)).await;
    let wait = tokio::spawn({
        let job = client.job(DocumentKind::Invoice, "job_lost");
        async move { job.wait().await }
    });
    until_checked(&mut seen, &["job_lost"]).await;
    // The job completes, and its delivery never arrives.
    counting.done.lock().unwrap().insert("job_lost".into());
    let parsed = wait.await.unwrap().unwrap();
    assert_eq!(parsed.job().status, JobStatus::Completed);
    assert_eq!(
        counting.checks_of("job_lost"),
        2,
        "polled at the safety net's pace, not the 5 ms floor"
    );
}
