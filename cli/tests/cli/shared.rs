//! The rate budget shared through a real `redis-server`: separate processes (and clients) on one
//! key keep one limit, a 429 seen by one holds the others, and nothing fails when Redis dies,
//! freezes or loses its keys. Each test starts its own Redis on a free port; each asserts counts
//! and outcomes.

use std::time::Duration;

use invaro::webhook::{self, Receiver, Verifier};
use invaro::{Client, DocumentKind, PollPolicy, RateLimit, SharedLimit};

use crate::budget::run_together;
use crate::counting::Counting;
use crate::redis_server::RedisServer;

const KEY: &str = "sk_test_shared_budget";

/// A client of `limit` per `window` at `server`, sharing its budget through `redis` if given.
fn client(server: &Counting, limit: u32, window: Duration, redis: Option<&RedisServer>) -> Client {
    let mut builder = Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .rate_limit(RateLimit::new(limit, window));
    if let Some(redis) = redis {
        builder = builder.shared_limit(
            SharedLimit::redis(redis.url())
                .timeout(Duration::from_millis(100))
                .fallback_share(0.25),
        );
    }
    builder.build().expect("valid settings")
}

/// `N` clients of `server` sharing one budget of `limit` per `window` through `redis`.
fn clients<const N: usize>(
    server: &Counting,
    limit: u32,
    window: Duration,
    redis: &RedisServer,
) -> [Client; N] {
    std::array::from_fn(|_| client(server, limit, window, Some(redis)))
}

/// Sends `n` status checks through each of `clients` at once; how many succeeded.
async fn checks(clients: &[Client], n: usize) -> usize {
    let calls = clients.iter().flat_map(|client| {
        (0..n).map(move |i| async move {
            client
                .job(DocumentKind::Invoice, format!("job_{i}"))
                .status()
                .await
        })
    });
    let results = futures::future::join_all(calls).await;
    results.iter().filter(|r| r.is_ok()).count()
}

fn runtime() -> tokio::runtime::Runtime {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("invaro=info")
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The same limiter test for the local kind and the Redis kind: one client sending three
/// windows' worth at once keeps the limit in every window and meets no 429.
#[test]
fn both_kinds_keep_the_limit_in_every_window() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for shared in [None, Some(&redis)] {
        let window = Duration::from_millis(400);
        let server = Counting::start(8, window);
        let client = client(&server, 8, window, shared);
        let ok = runtime().block_on(checks(std::slice::from_ref(&client), 24));
        assert_eq!(ok, 24, "shared: {}", shared.is_some());
        assert_eq!(server.refused(), 0, "shared: {}", shared.is_some());
    }
}

#[test]
fn four_processes_sharing_a_budget_through_redis_meet_no_429() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Counting::start(10, Duration::from_secs(1));
    let url = redis.url();
    let options = [
        "--redis",
        url.as_str(),
        "--rate-limit",
        "10",
        "--rate-window",
        "1s",
    ];
    let statuses = run_together(server.url(), 4, &options);
    assert_eq!(statuses.len(), 4 * crate::budget::FILES);
    assert!(statuses.iter().all(|s| s == "done"), "{statuses:?}");
    assert_eq!(server.refused(), 0, "one budget for all four: no 429");
}

#[test]
fn a_429_seen_by_one_client_holds_every_client_on_the_key() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let window = Duration::from_secs(1);
    let server = Counting::start(100, window);
    let [a, b] = clients(&server, 100, window, &redis);
    runtime().block_on(async {
        // Both have spoken to Redis once.
        assert_eq!(checks(&[a.clone(), b.clone()], 1).await, 2);
        let served = server.served();
        server.refuse_next(1, 3);
        let refused = tokio::spawn({
            let a = a.clone();
            async move { a.job(DocumentKind::Invoice, "job_a").status().await }
        });
        // Until the hold A saw is in Redis.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !redis.command("KEYS *:hold").contains("hold") {
            assert!(
                std::time::Instant::now() < deadline,
                "the hold never reached Redis"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let job_b = b.job(DocumentKind::Invoice, "job_b");
        let held = tokio::time::timeout(Duration::from_millis(700), job_b.status()).await;
        assert!(held.is_err(), "B's call waited for the hold A saw");
        assert_eq!(
            server.served(),
            served,
            "nothing reached the API while held"
        );
        assert!(refused.await.expect("no panic").is_ok(), "A's call went on");
        assert_eq!(
            checks(std::slice::from_ref(&b), 1).await,
            1,
            "and so does B afterwards"
        );
    });
    assert_eq!(server.forced(), 1);
}

#[test]
fn redis_killed_and_restarted_mid_run_fails_no_call_and_sharing_resumes() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let window = Duration::from_millis(200);
    let server = Counting::start(40, window);
    let clients: [Client; 2] = clients(&server, 40, window, &redis);
    let rt = runtime();
    assert_eq!(rt.block_on(checks(&clients, 10)), 20);
    assert!(redis.command("KEYS *:log").contains(":log"), "shared mode");
    redis.kill();
    // More than the server allows in a window: each client at its own full limit would meet
    // 429s; at the fallback share (a quarter each) they do not.
    assert_eq!(
        rt.block_on(checks(&clients, 30)),
        60,
        "Redis gone: fallback"
    );
    assert_eq!(
        server.refused(),
        0,
        "the fallback share keeps within the budget"
    );
    // Empty, with no script cached: the clients load it again and share again.
    redis.restart();
    let mut rounds = 0;
    while !redis.command("KEYS *:log").contains(":log") {
        rounds += 1;
        assert!(rounds < 200, "shared mode never resumed");
        assert_eq!(rt.block_on(checks(&clients, 2)), 4);
    }
    assert_eq!(server.refused(), 0);
}

#[test]
fn keys_deleted_mid_run_break_nothing() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let window = Duration::from_millis(200);
    let server = Counting::start(40, window);
    let clients: [Client; 2] = clients(&server, 40, window, &redis);
    let rt = runtime();
    for _ in 0..3 {
        assert_eq!(rt.block_on(checks(&clients, 8)), 16);
        // What the window held is forgotten (so the API may answer a 429, which is waited
        // out); the keys are made again.
        assert!(redis.command("FLUSHALL").contains("OK"));
        assert_eq!(rt.block_on(checks(&clients, 8)), 16);
        assert!(redis.command("KEYS *:log").contains(":log"), "shared again");
    }
}

#[test]
fn a_frozen_redis_slows_no_call_past_its_timeout() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let window = Duration::from_millis(200);
    let server = Counting::start(40, window);
    let clients: [Client; 2] = clients(&server, 40, window, &redis);
    let rt = runtime();
    assert_eq!(rt.block_on(checks(&clients, 8)), 16);
    redis.freeze();
    // Each call may wait for one Redis timeout (100 ms), then goes on at the fallback share:
    // more than the server allows in a window, which the clients' full limits would overrun.
    let frozen = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), checks(&clients, 30)).await
    });
    redis.thaw();
    assert_eq!(frozen, Ok(60), "every call went on while Redis was frozen");
    assert_eq!(server.refused(), 0);
}

#[test]
fn four_processes_sharing_a_budget_meet_no_429_from_the_sandbox_either() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sandbox = crate::support::Api::with(
        invaro_sandbox::Sandbox::builder()
            .api_key(crate::support::KEY)
            .job_timings(invaro_sandbox::JobTimings::INSTANT)
            .rate_limit(10, Duration::from_secs(1)),
    );
    let url = redis.url();
    let options = ["--redis", &url, "--rate-limit", "10", "--rate-window", "1s"];
    let statuses = run_together(sandbox.url(), 4, &options);
    assert_eq!(statuses.len(), 4 * crate::budget::FILES);
    assert!(statuses.iter().all(|s| s == "done"), "{statuses:?}");
    assert_eq!(
        sandbox.stats().responses(429),
        0,
        "the sandbox's per-key limit held"
    );
}

#[test]
fn processes_given_different_limits_keep_the_lowest() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let window = Duration::from_millis(400);
    let server = Counting::start(6, window);
    // One client believes the key allows 6, the other 30: together they keep to 6.
    let clients = [
        client(&server, 6, window, Some(&redis)),
        client(&server, 30, window, Some(&redis)),
    ];
    let rt = runtime();
    // The lowest limit counts once a client holding it has called (and for two windows after
    // its last call).
    assert_eq!(rt.block_on(checks(&clients[..1], 1)), 1);
    assert_eq!(rt.block_on(checks(&clients, 12)), 24);
    assert_eq!(server.refused(), 0);
}

#[test]
fn a_redis_password_never_shows_on_the_command_line() {
    let server = Counting::start(10, Duration::from_secs(1));
    for url in ["http://:hunter2@127.0.0.1:1", "redis://:hunter2@[::1"] {
        let out = crate::support::bare()
            .args(["--api-key", crate::support::KEY, "--base-url", server.url()])
            .args(["--redis", url, "files", "list"])
            .output()
            .expect("invaro runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("redis URL") && !stderr.contains("hunter2"),
            "{stderr}"
        );
    }
    let help = crate::support::bare()
        .env("INVARO_REDIS_URL", "redis://:hunter2@127.0.0.1:6379")
        .arg("--help")
        .output()
        .expect("invaro runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--redis") && !help.contains("hunter2"),
        "{help}"
    );
}

/// A client whose waits hear of webhooks through `receiver` and through every other client on
/// the key (via `redis`), and that polls only every ten minutes.
fn listening(server: &Counting, redis: &RedisServer, receiver: &Receiver) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .shared_limit(SharedLimit::redis(redis.url()).timeout(Duration::from_millis(100)))
        .webhooks(receiver, "http://127.0.0.1:9/hooks")
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_secs(600))
                .deadline(Duration::from_secs(60)),
        )
        .build()
        .expect("valid settings")
}

/// Delivers a signed `job.completed` for `job_id` to `receiver`.
fn deliver(receiver: &Receiver, job_id: &str) {
    let body = format!(
        r#"{{"event":"job.completed","job_id":"{job_id}","status":"completed",
            "results":{{"account_no":"ACCOUNT-4417"}}}}"#
    );
    let mut headers = axum::http::HeaderMap::new();
    let signature = webhook::sign(SECRET, body.as_bytes());
    headers.insert("x-signature", signature.parse().expect("a header value"));
    receiver
        .receive(&headers, body.as_bytes())
        .expect("a genuine delivery");
}

const SECRET: &str = "whsec_relay_test";

#[test]
fn a_webhook_delivered_to_one_replica_ends_the_wait_in_another() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Counting::start(100, Duration::from_secs(1));
    let rt = runtime();
    let _entered = rt.enter();
    let verifier = || Verifier::new(SECRET).expect("a secret");
    let (receiver_a, receiver_b) = (Receiver::new(verifier()), Receiver::new(verifier()));
    let mut monitor = redis.monitor();
    let a = listening(&server, &redis, &receiver_a);
    let _b = listening(&server, &redis, &receiver_b);
    // Both replicas listen on the key's channel.
    monitor.until(2, &["\"SUBSCRIBE\"", ":events\""]);
    rt.block_on(async {
        // A waits and sees the job pending at its first check (the next would be 600 s
        // later); the delivery lands on B, and A checks again at once.
        let job = a.job(DocumentKind::Invoice, "job_relayed_1");
        let wait = tokio::spawn(async move { job.wait().await });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.checks("job_relayed_1") == 0 {
            assert!(std::time::Instant::now() < deadline, "A never checked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        deliver(&receiver_b, "job_relayed_1");
        let waited = tokio::time::timeout(Duration::from_secs(30), wait).await;
        assert!(matches!(waited, Ok(Ok(Ok(_)))), "{waited:?}");
        assert_eq!(
            server.checks("job_relayed_1"),
            2,
            "pending, then completed after the push"
        );

        // A wait that starts after the delivery finds it too.
        deliver(&receiver_b, "job_done_2");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !redis
            .command("KEYS *:job:job_done_2")
            .contains("job_done_2")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the event never reached Redis"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Only the job id, the event and the status went to Redis.
        let key = redis.command("KEYS *:job:job_done_2");
        let key = key
            .lines()
            .find(|l| l.contains("job_done_2"))
            .expect("the key");
        let stored = redis.command(&format!("GET {key}"));
        assert!(
            stored.contains("job.completed") && !stored.contains("ACCOUNT-4417"),
            "{stored}"
        );
        let late = a.job(DocumentKind::Invoice, "job_done_2");
        let waited = tokio::time::timeout(Duration::from_secs(30), late.wait()).await;
        assert!(matches!(waited, Ok(Ok(_))), "{waited:?}");
        assert_eq!(server.checks("job_done_2"), 1);
    });
}

/// With the relay's subscription down, deliveries to other replicas cannot reach this one:
/// polling goes at its usual rate, not the webhook safety net's (a minute here, far beyond the
/// deadline).
#[test]
fn with_redis_down_a_wait_still_ends_by_polling() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let server = Counting::start(100, Duration::from_secs(1));
    let rt = runtime();
    let _entered = rt.enter();
    let receiver = Receiver::new(Verifier::new(SECRET).expect("a secret"));
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .shared_limit(SharedLimit::redis(redis.url()).timeout(Duration::from_millis(100)))
        .webhooks(&receiver, "http://127.0.0.1:9/hooks")
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(20))
                .max_interval(Duration::from_millis(20))
                .safety_net(Duration::from_secs(60))
                .deadline(Duration::from_secs(10)),
        )
        .build()
        .expect("valid settings");
    redis.kill();
    let waited = rt.block_on(client.job(DocumentKind::Invoice, "job_1").wait());
    assert!(waited.is_ok(), "{waited:?}");
    assert_eq!(server.checks("job_1"), 2);
}
