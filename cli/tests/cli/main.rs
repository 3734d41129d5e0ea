//! The `invaro` binary, run as a user would, against an in-process sandbox.

mod commands;
mod errors;
#[cfg(unix)]
mod interrupts;
#[cfg(unix)]
mod journal;
mod outputs;
mod scripted;
mod support;
#[cfg(unix)]
mod terminal;
