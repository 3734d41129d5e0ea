//! The README stays short and every Markdown page's relative links stay inside the repository
//! and lead somewhere: a page published on crates.io or GitHub cannot link outside its checkout.

use std::path::{Component, Path, PathBuf};

/// The repository's root, found from this crate's folder.
fn root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

/// The Markdown pages a user reads: the README, the crates' READMEs and `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for krate in [
        "client", "cli", "sandbox", "xtask", "codegen", "atomic", "tests",
    ] {
        let readme = root.join(krate).join("README.md");
        if readme.is_file() {
            pages.push(readme);
        }
    }
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/ is readable") {
        let path = entry.expect("a docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages
}

/// The targets of a page's Markdown links, `[text](target)`, outside code.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            found.push(rest[..end].trim().to_owned());
            rest = &rest[end..];
        }
    }
    found
}

/// Every path a page names that climbs with `..`, link or not (`../shared/NOTES.md` in
/// backquotes points outside as surely as a link does).
fn climbing_paths(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || "`()[]<>\"'".contains(c))
        .filter(|word| word.starts_with("../") || word.contains("/../"))
        .collect()
}

/// `path` with `.` and `..` taken out, or `None` when a `..` climbs above its start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn the_readme_is_at_most_12_kb() {
    let size = std::fs::metadata(root().join("README.md"))
        .expect("README.md")
        .len();
    assert!(
        size <= 12 * 1024,
        "README.md is {size} bytes; keep it at most 12 KB (12,288)"
    );
}

#[test]
fn no_relative_link_leaves_the_repository() {
    let root = root();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        let folder = page.parent().expect("a page is in a folder");
        let relative = folder
            .strip_prefix(&root)
            .expect("pages are in the repository");
        for link in links(&text) {
            let target = link.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let place = format!("{}: link `{link}`", page.display());
            assert!(
                !target.starts_with('/'),
                "{place} is absolute: make it relative"
            );
            let inside = normalise(&relative.join(target));
            assert!(inside.is_some(), "{place} leaves the repository");
            assert!(root.join(inside.unwrap()).exists(), "{place} leads nowhere");
            checked += 1;
        }
        for path in climbing_paths(&text) {
            let inside = normalise(&relative.join(path));
            assert!(
                inside.is_some(),
                "{}: `{path}` leaves the repository",
                page.display()
            );
        }
    }
    assert!(
        checked >= 10,
        "only {checked} relative links found: is the link reader broken?"
    );
}

#[test]
fn the_link_reader_sees_what_leaves() {
    let found =
        links("see [notes](../shared/API-NOTES.md) and [x](https://x.y)\n```\n[no](z)\n```");
    assert_eq!(found, ["../shared/API-NOTES.md", "https://x.y"]);
    let named = climbing_paths("See `../shared/API-NOTES.md` for the decisions (a/../b).");
    assert_eq!(named, ["../shared/API-NOTES.md", "a/../b"]);
    assert_eq!(normalise(Path::new("../shared/API-NOTES.md")), None);
    assert_eq!(
        normalise(Path::new("cli/../docs/a.md")),
        Some(PathBuf::from("docs/a.md"))
    );
}

#[test]
fn the_benchmarks_page_holds_one_table_the_bench_can_rewrite() {
    let page = std::fs::read_to_string(root().join("docs/benchmarks.md")).expect("the page");
    for marker in ["<!-- bench-table:start", "<!-- bench-table:end -->"] {
        assert_eq!(
            page.matches(marker).count(),
            1,
            "docs/benchmarks.md: `{marker}` once"
        );
    }
    let start = page.find("<!-- bench-table:start").unwrap();
    let end = page.find("<!-- bench-table:end -->").unwrap();
    assert!(
        start < end && page[start..end].contains("| Figure |"),
        "the table sits between them"
    );
}
