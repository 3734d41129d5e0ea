//! Properties of the SDK's decoders and webhook verification, on stable in `cargo test`: no panic
//! on any input, `verify(sign(body))` passes, and decoding an encoded value gives the value back.
//!
//! The oracle is shared with the fuzz targets (`fuzz/src/client_checks.rs`); inputs the fuzzers
//! once crashed on are kept at the bottom as regression tests.

#[path = "../../fuzz/src/client_checks.rs"]
mod checks;

use chrono::{DateTime, Utc};
use invaro::{
    JobStatus,
    generated::types::{
        ErrorDetail, ErrorEnvelope, ErrorEnvelopeError, InvoiceStatusResponse, Job, JobResponse,
        ParsedDocument,
    },
    webhook,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(96)
}

/// JSON values whose numbers survive a text round trip exactly (integers, and decimals with few
/// digits: serde_json reads longer floats back to within one unit in the last place only).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (any::<i32>(), 0..4i32)
            .prop_map(|(m, places)| Value::from(f64::from(m) / 10f64.powi(places))),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec(("[a-zA-Z_]{1,10}", json_value()), 0..4)
        .prop_map(|pairs| pairs.into_iter().collect())
}

fn status() -> impl Strategy<Value = JobStatus> {
    prop_oneof![
        Just(JobStatus::Pending),
        Just(JobStatus::Processing),
        Just(JobStatus::Completed),
        Just(JobStatus::Failed),
        // A known name never decodes as Unknown, so unknown ones are prefixed.
        "x[a-z_]{0,10}".prop_map(JobStatus::Unknown),
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).expect("in range"))
}

fn job() -> impl Strategy<Value = Job> {
    let text = || proptest::option::of("\\PC{0,16}");
    let document = || proptest::option::of(object().prop_map(ParsedDocument));
    (
        ("\\PC{1,24}", status(), text(), text()),
        (
            proptest::option::of(instant()),
            proptest::option::of(instant()),
        ),
        (
            proptest::option::of((0u32..=1000).prop_map(|p| f64::from(p) / 10.0)),
            document(),
            document(),
        ),
    )
        .prop_map(
            |(
                (job_id, status, error, file_id),
                (created_at, updated_at),
                (progress, result, results),
            )| Job {
                created_at,
                error,
                file_id,
                job_id,
                progress,
                result,
                results,
                status,
                updated_at,
            },
        )
}

fn error_envelope() -> impl Strategy<Value = ErrorEnvelope> {
    // `details: null` reads back as no details, so a present value is never null.
    let details = proptest::option::of(json_value().prop_filter("not null", |v| !v.is_null()));
    let error = prop_oneof![
        ("[A-Z_]{1,20}", "\\PC{0,30}", details).prop_map(|(code, message, details)| {
            ErrorEnvelopeError::ErrorDetail(ErrorDetail {
                code,
                details,
                message,
            })
        }),
        "\\PC{0,30}".prop_map(ErrorEnvelopeError::String),
    ];
    (error, any::<bool>()).prop_map(|(error, success)| ErrorEnvelope { error, success })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).expect("an encoded value decodes")
}

/// Bytes that are mostly JSON with the field names of job and result bodies: arbitrary values
/// under the names the decoders look for, so type mismatches are exercised, not just syntax.
fn body_like() -> impl Strategy<Value = Vec<u8>> {
    let names = prop::sample::select(vec![
        "job_id",
        "status",
        "progress",
        "result",
        "results",
        "created_at",
        "updated_at",
        "error",
        "success",
        "data",
        "code",
        "message",
        "details",
        "transactions",
        "amount",
        "balance",
        "type",
        "date",
        "closing_balance",
        "tax_calculation",
        "IGST_amount",
        "event",
    ]);
    let entries = proptest::collection::vec((names, json_value()), 0..8);
    (entries, any::<u8>(), any::<usize>()).prop_map(|(entries, junk, cut)| {
        let map: Map<String, Value> = entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let mut bytes = serde_json::to_vec(&map).expect("encodes");
        // Some bodies are cut short or have a byte changed, as a broken connection would leave them.
        match junk % 4 {
            0 => bytes.truncate(cut % (bytes.len() + 1)),
            1 => {
                let at = cut % bytes.len();
                bytes[at] = junk;
            }
            _ => {}
        }
        bytes
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jobs_round_trip(job in job()) {
        let bytes = serde_json::to_vec(&job).expect("encodes");
        prop_assert_eq!(decode::<Job>(&bytes), job.clone());
        let enveloped = JobResponse { data: job.clone(), success: true };
        let bytes = serde_json::to_vec(&enveloped).expect("encodes");
        prop_assert_eq!(decode::<JobResponse>(&bytes), enveloped);
    }

    #[test]
    fn invoice_statuses_round_trip_bare_or_enveloped(job in job(), bare in any::<bool>()) {
        let status = if bare {
            InvoiceStatusResponse::Variant1(job.clone())
        } else {
            InvoiceStatusResponse::Variant0(JobResponse { data: job.clone(), success: true })
        };
        let bytes = serde_json::to_vec(&status).expect("encodes");
        let back: InvoiceStatusResponse = decode(&bytes);
        prop_assert_eq!(&back, &status);
        prop_assert_eq!(back.into_job(), job);
    }

    #[test]
    fn error_envelopes_round_trip(envelope in error_envelope()) {
        let bytes = serde_json::to_vec(&envelope).expect("encodes");
        prop_assert_eq!(decode::<ErrorEnvelope>(&bytes), envelope);
    }

    #[test]
    fn a_signed_body_verifies_and_any_header_is_judged_without_panic(
        body in any::<Vec<u8>>(),
        header in "\\PC{0,80}",
    ) {
        let mut signed = webhook::sign("fuzz-webhook-secret", &body).into_bytes();
        signed.push(0);
        signed.extend_from_slice(&body);
        checks::webhook(&signed);
        let mut forged = header.into_bytes();
        forged.retain(|&b| b != 0);
        forged.push(0);
        forged.extend_from_slice(&body);
        checks::webhook(&forged);
    }

    #[test]
    fn any_bytes_decode_without_panic(bytes in any::<Vec<u8>>()) {
        checks::job_bodies(&bytes);
        checks::result_bodies(&bytes);
        checks::webhook(&bytes);
    }

    #[test]
    fn body_like_bytes_decode_without_panic_and_round_trip(bytes in body_like()) {
        checks::job_bodies(&bytes);
        checks::result_bodies(&bytes);
    }
}

#[test]
fn the_round_trip_oracle_judges_numbers_as_json_does() {
    use serde_json::json;
    assert!(!checks::same_json(&json!({"x": 1.5}), &json!({"x": 2.5})));
    assert!(!checks::same_json(&json!([1, 2]), &json!([1])));
    // One unit in the last place apart: what serde_json's float reading may give back.
    assert!(checks::same_json(
        &json!([0.30000000000000004]),
        &json!([0.3000000000000001])
    ));
    assert!(checks::round_trip::<Job>(b"not json").is_none());
    let job = checks::round_trip::<Job>(br#"{"job_id":"j","status":"done","progress":0.1}"#);
    assert_eq!(
        job.map(|j| j.status),
        Some(JobStatus::Unknown("done".into()))
    );
}

#[test]
fn seeds_of_the_fuzz_corpus_pass() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut seen = 0;
    for (target, check) in [
        ("webhook_verify", checks::webhook as fn(&[u8])),
        ("decode_job_bodies", checks::job_bodies),
        ("decode_results", checks::result_bodies),
    ] {
        let dir = seeds.join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            check(&std::fs::read(&path).expect("a readable seed"));
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} seeds were checked");
}

/// Inputs the fuzzers crashed on, kept as they were found.
mod regressions {
    use super::checks;

    /// decode_results: `.00` read as 0 hundredths but not as a float (`value` built `.e0` once
    /// the trailing zeros were trimmed). Fixed in `results.rs`.
    #[test]
    fn a_fraction_of_zeros_without_integer_digits_reads_both_ways() {
        checks::result_bodies(b".00");
        let amount = invaro::Amount::from(".00");
        assert_eq!(amount.value(), Ok(0.0));
        assert_eq!(amount.minor_units(), Ok(0));
        assert_eq!(invaro::Amount::from("-.000").value(), Ok(-0.0));
    }
}
