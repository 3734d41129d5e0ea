//! `cargo run -p durable-batch`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    durable_batch::run(&mut std::io::stdout()).await
}
