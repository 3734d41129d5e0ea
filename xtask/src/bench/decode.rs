//! Section 3: decoding a large result. A statement of 100,000 transactions decoded into the typed
//! `StatementResult` and into `serde_json::Value`, alternately, in MB/s.

use std::{hint::black_box, time::Instant};

use invaro::StatementResult;
use serde_json::Value;

use super::{Settings, report::Figure, report::median};

const TRANSACTIONS: usize = 100_000;

/// A statement as the API returns it: amounts as text with Indian grouping, transaction amounts
/// as numbers.
fn statement() -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let transactions: Vec<Value> = (0..TRANSACTIONS)
        .map(|n| {
            let credit = rng.bool();
            serde_json::json!({
                "date": format!("{:02}/{:02}/2025", n % 28 + 1, n % 12 + 1),
                "description": format!("{} REF{n:08} {}", if credit { "NEFT CR" } else { "UPI DR" }, rng.u32(..)),
                "amount": f64::from(rng.u32(1..10_000_000)) / 100.0,
                "type": if credit { "credit" } else { "debit" },
                "balance": format!("{},{:02},{:03}.{:02}", rng.u32(1..99), rng.u32(..100), rng.u32(..1000), rng.u32(..100)),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "account_no": "001234567890",
        "opening_balance": "10,00,000.00",
        "closing_balance": "11,78,713.00",
        "total_credit": "5,12,34,567.89",
        "total_debit": "5,10,55,854.89",
        "statement_period": "01/01/2025 - 31/12/2025",
        "transactions": transactions,
    }))
    .expect("a statement encodes")
}

/// Seconds to decode `bytes` as `T`.
fn time<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> f64 {
    let started = Instant::now();
    let decoded: T = serde_json::from_slice(black_box(bytes)).expect("the statement decodes");
    let elapsed = started.elapsed().as_secs_f64();
    drop(black_box(decoded));
    elapsed
}

/// Runs the section and returns its figures.
pub fn run(settings: &Settings) -> Vec<Figure> {
    let bytes = statement();
    let typed: StatementResult = serde_json::from_slice(&bytes).expect("the statement decodes");
    assert_eq!(
        typed.transactions.len(),
        TRANSACTIONS,
        "every transaction decoded"
    );
    let megabytes = bytes.len() as f64 / 1e6;
    let mut runs = Vec::new();
    for round in 0..settings.decode_rounds {
        let (typed, value) = if round % 2 == 0 {
            let typed = time::<StatementResult>(&bytes);
            (typed, time::<Value>(&bytes))
        } else {
            let value = time::<Value>(&bytes);
            (time::<StatementResult>(&bytes), value)
        };
        runs.push((megabytes / typed, megabytes / value));
    }
    let typed = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    let value = median(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
    let ratio = median(&runs.iter().map(|r| r.0 / r.1).collect::<Vec<_>>());
    vec![
        Figure::new(
            format!("decode a {megabytes:.1} MB statement of 100,000 transactions: typed StatementResult"),
            typed,
            "MB/s",
        )
        .against("serde_json::Value", value, ratio)
        .target("ratio ≥ 1"),
    ]
}
