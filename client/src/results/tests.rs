use super::{amount::*, invoice::*, statement::*};
use chrono::Datelike as _;
use chrono::NaiveDate;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::{Map, Value};

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
    let err =
        serde_json::from_value::<StatementResult>(json!({"closing_balance": true})).unwrap_err();
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
        .prop_map(
            |((account_no, opening, closing, credit, debit), rest)| StatementResult {
                account_no,
                opening_balance: opening,
                closing_balance: closing,
                total_credit: credit,
                total_debit: debit,
                statement_period: rest.0,
                transactions: rest.1,
                extra: rest.2,
            },
        )
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
