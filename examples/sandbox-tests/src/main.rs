//! `cargo run -p sandbox-tests`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sandbox_tests::run(&mut std::io::stdout()).await
}
