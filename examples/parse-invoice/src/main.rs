//! `cargo run -p parse-invoice [FILE]`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args_os().nth(1).map(Into::into);
    parse_invoice::run(file, &mut std::io::stdout()).await
}
