//! `client.rate_limit()` against a server that counts: what the limiter holds, and what the
//! API last said in its `X-RateLimit-*` headers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use invaro::{Client, RateLimit};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::path};

/// Answers every request with the API's headers for a window of `limit`: how many are left
/// after this one, and a reset 30 s from now.
struct Counting {
    limit: u64,
    seen: Arc<AtomicU64>,
}

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let seen = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        ResponseTemplate::new(200)
            .insert_header(
                "x-ratelimit-remaining",
                self.limit.saturating_sub(seen).to_string(),
            )
            .insert_header("x-ratelimit-reset", (now + 30).to_string())
            .set_body_json(json!({"success": true,
                "data": {"job_id": "job_1", "status": "processing"}}))
    }
}

async fn counting_server(limit: u64) -> (MockServer, Arc<AtomicU64>) {
    let server = MockServer::start().await;
    let seen = Arc::new(AtomicU64::new(0));
    Mock::given(path("/api/v1/parse/job_1"))
        .respond_with(Counting {
            limit,
            seen: seen.clone(),
        })
        .mount(&server)
        .await;
    (server, seen)
}

fn client_for(server: &MockServer, limit: RateLimit) -> Client {
    Client::builder()
        .api_key("sk_test_budget")
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(limit)
        .build()
        .expect("valid settings")
}

#[tokio::test]
async fn the_budget_counts_what_was_sent_and_what_the_api_said() {
    let (server, seen) = counting_server(100).await;
    let client = client_for(&server, RateLimit::new(5, Duration::from_secs(60)));
    let fresh = client.rate_limit();
    assert_eq!(
        (fresh.limit, fresh.remaining, fresh.server),
        (Some(5), Some(5), None)
    );
    for _ in 0..2 {
        client.jobs().get("job_1").await.expect("answered");
    }
    // A view's call counts against the same budget: no option skips the limiter.
    let view = client.with_options(invaro::CallOptions::new().retry(invaro::RetryPolicy::none()));
    view.jobs().get("job_1").await.expect("answered");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let budget = client.rate_limit();
    assert_eq!(budget.remaining, Some(2), "5 a window, 3 sent");
    assert_eq!(budget.in_flight, 0);
    assert_eq!(budget.next_in, Duration::ZERO);
    let said = budget.server.expect("the API's headers were read");
    assert_eq!(said.remaining, 97);
    assert!(said.resets_in > Duration::from_secs(25) && said.resets_in <= Duration::from_secs(30));
    // Clones and views share the one budget.
    let shared = view.clone().rate_limit();
    assert_eq!(
        (shared.remaining, shared.server.map(|s| s.remaining)),
        (Some(2), Some(97))
    );
}

#[tokio::test]
async fn the_apis_lower_count_wins_and_waiting_calls_show() {
    let (server, seen) = counting_server(3).await;
    let client = client_for(&server, RateLimit::new(10, Duration::from_secs(60)));
    for _ in 0..2 {
        client.jobs().get("job_1").await.expect("answered");
    }
    let budget = client.rate_limit();
    assert_eq!(
        budget.remaining,
        Some(1),
        "the API said one is left, the limiter 8"
    );
    client.jobs().get("job_1").await.expect("answered");
    let budget = client.rate_limit();
    assert_eq!(budget.remaining, Some(0));
    assert!(
        budget.next_in > Duration::from_secs(25),
        "{:?}",
        budget.next_in
    );
    // A fourth call waits for the API's reset, and shows as waiting.
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.jobs().get("job_1").await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.rate_limit().waiting == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the call never waited"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(client.rate_limit().waiting, 1);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "the waiting call was not sent"
    );
    waiting.abort();
    let _ = waiting.await;
    assert_eq!(client.rate_limit().waiting, 0);
}

#[tokio::test]
async fn absurd_rate_limit_headers_show_as_a_bounded_budget() {
    // What the budget then shows as remaining: 0 where a reset could be read (however far,
    // it is capped), the local count alone where the pair is nonsense.
    for (remaining, reset, shown) in [
        ("0", u64::MAX.to_string(), 0),
        ("0", "99999999999999999999999".to_string(), 4),
        ("lots", "-1".to_string(), 4),
        ("-3", "soon".to_string(), 4),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/parse/job_1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-ratelimit-remaining", remaining)
                    .insert_header("x-ratelimit-reset", reset.as_str())
                    .set_body_json(json!({"success": true,
                        "data": {"job_id": "job_1", "status": "processing"}})),
            )
            .mount(&server)
            .await;
        let client = client_for(&server, RateLimit::new(5, Duration::from_secs(60)));
        client.jobs().get("job_1").await.expect("answered");
        let budget = client.rate_limit();
        let case = format!("remaining {remaining:?}, reset {reset:?}: {budget:?}");
        assert!(budget.next_in <= invaro::MAX_SERVER_WINDOW, "{case}");
        if let Some(said) = budget.server {
            assert!(said.resets_in <= invaro::MAX_SERVER_WINDOW, "{case}");
        }
        assert_eq!(budget.remaining, Some(shown), "{case}");
        if shown == 4 {
            assert!(budget.server.is_none(), "nonsense is ignored: {case}");
        }
    }
}
