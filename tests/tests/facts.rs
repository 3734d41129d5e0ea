//! The SDK's facts of the API (`invaro::facts`) against the sandbox's own copy of the rules.
//!
//! The sandbox keeps its limits and its first-bytes check to itself, as an independent
//! implementation would, so that a wrong fact in the SDK shows here as a disagreement instead of
//! agreeing with itself. Requests are sent with plain reqwest, past the SDK's own checks.

use std::time::Duration;

use invaro::{DocumentKind, facts, types::FileStatus};
use invaro_sandbox::{JobTimings, Sandbox};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .rate_limit(10_000, Duration::from_secs(60))
        .start()
        .await
        .unwrap()
}

/// Sends `files` (name, bytes) to `POST /files/upload` and returns the status.
async fn upload(sandbox: &Sandbox, files: Vec<(String, Vec<u8>)>) -> StatusCode {
    let form = files.into_iter().fold(Form::new(), |form, (name, bytes)| {
        form.part("files", Part::bytes(bytes).file_name(name))
    });
    reqwest::Client::new()
        .post(format!("{}/files/upload", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
}

fn pdf(len: u64) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(usize::try_from(len).unwrap(), b' ');
    bytes
}

#[tokio::test]
async fn the_file_size_limit_is_the_same_on_both_sides() {
    let sandbox = sandbox().await;
    for (len, accepted) in [
        (facts::MAX_FILE_BYTES, true),
        (facts::MAX_FILE_BYTES + 1, false),
    ] {
        let bytes = pdf(len);
        assert_eq!(
            facts::check(len, &bytes).is_ok(),
            accepted,
            "SDK, {len} bytes"
        );
        let status = upload(&sandbox, vec![("doc.pdf".into(), bytes)]).await;
        assert_eq!(
            status.is_success(),
            accepted,
            "sandbox, {len} bytes: {status}"
        );
    }
}

#[tokio::test]
async fn the_file_count_limit_is_the_same_on_both_sides() {
    let sandbox = sandbox().await;
    for (count, accepted) in [(facts::MAX_FILES, true), (facts::MAX_FILES + 1, false)] {
        let files = (0..count).map(|n| (format!("{n}.pdf"), pdf(16))).collect();
        let status = upload(&sandbox, files).await;
        assert_eq!(status.is_success(), accepted, "{count} files: {status}");
    }
    let client = invaro_tests::client(
        sandbox.base_url(),
        sandbox.api_key(),
        invaro::RateLimit::unlimited(),
    );
    let too_many: Vec<_> = (0..=facts::MAX_FILES)
        .map(|n| invaro::Upload::bytes(format!("{n}.pdf"), pdf(16)))
        .collect();
    let refused = client.files().upload(&too_many).await.unwrap_err();
    assert!(
        refused.to_string().contains(&facts::MAX_FILES.to_string()),
        "{refused}"
    );
}

#[tokio::test]
async fn the_file_types_are_the_same_on_both_sides() {
    let sandbox = sandbox().await;
    let heads: [(&str, &[u8]); 5] = [
        ("a.pdf", b"%PDF-1.4\n"),
        ("a.jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
        ("a.png", b"\x89PNG\r\n\x1a\n\0\0"),
        ("a.gif", b"GIF89a\0\0\0\0"),
        ("a.txt", b"hello, world"),
    ];
    for (name, head) in heads {
        let sdk = facts::sniff(head);
        let status = upload(&sandbox, vec![(name.into(), head.to_vec())]).await;
        assert_eq!(
            status.is_success(),
            sdk.is_some(),
            "{name}: SDK {sdk:?}, sandbox {status}"
        );
        if let Some(mime) = sdk {
            assert!(facts::FILE_TYPES.contains(&mime), "{mime}");
        }
    }
}

#[tokio::test]
async fn the_batch_size_is_the_same_on_both_sides() {
    let sandbox = sandbox().await;
    let client = invaro_tests::client(
        sandbox.base_url(),
        sandbox.api_key(),
        invaro::RateLimit::unlimited(),
    );
    let files: Vec<_> = (0..=facts::MAX_BATCH)
        .map(|n| invaro::Upload::bytes(format!("{n}.pdf"), pdf(64)))
        .collect();
    let ids = invaro_tests::upload_ids(&client, &files).await;
    for (count, accepted) in [(facts::MAX_BATCH, true), (facts::MAX_BATCH + 1, false)] {
        let body = serde_json::json!({
            "files": ids[..count].iter().map(|id| serde_json::json!({"document_id": id})).collect::<Vec<_>>()
        });
        let status = reqwest::Client::new()
            .post(format!("{}/parse/invoices/batch", sandbox.base_url()))
            .bearer_auth(sandbox.api_key())
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.is_success(), accepted, "{count} documents: {status}");
    }
    // The SDK splits a larger set into batches the API takes.
    let report = client
        .parse_batch(DocumentKind::Invoice, &ids)
        .await
        .unwrap();
    assert!(report.all_succeeded());
    let listed = client
        .files()
        .list()
        .status(FileStatus::Completed)
        .send()
        .await
        .unwrap();
    assert!(!listed.files.is_empty());
}
