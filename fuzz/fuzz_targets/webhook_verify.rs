//! Fuzz input: a signature header, a NUL byte, then a body, verified with a fixed secret.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| invaro_fuzz::client_checks::webhook(data));
