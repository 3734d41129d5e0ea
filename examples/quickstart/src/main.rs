//! `cargo run -p quickstart [FILE]`: the flow is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    quickstart::run(std::env::args().nth(1), &mut std::io::stdout()).await
}
