//! Synthetic but deterministic parse results: the same file bytes always give the same result.

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value, json};

const COMPANIES: &[&str] = &[
    "Acme Traders Pvt Ltd",
    "Sundaram Textiles",
    "Bluewater Logistics LLP",
    "Kaveri Agro Foods",
    "Northstar Electronics",
    "Meridian Pharma Ltd",
];
const CITIES: &[(&str, &str)] = &[
    ("Mumbai, Maharashtra", "27"),
    ("Bengaluru, Karnataka", "29"),
    ("Chennai, Tamil Nadu", "33"),
    ("Pune, Maharashtra", "27"),
    ("New Delhi, Delhi", "07"),
];
const BANKS: &[(&str, &str, &str)] = &[
    ("HDFC Bank", "HDFC", "HDFCINBB"),
    ("State Bank of India", "SBIN", "SBININBB"),
    ("ICICI Bank", "ICIC", "ICICINBB"),
    ("Axis Bank", "UTIB", "AXISINBB"),
];
const PAYEES: &[&str] = &[
    "UPI/ZOMATO",
    "NEFT/SALARY CREDIT",
    "IMPS/RENT",
    "ATM WITHDRAWAL",
    "POS/AMAZON",
    "NEFT/VENDOR PAYMENT",
    "UPI/ELECTRICITY BILL",
    "INTEREST CREDIT",
];

/// A seed drawn from the bytes (FNV-1a), so a file always parses to the same result.
fn seed_of(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn digits(rng: &mut fastrand::Rng, count: usize) -> String {
    (0..count).map(|_| rng.digit(10)).collect()
}

fn letters(rng: &mut fastrand::Rng, count: usize) -> String {
    (0..count).map(|_| rng.uppercase()).collect()
}

/// Groups the digits of `paise / 100`, the last three together and the rest by `rest_group`
/// (3 for "1,234,567.00", 2 for the Indian "12,34,567.00"), and appends the paise.
fn grouped(paise: u64, rest_group: usize) -> String {
    let whole = (paise / 100).to_string();
    let split = whole.len().saturating_sub(3);
    let (head, tail) = whole.split_at(split);
    let mut groups = vec![tail.to_owned()];
    let mut head = head;
    while !head.is_empty() {
        let at = head.len().saturating_sub(rest_group);
        groups.push(head[at..].to_owned());
        head = &head[..at];
    }
    groups.reverse();
    format!("{}.{:02}", groups.join(","), paise % 100)
}

/// An amount like "1,234.56".
pub(crate) fn western(paise: u64) -> String {
    grouped(paise, 3)
}

/// An amount like "11,78,713.00".
pub(crate) fn indian(paise: u64) -> String {
    grouped(paise, 2)
}

fn base_date(rng: &mut fastrand::Rng) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a valid constant date");
    start + Days::new(rng.u64(0..600))
}

/// An invoice result: bank, buyer, invoice, tax and total details.
pub(crate) fn invoice(bytes: &[u8]) -> Map<String, Value> {
    let mut rng = fastrand::Rng::with_seed(seed_of(bytes));
    let (bank, ifsc_prefix, swift) = *pick(&mut rng, BANKS);
    let (city, state_code) = *pick(&mut rng, CITIES);
    let date = base_date(&mut rng);
    // Amounts are in paise: 500.00 to 50,00,000.00.
    let taxable: u64 = rng.u64(50_000..500_000_000);
    let half_tax = taxable * 9 / 100;
    let total_tax = half_tax * 2;
    let gstin = format!(
        "{state_code}{}{}{}1Z{}",
        letters(&mut rng, 5),
        digits(&mut rng, 4),
        letters(&mut rng, 1),
        rng.alphanumeric().to_ascii_uppercase()
    );
    let value = json!({
        "bank_details": {
            "IFSC": format!("{ifsc_prefix}0{}", digits(&mut rng, 6)),
            "SWIFT_CODE": swift,
            "account_number": digits(&mut rng, 14),
            "bank_name": bank,
        },
        "buyer_details": {
            "GSTIN": gstin,
            "name": pick(&mut rng, COMPANIES),
            "address": format!("{} MG Road, {city}", rng.u32(1..400)),
            "phone": format!("+91 9{}", digits(&mut rng, 9)),
            "state_code": state_code,
        },
        "invoice_details": {
            "GR_date": date.to_string(),
            "GR_number": format!("GR-{}", digits(&mut rng, 5)),
            "invoice_number": format!("INV/{}/{}", date.format("%Y"), digits(&mut rng, 4)),
            "invoice_date": date.to_string(),
        },
        "tax_calculation": {
            "taxable_amount": western(taxable),
            "cgst_rate": "9%",
            "cgst_amount": western(half_tax),
            "sgst_rate": "9%",
            "sgst_amount": western(half_tax),
            "total_tax": western(total_tax),
        },
        "total_calculation": {
            "subtotal": western(taxable),
            "total_tax": western(total_tax),
            "grand_total": western(taxable + total_tax),
            "currency": "INR",
        },
    });
    into_map(value)
}

/// A bank statement result with `transactions` entries and balances that add up.
pub(crate) fn statement(bytes: &[u8], transactions: usize) -> Map<String, Value> {
    let mut rng = fastrand::Rng::with_seed(seed_of(bytes));
    let (bank, _, _) = *pick(&mut rng, BANKS);
    let from = base_date(&mut rng);
    let days = 89;
    let opening: u64 = rng.u64(1_000_000..500_000_000);
    let (mut balance, mut credits, mut debits) = (opening, 0u64, 0u64);
    let mut entries = Vec::with_capacity(transactions);
    for index in 0..transactions {
        let amount = rng.u64(10_000..20_000_000);
        // Debits never overdraw: a debit larger than the balance becomes a credit.
        let credit = rng.bool() || amount > balance;
        if credit {
            balance += amount;
            credits += amount;
        } else {
            balance -= amount;
            debits += amount;
        }
        let offset = (index as u64 * days) / transactions.max(1) as u64;
        entries.push(json!({
            "date": (from + Days::new(offset)).to_string(),
            "description": format!("{}/{}", pick(&mut rng, PAYEES), digits(&mut rng, 12)),
            "amount": amount as f64 / 100.0,
            "type": if credit { "credit" } else { "debit" },
            "balance": balance as f64 / 100.0,
        }));
    }
    let value = json!({
        "account_no": digits(&mut rng, 12),
        "account_holder": pick(&mut rng, COMPANIES),
        "bank_name": bank,
        "statement_period": format!("{from} to {}", from + Days::new(days)),
        "opening_balance": indian(opening),
        "closing_balance": indian(balance),
        "total_credit": indian(credits),
        "total_debit": indian(debits),
        "transactions": entries,
    });
    into_map(value)
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("results are built from json! objects"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_western_and_indian() {
        assert_eq!(western(123_456), "1,234.56");
        assert_eq!(western(5), "0.05");
        assert_eq!(western(12_345_678_900), "123,456,789.00");
        assert_eq!(indian(117_871_300), "11,78,713.00");
        assert_eq!(indian(99_900), "999.00");
        assert_eq!(indian(123_456_789_012), "1,23,45,67,890.12");
    }

    #[test]
    fn results_depend_only_on_the_bytes() {
        assert_eq!(invoice(b"a"), invoice(b"a"));
        assert_ne!(invoice(b"a"), invoice(b"b"));
        assert_eq!(statement(b"a", 5), statement(b"a", 5));
    }

    #[test]
    fn a_statement_has_the_configured_transactions_and_its_balance_adds_up() {
        let result = statement(b"%PDF-1.4 statement", 2000);
        let transactions = result["transactions"].as_array().expect("an array");
        assert_eq!(transactions.len(), 2000);
        let last = transactions.last().expect("2000 entries")["balance"]
            .as_f64()
            .expect("a number");
        let closing = result["closing_balance"].as_str().expect("a string");
        assert_eq!(closing.replace(',', "").parse::<f64>().ok(), Some(last));
        assert!(
            transactions
                .iter()
                .all(|t| t["balance"].as_f64() >= Some(0.0))
        );
    }
}
