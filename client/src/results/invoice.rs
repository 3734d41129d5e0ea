//! [`InvoiceResult`]: what an invoice parse job returns, and its parts.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Amount;

/// The result of an invoice parse job.
///
/// ```
/// let json = serde_json::json!({
///     "buyer_details": { "name": "Sundaram Textiles", "GSTIN": "07TWARM2443E1ZK" },
///     "tax_calculation": { "IGST_amount": "1,234.50", "CGST_amount": "0" }
/// });
/// let invoice: invaro::InvoiceResult = serde_json::from_value(json).unwrap();
/// let buyer = invoice.buyer_details.as_ref().unwrap();
/// assert_eq!(buyer.gstin.as_deref(), Some("07TWARM2443E1ZK"));
/// let tax = invoice.tax_calculation.unwrap();
/// assert_eq!(tax.igst_amount.unwrap().minor_units(), Ok(123_450));
/// assert!(tax.extra.contains_key("CGST_amount")); // kept as sent
/// ```
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
