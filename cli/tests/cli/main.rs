//! The `invaro` binary, run as a user would, against an in-process sandbox.

mod budget;
mod commands;
mod counting;
mod errors;
#[cfg(unix)]
mod interrupts;
#[cfg(unix)]
mod journal;
mod outputs;
#[cfg(unix)]
mod redis_server;
mod scripted;
#[cfg(unix)]
mod shared;
mod support;
#[cfg(unix)]
mod terminal;
#[cfg(unix)]
mod verbose;
