//! The properties the fuzz targets check, one module per area; the property tests of `client`
//! and `xtask` include the same files, so a fuzzer and `cargo test` judge inputs alike.

pub mod client_checks;
pub mod sync_checks;
