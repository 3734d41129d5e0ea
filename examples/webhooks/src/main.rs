//! `cargo run -p webhooks`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    webhooks::run(&mut std::io::stdout()).await
}
