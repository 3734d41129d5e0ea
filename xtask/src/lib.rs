//! The developer commands behind `cargo xtask`, as a library so that tests can run them.

pub mod bench;
pub mod codegen;
pub mod drift_pr;
pub mod files;
pub mod sync;

use std::{
    env, fs,
    path::{Path, PathBuf},
};

/// The workspace root (the folder holding `openapi.yaml`), found at run time.
///
/// The search starts where cargo says the command's package is (`CARGO_MANIFEST_DIR`, which
/// `cargo run` sets for the process), else at the current folder, and walks up to the first folder
/// with `openapi.yaml` beside a `Cargo.toml` that has a `[workspace]` table. A path baked in at
/// compile time would be wrong whenever a binary built in one checkout runs in another (a shared
/// `CARGO_TARGET_DIR`), and the command would then rewrite the other checkout's files.
pub fn project_root() -> Result<PathBuf, String> {
    let from_cargo = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let here = env::current_dir().ok();
    from_cargo
        .iter()
        .chain(here.iter())
        .find_map(|start| workspace_above(start))
        .ok_or_else(|| {
            let tried: Vec<String> = from_cargo
                .iter()
                .chain(here.iter())
                .map(|p| p.display().to_string())
                .collect();
            format!(
                "no invaro workspace found above {}: run `cargo xtask` inside the workspace \
                 (a folder holding openapi.yaml and a Cargo.toml with a [workspace] table)",
                if tried.is_empty() {
                    "(no folder)".into()
                } else {
                    tried.join(" or ")
                }
            )
        })
}

/// The nearest folder at or above `start` that is the workspace root.
fn workspace_above(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| is_workspace_root(dir))
        .map(Path::to_path_buf)
}

fn is_workspace_root(dir: &Path) -> bool {
    if !dir.join("openapi.yaml").is_file() {
        return false;
    }
    fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
        .is_some_and(|manifest| manifest.contains_key("workspace"))
}
