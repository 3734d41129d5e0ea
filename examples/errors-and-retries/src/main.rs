//! `cargo run -p errors-and-retries`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    errors_and_retries::run(&mut std::io::stdout()).await
}
