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
//!
//! One file per concern: [`InvoiceResult`] and its parts (`invoice.rs`), [`StatementResult`]
//! and its transactions (`statement.rs`), [`Amount`] (`amount.rs`) and the reading of dates
//! (`dates.rs`).

mod amount;
mod dates;
mod invoice;
mod statement;
#[cfg(test)]
mod tests;

pub use amount::{Amount, AmountError};
pub use invoice::{BankDetails, BuyerDetails, InvoiceDetails, InvoiceResult, TaxCalculation};
pub use statement::{StatementResult, Transaction, TransactionType};
