//! The developer commands behind `cargo xtask`, as a library so that tests can run them.

pub mod bench;
pub mod codegen;
pub mod files;
pub mod sync;

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `openapi.yaml`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
