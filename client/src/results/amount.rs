//! [`Amount`]: a sum of money kept exactly as the API sent it, read as a number on demand.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

/// A sum of money exactly as the API sent it: a JSON string such as `"11,78,713.00"` or a number.
///
/// Decoding never fails on the text; [`value`](Self::value) and [`minor_units`](Self::minor_units)
/// read it on demand. Encoding writes back what was received: strings stay strings and numbers
/// stay numbers.
///
/// Readable text: an optional sign (`-`, `+`, or parentheses around the whole amount), an optional
/// currency mark (`₹`, `$`, `€`, `£`, `¥`, `Rs`, `Rs.`, `INR`) before the number, digits grouped
/// by commas in the Indian (`11,78,713`) or international (`1,178,713`) way, a decimal point,
/// and an exponent (`1.5e3`, as JSON numbers may be written). A comma is never a decimal mark:
/// `12,34` is refused rather than read as 1234.
///
/// ```
/// use invaro::Amount;
///
/// let amount = Amount::from("₹ -1,234.50");
/// assert_eq!(amount.minor_units()?, -123_450);
/// assert_eq!(amount.value()?, -1234.5);
/// assert!(Amount::from("12,34").value().is_err());
/// # Ok::<(), invaro::AmountError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Amount {
    raw: String,
    is_number: bool,
}

impl Amount {
    /// The text as sent (for a JSON number, its shortest decimal form, such as `2500.5`).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the API sent a JSON number rather than a string.
    pub fn is_number(&self) -> bool {
        self.is_number
    }

    /// The amount as a float. For money arithmetic prefer [`minor_units`](Self::minor_units).
    ///
    /// ```
    /// assert_eq!(invaro::Amount::from("1,234.5").value(), Ok(1234.5));
    /// ```
    ///
    /// # Errors
    ///
    /// [`AmountError`] when the text is not a number, or too large for a finite `f64`.
    pub fn value(&self) -> Result<f64, AmountError> {
        let parsed = Parsed::read(&self.raw).map_err(|reason| self.error(reason))?;
        let mut plain = String::with_capacity(self.raw.len() + 8);
        if parsed.negative {
            plain.push('-');
        }
        // A leading zero keeps `.00` a number once its trailing zeros are gone (`.e0` is not).
        plain.push('0');
        plain.extend(parsed.int.chars().filter(|c| *c != ','));
        plain.push('.');
        plain.push_str(parsed.frac);
        write!(plain, "e{}", parsed.exp).expect("writing to a String cannot fail");
        let value: f64 = plain
            .parse()
            .map_err(|_| self.error("it is not a number"))?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(self.error("it is too large"))
        }
    }

    /// The amount in hundredths (paise, cents), exactly, without going through floats.
    ///
    /// Digits past the second decimal place must be zeros (`1.230` is fine, `1.234` is refused):
    /// nothing is rounded.
    ///
    /// ```
    /// use invaro::Amount;
    /// assert_eq!(Amount::from("11,78,713.00").minor_units()?, 117_871_300);
    /// assert_eq!(Amount::from("(1,000.5)").minor_units()?, -100_050);
    /// assert!(Amount::from("0.125").minor_units().is_err());
    /// # Ok::<(), invaro::AmountError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AmountError`] when the text is not a number, has non-zero digits past the second decimal
    /// place, or does not fit an `i64` in hundredths.
    pub fn minor_units(&self) -> Result<i64, AmountError> {
        let parsed = Parsed::read(&self.raw).map_err(|reason| self.error(reason))?;
        parsed.minor_units().map_err(|reason| self.error(reason))
    }

    fn error(&self, reason: &'static str) -> AmountError {
        AmountError {
            input: self.raw.clone(),
            reason,
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_number {
            write!(f, "Amount({})", self.raw)
        } else {
            write!(f, "Amount({:?})", self.raw)
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl From<&str> for Amount {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl From<String> for Amount {
    fn from(raw: String) -> Self {
        Self {
            raw,
            is_number: false,
        }
    }
}

impl From<serde_json::Number> for Amount {
    fn from(number: serde_json::Number) -> Self {
        Self {
            raw: number.to_string(),
            is_number: true,
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.is_number {
            return s.serialize_str(&self.raw);
        }
        // The text came from a JSON number, so it parses back to the same number.
        if let Ok(n) = self.raw.parse::<u64>() {
            s.serialize_u64(n)
        } else if let Ok(n) = self.raw.parse::<i64>() {
            s.serialize_i64(n)
        } else {
            match self.raw.parse::<f64>() {
                Ok(n) => s.serialize_f64(n),
                Err(_) => Err(serde::ser::Error::custom(format_args!(
                    "amount {:?} is marked as a number but is not one",
                    self.raw
                ))),
            }
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AmountVisitor)
    }
}

struct AmountVisitor;

impl serde::de::Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount, as a string or a number")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Amount, E> {
        Ok(Amount::from(s))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Amount, E> {
        Ok(Amount::from(s))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Amount, E> {
        Ok(Amount::from(serde_json::Number::from(n)))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Amount, E> {
        Ok(Amount::from(serde_json::Number::from(n)))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Amount, E> {
        serde_json::Number::from_f64(n)
            .map(Amount::from)
            .ok_or_else(|| E::custom("an amount must be a finite number"))
    }
}

/// An [`Amount`] whose text cannot be read as a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("amount {input:?} cannot be read: {reason}")]
pub struct AmountError {
    /// The text as sent.
    pub input: String,
    /// Which rule it breaks.
    pub reason: &'static str,
}

/// The pieces of a readable amount, borrowed from its text.
struct Parsed<'a> {
    negative: bool,
    /// Integer digits, possibly with validated grouping commas.
    int: &'a str,
    /// Fraction digits, without trailing zeros.
    frac: &'a str,
    exp: i32,
}

const CURRENCY_MARKS: [&str; 8] = ["₹", "$", "€", "£", "¥", "INR", "Rs.", "Rs"];

impl<'a> Parsed<'a> {
    fn read(text: &'a str) -> Result<Self, &'static str> {
        let mut s = text.trim();
        if s.is_empty() {
            return Err("it is empty");
        }
        let mut negative = false;
        if let Some(inner) = s.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            negative = true;
            s = inner.trim();
        }
        let sign = |s: &mut &'a str| match s.as_bytes().first() {
            Some(b'-') => {
                *s = s[1..].trim_start();
                Some(true)
            }
            Some(b'+') => {
                *s = s[1..].trim_start();
                Some(false)
            }
            _ => None,
        };
        let mut signed = sign(&mut s);
        if let Some(rest) = strip_currency(s) {
            s = rest.trim_start();
            if signed.is_none() {
                signed = sign(&mut s);
            }
        }
        if let Some(minus) = signed {
            if negative {
                return Err("it has both parentheses and a sign");
            }
            negative = minus;
        }
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(at) => (&s[..at], parse_exponent(&s[at + 1..])?),
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        check_grouping(int)?;
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err("its decimals must be digits only");
        }
        if int.is_empty() && frac.is_empty() {
            return Err("it has no digits");
        }
        Ok(Self {
            negative,
            int,
            frac: frac.trim_end_matches('0'),
            exp,
        })
    }

    fn minor_units(&self) -> Result<i64, &'static str> {
        const TOO_LARGE: &str = "it does not fit in 64 bits of hundredths";
        let mut digits: u128 = 0;
        for digit in self
            .int
            .bytes()
            .filter(|b| *b != b',')
            .chain(self.frac.bytes())
        {
            digits = digits
                .checked_mul(10)
                .and_then(|d| d.checked_add(u128::from(digit - b'0')))
                .ok_or(TOO_LARGE)?;
        }
        // value = digits * 10^(exp - frac.len()), so hundredths = digits * 10^shift.
        let shift = self.exp + 2 - self.frac.len() as i32;
        let scale = 10u128.checked_pow(shift.unsigned_abs());
        let hundredths = match (shift >= 0, scale) {
            _ if digits == 0 => 0,
            (true, scale) => scale.and_then(|s| digits.checked_mul(s)).ok_or(TOO_LARGE)?,
            (false, Some(scale)) if digits.is_multiple_of(scale) => digits / scale,
            (false, _) => return Err("it has more than 2 decimal places"),
        };
        let hundredths = i64::try_from(hundredths).map_err(|_| TOO_LARGE)?;
        Ok(if self.negative {
            -hundredths
        } else {
            hundredths
        })
    }
}

fn strip_currency(s: &str) -> Option<&str> {
    CURRENCY_MARKS.iter().find_map(|mark| {
        let head = s.get(..mark.len())?;
        head.eq_ignore_ascii_case(mark).then(|| &s[mark.len()..])
    })
}

fn parse_exponent(s: &str) -> Result<i32, &'static str> {
    const BAD: &str = "its exponent must be an integer between -400 and 400";
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    s.parse::<i32>()
        .ok()
        .filter(|e| (-400..=400).contains(e))
        .ok_or(BAD)
}

/// Commas must split the integer digits into a lead group of 1 to 3 digits, groups of 2 or 3,
/// and a last group of exactly 3, which covers both Indian and international grouping.
fn check_grouping(int: &str) -> Result<(), &'static str> {
    if !int.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return Err("it has a character that is not a digit, sign, comma, point or currency mark");
    }
    let Some((lead, rest)) = int.split_once(',') else {
        return Ok(());
    };
    const BAD: &str = "its commas must group digits (like 1,234,567 or 12,34,567)";
    let groups_ok = (1..=3).contains(&lead.len())
        && rest.rsplit(',').enumerate().all(|(i, group)| match i {
            0 => group.len() == 3,
            _ => (2..=3).contains(&group.len()),
        });
    if groups_ok { Ok(()) } else { Err(BAD) }
}
