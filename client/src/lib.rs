//! Rust SDK for the Invaro Document Processing API.

/// The client progenitor generates from `openapi.yaml`, plus the hand-written operations.
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub mod hooks;
mod job_status;

pub use job_status::JobStatus;
