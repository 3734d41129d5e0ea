//! Fuzz input: a result body decoded as a statement and an invoice, its amounts and dates read.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| invaro_fuzz::client_checks::result_bodies(data));
