//! Numbers that serde_json cannot hold exactly, quoted before a body is decoded.
//!
//! Without its `arbitrary_precision` feature (which breaks progenitor's untagged enums and i64
//! fields), serde_json reads an integer beyond 64 bits as an f64, so a 30-digit account number
//! comes back as `1.2345678901234568e29`; it refuses a whole document over one `1e400` ("number
//! out of range"); and it reads `1e-400` as 0. [`quote_inexact_numbers`] turns each such number
//! token into a JSON string holding the token's text, so the value survives exactly as the server
//! wrote it (an [`Amount`](crate::Amount) or a string field reads it) and the rest of the document
//! decodes.
//!
//! # The rule ([`is_exact`])
//!
//! A number token stays a number when
//! - it is an integer (no fraction, no exponent) in `i64::MIN..=u64::MAX`: serde_json holds it as
//!   an i64 or u64;
//! - otherwise, when the f64 nearest to it is finite and its shortest decimal (what serde_json and
//!   Rust print for that f64), or its value correctly rounded to the token's number of significant
//!   digits, has the token's value. Values are compared, not spellings: `2500.50`,
//!   `1.0e2`, `0.1`, `1e300` and `0.30000000000000004` stay numbers; `1e400` (overflow), `1e-400`
//!   (underflow to zero) and `3.14159265358979323846` (more significant digits than an f64 keeps)
//!   are quoted.
//!
//! The rule is about the number, not about serde_json's reader: with default features that reader
//! may be one unit in the last place off for tokens of 16 or 17 significant digits. Those stay
//! numbers, because quoting them would make a typed f64 field (a job's `progress`) fail to decode;
//! serde_json's `float_roundtrip` feature is the cure for that last unit. A quoted number does fail
//! an f64 or i64 field; without quoting, such a field would have failed too, or lost digits.
//!
//! # The lexer
//!
//! One forward pass over the bytes of every JSON body, borrowing the input when nothing is
//! quoted. String contents
//! (escapes included) are skipped, so digits inside strings are never touched. A number followed
//! by `:` is left alone: quoting it would turn an invalid document (a number as a key) into a valid
//! one. Bytes that are not JSON are passed over as they are; every step moves forward, so the scan
//! ends on any input.

use std::borrow::Cow;
use std::io::Write as _;

/// `body` with every number token that serde_json cannot hold exactly (see the module docs)
/// replaced by a JSON string of the token's text; borrowed when there is none.
///
/// One pass of the lexer over every JSON body: about a microsecond for a kilobyte, where a call
/// stands for a second of the rate budget, so there is no cheaper pre-check in front of it.
pub(crate) fn quote_inexact_numbers(body: &[u8]) -> Cow<'_, [u8]> {
    let mut quoted: Option<Vec<u8>> = None;
    // `body[..copied]` is already in `quoted`.
    let mut copied = 0;
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        at = match byte {
            b'"' => string_end(body, at + 1),
            b'-' | b'0'..=b'9' => {
                let (end, valid) = number_end(body, at);
                let token = &body[at..end];
                if valid && !is_exact(token) && !is_key(&body[end..]) {
                    let out = quoted.get_or_insert_with(|| Vec::with_capacity(body.len() + 16));
                    out.extend_from_slice(&body[copied..at]);
                    out.push(b'"');
                    out.extend_from_slice(token);
                    out.push(b'"');
                    copied = end;
                }
                end
            }
            _ => at + 1,
        };
    }
    match quoted {
        None => Cow::Borrowed(body),
        Some(mut out) => {
            out.extend_from_slice(&body[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The index just after the string whose contents start at `at` (the end, if it is unterminated).
fn string_end(body: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = body.get(at) {
        match byte {
            b'"' => return at + 1,
            // Skipping the escaped byte covers `\"` and `\\`; the digits of `\u` are plain bytes.
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
    body.len()
}

/// Where the number starting at `start` (a `-` or a digit) ends, and whether it follows the JSON
/// grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. The end is past `start` either way.
fn number_end(body: &[u8], start: usize) -> (usize, bool) {
    let digits_end = |from: usize| {
        from + body[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_start = start + usize::from(body[start] == b'-');
    let mut at = digits_end(int_start);
    let int_len = at - int_start;
    let mut valid = int_len == 1 || (int_len > 1 && body[int_start] != b'0');
    if body.get(at) == Some(&b'.') {
        let end = digits_end(at + 1);
        valid &= end > at + 1;
        at = end;
    }
    if matches!(body.get(at), Some(b'e' | b'E')) {
        let from = at + 1 + usize::from(matches!(body.get(at + 1), Some(b'+' | b'-')));
        let end = digits_end(from);
        valid &= end > from;
        at = end;
    }
    (at, valid)
}

/// Whether what follows a number makes it an object key (invalid JSON, left as it is).
fn is_key(rest: &[u8]) -> bool {
    rest.iter().find(|&&b| !b" \t\n\r".contains(&b)) == Some(&b':')
}

/// The rule of the module docs: whether serde_json holds the number `token` (valid JSON grammar)
/// exactly.
fn is_exact(token: &[u8]) -> bool {
    if token.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
        return integer_fits(token);
    }
    // More than 17 significant digits never survive: no f64 needs more to be told apart.
    let Some(written) = Significant::read(token) else {
        return false;
    };
    // Up to 15 significant digits in the normal range always survive (f64 keeps 15 decimal
    // digits, DBL_DIG), which spares most amounts the float round trip.
    if written.len <= 15 && (-307..=307).contains(&written.exponent) {
        return true;
    }
    let Some(value) = std::str::from_utf8(token)
        .ok()
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|value| value.is_finite())
    else {
        return false;
    };
    // The f64's value correctly rounded to as many significant digits as the token has: a
    // shortest printer (ryu in serde_json, Rust's own) may end in another digit than its
    // neighbour's, but both are this rounding when the token holds the f64 exactly.
    let prints_as = |precision: Option<usize>| {
        let mut printed = [0u8; 40];
        let mut free = &mut printed[..];
        let written_ok = match precision {
            None => write!(free, "{:e}", value.abs()),
            Some(digits) => write!(free, "{:.*e}", digits, value.abs()),
        };
        let used = 40 - free.len();
        written_ok.is_ok()
            && Significant::read(&printed[..used]).is_some_and(|p| p.same_value(&written))
    };
    prints_as(None) || prints_as(Some(written.len.saturating_sub(1)))
}

/// Whether an integer token is within i64 or u64, the integers serde_json keeps as integers.
fn integer_fits(token: &[u8]) -> bool {
    let (negative, digits) = match token.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, token),
    };
    let magnitude = digits.iter().try_fold(0u64, |n, digit| {
        n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    });
    magnitude.is_some_and(|m| !negative || m <= 1 << 63)
}

/// The magnitude of a decimal number: its significant digits and the power of ten of the first.
struct Significant {
    /// ASCII digits; those from `len` on are not part of the number.
    digits: [u8; 17],
    /// Up to the last non-zero digit; 0 for zero.
    len: usize,
    exponent: i64,
}

impl Significant {
    /// Reads JSON number text; `None` when it has more than 17 significant digits.
    fn read(text: &[u8]) -> Option<Self> {
        let text = text.strip_prefix(b"-").unwrap_or(text);
        let (mantissa, exponent) = match text.iter().position(|b| matches!(b, b'e' | b'E')) {
            Some(at) => (&text[..at], read_exponent(&text[at + 1..])),
            None => (text, 0),
        };
        let int_len = mantissa.iter().position(|&b| b == b'.');
        let int_len = int_len.unwrap_or(mantissa.len());
        let mut number = Self {
            digits: [0; 17],
            len: 0,
            exponent: 0,
        };
        let mut first_at = None;
        for (i, &digit) in mantissa.iter().filter(|&&b| b != b'.').enumerate() {
            let first = match first_at {
                Some(first) => first,
                None if digit == b'0' => continue,
                None => *first_at.insert(i),
            };
            let place = i - first;
            match number.digits.get_mut(place) {
                Some(slot) => *slot = digit,
                None if digit == b'0' => continue,
                None => return None,
            }
            if digit != b'0' {
                number.len = place + 1;
            }
        }
        if let Some(first) = first_at {
            // The first significant digit is worth 10^(exponent + int_len - 1 - first).
            number.exponent = exponent
                .saturating_add(i64::try_from(int_len).unwrap_or(i64::MAX))
                .saturating_sub(i64::try_from(first).unwrap_or(i64::MAX))
                .saturating_sub(1);
        }
        Some(number)
    }

    fn same_value(&self, other: &Self) -> bool {
        self.exponent == other.exponent && self.digits[..self.len] == other.digits[..other.len]
    }
}

/// An exponent's digits with their optional sign, saturated far beyond any f64's range.
fn read_exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        _ => (false, text),
    };
    let magnitude = digits.iter().fold(0i64, |n, digit| {
        n.saturating_mul(10)
            .saturating_add(i64::from(digit - b'0'))
            .min(1 << 40)
    });
    if negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn quote(text: &str) -> Cow<'_, [u8]> {
        quote_inexact_numbers(text.as_bytes())
    }

    fn quoted_text(text: &str) -> String {
        String::from_utf8(quote(text).into_owned()).expect("quoting keeps UTF-8")
    }

    /// Tokens serde_json holds exactly, at the edges of the rule.
    const EXACT: [&str; 23] = [
        "0",
        "-0",
        "7",
        "18446744073709551615",
        "-9223372036854775808",
        "0.1",
        "2500.50",
        "-12.345",
        "1.0e2",
        "1E+2",
        "100e-2",
        "1e300",
        "1e308",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "5e-324",
        "0e400",
        "-0.000e-99999999999999999999",
        "0.30000000000000004",
        "123456789012345.6",
        "1.00000000000000000000",
        "0.0000000000000000000000000001",
        "9007199254740992.0",
    ];

    /// Tokens serde_json cannot hold exactly, with the reason.
    const INEXACT: [(&str, &str); 17] = [
        ("18446744073709551616", "above u64"),
        ("123456789012345678901234567890", "above u64"),
        ("-9223372036854775809", "below i64"),
        ("-18446744073709551615", "below i64"),
        ("1e400", "overflow"),
        ("-1E+400", "overflow"),
        ("1.7976931348623159e308", "overflow"),
        ("1e99999999999999999999999", "overflow"),
        ("1e-400", "underflow"),
        ("-2e-324", "underflow"),
        ("1e-99999999999999999999999", "underflow"),
        ("3.14159265358979323846", "digits"),
        ("0.1000000000000000055511151231257827", "digits"),
        ("1.00000000000000000001", "digits"),
        ("0.30000000000000001", "digits"),
        ("123456789012345678901234567890e0", "digits"),
        ("9007199254740993e0", "digits"),
    ];

    #[test]
    fn numbers_serde_json_holds_are_left_borrowed() {
        for token in EXACT {
            for text in [
                token.to_owned(),
                format!("[{token}]"),
                format!("{{\"a\":{token}}}"),
            ] {
                assert!(
                    matches!(quote(&text), Cow::Borrowed(b) if b == text.as_bytes()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn numbers_serde_json_cannot_hold_become_their_text() {
        for (token, why) in INEXACT {
            assert_eq!(quoted_text(token), format!("\"{token}\""), "{why}");
            let text = format!("{{\"a\": [1, {token} ,\n\t{{\"b\":{token}}}], \"c\":{token}}}");
            let value: Value = serde_json::from_slice(&quote(&text)).expect("parses");
            assert_eq!(value["a"][1], token, "{why}");
            assert_eq!(value["a"][2]["b"], token, "{why}");
            assert_eq!(value["c"], token, "{why}");
            assert_eq!(value["a"][0], 1);
        }
    }

    /// Whether serde_json reads `token` back as the same value.
    fn serde_json_keeps(token: &str) -> bool {
        let Ok(value) = serde_json::from_str::<Value>(token) else {
            return false;
        };
        let back = value.to_string();
        let (written, read) = (
            Significant::read(token.as_bytes()),
            Significant::read(back.as_bytes()),
        );
        back == token || written.zip(read).is_some_and(|(w, r)| w.same_value(&r))
    }

    #[test]
    fn the_rule_agrees_with_what_serde_json_reads() {
        for (token, why) in INEXACT {
            assert!(!serde_json_keeps(token), "{token} ({why})");
        }
        for token in [
            "0.1",
            "2500.50",
            "1e300",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            assert!(serde_json_keeps(token), "{token}");
        }
    }

    #[test]
    fn numbers_inside_strings_are_never_touched() {
        for text in [
            r#""1e400""#,
            r#"{"1e400": "123456789012345678901234567890"}"#,
            r#"["a \" 1e400 \" b", "\\", 1, "\\\" 1e400"]"#,
            r#"["\u0022 1e400 \u005c", "\"", 2.5]"#,
            r#"{"a\\":"b\\\\", "c":"\\\"1e-400\\\""}"#,
        ] {
            assert!(matches!(quote(text), Cow::Borrowed(_)), "{text}");
        }
        assert_eq!(
            quoted_text(r#"["\\", 1e400, "\"1e400", 1e-400]"#),
            r#"["\\", "1e400", "\"1e400", "1e-400"]"#
        );
    }

    #[test]
    fn invalid_json_is_passed_over_without_making_it_valid() {
        for text in [
            "",
            "-",
            "--",
            "1.",
            "1.e5",
            "1e",
            "1e+",
            "-.5",
            "01e400",
            "00",
            "{1e400: 1}",
            "{1e400 \n : 1}",
            "\"unterminated 1e400",
            "\"\\",
            "\\",
            "nul",
        ] {
            assert!(
                matches!(quote(text), Cow::Borrowed(b) if b == text.as_bytes()),
                "{text}"
            );
        }
        // What was lexed before the document was cut short is still quoted.
        assert_eq!(
            quoted_text("[1e400, 2, 1e-400"),
            "[\"1e400\", 2, \"1e-400\""
        );
        assert_eq!(quoted_text("{\"a\":1e400"), "{\"a\":\"1e400\"");
        assert_eq!(quoted_text("[1e400x"), "[\"1e400\"x");
    }

    #[test]
    fn a_token_is_read_to_its_significant_digits() {
        for (text, digits, exponent) in [
            ("0", "", 0),
            ("-0.000e5", "", 0),
            ("2500.50", "25005", 3),
            ("0.00123", "123", -3),
            ("1.23e-3", "123", -3),
            ("120e1", "12", 3),
            ("1e-99999999999999999999", "1", -(1 << 40)),
        ] {
            let number = Significant::read(text.as_bytes()).expect("at most 17 digits");
            assert_eq!(&number.digits[..number.len], digits.as_bytes(), "{text}");
            assert_eq!(number.exponent, exponent, "{text}");
        }
        assert!(Significant::read(b"12345678901234567").is_some());
        assert!(Significant::read(b"123456789012345678").is_none());
        assert!(Significant::read(b"1234567890123456700000").is_some());
    }

    proptest! {
        /// The 15-digit shortcut of `is_exact` gives what the float round trip would.
        #[test]
        fn fifteen_digits_in_the_normal_range_survive_an_f64(
            mantissa in 1u64..1_000_000_000_000_000,
            exponent in -320i32..=290,
        ) {
            let token = format!("{mantissa}e{exponent}");
            let written = Significant::read(token.as_bytes()).expect("15 digits");
            prop_assume!((-307..=307).contains(&written.exponent));
            let value: f64 = token.parse().expect("a number");
            let printed = format!("{value:e}");
            let printed = Significant::read(printed.as_bytes()).expect("shortest");
            prop_assert!(printed.same_value(&written), "{} printed as {:e}", token, value);
        }

        /// On any array of number and string tokens, the lexer quotes exactly the numbers
        /// [`is_exact`] refuses, and leaves every other token (strings holding digits included)
        /// as it was: the result parses, each number that stayed one has the value serde_json
        /// reads from its token, and each quoted one reads back as the token's text.
        #[test]
        fn the_lexer_quotes_exactly_the_inexact_tokens(
            tokens in proptest::collection::vec(
                "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,22})?([eE][+-]?[0-9]{1,4})?|\"[0-9a-z.]{0,8}\"",
                1..6,
            ),
        ) {
            let body = format!("[{}]", tokens.join(", "));
            let quoted = quote(&body);
            let values: Vec<Value> = serde_json::from_slice(&quoted).expect("the result parses");
            prop_assert_eq!(values.len(), tokens.len());
            let mut changed = false;
            for (token, value) in tokens.iter().zip(&values) {
                if token.starts_with('"') {
                    prop_assert_eq!(value, &serde_json::from_str::<Value>(token).expect("a string"));
                } else if is_exact(token.as_bytes()) {
                    let read: Value = serde_json::from_str(token).expect("an exact number reads");
                    prop_assert_eq!(value, &read, "{}", token);
                } else {
                    changed = true;
                    prop_assert_eq!(value, &Value::String(token.clone()), "{}", token);
                }
            }
            prop_assert_eq!(matches!(quoted, Cow::Owned(_)), changed, "{}", body);
        }

        /// Found by this property: ryu writes `1649003599131990.2` and `-757026163612094.2`, where
        /// Rust's shortest printer ends in another digit for the same f64.
        #[test]
        fn any_finite_f64_as_serde_json_writes_it_stays(
            value in prop_oneof![
                Just(1649003599131990.3f64),
                Just(-757026163612094.3f64),
                any::<f64>(),
            ],
        ) {
            prop_assume!(value.is_finite());
            let text = serde_json::to_string(&value).expect("encodes");
            prop_assert!(matches!(quote(&text), Cow::Borrowed(_)), "{}", text);
        }
    }
}
