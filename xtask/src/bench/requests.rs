//! Section 1: what a call costs. The same job-status calls through the invaro client, through
//! reqwest with hand-written serde types, through raw hyper, and through reqwest decoding into the
//! SDK's generated types, against one fixed-response server on 127.0.0.1.
//!
//! A fifth way, reqwest sending the very request invaro sends (its headers, over a client with
//! its timeouts), separates what is on the wire from what the SDK's code costs.
//!
//! The calls of each way are split into short blocks, and the four ways take turns block by block,
//! the order rotating: a burst of load from elsewhere on the machine then spoils a few blocks of
//! every way alike instead of one way's whole round, and the medians over blocks leave it out.

use std::{sync::Arc, time::Instant};

use axum::{Router, http::header, routing::get};
use bytes::Bytes;
use futures::{StreamExt, stream};
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client as HyperClient, rt::TokioExecutor};
use invaro::{DocumentKind, RateLimit};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Settings, report::Figure, report::median, server};

const KEY: &str = "bench-key";
const JOB_ID: &str = "0b6f1d2e-8c1a-4f7e-9d3b-2a5c7e9f1b3d";
const IN_FLIGHT: usize = 64;
/// Calls per block, one at a time: a few milliseconds, shorter than most bursts of other load.
const SEQUENTIAL_BLOCK: usize = 100;
/// Blocks in flight hold this many times `IN_FLIGHT` calls, so that filling and draining the
/// 64 slots is a small part of each.
const FLIGHTS_PER_BLOCK: usize = 5;

/// The hand-written types a user of plain reqwest or hyper would decode into.
#[derive(Deserialize)]
#[allow(dead_code)] // Read by serde: decoding them is the cost being compared.
struct Envelope {
    success: bool,
    data: JobBody,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct JobBody {
    job_id: String,
    status: String,
    file_id: Option<String>,
    progress: Option<f64>,
    created_at: Option<String>,
    updated_at: Option<String>,
    error: Option<String>,
    result: Option<Map<String, Value>>,
    results: Option<Map<String, Value>>,
}

/// A completed statement job with a small result, as the status route answers it.
fn job_body() -> String {
    let transactions: Vec<Value> = (1..=5)
        .map(|day| {
            serde_json::json!({
                "date": format!("{day:02}/01/2025"), "description": "NEFT transfer",
                "amount": 2500.5, "type": "credit", "balance": "11,78,713.00"
            })
        })
        .collect();
    serde_json::json!({
        "success": true,
        "data": {
            "job_id": JOB_ID, "status": "completed", "file_id": "1736900000_statement.pdf",
            "progress": 100, "created_at": "2025-01-15T10:00:00Z",
            "updated_at": "2025-01-15T10:00:04Z",
            "results": {
                "account_no": "001234567890", "opening_balance": "10,00,000.00",
                "closing_balance": "11,78,713.00", "transactions": transactions
            }
        }
    })
    .to_string()
}

/// The ways of making the call. `Typed` is reqwest decoding into the SDK's generated types: it
/// splits the SDK's overhead into decoding and everything else.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Invaro,
    Reqwest,
    Hyper,
    Typed,
    /// reqwest with hand-written types, sending what invaro sends.
    SameWire,
}

/// Clients built once, so that every round measures calls on warm connection pools.
struct Clients {
    base: String,
    invaro: invaro::Client,
    reqwest: reqwest::Client,
    /// Built with invaro's timeouts, for [`Way::SameWire`].
    same_wire: reqwest::Client,
    hyper: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
}

impl Clients {
    async fn call(&self, way: Way) {
        match way {
            Way::Invaro => {
                let job = self.invaro.job(DocumentKind::Statement, JOB_ID);
                job.status().await.expect("the invaro call succeeds");
            }
            Way::Reqwest => {
                let _: Envelope = self.reqwest_call().await;
            }
            Way::Typed => {
                let _: invaro::generated::types::JobResponse = self.reqwest_call().await;
            }
            Way::SameWire => {
                use invaro::generated::ClientInfo;
                let config = self.invaro.config();
                let response = self
                    .same_wire
                    .get(format!("{}/parse/statements/{JOB_ID}", self.base))
                    .bearer_auth(KEY)
                    .header(header::ACCEPT, "application/json")
                    .header("api-version", invaro::generated::Client::api_version())
                    .header(header::USER_AGENT, &config.user_agent)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .expect("the reqwest call succeeds");
                let _: Envelope = response.json().await.expect("the body decodes");
            }
            Way::Hyper => {
                let request =
                    hyper::Request::get(format!("{}/parse/statements/{JOB_ID}", self.base))
                        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
                        .body(Empty::<Bytes>::new())
                        .expect("a valid request");
                let response = self
                    .hyper
                    .request(request)
                    .await
                    .expect("the hyper call succeeds");
                assert!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("the body arrives");
                let _: Envelope =
                    serde_json::from_slice(&body.to_bytes()).expect("the body decodes");
            }
        }
    }

    async fn reqwest_call<T: serde::de::DeserializeOwned>(&self) -> T {
        let response = self
            .reqwest
            .get(format!("{}/parse/statements/{JOB_ID}", self.base))
            .bearer_auth(KEY)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("the reqwest call succeeds");
        response.json().await.expect("the body decodes")
    }

    /// Seconds per call over `calls` calls, `in_flight` at a time.
    async fn time(self: &Arc<Self>, way: Way, calls: usize, in_flight: usize) -> f64 {
        let started = Instant::now();
        stream::iter(0..calls)
            .map(|_| self.call(way))
            .buffer_unordered(in_flight)
            .for_each(|()| async {})
            .await;
        started.elapsed().as_secs_f64() / calls as f64
    }
}

/// Runs the section and returns its figures.
pub fn run(settings: &Settings) -> Vec<Figure> {
    let body = job_body();
    let app = Router::new().route(
        "/api/v1/parse/statements/{job_id}",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let server = server::spawn(app);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure(settings, &server.base_url))
}

async fn measure(settings: &Settings, base: &str) -> Vec<Figure> {
    let invaro = invaro::Client::builder()
        .api_key(KEY)
        .base_url(base)
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings");
    let same_wire = reqwest::Client::builder()
        .connect_timeout(invaro.config().connect_timeout)
        .read_timeout(invaro.config().read_timeout)
        .tcp_user_timeout(invaro.config().read_timeout)
        .build()
        .expect("a reqwest client");
    let clients = Arc::new(Clients {
        base: base.to_owned(),
        invaro,
        same_wire,
        reqwest: reqwest::Client::new(),
        hyper: HyperClient::builder(TokioExecutor::new()).build_http(),
    });
    let ways = [
        Way::Invaro,
        Way::Reqwest,
        Way::Hyper,
        Way::Typed,
        Way::SameWire,
    ];
    for way in ways {
        clients.time(way, settings.calls / 10, IN_FLIGHT).await;
    }
    let mut figures = Vec::new();
    for (label, in_flight) in [("sequential", 1), ("64 in flight", IN_FLIGHT)] {
        let block = if in_flight == 1 {
            SEQUENTIAL_BLOCK
        } else {
            in_flight * FLIGHTS_PER_BLOCK
        };
        let blocks = (settings.calls * settings.rounds / block).max(ways.len());
        // [block][way] seconds per call.
        let mut samples = Vec::new();
        for n in 0..blocks {
            let mut times = [0.0; 5];
            for i in 0..ways.len() {
                let index = (n + i) % ways.len();
                times[index] = clients.time(ways[index], block, in_flight).await;
            }
            samples.push(times);
        }
        let column = |i: usize| samples.iter().map(|r| r[i] * 1e6).collect::<Vec<_>>();
        let ratio = |i: usize| median(&samples.iter().map(|r| r[i] / r[1]).collect::<Vec<_>>());
        let reqwest = median(&column(1));
        let calls = settings.calls;
        figures.push(
            Figure::new(
                format!("{calls} job-status calls, {label}: invaro"),
                median(&column(0)),
                "µs/call",
            )
            .against("reqwest + serde", reqwest, ratio(0))
            .target("ratio ≤ 1.25"),
        );
        let others = [
            (2, "raw hyper + serde"),
            (3, "reqwest + the SDK's types"),
            (4, "reqwest sending invaro's request"),
        ];
        for (i, way) in others {
            figures.push(
                Figure::new(
                    format!("{calls} job-status calls, {label}: {way}"),
                    median(&column(i)),
                    "µs/call",
                )
                .against("reqwest + serde", reqwest, ratio(i)),
            );
        }
    }
    figures
}
