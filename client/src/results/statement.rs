//! [`StatementResult`]: what a bank statement parse job returns, and its transactions.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Amount;

/// The result of a bank statement parse job.
///
/// ```
/// let json = serde_json::json!({
///     "account_no": "50100012345678",
///     "transactions": [{ "date": "31-01-25", "amount": "1,500.00", "type": "credit" }]
/// });
/// let statement: invaro::StatementResult = serde_json::from_value(json).unwrap();
/// let line = &statement.transactions[0];
/// assert_eq!(line.parsed_date(), chrono::NaiveDate::from_ymd_opt(2025, 1, 31));
/// assert_eq!(line.amount.as_ref().unwrap().minor_units(), Ok(150_000));
/// ```
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
        super::dates::read(self.date.as_deref()?)
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
