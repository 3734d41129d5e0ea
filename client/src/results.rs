//! Typed views of a completed job's result: [`InvoiceResult`] and [`StatementResult`].
//!
//! The keys of a result depend on the document, so every struct here keeps the keys it does not
//! know in `extra`, and every field is optional. Money stays as the API wrote it, in an [`Amount`],
//! until you ask for a number.
//!
//! ```
//! use invaro::StatementResult;
//!
//! let statement: StatementResult = serde_json::from_str(r#"{
//!     "account_no": "001234", "closing_balance": "11,78,713.00",
//!     "transactions": [{"date": "01/01/2025", "description": "NEFT", "amount": 2500.5,
//!                       "type": "credit", "balance": "11,78,713.00"}]
//! }"#)?;
//! let closing = statement.closing_balance.as_ref().expect("closing balance");
//! assert_eq!(closing.as_str(), "11,78,713.00");
//! assert_eq!(closing.minor_units()?, 117_871_300);
//! assert_eq!(statement.transactions[0].amount.as_ref().map(|a| a.as_str()), Some("2500.5"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The result of an invoice parse job.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InvoiceResult {
    /// The seller's bank account, for payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_details: Option<BankDetails>,
    /// Who is billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_details: Option<BuyerDetails>,
    /// Identifiers and dates of the invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_details: Option<InvoiceDetails>,
    /// Tax lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_calculation: Option<TaxCalculation>,
    /// Totals, keyed by the document's own labels (such as `IGST_at_10_percentage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_calculation: Option<Map<String, Value>>,
    /// Keys this SDK does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Bank account details printed on an invoice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BankDetails {
    /// Indian Financial System Code of the branch (`IFSC`).
    #[serde(rename = "IFSC", skip_serializing_if = "Option::is_none")]
    pub ifsc: Option<String>,
    /// SWIFT/BIC code of the bank (`SWIFT_CODE`).
    #[serde(rename = "SWIFT_CODE", skip_serializing_if = "Option::is_none")]
    pub swift_code: Option<String>,
    /// The account number, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    /// The bank's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    /// Keys this SDK does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The billed party of an invoice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BuyerDetails {
    /// GST identification number (`GSTIN`).
    #[serde(rename = "GSTIN", skip_serializing_if = "Option::is_none")]
    pub gstin: Option<String>,
    /// The buyer's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The buyer's address, as one string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The buyer's phone number, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The GST state code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_code: Option<String>,
    /// Keys this SDK does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Identifiers and dates of an invoice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InvoiceDetails {
    /// Goods receipt date, as printed (`GR_date`).
    #[serde(rename = "GR_date", skip_serializing_if = "Option::is_none")]
    pub gr_date: Option<String>,
    /// Goods receipt number (`GR_number`).
    #[serde(rename = "GR_number", skip_serializing_if = "Option::is_none")]
    pub gr_number: Option<String>,
    /// Keys this SDK does not know (invoice number, dates...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The tax lines of an invoice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TaxCalculation {
    /// Harmonized System of Nomenclature code of the goods (`HSN`).
    #[serde(rename = "HSN", skip_serializing_if = "Option::is_none")]
    pub hsn: Option<String>,
    /// Integrated GST charged (`IGST_amount`).
    #[serde(rename = "IGST_amount", skip_serializing_if = "Option::is_none")]
    pub igst_amount: Option<Amount>,
    /// Integrated GST rate, as printed, such as `10%` (`IGST_percentage`).
    #[serde(rename = "IGST_percentage", skip_serializing_if = "Option::is_none")]
    pub igst_percentage: Option<String>,
    /// Whether reverse charge applies, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_charge_applicable: Option<String>,
    /// Keys this SDK does not know (CGST, SGST, cess...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of a bank statement parse job.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StatementResult {
    /// The account number, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_no: Option<String>,
    /// Balance at the start of the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening_balance: Option<Amount>,
    /// Balance at the end of the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closing_balance: Option<Amount>,
    /// Sum of the credits in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_credit: Option<Amount>,
    /// Sum of the debits in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_debit: Option<Amount>,
    /// The period covered, as sent (a string or an object, depending on the document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_period: Option<Value>,
    /// The transactions, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<Transaction>,
    /// Keys this SDK does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One line of a bank statement.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Transaction {
    /// The date, as printed; see [`Transaction::parsed_date`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The narration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The amount moved, positive for both credits and debits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// Credit or debit (`type`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransactionType>,
    /// The balance after this transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<Amount>,
    /// Keys this SDK does not know (reference numbers, value dates...), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Transaction {
    /// The date, read day first: `31/01/2025`, `31-01-2025`, `31.01.2025`, `31-Jan-2025` and
    /// `31 Jan 2025`, each also with a two-digit year (`31/01/25`, `31.01.25`, `31 Jan 25`...), or
    /// ISO `2025-01-31`; `None` if absent or in no such format.
    ///
    /// A two-digit year follows the POSIX `%y` rule, as C, Python and Go read it: `69` to `99` are
    /// 1969 to 1999, `00` to `68` are 2000 to 2068 (a statement tells of the past, so `69` is 1969
    /// rather than 2069). A year of any other length (`31/01/025`) reads as no date, never as the
    /// year 25.
    ///
    /// ```
    /// let tx: invaro::Transaction = serde_json::from_str(r#"{"date": "05/02/25"}"#).unwrap();
    /// assert_eq!(tx.parsed_date(), chrono::NaiveDate::from_ymd_opt(2025, 2, 5));
    /// ```
    pub fn parsed_date(&self) -> Option<NaiveDate> {
        const FORMATS: [&str; 6] = [
            "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d-%b-%Y", "%d %b %Y",
        ];
        let date = with_four_digit_year(self.date.as_deref()?.trim())?;
        FORMATS
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(&date, format).ok())
    }
}

/// `date` with a four-digit year, which it has when it starts (ISO) or ends (day first) with four
/// digits; two digits at the end are expanded by [`full_year`]. `None` for any other year, so that
/// chrono's `%Y`, which takes one to four digits, never reads `25` as the year 25.
fn with_four_digit_year(date: &str) -> Option<Cow<'_, str>> {
    let leading = date.bytes().take_while(u8::is_ascii_digit).count();
    let trailing = date.bytes().rev().take_while(u8::is_ascii_digit).count();
    match (leading, trailing) {
        (4, _) | (_, 4) => Some(Cow::Borrowed(date)),
        (_, 2) => {
            let (head, year) = date.split_at(date.len() - 2);
            Some(Cow::Owned(format!(
                "{head}{}",
                full_year(year.parse().ok()?)
            )))
        }
        _ => None,
    }
}

/// The POSIX `%y` pivot: `69`-`99` are 1969-1999, `00`-`68` are 2000-2068.
fn full_year(two_digits: u16) -> u16 {
    if two_digits >= 69 {
        1900 + two_digits
    } else {
        2000 + two_digits
    }
}

crate::open_enum::open_enum! {
    /// Whether a transaction adds to the balance or takes from it (read in any case).
    pub enum TransactionType, compare str::eq_ignore_ascii_case {
        /// Money in (`credit`, also read from `Cr`).
        Credit = "credit" | "cr",
        /// Money out (`debit`, also read from `Dr`).
        Debit = "debit" | "dr",
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike as _;
    use proptest::prelude::*;
    use serde_json::json;

    fn decode<T: for<'de> Deserialize<'de>>(value: Value) -> T {
        serde_json::from_value(value).expect("decodes")
    }

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(x: &T) -> T {
        serde_json::from_str(&serde_json::to_string(x).expect("encodes")).expect("decodes")
    }

    #[test]
    fn decodes_the_documented_invoice_example() {
        let invoice: InvoiceResult = decode(json!({
            "bank_details": {"IFSC": "ABC0001234", "SWIFT_CODE": "ABCDINBB",
                             "account_number": "123456789012", "bank_name": "XYZ Bank Ltd."},
            "buyer_details": {"GSTIN": "00AAAAA0000A1Z0", "name": "ABC Enterprises",
                              "address": "123, Main Street, City, Country",
                              "phone": "9876543210", "state_code": "XY"},
            "invoice_details": {"GR_date": "01/01/2025", "GR_number": "987654"},
            "tax_calculation": {"HSN": "12345678", "IGST_amount": "1000.00",
                                "IGST_percentage": "10%",
                                "reverse_charge_applicable": "Not applicable"},
            "total_calculation": {"IGST_at_10_percentage": "100.00"}
        }));
        let bank = invoice.bank_details.expect("bank_details");
        assert_eq!(bank.ifsc.as_deref(), Some("ABC0001234"));
        assert_eq!(bank.swift_code.as_deref(), Some("ABCDINBB"));
        assert_eq!(bank.account_number.as_deref(), Some("123456789012"));
        assert_eq!(bank.bank_name.as_deref(), Some("XYZ Bank Ltd."));
        let buyer = invoice.buyer_details.expect("buyer_details");
        assert_eq!(buyer.gstin.as_deref(), Some("00AAAAA0000A1Z0"));
        assert_eq!(buyer.state_code.as_deref(), Some("XY"));
        let details = invoice.invoice_details.expect("invoice_details");
        assert_eq!(details.gr_date.as_deref(), Some("01/01/2025"));
        assert_eq!(details.gr_number.as_deref(), Some("987654"));
        let tax = invoice.tax_calculation.expect("tax_calculation");
        assert_eq!(tax.hsn.as_deref(), Some("12345678"));
        assert_eq!(tax.igst_amount.map(|a| a.minor_units()), Some(Ok(100_000)));
        assert_eq!(tax.igst_percentage.as_deref(), Some("10%"));
        let totals = invoice.total_calculation.expect("total_calculation");
        assert_eq!(totals["IGST_at_10_percentage"], "100.00");
        assert!(invoice.extra.is_empty());
    }

    #[test]
    fn decodes_the_documented_statement_example() {
        let statement: StatementResult = decode(json!({
            "account_no": "001234567890", "opening_balance": "10,00,000.00",
            "closing_balance": "11,78,713.00", "total_credit": "2,00,000.00",
            "total_debit": "21,287.00", "statement_period": "01/01/2025 - 31/01/2025",
            "transactions": [
                {"date": "02/01/2025", "description": "NEFT IN", "amount": 200000,
                 "type": "credit", "balance": "12,00,000.00"},
                {"date": "2025-01-03", "description": "ATM", "amount": 21287.0,
                 "type": "debit", "balance": 1178713}
            ]
        }));
        assert_eq!(statement.account_no.as_deref(), Some("001234567890"));
        let closing = statement.closing_balance.as_ref().expect("closing_balance");
        assert_eq!(closing.minor_units(), Ok(117_871_300));
        assert_eq!(closing.value(), Ok(1_178_713.0));
        assert_eq!(
            statement.statement_period,
            Some(json!("01/01/2025 - 31/01/2025"))
        );
        let [credit, debit] = &statement.transactions[..] else {
            panic!("two transactions, got {:?}", statement.transactions);
        };
        assert_eq!(credit.kind, Some(TransactionType::Credit));
        assert_eq!(credit.amount.as_ref().map(Amount::as_str), Some("200000"));
        assert_eq!(debit.kind, Some(TransactionType::Debit));
        assert_eq!(debit.amount.as_ref().map(Amount::as_str), Some("21287.0"));
        assert_eq!(
            debit.amount.as_ref().map(Amount::minor_units),
            Some(Ok(2_128_700))
        );
        assert_eq!(credit.parsed_date(), NaiveDate::from_ymd_opt(2025, 1, 2));
        assert_eq!(debit.parsed_date(), NaiveDate::from_ymd_opt(2025, 1, 3));
    }

    #[test]
    fn statement_period_may_be_an_object() {
        let period = json!({"from": "2025-01-01", "to": "2025-01-31"});
        let statement: StatementResult = decode(json!({"statement_period": period}));
        assert_eq!(statement.statement_period, Some(period));
        assert!(statement.transactions.is_empty());
    }

    #[test]
    fn unknown_keys_survive_a_round_trip_at_every_level() {
        let sent = json!({
            "account_info": {"holder": "A"},
            "transactions": [{"amount": "1.00", "type": "reversal", "ref_no": "R1"}]
        });
        let statement: StatementResult = decode(sent.clone());
        assert_eq!(statement.extra["account_info"], json!({"holder": "A"}));
        let tx = &statement.transactions[0];
        assert_eq!(tx.kind, Some(TransactionType::Unknown("reversal".into())));
        assert_eq!(tx.extra["ref_no"], "R1");
        assert_eq!(serde_json::to_value(&statement).expect("encodes"), sent);

        let sent = json!({
            "seller_details": {"name": "S"},
            "bank_details": {"branch": "Main"}, "buyer_details": {"email": "b@example.com"},
            "invoice_details": {"invoice_number": "INV-1"},
            "tax_calculation": {"CGST_amount": "9.00"}
        });
        let invoice: InvoiceResult = decode(sent.clone());
        assert_eq!(invoice.extra["seller_details"], json!({"name": "S"}));
        assert_eq!(serde_json::to_value(&invoice).expect("encodes"), sent);
        assert_eq!(round_trip(&invoice), invoice);
    }

    #[test]
    fn transaction_types_are_read_loosely_and_written_canonically() {
        for (sent, kind) in [
            ("credit", TransactionType::Credit),
            ("CR", TransactionType::Credit),
            ("Debit", TransactionType::Debit),
            ("dr", TransactionType::Debit),
            ("", TransactionType::Unknown(String::new())),
        ] {
            let tx: Transaction = decode(json!({"type": sent}));
            assert_eq!(tx.kind.as_ref(), Some(&kind), "{sent}");
        }
        assert_eq!(TransactionType::Debit.to_string(), "debit");
    }

    #[test]
    fn a_wrong_json_type_is_a_decode_error_not_a_panic() {
        let err = serde_json::from_value::<StatementResult>(json!({"closing_balance": true}))
            .unwrap_err();
        assert!(err.to_string().contains("an amount"), "{err}");
        assert!(serde_json::from_value::<StatementResult>(json!({"transactions": {}})).is_err());
        assert!(serde_json::from_value::<InvoiceResult>(json!([])).is_err());
    }

    #[test]
    fn numbers_stay_numbers_and_strings_stay_strings() {
        let tx: Transaction = decode(json!({"amount": 12.5, "balance": "12.50"}));
        let amount = tx.amount.as_ref().expect("amount");
        let balance = tx.balance.as_ref().expect("balance");
        assert!(amount.is_number());
        assert!(!balance.is_number());
        assert_eq!(amount.minor_units(), balance.minor_units());
        assert_eq!(
            serde_json::to_value(&tx).expect("encodes"),
            json!({"amount": 12.5, "balance": "12.50"})
        );
    }

    #[test]
    fn amounts_that_are_floats_round_trip() {
        for number in [
            json!(-7),
            json!(u64::MAX),
            json!(1e300),
            json!(-0.0),
            json!(0.1),
        ] {
            let amount: Amount = decode(number.clone());
            assert!(amount.is_number());
            assert_eq!(serde_json::to_value(&amount).expect("encodes"), number);
            assert_eq!(round_trip(&amount), amount);
        }
    }

    #[test]
    fn reads_well_formed_amounts() {
        let table: [(&str, i64, f64); 22] = [
            ("1,234.56", 123_456, 1234.56),
            ("11,78,713.00", 117_871_300, 1_178_713.0),
            ("1,178,713.00", 117_871_300, 1_178_713.0),
            ("-1,000.00", -100_000, -1000.0),
            ("1000", 100_000, 1000.0),
            ("  42.5 ", 4_250, 42.5),
            ("₹ 1,234.50", 123_450, 1234.5),
            ("₹1,234.50", 123_450, 1234.5),
            ("-₹500", -50_000, -500.0),
            ("₹ -500", -50_000, -500.0),
            ("$0.99", 99, 0.99),
            ("Rs. 2,00,000", 20_000_000, 200_000.0),
            ("INR 10", 1_000, 10.0),
            ("(1,000.50)", -100_050, -1000.5),
            ("+3", 300, 3.0),
            (".5", 50, 0.5),
            ("5.", 500, 5.0),
            ("1.2300", 123, 1.23),
            ("1e16", 1_000_000_000_000_000_000, 1e16),
            ("1.5e-1", 15, 0.15),
            ("100e-3", 10, 0.1),
            ("-0.0", 0, -0.0),
        ];
        for (text, minor, value) in table {
            let amount = Amount::from(text);
            assert_eq!(amount.minor_units(), Ok(minor), "{text}");
            assert_eq!(amount.value(), Ok(value), "{text}");
        }
    }

    #[test]
    fn refuses_malformed_amounts_naming_the_input_and_rule() {
        let table = [
            ("", "empty"),
            ("   ", "empty"),
            ("abc", "not a digit"),
            ("12,34", "commas"),
            ("1,2345", "commas"),
            ("1234,567", "commas"),
            (",123", "commas"),
            ("1,,234", "commas"),
            ("1.234,56", "decimals"),
            ("1.2.3", "decimals"),
            ("--5", "not a digit"),
            ("(-5)", "both parentheses and a sign"),
            ("1,000 Cr", "not a digit"),
            ("₹", "no digits"),
            (".", "no digits"),
            ("1e", "exponent"),
            ("1e999", "exponent"),
            ("NaN", "not a digit"),
            ("inf", "not a digit"),
        ];
        for (text, rule) in table {
            let err = Amount::from(text).value().unwrap_err();
            assert_eq!(err.input, text);
            assert!(err.reason.contains(rule), "{text:?}: {}", err.reason);
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
            assert_eq!(Amount::from(text).minor_units().unwrap_err(), err);
        }
    }

    #[test]
    fn minor_units_refuses_extra_precision_and_overflow() {
        for (text, rule) in [
            ("0.125", "more than 2 decimal places"),
            ("1e-3", "more than 2 decimal places"),
            ("100000000000000000", "64 bits"),
            ("1e300", "64 bits"),
            ("9".repeat(60).as_str(), "64 bits"),
        ] {
            let err = Amount::from(text).minor_units().unwrap_err();
            assert!(err.reason.contains(rule), "{text}: {}", err.reason);
        }
        assert_eq!(
            Amount::from("92233720368547758.07").minor_units(),
            Ok(i64::MAX)
        );
        assert!(Amount::from("0e999").value().is_err());
        assert_eq!(Amount::from("0.000e5").minor_units(), Ok(0));
        assert_eq!(Amount::from("1e300").value(), Ok(1e300));
    }

    fn date_of(text: &str) -> Option<NaiveDate> {
        Transaction {
            date: Some(text.into()),
            ..Transaction::default()
        }
        .parsed_date()
    }

    #[test]
    fn parsed_date_reads_common_day_first_formats() {
        let day = NaiveDate::from_ymd_opt(2025, 1, 31);
        for text in [
            "2025-01-31",
            "31/01/2025",
            "31-01-2025",
            "31.01.2025",
            "31-Jan-2025",
            "31 Jan 2025",
            "31/01/25",
            "31-01-25",
            "31.01.25",
            "31-Jan-25",
            "31 Jan 25",
            " 31/01/2025 ",
            " 31.01.25 ",
        ] {
            assert_eq!(date_of(text), day, "{text}");
        }
        for text in ["01/31/2025", "01/31/25", "yesterday", "", "25", "2025"] {
            assert_eq!(date_of(text), None, "{text}");
        }
        assert_eq!(Transaction::default().parsed_date(), None);
    }

    #[test]
    fn two_digit_years_follow_the_posix_pivot() {
        for (yy, year) in [
            ("00", 2000),
            ("25", 2025),
            ("68", 2068),
            ("69", 1969),
            ("70", 1970),
            ("99", 1999),
        ] {
            for format in ["31/01/", "31-01-", "31.01.", "31-Jan-", "31 Jan "] {
                let text = format!("{format}{yy}");
                assert_eq!(
                    date_of(&text),
                    NaiveDate::from_ymd_opt(year, 1, 31),
                    "{text}"
                );
            }
        }
        // The pivoted year is the one checked for a leap day.
        assert_eq!(date_of("29/02/00"), NaiveDate::from_ymd_opt(2000, 2, 29));
        assert_eq!(date_of("29/02/69"), None);
    }

    #[test]
    fn a_year_is_read_from_four_or_two_digits_only() {
        assert_eq!(date_of("2025-01-31"), NaiveDate::from_ymd_opt(2025, 1, 31));
        assert_eq!(date_of("2069-12-01"), NaiveDate::from_ymd_opt(2069, 12, 1));
        assert_eq!(date_of("1-1-2025"), NaiveDate::from_ymd_opt(2025, 1, 1));
        for text in [
            "31/01/5",
            "31/01/025",
            "31-01-02025",
            "31 Jan 20255",
            "25-1-31x",
            "31/01/2025 10:00",
        ] {
            assert_eq!(date_of(text), None, "{text}");
        }
    }

    fn amount() -> impl Strategy<Value = Amount> {
        prop_oneof![
            "\\PC{0,12}".prop_map(Amount::from),
            "-?[0-9]{1,3}(,[0-9]{2,3}){0,3}(\\.[0-9]{0,3})?".prop_map(Amount::from),
            any::<i64>().prop_map(|n| Amount::from(serde_json::Number::from(n))),
            any::<u64>().prop_map(|n| Amount::from(serde_json::Number::from(n))),
            // Money-like floats: serde_json reads longer ones to within a unit in the last place
            // only (see `amounts_that_are_floats_round_trip`).
            (any::<i32>(), 0..=4u32).prop_map(|(mantissa, places)| {
                let n = f64::from(mantissa) / 10f64.powi(places as i32);
                Amount::from(serde_json::Number::from_f64(n).expect("finite"))
            }),
        ]
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("\\PC{0,10}")
    }

    fn extra() -> impl Strategy<Value = Map<String, Value>> {
        // Prefixed keys cannot collide with the named fields.
        proptest::collection::vec(("x_[a-z]{1,6}", "\\PC{0,8}"), 0..3).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect()
        })
    }

    fn transaction() -> impl Strategy<Value = Transaction> {
        let kind = proptest::option::of(prop_oneof![
            Just(TransactionType::Credit),
            Just(TransactionType::Debit),
            "x[a-z]{0,6}".prop_map(TransactionType::Unknown),
        ]);
        let amount = || proptest::option::of(amount());
        (text(), text(), amount(), kind, amount(), extra()).prop_map(
            |(date, description, amount, kind, balance, extra)| Transaction {
                date,
                description,
                amount,
                kind,
                balance,
                extra,
            },
        )
    }

    fn statement() -> impl Strategy<Value = StatementResult> {
        let amount = || proptest::option::of(amount());
        let period = proptest::option::of(prop_oneof![
            "\\PC{0,10}".prop_map(Value::from),
            Just(json!({"from": "a", "to": "b"})),
        ]);
        let transactions = proptest::collection::vec(transaction(), 0..4);
        (
            (text(), amount(), amount(), amount(), amount()),
            (period, transactions, extra()),
        )
            .prop_map(|((account_no, opening, closing, credit, debit), rest)| {
                StatementResult {
                    account_no,
                    opening_balance: opening,
                    closing_balance: closing,
                    total_credit: credit,
                    total_debit: debit,
                    statement_period: rest.0,
                    transactions: rest.1,
                    extra: rest.2,
                }
            })
    }

    fn invoice() -> impl Strategy<Value = InvoiceResult> {
        let bank =
            (text(), text(), text(), text(), extra()).prop_map(|(a, b, c, d, extra)| BankDetails {
                ifsc: a,
                swift_code: b,
                account_number: c,
                bank_name: d,
                extra,
            });
        let buyer = (text(), text(), text(), text(), text(), extra()).prop_map(
            |(gstin, name, address, phone, state_code, extra)| BuyerDetails {
                gstin,
                name,
                address,
                phone,
                state_code,
                extra,
            },
        );
        let details =
            (text(), text(), extra()).prop_map(|(gr_date, gr_number, extra)| InvoiceDetails {
                gr_date,
                gr_number,
                extra,
            });
        let tax = (
            text(),
            proptest::option::of(amount()),
            text(),
            text(),
            extra(),
        )
            .prop_map(
                |(hsn, igst_amount, igst_percentage, reverse_charge_applicable, extra)| {
                    TaxCalculation {
                        hsn,
                        igst_amount,
                        igst_percentage,
                        reverse_charge_applicable,
                        extra,
                    }
                },
            );
        use proptest::option::of;
        (
            of(bank),
            of(buyer),
            of(details),
            of(tax),
            of(extra()),
            extra(),
        )
            .prop_map(
                |(bank_details, buyer_details, invoice_details, tax_calculation, totals, extra)| {
                    InvoiceResult {
                        bank_details,
                        buyer_details,
                        invoice_details,
                        tax_calculation,
                        total_calculation: totals,
                        extra,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn amounts_round_trip(amount in amount()) {
            prop_assert_eq!(round_trip(&amount), amount);
        }

        #[test]
        fn statements_round_trip(statement in statement()) {
            prop_assert_eq!(round_trip(&statement), statement);
        }

        #[test]
        fn invoices_round_trip(invoice in invoice()) {
            prop_assert_eq!(round_trip(&invoice), invoice);
        }

        #[test]
        fn reading_any_text_never_panics_and_agrees(text in "\\PC{0,24}") {
            let amount = Amount::from(text.as_str());
            let value = amount.value();
            let minor = amount.minor_units();
            // Text that gives exact hundredths is readable as a float too.
            prop_assert!(minor.is_err() || value.is_ok());
            if let (Ok(minor), Ok(value)) = (minor, value) {
                prop_assert!((minor as f64 / 100.0 - value).abs() <= value.abs() * 1e-12 + 1e-9);
            }
        }

        #[test]
        fn dates_read_back_in_every_format(
            year in 1000i32..=9999,
            month in 1u32..=12,
            day in 1u32..=28,
            format in prop::sample::select(&["%d/%m", "%d-%m", "%d.%m", "%d-%b", "%d %b"][..]),
        ) {
            let date = NaiveDate::from_ymd_opt(year, month, day).expect("a date");
            let separator = &format[2..3];
            for format in ["%Y-%m-%d".to_owned(), format!("{format}{separator}%Y")] {
                let text = date.format(&format).to_string();
                prop_assert_eq!(date_of(&text), Some(date), "{}", text);
            }
            let short = date.format(&format!("{format}{separator}%y")).to_string();
            // Two digits name a year of the pivot's century: the same year when it is in it.
            let read = date_of(&short).expect("a two-digit date reads");
            prop_assert!((1969..=2068).contains(&read.year()), "{}", short);
            prop_assert_eq!((read.year() % 100, read.month(), read.day()), (year % 100, month, day));
            if (1969..=2068).contains(&year) {
                prop_assert_eq!(read, date);
            }
        }

        #[test]
        fn grouped_numbers_read_back_exactly(n in any::<i64>().prop_map(|n| n / 100)) {
            let cents = n.unsigned_abs() % 100;
            let units = (n.unsigned_abs() / 100).to_string();
            let mut grouped = String::new();
            for (i, c) in units.chars().enumerate() {
                if i > 0 && (units.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let sign = if n < 0 { "-" } else { "" };
            let text = format!("{sign}{grouped}.{cents:02}");
            prop_assert_eq!(Amount::from(text.as_str()).minor_units(), Ok(n), "{}", text);
        }
    }
}
