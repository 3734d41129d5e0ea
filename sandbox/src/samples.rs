//! Small, valid sample documents for demos and tests.

/// A one-page PDF invoice (under 1 KB). Uploaded as `invoice.pdf`, it parses as an invoice.
pub const INVOICE_PDF: &[u8] = include_bytes!("../samples/invoice.pdf");

/// A one-page PDF bank statement (under 1 KB). Uploaded as `statement.pdf`, the sandbox lists
/// it as a bank statement.
pub const STATEMENT_PDF: &[u8] = include_bytes!("../samples/statement.pdf");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_small_complete_pdfs() {
        for pdf in [INVOICE_PDF, STATEMENT_PDF] {
            assert!(pdf.starts_with(b"%PDF-1.4\n"));
            assert!(pdf.ends_with(b"%%EOF\n"));
            assert!(pdf.len() < 1024);
        }
    }
}
