//! `cargo run -p list-everything`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    list_everything::run(&mut std::io::stdout()).await
}
