//! Properties of `cargo xtask sync`'s fragment extraction and overlay application, on stable in
//! `cargo test`: no panic on any input, a fenced fragment in any prose is found unchanged, and an
//! added key removed again leaves the document as it was.
//!
//! The oracle is shared with the fuzz targets (`fuzz/src/sync_checks.rs`); inputs the fuzzers
//! once crashed on are kept at the bottom as regression tests.

#[path = "../../fuzz/src/sync_checks.rs"]
mod checks;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use xtask::sync::{extract, overlay::Overlay};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

/// A line of prose that cannot open or close a code fence.
fn prose_line() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 #*>.,:'\"()\\[\\]-]{0,40}"
}

/// Text as YAML writes it in single quotes: any printable text, quotes doubled.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A fence marker: three to five backticks or tildes.
fn marker() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!['`', '~']), 3usize..6).prop_map(|(c, n)| c.to_string().repeat(n))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z ]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::vec(("[a-z]{1,4}", inner), 0..3)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A document with a map under `a`, so that nested targets have something to select.
fn document() -> impl Strategy<Value = Map<String, Value>> {
    (
        proptest::collection::vec(("[a-z]{1,4}", json_value()), 0..4),
        proptest::collection::vec(("[a-z]{1,4}", json_value()), 0..3),
    )
        .prop_map(|(top, nested)| {
            let mut doc: Map<String, Value> = top.into_iter().collect();
            doc.insert("a".into(), Value::Object(nested.into_iter().collect()));
            doc
        })
}

/// JSONPath text from pieces of the RFC 9535 grammar, well-formed or not.
fn target() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        ".a",
        ".b",
        "..a",
        ".*",
        "..*",
        "[0]",
        "[-1]",
        "[0,1]",
        "[1,0]",
        "[*]",
        "['a','a']",
        "[0,0]",
        "[?@ == 1]",
        "[?@.a]",
        "[1:]",
        "[::-1]",
        "[",
        "]",
        "'",
        "x",
    ]);
    proptest::collection::vec(piece, 0..4).prop_map(|pieces| format!("${}", pieces.concat()))
}

fn overlay_text(actions: &[(String, Option<Value>)]) -> String {
    let mut text = String::from("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n");
    for (target, update) in actions {
        text.push_str(&format!("  - target: {}\n", quoted(target)));
        match update {
            Some(update) => text.push_str(&format!("    update: {update}\n")),
            None => text.push_str("    remove: true\n"),
        }
    }
    text
}

fn overlay_input(overlay: &str, document: &Value) -> Vec<u8> {
    let mut input = overlay.as_bytes().to_vec();
    input.push(0);
    input.extend(serde_json::to_vec(document).expect("encodes"));
    input
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_read_without_panic(text in "\\PC{0,200}", bytes in any::<Vec<u8>>()) {
        checks::extraction(text.as_bytes());
        checks::extraction(&bytes);
    }

    #[test]
    fn fence_like_text_is_read_without_panic(
        lines in proptest::collection::vec(
            prop_oneof![
                prose_line(),
                marker().prop_map(|m| format!("{m}yaml")),
                marker(),
                Just("openapi: 3.0.3".to_owned()),
                Just("  - a: [".to_owned()),
            ],
            0..12,
        ),
    ) {
        checks::extraction(lines.join("\n").as_bytes());
    }

    #[test]
    fn a_fenced_fragment_in_any_prose_is_found_unchanged(
        before in proptest::collection::vec(prose_line(), 0..6),
        after in proptest::collection::vec(prose_line(), 0..6),
        title in "\\PC{0,24}",
        version in "[0-9.a-z-]{1,8}",
        fence in marker(),
        info in prop::sample::select(vec!["yaml", "yml", "YAML", "yaml GET /x"]),
        indent in prop::sample::select(vec!["", " ", "   "]),
    ) {
        let fragment = format!(
            "openapi: 3.0.3\ninfo:\n  title: {}\n  version: {}\npaths: {{}}\n",
            quoted(&title),
            quoted(&version)
        );
        let page = format!(
            "{}\n{indent}{fence}{info}\n{fragment}{indent}{fence}\n{}\n",
            before.join("\n"),
            after.join("\n")
        );
        let found = extract::from_page("page.md", &page).expect("a well-formed page");
        let expected = json!({
            "openapi": "3.0.3",
            "info": {"title": title, "version": version},
            "paths": {},
        });
        prop_assert_eq!(found.len(), 1, "{}", page);
        prop_assert_eq!(&found[0].doc, &expected);
        prop_assert_eq!(found[0].origin.as_str(), "page.md");
    }

    #[test]
    fn any_overlay_applies_or_fails_without_panic(
        actions in proptest::collection::vec(
            (target(), proptest::option::of(json_value())),
            0..4,
        ),
        doc in document(),
    ) {
        checks::overlay(&overlay_input(&overlay_text(&actions), &Value::Object(doc)));
    }

    #[test]
    fn an_added_key_removed_again_restores_the_document(
        doc in document(),
        value in json_value(),
        nested in any::<bool>(),
    ) {
        let key = "x-added";
        let (update, remove) = if nested {
            ("$.a".to_owned(), format!("$.a['{key}']"))
        } else {
            ("$".to_owned(), format!("$['{key}']"))
        };
        let actions = [(update, Some(json!({ key: value }))), (remove, None)];
        let overlay = Overlay::parse("overlay.yaml", &overlay_text(&actions))
            .expect("a well-formed overlay");
        let original = Value::Object(doc);
        let mut changed = original.clone();
        let applied = overlay.apply(&mut changed).expect("applies");
        prop_assert!(applied.stale.is_empty(), "{:?}", applied.stale);
        prop_assert_eq!(changed, original);
    }
}

#[test]
fn seeds_of_the_fuzz_corpus_pass() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut seen = 0;
    for (target, check) in [
        ("extract_yaml", checks::extraction as fn(&[u8])),
        ("overlay_apply", checks::overlay),
    ] {
        let dir = seeds.join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            check(&std::fs::read(&path).expect("a readable seed"));
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} seeds were checked");
}

/// Inputs the fuzzers crashed on, kept as they were found.
mod regressions {
    use super::checks;
    use xtask::sync::overlay::Overlay;

    /// overlay_apply: a target ending inside a `\u` escape made serde_json_path 0.7 panic
    /// ("we do not use streaming parsers"). Fixed in `overlay.rs` by refusing such targets.
    #[test]
    fn a_target_ending_inside_a_unicode_escape_is_an_error() {
        checks::overlay(
            b"overlay: 1.0.0\nactions:\n  - target: $['1, \xff\xff\\u \0t:erpn\0\0\0\x95\x95\x95\x95\\]",
        );
        for target in [r"$['\u", r"$['\uD", r"$['\uD83D\u", r"$['\uD83D\uD"] {
            let text = format!(
                "overlay: 1.0.0\nactions:\n  - target: \"{}\"\n    remove: true\n",
                target.replace('\\', "\\\\")
            );
            let err = Overlay::parse("overlay.yaml", &text).unwrap_err();
            assert!(err.contains("ends inside a \\u escape"), "{target}: {err}");
        }
    }

    /// overlay_apply: an update that replaces a node on the path of a later selection of the
    /// same action made `node_mut` index into a number. Found by reading the code, confirmed with
    /// the fuzz target. Fixed in `overlay.rs`: the later selection is an error naming the action.
    #[test]
    fn an_update_that_replaces_a_later_selections_parent_is_an_error() {
        let input = b"overlay: 1.0.0\nactions:\n  - target: $..c\n    update: {x: 1}\n\0{\"c\":{\"x\":{\"c\":{}}}}";
        checks::overlay(input);
        let overlay = Overlay::parse(
            "overlay.yaml",
            "overlay: 1.0.0\nactions:\n  - target: $..c\n    update: {x: 1}\n",
        )
        .expect("a valid overlay");
        let mut doc = serde_json::json!({"c": {"x": {"c": {}}}});
        let err = overlay.apply(&mut doc).unwrap_err();
        assert!(
            err.contains("action 1") && err.contains("has moved"),
            "{err}"
        );
    }
}
