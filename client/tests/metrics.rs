//! Feature `metrics`: a run's counters and histograms, recorded by a test recorder (a plain
//! map behind the `metrics` facade's `Recorder` trait) installed for this thread only.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use invaro::{Client, DocumentKind, PollPolicy, RateLimit, RetryPolicy};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};

/// Every counter's total and every histogram's samples, by `name{label=value,...}`.
#[derive(Default)]
struct Store {
    counters: Mutex<BTreeMap<String, u64>>,
    histograms: Mutex<BTreeMap<String, Vec<f64>>>,
}

struct Handle {
    key: String,
    store: Arc<Store>,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self
            .store
            .counters
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }

    fn absolute(&self, value: u64) {
        self.store
            .counters
            .lock()
            .unwrap()
            .insert(self.key.clone(), value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        let mut histograms = self.store.histograms.lock().unwrap();
        histograms.entry(self.key.clone()).or_default().push(value);
    }
}

struct TestRecorder(Arc<Store>);

impl TestRecorder {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        let mut labels: Vec<_> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        Arc::new(Handle {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            store: self.0.clone(),
        })
    }

    fn counter(&self, key: &str) -> u64 {
        self.0
            .counters
            .lock()
            .unwrap()
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    fn samples(&self, key: &str) -> Vec<f64> {
        self.0
            .histograms
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .unwrap_or_default()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

fn job(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"success": true, "data": {"job_id": "job_1", "status": status, "results": {}}}),
    )
}

/// A 503, a 429, then an answer for one call; a wait that sees `processing`, then `completed`.
async fn run(recorder: &TestRecorder) {
    let server = MockServer::start().await;
    let general = "/api/v1/parse/job_1";
    Mock::given(path(general))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(general))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(general))
        .respond_with(job("processing"))
        .mount(&server)
        .await;
    let statement = "/api/v1/parse/statements/job_1";
    Mock::given(path(statement))
        .respond_with(job("processing"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(statement))
        .respond_with(job("completed"))
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key("sk_test_metrics")
        .base_url(format!("{}/api/v1", server.uri()))
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .initial_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20))
                .max_server_delay(Duration::from_millis(20)),
        )
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(2))
                .max_interval(Duration::from_millis(10)),
        )
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings");

    client
        .jobs()
        .get("job_1")
        .await
        .expect("the third attempt is answered");
    let operation = "get_general_job_status";
    let status = |code| format!("invaro_requests_total{{operation={operation},status={code}}}");
    assert_eq!(recorder.counter(&status(503)), 1);
    assert_eq!(recorder.counter(&status(429)), 1);
    assert_eq!(recorder.counter(&status(200)), 1);
    assert_eq!(
        recorder.counter(&format!("invaro_retries_total{{operation={operation}}}")),
        2
    );
    assert_eq!(
        recorder.counter(&format!(
            "invaro_rate_limited_total{{operation={operation}}}"
        )),
        1
    );
    assert_eq!(recorder.samples("invaro_limiter_wait_seconds{}").len(), 3);

    client
        .job(DocumentKind::Statement, "job_1")
        .wait()
        .await
        .expect("completed");
    let waits = recorder.samples("invaro_wait_seconds{kind=statement}");
    assert_eq!(waits.len(), 1, "one wait ended completed");
    assert!(waits[0] > 0.0);
    let checks = "invaro_requests_total{operation=get_statement_status,status=200}";
    assert_eq!(recorder.counter(checks), 2, "processing, then completed");
    assert_eq!(
        recorder.counter("invaro_rate_limited_total{operation=get_statement_status}"),
        0
    );
}

#[test]
fn a_runs_requests_retries_429s_and_waits_are_counted() {
    let recorder = TestRecorder(Arc::default());
    // One thread runs the client: the recorder installed for it sees every call.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    metrics::with_local_recorder(&recorder, || runtime.block_on(run(&recorder)));
}

/// Attempts that get no answer (here, a port where nothing listens) count under
/// `status="error"`.
async fn unanswered(recorder: &TestRecorder) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let client = Client::builder()
        .api_key("sk_test_metrics")
        .base_url(format!("http://127.0.0.1:{port}/api/v1"))
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .initial_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .expect("valid settings");
    let error = client.jobs().get("job_1").await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let operation = "get_general_job_status";
    assert_eq!(
        recorder.counter(&format!(
            "invaro_requests_total{{operation={operation},status=error}}"
        )),
        3
    );
    assert_eq!(
        recorder.counter(&format!("invaro_retries_total{{operation={operation}}}")),
        2
    );
    assert_eq!(
        recorder.counter(&format!(
            "invaro_rate_limited_total{{operation={operation}}}"
        )),
        0
    );
}

#[test]
fn attempts_without_an_answer_count_as_error() {
    let recorder = TestRecorder(Arc::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    metrics::with_local_recorder(&recorder, || runtime.block_on(unanswered(&recorder)));
}
