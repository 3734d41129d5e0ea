//! Fuzz input: a text read as a docs page, a whole OpenAPI document and an llms.txt index.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| invaro_fuzz::sync_checks::extraction(data));
