//! The SDK's retries and rate limiter against the sandbox's injected faults and enforced limit.

use std::time::Duration;

use invaro::{DocumentKind, RateLimit};
use invaro_sandbox::{FaultRule, JobTimings, Sandbox, samples};
use invaro_tests::{run_jobs, start, upload_and_start};

#[tokio::test]
async fn reads_get_through_injected_errors_drops_and_truncations() {
    for (name, rule) in [
        ("errors", FaultRule::errors().rate(0.3)),
        ("drops", FaultRule::drop_connection().rate(0.3)),
        ("truncations", FaultRule::truncate().rate(0.3)),
    ] {
        let (sandbox, client) = start(
            Sandbox::builder()
                .job_timings(JobTimings::INSTANT)
                .fault_seed(7)
                .fault(rule.on("/files")),
            RateLimit::unlimited(),
        )
        .await;
        for _ in 0..20 {
            let listed = client.files().list().send().await;
            assert!(listed.is_ok(), "{name}: {:?}", listed.err());
        }
        assert!(
            sandbox.stats().faults_injected > 0,
            "{name}: faults were injected"
        );
    }
}

#[tokio::test]
async fn a_status_cut_short_is_retried_and_read_whole() {
    let (sandbox, client) = start(
        Sandbox::builder()
            .job_timings(JobTimings::INSTANT)
            .fault_seed(3)
            .fault(FaultRule::truncate().rate(0.5).on("/parse/statements/")),
        RateLimit::unlimited(),
    )
    .await;
    let job = upload_and_start(
        &client,
        DocumentKind::Statement,
        "statement.pdf",
        samples::STATEMENT_PDF,
    )
    .await;
    for _ in 0..10 {
        let status = job.status().await.expect("a cut body is read again");
        assert_eq!(status.status, invaro::JobStatus::Completed);
    }
    let stats = sandbox.stats();
    assert!(stats.faults_injected > 0, "the seed cuts some answers");
    // Two requests (upload, start), ten statuses, and one more for every cut answer.
    assert_eq!(stats.requests, 12 + stats.faults_injected);
}

#[tokio::test]
async fn a_thousand_jobs_with_five_percent_faults_lose_none_and_start_none_twice() {
    let (sandbox, client) = start(
        Sandbox::builder()
            .job_timings(JobTimings::INSTANT)
            .rate_limit(1_000_000, Duration::from_secs(60))
            .fault_seed(2024)
            .fault(FaultRule::errors().rate(0.03))
            .fault(FaultRule::drop_connection().rate(0.01))
            .fault(FaultRule::truncate().rate(0.01)),
        RateLimit::unlimited(),
    )
    .await;
    let report = run_jobs(&sandbox, &client, 1_000, 32).await;
    let stats = sandbox.stats();
    assert_eq!(report.documents, 1_000);
    assert_eq!(
        report.completed.len(),
        1_000,
        "every document completed, none lost"
    );
    assert_eq!(stats.jobs_created, 1_000, "one job per document");
    assert!(
        stats.job_starts_by_document.values().all(|&n| n == 1),
        "none started twice"
    );
    let server_jobs: std::collections::BTreeSet<String> =
        sandbox.jobs().into_iter().map(|j| j.job_id).collect();
    let client_jobs: std::collections::BTreeSet<String> =
        report.completed.values().cloned().collect();
    assert_eq!(
        server_jobs, client_jobs,
        "the client saw exactly the server's jobs"
    );
    assert!(
        stats.faults_injected > 50,
        "faults really were injected: {}",
        stats.faults_injected
    );
}

#[tokio::test]
async fn the_client_limiter_keeps_a_busy_client_under_the_sandbox_limit() {
    let window = Duration::from_millis(500);
    let (sandbox, client) = start(
        Sandbox::builder()
            .job_timings(JobTimings {
                pending: Duration::from_millis(100),
                processing: Duration::from_millis(300),
            })
            .rate_limit(25, window),
        RateLimit::new(25, window),
    )
    .await;
    let report = run_jobs(&sandbox, &client, 40, 40).await;
    assert_eq!(report.completed.len(), 40);
    assert_eq!(
        sandbox.stats().responses(429),
        0,
        "no 429 with the limiter on"
    );
}
