//! Fuzz input: a response body decoded as a job, job envelope, invoice status and error envelope.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| invaro_fuzz::client_checks::job_bodies(data));
