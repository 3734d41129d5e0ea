//! Verifying and decoding webhook deliveries.
//!
//! Invaro signs every delivery with `X-Signature: sha256=<hex of HMAC-SHA256(secret, raw body)>`.
//! A [`Verifier`] checks that header against the raw body, in constant time, and decodes the body
//! into a [`WebhookEvent`]. No timestamp is signed, so a captured delivery can be replayed:
//! make handlers idempotent (for example, keyed on `job_id` and `event`).
//!
//! ```
//! use invaro::webhook::{self, EventKind, Verifier};
//!
//! let verifier = Verifier::new("whsec_current")?;
//! let body = br#"{"event":"job.completed","job_id":"job_1","status":"completed"}"#;
//! let header = webhook::sign("whsec_current", body); // what Invaro sends as X-Signature
//!
//! let event = verifier.verify(body, &header)?;
//! assert_eq!(event.event, EventKind::JobCompleted);
//! assert_eq!(event.job_id, "job_1");
//! # Ok::<(), invaro::webhook::WebhookError>(())
//! ```
//!
//! `Verifier::with_secrets` accepts several secrets while one is being rotated out.
//!
//! Receiving deliveries takes the feature `webhook-receiver` (off by default): a `Receiver`
//! answers 204 to a genuine delivery, 401 to a missing or wrong signature and 400 to a signed
//! body that is no event, and tells the clients built with
//! `ClientBuilder::webhooks(&receiver, callback_url)`. Those send `callback_url` with every job
//! start; a verified `job.completed` or `job.failed` ends the matching waits at once (after one
//! status check for the full record), and polling slows to the poll policy's safety net, which
//! still catches a lost delivery. Mount `receiver.service()` in your own axum or tower server, or
//! run the small standalone `Listener`.

use std::fmt;

#[cfg(feature = "webhook-receiver")]
mod receiver;
#[cfg(feature = "webhook-receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook-receiver")))]
pub use receiver::{Listener, Receiver};
#[cfg(all(feature = "webhook-receiver", feature = "redis"))]
pub(crate) mod relay;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::JobStatus;

/// The name of the header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";

const SCHEME: &str = "sha256=";
const DIGEST_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Signs `body` with `secret` and returns the `X-Signature` value, `sha256=<lowercase hex>`.
///
/// Meant for tests and local servers that need to send deliveries Invaro would send.
///
/// ```
/// let header = invaro::webhook::sign("secret", b"{}");
/// assert!(header.starts_with("sha256="));
/// assert_eq!(header.len(), "sha256=".len() + 64);
/// ```
pub fn sign(secret: impl AsRef<[u8]>, body: &[u8]) -> String {
    let mut mac = keyed(secret.as_ref());
    mac.update(body);
    format!("{SCHEME}{}", hex::encode(mac.finalize().into_bytes()))
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Checks webhook signatures against one or more secrets.
///
/// The first secret is the current one; the others are still accepted, which lets a secret be
/// rotated without rejecting deliveries signed with the previous one. Debug output shows only how
/// many secrets there are.
///
/// ```
/// use invaro::webhook::{self, Verifier};
///
/// let verifier = Verifier::with_secrets(["new-secret", "old-secret"])?;
/// let body = br#"{"event":"job.started","job_id":"job_1"}"#;
/// assert!(verifier.verify(body, &webhook::sign("old-secret", body)).is_ok());
/// assert_eq!(format!("{verifier:?}"), "Verifier { secrets: [REDACTED; 2] }");
/// # Ok::<(), webhook::WebhookError>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    // Keyed HMAC states, cloned per check, so the key schedule is computed once per secret.
    keys: Vec<HmacSha256>,
}

impl Verifier {
    /// A verifier for one secret.
    ///
    /// ```
    /// let verifier = invaro::webhook::Verifier::new("whsec_current")?;
    /// assert!(invaro::webhook::Verifier::new("").is_err());
    /// # let _ = verifier; Ok::<(), invaro::webhook::WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookError::EmptySecret`] when `secret` is empty.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, WebhookError> {
        Self::with_secrets([secret])
    }

    /// A verifier for several secrets, the current one first, for while one is rotated out.
    /// An empty secret would let anyone sign deliveries, so none may be empty.
    ///
    /// ```
    /// let verifier = invaro::webhook::Verifier::with_secrets(["whsec_new", "whsec_old"])?;
    /// let body = br#"{"event":"job.completed","job_id":"job_1"}"#;
    /// assert!(verifier.verify(body, &invaro::webhook::sign("whsec_old", body)).is_ok());
    /// # Ok::<(), invaro::webhook::WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookError::EmptySecret`] when there is no secret, or one is empty.
    pub fn with_secrets<S: AsRef<[u8]>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, WebhookError> {
        let keys = secrets
            .into_iter()
            .map(|s| match s.as_ref() {
                [] => Err(WebhookError::EmptySecret),
                bytes => Ok(keyed(bytes)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(WebhookError::EmptySecret);
        }
        Ok(Self { keys })
    }

    /// Checks `signature_header` (the `X-Signature` value; empty if absent) against `raw_body`,
    /// then decodes the body into a [`WebhookEvent`].
    ///
    /// `raw_body` must be the bytes as received: re-serialized JSON will not match.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MissingSignature`], [`WebhookError::MalformedSignature`] or
    /// [`WebhookError::SignatureMismatch`] when the signature does not vouch for the body;
    /// [`WebhookError::Decode`] when a genuine body is not an event.
    pub fn verify(
        &self,
        raw_body: &[u8],
        signature_header: &str,
    ) -> Result<WebhookEvent, WebhookError> {
        self.verify_signature(raw_body, signature_header)?;
        WebhookEvent::from_slice(raw_body)
    }

    /// Like [`verify`](Self::verify), reading `X-Signature` from the request headers.
    ///
    /// ```
    /// use invaro::webhook::{self, Verifier, WebhookError};
    /// use reqwest::header::HeaderMap;
    ///
    /// let verifier = Verifier::new("secret")?;
    /// let body = br#"{"event":"job.failed","job_id":"job_1"}"#;
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(verifier.verify_headers(&headers, body), Err(WebhookError::MissingSignature));
    ///
    /// headers.insert("x-signature", webhook::sign("secret", body).parse().unwrap());
    /// assert!(verifier.verify_headers(&headers, body).is_ok());
    /// # Ok::<(), WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); a header that is not visible ASCII is
    /// [`WebhookError::MalformedSignature`].
    pub fn verify_headers(
        &self,
        headers: &reqwest::header::HeaderMap,
        raw_body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        let header = match headers.get(SIGNATURE_HEADER) {
            None => "",
            Some(value) => value
                .to_str()
                .map_err(|_| WebhookError::MalformedSignature {
                    reason: "it is not visible ASCII",
                })?,
        };
        self.verify(raw_body, header)
    }

    /// Checks the signature only, for callers that decode the body themselves.
    ///
    /// The header may have surrounding whitespace, and its hex digits may be in either case.
    ///
    /// # Errors
    ///
    /// [`WebhookError::MissingSignature`], [`WebhookError::MalformedSignature`] or
    /// [`WebhookError::SignatureMismatch`].
    pub fn verify_signature(
        &self,
        raw_body: &[u8],
        signature_header: &str,
    ) -> Result<(), WebhookError> {
        let tag = parse_header(signature_header)?;
        let matches = self.keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(raw_body);
            mac.verify_slice(&tag).is_ok()
        });
        if matches {
            Ok(())
        } else {
            Err(WebhookError::SignatureMismatch)
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("[REDACTED; {}]", self.keys.len()))
            .finish()
    }
}

fn parse_header(header: &str) -> Result<[u8; DIGEST_LEN], WebhookError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let digits = header
        .get(..SCHEME.len())
        .filter(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
        .map(|_| &header[SCHEME.len()..])
        .ok_or(WebhookError::MalformedSignature {
            reason: "the sha256= prefix is missing",
        })?;
    if digits.len() != 2 * DIGEST_LEN {
        return Err(WebhookError::MalformedSignature {
            reason: "it does not have 64 hex digits",
        });
    }
    let mut tag = [0u8; DIGEST_LEN];
    hex::decode_to_slice(digits, &mut tag).map_err(|_| WebhookError::MalformedSignature {
        reason: "it has a character that is not a hex digit",
    })?;
    Ok(tag)
}

/// Why a webhook delivery was rejected.
///
/// Messages never contain the secrets or the signature received.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No secret was given, or one was empty.
    #[error("webhook secret is empty: pass the secret configured for the callback URL")]
    EmptySecret,
    /// The request had no `X-Signature` header (or an empty one).
    #[error("X-Signature header is missing")]
    MissingSignature,
    /// The `X-Signature` header is not of the form `sha256=<64 hex digits>`.
    #[error("X-Signature must look like sha256=<64 hex digits>, but {reason}")]
    MalformedSignature {
        /// Which part of the rule the header breaks.
        reason: &'static str,
    },
    /// The signature does not match the body under any of the secrets.
    #[error(
        "X-Signature does not match the body for any configured secret \
         (check the secret, and that the raw body bytes were used, not re-serialized JSON)"
    )]
    SignatureMismatch,
    /// The signature is valid but the body is not a webhook event.
    #[error("webhook body is not a valid event: {message}")]
    Decode {
        /// The JSON decoder's message, with line and column.
        message: String,
    },
}

crate::open_enum::open_enum! {
    /// The kind of a webhook event (the `event` field).
    pub enum EventKind, compare str::eq {
        /// `job.created`: the job was accepted.
        JobCreated = "job.created",
        /// `job.started`: processing began.
        JobStarted = "job.started",
        /// `job.progress`: processing advanced.
        JobProgress = "job.progress",
        /// `job.completed`: the result is ready.
        JobCompleted = "job.completed",
        /// `job.failed`: the job ended without a result.
        JobFailed = "job.failed",
    }
}

/// A webhook delivery's payload.
///
/// Only `event` and `job_id` are required; unknown keys are kept in `extra`. `results` holds the
/// parsed document; decode it into a typed result with serde:
///
/// ```
/// use invaro::InvoiceResult;
/// use invaro::webhook::WebhookEvent;
/// use serde::Deserialize;
///
/// let event = WebhookEvent::from_slice(br#"{"event":"job.completed","job_id":"job_1",
///     "job_type":"invoice","results":{"bank_details":{"IFSC":"ABC0001234"}}}"#)?;
/// let results = event.results.as_ref().expect("a completed job has results");
/// let invoice = InvoiceResult::deserialize(results).expect("an invoice");
/// let bank = invoice.bank_details.expect("bank details");
/// assert_eq!(bank.ifsc.as_deref(), Some("ABC0001234"));
/// # Ok::<(), invaro::webhook::WebhookError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// What happened.
    pub event: EventKind,
    /// The job it happened to.
    pub job_id: String,
    /// The job's type, such as `invoice` or `statement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// The job's status when the event was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    /// When the job was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When the job completed, for `job.completed` and `job.failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The parsed document, for `job.completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Map<String, Value>>,
    /// Keys this SDK does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookEvent {
    /// Decodes a body without checking its signature (use [`Verifier::verify`] for deliveries).
    ///
    /// # Errors
    ///
    /// [`WebhookError::Decode`] when the body is not an event.
    pub fn from_slice(body: &[u8]) -> Result<Self, WebhookError> {
        serde_json::from_slice(body).map_err(|e| WebhookError::Decode {
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &[u8] = br#"{"event":"job.completed","job_id":"job_1","status":"completed"}"#;

    fn verifier() -> Verifier {
        Verifier::new("current-secret").expect("a non-empty secret")
    }

    #[test]
    fn sign_matches_a_known_hmac_sha256_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn accepts_a_good_signature_and_decodes_the_event() {
        let event = verifier()
            .verify(BODY, &sign("current-secret", BODY))
            .expect("a valid delivery");
        assert_eq!(event.event, EventKind::JobCompleted);
        assert_eq!(event.job_id, "job_1");
        assert_eq!(event.status, Some(JobStatus::Completed));
    }

    #[test]
    fn rejects_a_signature_from_another_secret_or_body() {
        let v = verifier();
        assert_eq!(
            v.verify(BODY, &sign("other-secret", BODY)),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            v.verify(b"{}", &sign("current-secret", BODY)),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn rejects_signatures_of_the_wrong_length() {
        let good = sign("current-secret", BODY);
        for header in [&good[..good.len() - 2], &format!("{good}00")] {
            assert!(
                matches!(
                    verifier().verify(BODY, header),
                    Err(WebhookError::MalformedSignature { .. })
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn accepts_upper_case_hex_and_surrounding_whitespace() {
        let header = sign("current-secret", BODY).to_uppercase();
        assert!(header.starts_with("SHA256="));
        assert!(verifier().verify(BODY, &format!("  {header}\t\n")).is_ok());
    }

    #[test]
    fn rejects_a_header_without_the_prefix() {
        let header = sign("current-secret", BODY);
        let err = verifier()
            .verify(BODY, &header["sha256=".len()..])
            .unwrap_err();
        assert_eq!(
            err,
            WebhookError::MalformedSignature {
                reason: "the sha256= prefix is missing"
            }
        );
        assert!(err.to_string().contains("sha256=<64 hex digits>"));
    }

    #[test]
    fn rejects_non_hex_digits() {
        let header = format!("sha256={}", "zz".repeat(32));
        assert!(matches!(
            verifier().verify(BODY, &header),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn reports_a_missing_header() {
        for header in ["", "   "] {
            let err = verifier().verify(BODY, header).unwrap_err();
            assert_eq!(err, WebhookError::MissingSignature);
            assert_eq!(err.to_string(), "X-Signature header is missing");
        }
    }

    #[test]
    fn accepts_every_rotated_secret_and_nothing_else() {
        let v = Verifier::with_secrets(["new", "old"]).expect("non-empty secrets");
        assert!(v.verify(BODY, &sign("new", BODY)).is_ok());
        assert!(v.verify(BODY, &sign("old", BODY)).is_ok());
        assert_eq!(
            v.verify(BODY, &sign("unrelated", BODY)),
            Err(WebhookError::SignatureMismatch)
        );
    }

    #[test]
    fn refuses_empty_secrets() {
        assert_eq!(Verifier::new("").unwrap_err(), WebhookError::EmptySecret);
        let none: [&str; 0] = [];
        assert_eq!(
            Verifier::with_secrets(none).unwrap_err(),
            WebhookError::EmptySecret
        );
        assert_eq!(
            Verifier::with_secrets(["ok", ""]).unwrap_err(),
            WebhookError::EmptySecret
        );
    }

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let v = Verifier::with_secrets(["s3cr3t-new", "s3cr3t-old"]).expect("non-empty");
        assert_eq!(format!("{v:?}"), "Verifier { secrets: [REDACTED; 2] }");
        assert_eq!(format!("{v:#?}").matches("s3cr3t").count(), 0);
        let bad_body = b"not json";
        let errors = [
            v.verify(BODY, "").unwrap_err(),
            v.verify(BODY, "sha256=xyz").unwrap_err(),
            v.verify(BODY, &sign("other", BODY)).unwrap_err(),
            v.verify(bad_body, &sign("s3cr3t-new", bad_body))
                .unwrap_err(),
        ];
        for err in errors {
            assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn a_valid_signature_over_a_bad_body_is_a_decode_error() {
        let body = br#"{"event":"job.completed"}"#;
        let err = verifier()
            .verify(body, &sign("current-secret", body))
            .unwrap_err();
        let WebhookError::Decode { message } = &err else {
            panic!("expected a decode error, got {err:?}");
        };
        assert!(message.contains("job_id"), "{message}");
    }

    #[test]
    fn decodes_the_full_payload_and_keeps_unknown_parts() {
        let body = br#"{
            "event": "job.snapshotted", "job_id": "job_9", "job_type": "statement",
            "status": "archived", "created_at": "2025-02-11T08:19:37Z",
            "completed_at": "2025-02-11T08:19:53+05:30",
            "results": {"account_no": "123"}, "attempt": 2
        }"#;
        let event = WebhookEvent::from_slice(body).expect("a tolerant decode");
        assert_eq!(event.event, EventKind::Unknown("job.snapshotted".into()));
        assert_eq!(event.job_type.as_deref(), Some("statement"));
        assert_eq!(event.status, Some(JobStatus::Unknown("archived".into())));
        let created = event.created_at.expect("created_at");
        assert_eq!(created.to_rfc3339(), "2025-02-11T08:19:37+00:00");
        let completed = event.completed_at.expect("completed_at");
        assert_eq!(completed.to_rfc3339(), "2025-02-11T02:49:53+00:00");
        assert_eq!(
            event.results.as_ref().and_then(|r| r.get("account_no")),
            Some(&Value::from("123"))
        );
        assert_eq!(event.extra.get("attempt"), Some(&Value::from(2)));

        let again: WebhookEvent =
            serde_json::from_value(serde_json::to_value(&event).expect("encodes"))
                .expect("decodes");
        assert_eq!(again, event);
    }

    #[test]
    fn decodes_every_known_event_kind() {
        for kind in [
            EventKind::JobCreated,
            EventKind::JobStarted,
            EventKind::JobProgress,
            EventKind::JobCompleted,
            EventKind::JobFailed,
        ] {
            let body = format!(r#"{{"event":"{kind}","job_id":"j"}}"#);
            let event = WebhookEvent::from_slice(body.as_bytes()).expect("decodes");
            assert_eq!(event.event, kind);
            assert_eq!(event.status, None);
        }
    }

    #[test]
    fn verify_headers_reads_x_signature() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "X-Signature",
            sign("current-secret", BODY).parse().expect("ASCII"),
        );
        assert!(verifier().verify_headers(&headers, BODY).is_ok());
        headers.insert(
            "X-Signature",
            reqwest::header::HeaderValue::from_bytes(b"sha256=\xff").expect("opaque bytes"),
        );
        assert!(matches!(
            verifier().verify_headers(&headers, BODY),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    fn json_ish() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<Vec<u8>>(),
            ("[a-z._]{0,20}", "\\PC{0,30}", any::<i64>()).prop_map(|(event, id, n)| {
                serde_json::json!({"event": event, "job_id": id, "n": n})
                    .to_string()
                    .into_bytes()
            }),
        ]
    }

    proptest! {
        #[test]
        fn a_body_signed_with_the_secret_always_verifies(
            secret in "\\PC{1,40}",
            body in json_ish(),
        ) {
            let v = Verifier::new(&secret).expect("non-empty");
            match v.verify(&body, &sign(&secret, &body)) {
                Ok(_) | Err(WebhookError::Decode { .. }) => {}
                Err(other) => prop_assert!(false, "signature rejected: {other}"),
            }
            prop_assert!(v.verify_signature(&body, &sign(&secret, &body)).is_ok());
        }

        #[test]
        fn verify_never_panics(header in "\\PC{0,80}", body in any::<Vec<u8>>()) {
            let outcome = verifier().verify(&body, &header);
            prop_assert!(outcome.is_err() || header.trim().len() == 71);
        }

        #[test]
        fn verify_never_panics_near_the_expected_shape(
            digits in "[0-9a-fA-FxX ]{60,68}",
            prefix in prop::sample::select(vec!["sha256=", "SHA256=", "sha256:", ""]),
        ) {
            let header = format!("{prefix}{digits}");
            prop_assert!(verifier().verify(BODY, &header).is_err());
        }
    }
}
