//! The sandbox's documented rules, one concern per test.

mod common;

use std::time::Duration;

use common::{Api, assert_error, builder, form, json_of};
use invaro::JobStatus;
use invaro_sandbox::samples::INVOICE_PDF;
use invaro_sandbox::{FaultRule, JobTimings, Sandbox};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn requests_without_a_configured_key_get_401() {
    let api = Api::start(builder().api_key("first").api_key("second")).await;
    let no_key = api
        .http
        .get(api.url("/files"))
        .send()
        .await
        .expect("answered");
    assert_error(no_key, 401, "UNAUTHORIZED").await;
    let wrong = api.http.get(api.url("/files")).bearer_auth("sandbox-key");
    assert_error(wrong.send().await.expect("answered"), 401, "UNAUTHORIZED").await;
    let basic = api
        .http
        .get(api.url("/files"))
        .basic_auth("first", None::<&str>);
    assert_error(basic.send().await.expect("answered"), 401, "UNAUTHORIZED").await;
    for key in ["first", "second"] {
        let ok = api.http.get(api.url("/files")).bearer_auth(key);
        json_of(ok.send().await.expect("answered"), 200).await;
    }
    assert_eq!(api.sandbox.stats().responses(401), 3);
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_429_follows() {
    let api = Api::start(builder().rate_limit(3, Duration::from_secs(60))).await;
    for remaining in ["2", "1", "0"] {
        let response = api.get("/files").await;
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["x-ratelimit-limit"], "3");
        assert_eq!(headers["x-ratelimit-remaining"], remaining);
        let reset: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("Unix seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert!(
            (now..=now + 61).contains(&reset),
            "reset {reset}, now {now}"
        );
    }
    let response = api.get("/files").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED").await;
}

#[tokio::test]
async fn without_rate_limit_headers_the_limit_still_holds() {
    let api = Api::start(
        builder()
            .rate_limit(1, Duration::from_secs(60))
            .rate_limit_headers(false),
    )
    .await;
    let first = api.get("/files").await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("x-ratelimit-remaining").is_none());
    let refused = api.get("/files").await;
    assert!(refused.headers().get("retry-after").is_none());
    assert!(refused.headers().get("x-ratelimit-reset").is_none());
    assert_error(refused, 429, "RATE_LIMIT_EXCEEDED").await;
}

#[tokio::test]
async fn every_file_and_batch_document_counts_against_the_limit() {
    let api = Api::start(builder().rate_limit(6, Duration::from_secs(60))).await;
    let pdf: &[u8] = INVOICE_PDF;
    let docs = api
        .upload_to(
            "/parse/upload",
            &[("a.pdf", pdf), ("b.pdf", pdf), ("c.pdf", pdf)],
        )
        .await;
    let batch =
        json!({ "files": docs.iter().map(|d| json!({ "document_id": d })).collect::<Vec<_>>() });
    // Three requests left, and the batch needs three: all of them are gone afterwards.
    let response = api.post_json("/parse/invoices/batch", &batch).await;
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    json_of(response, 200).await;
    let response = api.post_json("/parse/invoices/batch", &batch).await;
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(api.sandbox.stats().jobs_created, 3);
}

#[tokio::test]
async fn a_batch_beyond_the_remaining_quota_creates_no_job() {
    let api = Api::start(builder().rate_limit(3, Duration::from_secs(60))).await;
    let doc = api.upload("invoice.pdf").await;
    let batch = json!({ "files": [{ "document_id": doc }, { "document_id": doc }, { "document_id": doc }] });
    let response = api.post_json("/parse/invoices/batch", &batch).await;
    assert_error(response, 429, "RATE_LIMIT_EXCEEDED").await;
    assert_eq!(api.sandbox.stats().jobs_created, 0);
    assert!(api.sandbox.jobs().is_empty());
}

async fn status_of(api: &Api, job: &str) -> Value {
    json_of(api.get(&format!("/parse/{job}")).await, 200).await["data"].clone()
}

#[tokio::test]
async fn jobs_are_pending_then_processing_then_completed() {
    let waiting = JobTimings {
        pending: Duration::from_secs(3600),
        processing: Duration::ZERO,
    };
    let api = Api::start(builder().job_timings(waiting)).await;
    let job = api
        .start_job("invoices", &api.upload("invoice.pdf").await)
        .await;
    let data = status_of(&api, &job).await;
    assert_eq!(
        (data["status"].as_str(), data["progress"].as_f64()),
        (Some("pending"), Some(0.0))
    );
    assert!(data.get("result").is_none());

    let processing = JobTimings {
        pending: Duration::ZERO,
        processing: Duration::from_secs(3600),
    };
    let api = Api::start(builder().job_timings(processing)).await;
    let job = api
        .start_job("statements", &api.upload("statement.pdf").await)
        .await;
    let data = status_of(&api, &job).await;
    assert_eq!(data["status"], "processing");
    let progress = data["progress"]
        .as_f64()
        .expect("progress while processing");
    assert!((1.0..100.0).contains(&progress), "{progress}");

    let api = Api::start(builder().statement_transactions(3000)).await;
    let doc = api.upload("statement.pdf").await;
    let job = api.start_job("statements", &doc).await;
    let body = json_of(api.get(&format!("/parse/statements/{job}")).await, 200).await;
    let results = &body["data"]["results"];
    assert_eq!(body["data"]["status"], "completed");
    assert_eq!(body["data"]["progress"], 100.0);
    assert_eq!(results["transactions"].as_array().map(Vec::len), Some(3000));
    assert!(
        results["closing_balance"]
            .as_str()
            .is_some_and(|b| b.ends_with(".00") || b.contains('.'))
    );
    assert_eq!(
        api.sandbox
            .jobs()
            .iter()
            .map(|j| (j.job_id.clone(), j.status.clone()))
            .collect::<Vec<_>>(),
        vec![(job, JobStatus::Completed)]
    );
    assert_eq!(
        api.sandbox.stats().job_starts_by_document.get(&doc),
        Some(&1)
    );
}

#[tokio::test]
async fn results_are_deterministic_per_file() {
    let api = Api::default().await;
    let first = api
        .start_job("invoices", &api.upload("invoice.pdf").await)
        .await;
    let second = api
        .start_job("invoices", &api.upload("copy.pdf").await)
        .await;
    let a = status_of(&api, &first).await["result"].clone();
    let b = status_of(&api, &second).await["result"].clone();
    assert_eq!(a, b, "same bytes, same result");
    let total = a["total_calculation"]["grand_total"]
        .as_str()
        .expect("an amount string");
    assert!(
        total.contains('.')
            && total
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    );
}

#[tokio::test]
async fn a_file_named_with_the_marker_fails_its_job() {
    let api = Api::default().await;
    let doc = api.upload("please-FAIL-me.pdf").await;
    let job = api.start_job("invoices", &doc).await;
    let status = json_of(api.get(&format!("/parse/invoices/{job}")).await, 200).await;
    let job_view = &status["data"];
    assert_eq!(job_view["status"], "failed");
    assert!(
        job_view["error"]
            .as_str()
            .is_some_and(|e| e.contains("fail"))
    );
    assert!(job_view.get("result").is_none());
    let file = json_of(api.get(&format!("/files/{doc}")).await, 200).await;
    assert_eq!(file["data"]["status"], "failed");
    assert_eq!(api.sandbox.jobs()[0].status, JobStatus::Failed);

    let custom = Api::start(builder().fail_marker("broken")).await;
    let job = custom
        .start_job("invoices", &custom.upload("fail.pdf").await)
        .await;
    assert_eq!(status_of(&custom, &job).await["status"], "completed");
}

#[tokio::test]
async fn a_job_asked_on_the_other_kinds_route_is_404() {
    let api = Api::default().await;
    let job = api
        .start_job("statements", &api.upload("statement.pdf").await)
        .await;
    assert_error(
        api.get(&format!("/parse/invoices/{job}")).await,
        404,
        "NOT_FOUND",
    )
    .await;
    json_of(api.get(&format!("/parse/statements/{job}")).await, 200).await;
}

#[tokio::test]
async fn schemas_are_unique_versioned_and_found_by_id() {
    let api = Api::default().await;
    let create =
        |name: &str, kind: &str| json!({ "name": name, "type": kind, "schema_string": { "v": 1 } });
    let created = json_of(
        api.post_json("/schemas", &create("a", "invoice")).await,
        200,
    )
    .await;
    let id = created["data"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["data"]["version"], 1);
    assert_eq!(created["data"]["schema_string"], r#"{"v":1}"#);
    assert_error(
        api.post_json("/schemas", &create("a", "bank_statement"))
            .await,
        409,
        "SCHEMA_EXISTS",
    )
    .await;
    assert_error(
        api.post_json("/schemas", &create("b", "receipt")).await,
        400,
        "INVALID_SCHEMA_TYPE",
    )
    .await;
    json_of(
        api.post_json("/schemas", &create("b", "bank_statement"))
            .await,
        200,
    )
    .await;

    for expected in [2, 3] {
        let update = api
            .request(Method::PUT, &format!("/schemas/id/{id}"))
            .json(&json!({ "schema_string": { "v": expected }, "description": "d" }))
            .send()
            .await
            .expect("answered");
        let updated = json_of(update, 200).await;
        assert_eq!(updated["data"]["version"], expected);
        assert_eq!(updated["data"]["description"], "d");
    }
    let fetched = json_of(api.get(&format!("/schemas/id/{id}")).await, 200).await;
    assert_eq!(fetched["data"]["schema_string"], r#"{"v":3}"#);
    assert_error(api.get("/schemas/id/nope").await, 404, "SCHEMA_NOT_FOUND").await;

    let list = json_of(
        api.get("/schemas/list?type=bank_statement&page_size=5")
            .await,
        200,
    )
    .await;
    assert_eq!(list["data"]["total"], 1);
    assert_eq!(list["data"]["limit"], 5);
    assert_eq!(list["data"]["schemas"][0]["name"], "b");
    let second_page = json_of(api.get("/schemas/list?page=2&page_size=1").await, 200).await;
    assert_eq!(second_page["data"]["schemas"][0]["name"], "b");
}

#[tokio::test]
async fn files_list_newest_first_with_filters_and_pages() {
    let api = Api::default().await;
    let pdf: &[u8] = INVOICE_PDF;
    let names = ["1.pdf", "2.pdf", "3.pdf", "4-statement.pdf", "5.pdf"];
    let mut ids = Vec::new();
    for name in names {
        ids.extend(api.upload_to("/files/upload", &[(name, pdf)]).await);
    }
    api.start_job("invoices", &ids[0]).await;
    let api = &api;
    let page = |n: u32| async move {
        let body = json_of(api.get(&format!("/files?page={n}&page_size=2")).await, 200).await;
        assert_eq!(body["data"]["total"], 5);
        body["data"]["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["filename"].as_str().expect("a name").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(page(1).await, ["5.pdf", "4-statement.pdf"]);
    assert_eq!(page(2).await, ["3.pdf", "2.pdf"]);
    assert_eq!(page(3).await, ["1.pdf"]);
    assert!(page(4).await.is_empty());

    let completed = json_of(api.get("/files?status=completed").await, 200).await;
    assert_eq!(completed["data"]["files"][0]["id"], ids[0].as_str());
    assert_eq!(completed["data"]["total"], 1);
    let statements = json_of(api.get("/files?type=bank_statement").await, 200).await;
    assert_eq!(
        statements["data"]["files"][0]["filename"],
        "4-statement.pdf"
    );
    assert_eq!(statements["data"]["total"], 1);
    for query in [
        "page_size=0",
        "page_size=101",
        "page_size=1000",
        "page=-1",
        "status=nope",
    ] {
        assert_error(
            api.get(&format!("/files?{query}")).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
    }
}

#[tokio::test]
async fn downloads_carry_type_and_name_and_deleted_files_are_gone() {
    let api = Api::default().await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\nrest-of-image";
    let jpeg: &[u8] = b"\xFF\xD8\xFF\xE0rest";
    let ids = api
        .upload_to(
            "/files/upload",
            &[("scan \"1\".png", png), ("photo.jpg", jpeg)],
        )
        .await;
    let response = api.get(&format!("/files/{}/download", ids[0])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"scan _1_.png\""
    );
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), png);
    let response = api.get(&format!("/files/{}/download", ids[1])).await;
    assert_eq!(response.headers()["content-type"], "image/jpeg");

    let delete = || {
        api.request(Method::DELETE, &format!("/files/{}", ids[0]))
            .send()
    };
    let deleted = json_of(delete().await.expect("answered"), 200).await;
    assert_eq!(deleted["data"]["file_id"], ids[0].as_str());
    assert_error(
        delete().await.expect("answered"),
        409,
        "FILE_ALREADY_DELETED",
    )
    .await;
    assert_error(
        api.get(&format!("/files/{}/download", ids[0])).await,
        410,
        "FILE_DELETED",
    )
    .await;
    let record = json_of(api.get(&format!("/files/{}", ids[0])).await, 200).await;
    assert_eq!(record["data"]["status"], "deleted");
    let listed = json_of(api.get("/files").await, 200).await;
    assert_eq!(
        listed["data"]["total"], 1,
        "deleted files are listed only on request"
    );
    let listed = json_of(api.get("/files?status=deleted").await, 200).await;
    assert_eq!(listed["data"]["total"], 1);
    let start = api
        .post_json("/parse/invoices", &json!({ "document_id": ids[0] }))
        .await;
    assert_error(start, 404, "NOT_FOUND").await;
}

/// The statuses of `count` GET /files requests against a sandbox with `seed`.
async fn fault_run(seed: u64, count: usize) -> Vec<u16> {
    let api = Api::start(
        builder()
            .fault_seed(seed)
            .fault(FaultRule::errors().rate(0.5)),
    )
    .await;
    let mut statuses = Vec::with_capacity(count);
    for _ in 0..count {
        statuses.push(api.get("/files").await.status().as_u16());
    }
    assert_eq!(
        api.sandbox.stats().faults_injected as usize,
        statuses.iter().filter(|s| **s != 200).count()
    );
    statuses
}

#[tokio::test]
async fn faults_are_reproducible_from_the_seed() {
    let first = fault_run(42, 40).await;
    assert_eq!(first, fault_run(42, 40).await);
    assert_ne!(first, fault_run(43, 40).await);
    assert!(
        first.iter().all(|s| [200, 429, 500, 503].contains(s)),
        "{first:?}"
    );
    assert!(
        first.contains(&200) && first.iter().any(|s| *s != 200),
        "{first:?}"
    );
}

#[tokio::test]
async fn an_injected_failure_has_no_side_effect() {
    let api = Api::start(
        builder()
            .fault(FaultRule::status(503).on("processInvoices"))
            .fault(FaultRule::drop_connection().on("processStatements")),
    )
    .await;
    let doc = api.upload("invoice.pdf").await;
    let start = |kind: &'static str| {
        api.request(Method::POST, &format!("/parse/{kind}"))
            .json(&json!({ "document_id": doc }))
            .send()
    };
    let refused = start("invoices").await.expect("answered");
    assert_error(refused, 503, "SERVICE_UNAVAILABLE").await;
    let dropped = start("statements").await;
    assert!(dropped.is_err(), "the connection ends without an answer");
    let stats = api.sandbox.stats();
    assert_eq!((stats.jobs_created, stats.faults_injected), (0, 2));
    assert_eq!((stats.connections_dropped, stats.responses(200)), (1, 1));
    assert!(stats.job_starts_by_document.is_empty());
}

#[tokio::test]
async fn truncation_cuts_get_bodies_only() {
    let api = Api::start(builder().fault(FaultRule::truncate())).await;
    let doc = api.upload("invoice.pdf").await;
    assert!(!doc.is_empty(), "POST bodies are not truncated");
    let response = api.get(&format!("/files/{doc}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.content_length().is_some_and(|n| n > 0));
    let cut = response.bytes().await;
    assert!(cut.is_err(), "the body ends before its Content-Length");
}

#[tokio::test]
async fn latency_delays_without_failing() {
    let api =
        Api::start(builder().fault(FaultRule::latency(Duration::from_millis(20)).on("/files")))
            .await;
    json_of(api.get("/files").await, 200).await;
    json_of(api.get("/schemas/list").await, 200).await;
    assert_eq!(api.sandbox.stats().faults_injected, 1);
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400() {
    let api = Api::default().await;
    let raw = |content_type: &'static str, body: &'static str| {
        api.request(Method::POST, "/parse/invoices")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = raw("application/json", "{\"document_id\": ")
        .await
        .expect("answered");
    assert_error(malformed, 400, "INVALID_REQUEST").await;
    let text = raw("text/plain", "{\"document_id\": \"x\"}")
        .await
        .expect("answered");
    assert_error(text, 400, "INVALID_REQUEST").await;
    let wrong_type = raw("application/json", "[1, 2]").await.expect("answered");
    assert_error(wrong_type, 400, "VALIDATION_ERROR").await;
    let upload_json = api
        .post_json("/parse/upload", &json!({ "files": [] }))
        .await;
    assert_error(upload_json, 400, "INVALID_REQUEST").await;
    let callback = json!({ "document_id": "x", "callback_url": "ftp://example.com/hook" });
    assert_error(
        api.post_json("/parse/invoices", &callback).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let schemas = api
        .post_json(
            "/schemas",
            &json!({ "name": "", "type": "invoice", "schema_string": {} }),
        )
        .await;
    assert_error(schemas, 400, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn odd_paths_get_the_envelope_never_a_crash() {
    let api = Api::default().await;
    for (path, status) in [
        ("/parse/job%00x", 400),
        ("/parse/%FF%FE", 400),
        ("/parse/invoices/..%2F..%2Fetc", 400),
        ("/files/%2e%2e", 404),
        ("/schemas/id/%F0%9F%98%80", 404),
        ("/files/a/b/c", 404),
        ("/nowhere", 404),
    ] {
        let body = json_of(api.get(path).await, status).await;
        assert_eq!(body["success"], false, "{path}: {body}");
    }
    let outside = api
        .http
        .get(api.url("/../../v2/files"))
        .bearer_auth("sandbox-key")
        .send();
    assert_eq!(outside.await.expect("answered").status(), 404);
    let wrong_method = api
        .request(Method::PATCH, "/files")
        .send()
        .await
        .expect("answered");
    assert_error(wrong_method, 405, "METHOD_NOT_ALLOWED").await;
    assert_eq!(api.sandbox.stats().responses(500), 0);
}

#[tokio::test]
async fn oversized_bodies_are_rejected_at_the_limit() {
    let api = Api::start(builder().max_json_bytes(1024).max_files(2)).await;
    let big = json!({ "document_id": "x".repeat(200_000) });
    assert_error(
        api.post_json("/parse/invoices", &big).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    let mut file = INVOICE_PDF.to_vec();
    file.resize(10 * 1024 * 1024 + 1, b' ');
    let response = api
        .request(Method::POST, "/parse/upload")
        .multipart(form(&[("huge.pdf", &file)]))
        .send()
        .await
        .expect("answered, not cut off");
    assert_error(response, 400, "UPLOAD_ERROR").await;

    let pdf: &[u8] = INVOICE_PDF;
    let three = form(&[("a.pdf", pdf), ("b.pdf", pdf), ("c.pdf", pdf)]);
    let response = api
        .request(Method::POST, "/files/upload")
        .multipart(three)
        .send()
        .await;
    assert_error(response.expect("answered"), 400, "VALIDATION_ERROR").await;
    let empty = api
        .request(Method::POST, "/files/upload")
        .multipart(form(&[("e.pdf", b"")]))
        .send()
        .await;
    assert_error(empty.expect("answered"), 400, "VALIDATION_ERROR").await;
    let listed = json_of(api.get("/files").await, 200).await;
    assert_eq!(
        listed["data"]["total"], 0,
        "a rejected upload stores nothing"
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sandbox = Sandbox::builder().start().await.expect("starts");
    let url = format!("{}/files", sandbox.base_url());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.expect("served").status(), 401);
    sandbox.shutdown().await.expect("a clean shutdown");
    assert!(client.get(&url).send().await.is_err());
}
