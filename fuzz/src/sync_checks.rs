//! What must hold for any input to `cargo xtask sync`'s fragment extraction and overlay
//! application.
//!
//! Shared by the cargo-fuzz targets in `fuzz/fuzz_targets/` and the property tests in
//! `xtask/tests/properties.rs` (which include this file by path). Bad input must come back as an
//! error message; a panic is a bug.

use serde_json::Value;
use xtask::sync::{extract, overlay::Overlay};

/// Any text as a docs page, a whole document and an `llms.txt` index: never a panic, and every
/// fragment found is an OpenAPI document.
pub fn extraction(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(fragments) = extract::from_page("fuzz.md", &text) {
        for fragment in fragments {
            assert!(
                fragment.doc.get("openapi").is_some() || fragment.doc.get("swagger").is_some(),
                "a fragment without an openapi field: {}",
                fragment.doc
            );
        }
    }
    let _ = extract::from_document("fuzz.yaml", &text);
    if let Ok(links) = extract::index_links("llms.txt", &text) {
        assert!(!links.is_empty(), "an index was read with no links");
    }
}

/// `overlay NUL document` (the document as JSON): parsing and applying never panic, and an
/// overlay that applies cleanly applies the same way twice to the same document.
pub fn overlay(data: &[u8]) {
    let (overlay, document) = split(data);
    let Ok(overlay) = Overlay::parse("fuzz-overlay.yaml", &String::from_utf8_lossy(overlay)) else {
        return;
    };
    let document: Value = serde_json::from_slice(document).unwrap_or(Value::Null);
    let (mut once, mut again) = (document.clone(), document);
    let first = overlay.apply(&mut once);
    let second = overlay.apply(&mut again);
    assert_eq!(first, second, "the same overlay applied differently");
    assert_eq!(once, again, "the same overlay gave different documents");
}

/// The first part of `data` up to a NUL byte, and the rest.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}
