//! One module per command group.

use std::{io::Read, path::Path};

use crate::exit::Failure;

pub mod batch;
pub mod demo;
pub mod files;
pub mod jobs;
pub mod parse;
pub mod schemas;
pub mod webhook;

/// The bytes of `path`, or of stdin when it is `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    read.map_err(|e| {
        Failure::usage(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{}: does not exist", path.display()),
            _ => format!("{}: cannot be read: {e}", path.display()),
        })
    })?;
    Ok(bytes)
}
