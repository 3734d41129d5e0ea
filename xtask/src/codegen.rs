//! `cargo xtask codegen [--check]`: the committed snapshot of the generated client.
//!
//! The snapshot (`client/src/generated.rs`) is what reviewers read in diffs: exactly the code the
//! client's build script generates from `openapi.yaml` with the pinned progenitor.

use std::path::{Path, PathBuf};

use crate::files;

/// The command that regenerates the snapshot.
pub const FIX: &str = "cargo xtask codegen";

/// Where the snapshot lives, relative to the workspace root.
pub const SNAPSHOT: &str = "client/src/generated.rs";

/// Paths of the spec and the snapshot.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The OpenAPI document.
    pub spec: PathBuf,
    /// The committed generated code.
    pub snapshot: PathBuf,
}

impl Paths {
    /// The spec and snapshot of the workspace rooted at `root`.
    pub fn under(root: &Path) -> Self {
        Self {
            spec: root.join("openapi.yaml"),
            snapshot: root.join(SNAPSHOT),
        }
    }
}

/// Regenerates the snapshot, or in check mode fails when it is not up to date.
pub fn run(paths: &Paths, check: bool) -> Result<(), String> {
    let code = generate(&paths.spec)?;
    files::ensure_contents(&paths.snapshot, &code, check, FIX)
}

fn generate(spec: &Path) -> Result<String, String> {
    invaro_codegen::generate_file(spec).map_err(|e| e.to_string())
}
