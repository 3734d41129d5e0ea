//! `cargo run -p metrics-prometheus`: the example is in `lib.rs`, where `cargo test` runs it too.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    metrics_prometheus::run(&mut std::io::stdout()).await
}
