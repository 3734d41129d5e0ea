//! What must hold for any input to the SDK's webhook verification and body decoders.
//!
//! One oracle serves two runners: the cargo-fuzz targets in `fuzz/fuzz_targets/` and the property
//! tests in `client/tests/properties.rs` (which include this file by path, so it runs on stable in
//! `cargo test`). Every function takes raw bytes, never panics on them unless a property is
//! broken, and panics with a message naming the property when one is.

use std::fmt::Debug;

use invaro::{
    Amount, InvoiceResult, StatementResult,
    generated::types,
    webhook::{self, Verifier, WebhookError, WebhookEvent},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The secret the webhook checks sign with.
const SECRET: &str = "fuzz-webhook-secret";

/// Splits fuzz input in two at its first NUL byte (all of it is the first part when there is none).
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// `header NUL body`: verification never panics, accepts only the exact signature of the body,
/// and `verify(sign(body))` always passes the signature check.
pub fn webhook(data: &[u8]) {
    let (header, body) = split(data);
    let header = String::from_utf8_lossy(header);
    let verifier = Verifier::new(SECRET).expect("a non-empty secret");
    let signed = webhook::sign(SECRET, body);
    match verifier.verify(body, &header) {
        Ok(_) | Err(WebhookError::Decode { .. }) => assert!(
            header.trim().eq_ignore_ascii_case(&signed),
            "a signature other than the body's was accepted: {header:?}"
        ),
        Err(_) => {}
    }
    match verifier.verify(body, &signed) {
        Ok(event) => assert_eq!(
            Some(&event),
            round_trip::<WebhookEvent>(body).as_ref(),
            "verify and from_slice disagree"
        ),
        Err(WebhookError::Decode { .. }) => {
            assert!(
                WebhookEvent::from_slice(body).is_err(),
                "verify refused a decodable body"
            )
        }
        Err(other) => panic!("verify(sign(body)) failed: {other}"),
    }
    let other = Verifier::new("another-secret").expect("a non-empty secret");
    assert_eq!(
        other.verify_signature(body, &signed),
        Err(WebhookError::SignatureMismatch),
        "a signature made with another secret was accepted"
    );
}

/// Any body as a job, job envelope, invoice status (bare or enveloped) or error envelope: decoding
/// never panics, and what decodes encodes to something that decodes back to the same value.
pub fn job_bodies(data: &[u8]) {
    round_trip::<types::Job>(data);
    round_trip::<types::JobResponse>(data);
    round_trip::<types::ErrorEnvelope>(data);
    if let Some(status) = round_trip::<types::InvoiceStatusResponse>(data) {
        let job = status.into_job();
        let _ = job.output();
    }
}

/// Any body as an invoice or statement result: decoding never panics, round trips, and reading
/// its amounts and dates never panics.
pub fn result_bodies(data: &[u8]) {
    if let Some(statement) = round_trip::<StatementResult>(data) {
        let amounts = [
            &statement.opening_balance,
            &statement.closing_balance,
            &statement.total_credit,
            &statement.total_debit,
        ];
        amounts.into_iter().flatten().for_each(amount_agrees);
        for tx in &statement.transactions {
            [&tx.amount, &tx.balance]
                .into_iter()
                .flatten()
                .for_each(amount_agrees);
            let _ = tx.parsed_date();
        }
    }
    if let Some(invoice) = round_trip::<InvoiceResult>(data) {
        let tax = invoice.tax_calculation.as_ref();
        tax.and_then(|t| t.igst_amount.as_ref()).map(amount_agrees);
    }
    amount_agrees(&Amount::from(String::from_utf8_lossy(data).as_ref()));
}

/// An amount's two readings never panic, and agree when both succeed.
pub fn amount_agrees(amount: &Amount) {
    let (value, minor) = (amount.value(), amount.minor_units());
    if let (Ok(value), Ok(minor)) = (&value, &minor) {
        let diff = (*minor as f64 / 100.0 - value).abs();
        assert!(
            diff <= value.abs() * 1e-12 + 1e-9,
            "{:?}: value {value} but minor units {minor}",
            amount.as_str()
        );
    }
    assert!(
        minor.is_err() || value.is_ok(),
        "{:?}: exact in minor units but not readable as a number",
        amount.as_str()
    );
}

/// Decodes `data` as `T`; when it decodes, checks that encoding and decoding again gives the
/// same value (numbers compared as JSON numbers: serde_json may read a long float back one unit
/// in the last place off).
pub fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let encoded = serde_json::to_vec(&value).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&encoded).unwrap_or_else(|e| {
        panic!(
            "{} does not decode its own encoding {}: {e}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&encoded)
        )
    });
    if back != value {
        let (a, b) = (json(&value), json(&back));
        assert!(
            same_json(&a, &b),
            "{} changed in a round trip:\n{a}\n{b}",
            std::any::type_name::<T>()
        );
    }
    Some(value)
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("a decoded value encodes")
}

/// Equal JSON, floats within a relative 1e-15.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
