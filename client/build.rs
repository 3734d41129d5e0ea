//! Generates the client from `openapi.yaml` into `OUT_DIR/generated.rs`.
//!
//! Without the `codegen` feature it copies the committed snapshot instead, so that builds that
//! cannot afford progenitor still compile exactly what `cargo xtask codegen` last committed.

use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("generated.rs");
    match generated() {
        Ok(code) => std::fs::write(&out, code).expect("OUT_DIR is writable"),
        Err(message) => {
            // One readable line instead of a panic and its backtrace.
            println!("cargo::error={message}");
        }
    }
}

#[cfg(feature = "codegen")]
fn generated() -> Result<String, String> {
    println!("cargo::rerun-if-changed=openapi.yaml");
    invaro_codegen::generate_file(Path::new("openapi.yaml")).map_err(|e| e.to_string())
}

#[cfg(not(feature = "codegen"))]
fn generated() -> Result<String, String> {
    let snapshot = Path::new("src/generated.rs");
    println!("cargo::rerun-if-changed={}", snapshot.display());
    std::fs::read_to_string(snapshot).map_err(|e| format!("{}: {e}", snapshot.display()))
}
