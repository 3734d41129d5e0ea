//! [`DocumentKind`]: the one enum for "invoice or bank statement", everywhere.

use std::fmt;

/// What kind of document a job parses: it picks the start and status routes, filters lists,
/// and is a schema's type (it converts to and from [`crate::types::SchemaType`]: `Statement`
/// is `bank_statement`). With the `clap` feature it is a `clap::ValueEnum` (`invoice`,
/// `statement`, also read as `bank-statement` or `bank_statement`).
///
/// ```
/// use invaro::{DocumentKind, types::SchemaType};
/// assert_eq!(SchemaType::from(DocumentKind::Statement).to_string(), "bank_statement");
/// assert_eq!(DocumentKind::from(SchemaType::Invoice), DocumentKind::Invoice);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DocumentKind {
    /// An invoice (`/parse/invoices`).
    Invoice,
    /// A bank statement (`/parse/statements`).
    #[cfg_attr(
        feature = "clap",
        value(alias = "bank-statement", alias = "bank_statement")
    )]
    Statement,
}

impl DocumentKind {
    /// `invoice` or `statement`.
    ///
    /// ```
    /// assert_eq!(invaro::DocumentKind::Statement.as_str(), "statement");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Statement => "statement",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
