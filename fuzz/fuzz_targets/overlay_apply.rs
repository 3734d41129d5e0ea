//! Fuzz input: an overlay (YAML), a NUL byte, then a document (JSON); the overlay parsed and applied.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| invaro_fuzz::sync_checks::overlay(data));
