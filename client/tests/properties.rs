//! Properties of the SDK's decoders and webhook verification, on stable in `cargo test`: no panic
//! on any input, `verify(sign(body))` passes, and decoding an encoded value gives the value back.
//!
//! The oracle is shared with the fuzz targets (`fuzz/src/client_checks.rs`); inputs the fuzzers
//! once crashed on are kept at the bottom as regression tests.

#[path = "../../fuzz/src/client_checks.rs"]
mod checks;

// Crate-private (the transport calls it), so compiled here as well; its unit tests run twice.
#[path = "../src/transport/exact_numbers.rs"]
mod exact_numbers;

use chrono::{DateTime, Utc};
use std::borrow::Cow;

use exact_numbers::quote_inexact_numbers;
use invaro::{
    JobStatus, StatementResult,
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

/// A JSON leaf of any kind serde_json writes: any i64, u64 or finite f64, and strings full of
/// digits, quotes and backslashes.
fn any_json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::from)),
        number_like_text().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

/// Text that looks like JSON numbers and structure, with quotes and backslashes.
fn number_like_text() -> impl Strategy<Value = String> {
    "[0-9eE.+\\- \"\\\\:,\\[\\]{}]{0,24}"
}

/// Any JSON document serde_json writes.
fn any_json() -> impl Strategy<Value = Value> {
    any_json_leaf().prop_recursive(4, 32, 5, |inner| {
        let key = prop_oneof!["\\PC{0,8}", number_like_text()];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            proptest::collection::vec((key, inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Number tokens serde_json cannot hold exactly: beyond 64 bits, overflowing, underflowing to
/// zero, or with more significant digits than an f64 keeps.
fn inexact_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e400".to_owned()),
        Just("1e-400".to_owned()),
        Just("123456789012345678901234567890".to_owned()),
        "-?[1-9][0-9]{20,40}",
        "-?[1-9](\\.[0-9]{1,5})?[eE]\\+?([4-9][0-9]{2}|[1-9][0-9]{3,5})",
        "-?[1-9](\\.[0-9]{1,5})?[eE]-([4-9][0-9]{2}|[1-9][0-9]{3,5})",
        "-?[1-9][0-9]{0,2}\\.[0-9]{17,30}[1-9]([eE][+-]?[0-9]{1,2})?",
    ]
}

/// A JSON text with inexact numbers among ordinary values at every depth, and the value it must
/// read as once they are quoted.
fn injected_document() -> impl Strategy<Value = (String, Value)> {
    let leaf = prop_oneof![
        any_json_leaf().prop_map(|value| {
            let text = value.to_string();
            let read = serde_json::from_str(&text).expect("serde_json reads what it wrote");
            (text, read)
        }),
        inexact_token().prop_map(|token| (token.clone(), Value::String(token))),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        let gap = || "[ \t\n\r]{0,2}";
        prop_oneof![
            proptest::collection::vec((gap(), inner.clone(), gap()), 0..5).prop_map(|items| {
                let text: Vec<String> = items
                    .iter()
                    .map(|(a, (t, _), b)| format!("{a}{t}{b}"))
                    .collect();
                let values = items.into_iter().map(|(_, (_, v), _)| v).collect();
                (format!("[{}]", text.join(",")), Value::Array(values))
            }),
            proptest::collection::vec((number_like_text(), inner, gap()), 0..5).prop_map(
                |members| {
                    let mut text = Vec::new();
                    let mut object = Map::new();
                    for (i, (key, (t, v), gap)) in members.into_iter().enumerate() {
                        // Indexed keys are unique, so the object reads back in the same order.
                        let key = format!("{i}{key}");
                        let quoted = serde_json::to_string(&key).expect("encodes");
                        text.push(format!("{gap}{quoted}{gap}:{gap}{t}{gap}"));
                        object.insert(key, v);
                    }
                    (format!("{{{}}}", text.join(",")), Value::Object(object))
                }
            ),
        ]
    })
}

/// Whether `quoted` is `original` with only `"` bytes added.
fn only_quotes_added(original: &[u8], quoted: &[u8]) -> bool {
    let mut rest = original;
    for &byte in quoted {
        match rest.split_first() {
            Some((&next, tail)) if next == byte => rest = tail,
            _ if byte == b'"' => {}
            _ => return false,
        }
    }
    rest.is_empty()
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

    #[test]
    fn json_as_serde_json_writes_it_is_left_borrowed(value in any_json()) {
        let text = serde_json::to_vec(&value).expect("encodes");
        prop_assert!(matches!(quote_inexact_numbers(&text), Cow::Borrowed(b) if b == text));
        let pretty = serde_json::to_vec_pretty(&value).expect("encodes");
        prop_assert!(matches!(quote_inexact_numbers(&pretty), Cow::Borrowed(_)));
    }

    #[test]
    fn inexact_numbers_read_back_as_their_exact_text((text, expected) in injected_document()) {
        let quoted = quote_inexact_numbers(text.as_bytes());
        let read: Value = serde_json::from_slice(&quoted).expect("parses once quoted");
        prop_assert_eq!(read, expected);
        prop_assert!(matches!(quote_inexact_numbers(&quoted), Cow::Borrowed(_)));
    }

    #[test]
    fn quoting_any_bytes_only_adds_quotes_and_is_done_once(
        bytes in prop_oneof![
            any::<Vec<u8>>(),
            body_like(),
            "[-0-9.eE+\"\\\\:,\\[\\]{} \n\tux]{0,64}".prop_map(String::into_bytes),
        ]
    ) {
        let quoted = quote_inexact_numbers(&bytes);
        prop_assert!(only_quotes_added(&bytes, &quoted));
        prop_assert_eq!(matches!(quoted, Cow::Borrowed(_)), *quoted == *bytes);
        prop_assert!(matches!(quote_inexact_numbers(&quoted), Cow::Borrowed(_)));
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

#[test]
fn a_statement_job_with_numbers_beyond_f64_decodes_exactly() {
    let account = "123456789012345678901234567890";
    let body = format!(
        r#"{{"success":true,"data":{{"job_id":"j","status":"completed","result":{{"account_no":{account},"amount":1e400}}}}}}"#
    );
    let err = serde_json::from_str::<JobResponse>(&body).expect_err("1e400 is out of f64's range");
    assert!(err.to_string().contains("number out of range"), "{err}");
    let without_overflow = body.replace("1e400", "1");
    let lossy: JobResponse = serde_json::from_str(&without_overflow).expect("decodes");
    let lossy = lossy.data.result.expect("a result")["account_no"].to_string();
    assert_eq!(lossy, "1.2345678901234568e+29");

    let job: JobResponse =
        serde_json::from_slice(&quote_inexact_numbers(body.as_bytes())).expect("decodes quoted");
    assert_eq!(job.data.status, JobStatus::Completed);
    let result = job.data.result.expect("a result");
    assert_eq!(result["account_no"], account);
    assert_eq!(result["amount"], "1e400");
    let statement: StatementResult =
        serde_json::from_value(Value::Object(result.into())).expect("a statement");
    assert_eq!(statement.account_no.as_deref(), Some(account));
    assert_eq!(statement.extra["amount"], "1e400");
}

#[test]
fn a_transaction_amount_beyond_f64_keeps_every_digit() {
    let body = br#"{"transactions":[{"amount":12345678901234567890.125,"balance":1e-400}]}"#;
    let statement: StatementResult =
        serde_json::from_slice(&quote_inexact_numbers(body)).expect("decodes quoted");
    let tx = &statement.transactions[0];
    let amount = tx.amount.as_ref().expect("an amount");
    assert_eq!(amount.as_str(), "12345678901234567890.125");
    assert_eq!(tx.balance.as_ref().map(|b| b.as_str()), Some("1e-400"));
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
