//! The `invaro` binary, run as a user would, against an in-process sandbox.

mod commands;
mod errors;
mod support;
#[cfg(unix)]
mod terminal;
