//! Getting OpenAPI fragments out of upstream texts: fenced `yaml` and `json` blocks of Markdown
//! pages, whole documents, and the page links of an `llms.txt` index. OpenAPI 3.0.x is read as
//! it is; 3.1.x is rewritten as 3.0.3 by [`dialect`], and its conversions travel with the
//! fragment to the report.

use serde_json::Value;

use super::dialect::{self, Conversion};
use super::yaml;

/// One OpenAPI document found in an upstream text, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// The page or document it was read from (a URL or a path).
    pub origin: String,
    /// The document, in OpenAPI 3.0.x.
    pub doc: Value,
    /// How it was rewritten from OpenAPI 3.1 (empty for a 3.0 document).
    pub conversions: Vec<Conversion>,
}

/// The OpenAPI fragments of a Markdown page: every fenced `yaml` or `json` block that is an
/// OpenAPI document. A page without one gives an empty list.
///
/// A `json` block that does not parse is skipped unless it names an `"openapi"` field: docs
/// pages show JSON bodies abridged with `...`, but a broken OpenAPI block is an error.
pub fn from_page(origin: &str, text: &str) -> Result<Vec<Fragment>, String> {
    reject_html(origin, text, "a Markdown page")?;
    let mut fragments = Vec::new();
    for fence in fences(text) {
        let doc = match fence.lang {
            Lang::Yaml => yaml::parse(&fence.body, fence.first_line)
                .map_err(|e| format!("{origin}: malformed YAML in the fenced block: {e}"))?,
            Lang::Json => match serde_json::from_str(&fence.body) {
                Ok(doc) => doc,
                Err(_) if !fence.body.contains("\"openapi\"") => continue,
                Err(e) => {
                    return Err(format!(
                        "{origin}: malformed JSON in the fenced block: line {}, column {}: {e}",
                        e.line() + fence.first_line - 1,
                        e.column()
                    ));
                }
            },
        };
        if is_openapi(&doc) {
            fragments.push(fragment(origin, doc)?);
        }
    }
    Ok(fragments)
}

/// A whole OpenAPI document, in JSON or YAML.
pub fn from_document(origin: &str, text: &str) -> Result<Fragment, String> {
    reject_html(origin, text, "an OpenAPI document")?;
    let doc = yaml::parse(text, 1).map_err(|e| format!("{origin}: malformed document: {e}"))?;
    if !is_openapi(&doc) {
        return Err(format!(
            "{origin}: not an OpenAPI document (no top-level `openapi` field)"
        ));
    }
    fragment(origin, doc)
}

/// The fragment of an OpenAPI document, rewritten as 3.0.3 when it is 3.1.
fn fragment(origin: &str, doc: Value) -> Result<Fragment, String> {
    check_version(origin, &doc)?;
    let (doc, conversions) = if dialect::is_openapi_31(&doc) {
        dialect::to_openapi_30(origin, doc)?
    } else {
        (doc, Vec::new())
    };
    Ok(Fragment {
        origin: origin.into(),
        doc,
        conversions,
    })
}

/// The link targets of an `llms.txt` index: the `[title](target)` links of its list items, in
/// order. An index without any is an error.
pub fn index_links(origin: &str, text: &str) -> Result<Vec<String>, String> {
    reject_html(origin, text, "an llms.txt index")?;
    let links: Vec<String> = text
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("- ") || line.starts_with("* "))
        .filter_map(link_target)
        .collect();
    if links.is_empty() {
        return Err(format!(
            "{origin}: the index lists no pages (expected Markdown list items such as `- [Title](https://…)`)"
        ));
    }
    Ok(links)
}

/// An HTML page where Markdown or YAML was expected, typically a docs URL without its `.md`.
fn reject_html(origin: &str, text: &str, expected: &str) -> Result<(), String> {
    let head = text
        .trim_start()
        .get(..15)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err(format!(
            "{origin}: is an HTML page, but {expected} was expected (docs pages are read in their `.md` form)"
        ));
    }
    Ok(())
}

fn is_openapi(doc: &Value) -> bool {
    doc.get("openapi").is_some() || doc.get("swagger").is_some()
}

/// progenitor reads OpenAPI 3.0.x only; 3.1.x is rewritten as 3.0.3 (see [`dialect`]).
fn check_version(origin: &str, doc: &Value) -> Result<(), String> {
    let version = match (doc.get("openapi"), doc.get("swagger")) {
        (Some(Value::String(v)), _) if v.starts_with("3.0.") || v.starts_with("3.1.") => {
            return Ok(());
        }
        (Some(v), _) => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        (None, Some(v)) => format!("Swagger {}", v.as_str().unwrap_or("2.0")),
        (None, None) => "no version".into(),
    };
    Err(format!(
        "{origin}: OpenAPI {version} is not supported: the sync reads OpenAPI 3.0.x and 3.1.x \
         (progenitor needs 3.0.x, and 3.1 is converted to it)"
    ))
}

/// The language of a fenced block that may hold OpenAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Yaml,
    Json,
}

/// A fenced code block whose info string starts with `yaml`, `yml` or `json`.
struct Fence {
    lang: Lang,
    /// Line number (from 1) of the block's first content line within the page.
    first_line: usize,
    body: String,
}

fn fences(text: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut open: Option<(String, bool, Fence)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some((marker, info)) = fence_marker(trimmed) {
                    let lang = info.split_whitespace().next().unwrap_or_default();
                    let lang = match lang.to_ascii_lowercase().as_str() {
                        "yaml" | "yml" => Some(Lang::Yaml),
                        "json" => Some(Lang::Json),
                        _ => None,
                    };
                    let fence = Fence {
                        lang: lang.unwrap_or(Lang::Yaml),
                        first_line: index + 2,
                        body: String::new(),
                    };
                    open = Some((marker, lang.is_some(), fence));
                }
            }
            Some((marker, wanted, fence)) => {
                if closes(trimmed, marker) {
                    let (_, wanted, fence) = open.take().expect("a fence is open");
                    if wanted {
                        fences.push(fence);
                    }
                } else if *wanted {
                    fence.body.push_str(line);
                    fence.body.push('\n');
                }
            }
        }
    }
    fences
}

/// The opening marker (three or more backticks or tildes) and the info string after it.
fn fence_marker(line: &str) -> Option<(String, &str)> {
    let first = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|c| *c == first).count();
    (len >= 3).then(|| (line[..len].to_owned(), line[len..].trim()))
}

fn closes(line: &str, marker: &str) -> bool {
    let first = marker.chars().next().unwrap_or('`');
    let len = line.chars().take_while(|c| *c == first).count();
    len >= marker.len() && line[len..].trim().is_empty()
}

/// The target of the first `[title](target)` link on a line.
fn link_target(line: &str) -> Option<String> {
    let start = line.find("](")? + 2;
    let end = start + line[start..].find(')')?;
    let target = line[start..end].split_whitespace().next()?;
    Some(target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_found_with_their_line_numbers() {
        let page =
            "# Title\n\n````yaml GET /x\nopenapi: 3.0.0\n````\n```json\n{}\n```\n```sh\nx\n```\n";
        let fences = fences(page);
        assert_eq!(fences.len(), 2);
        assert_eq!((fences[0].lang, fences[0].first_line), (Lang::Yaml, 4));
        assert_eq!(fences[0].body, "openapi: 3.0.0\n");
        assert_eq!((fences[1].lang, fences[1].first_line), (Lang::Json, 7));
    }

    #[test]
    fn a_shorter_fence_inside_a_longer_one_does_not_close_it() {
        let page = "````yaml\na: |\n  ```\nb: 1\n````\n";
        assert_eq!(fences(page)[0].body, "a: |\n  ```\nb: 1\n");
    }

    #[test]
    fn a_json_fence_reads_like_its_yaml_twin() {
        let yaml = "```yaml\nopenapi: 3.0.0\npaths:\n  /x:\n    get:\n      responses: {}\n```\n";
        let json = "```json\n{\"openapi\": \"3.0.0\", \"paths\": {\"/x\": {\"get\": {\"responses\": {}}}}}\n```\n";
        let from_json = from_page("p", json).unwrap();
        assert_eq!(from_json.len(), 1);
        assert_eq!(from_json, from_page("p", yaml).unwrap());
    }

    #[test]
    fn a_broken_json_block_is_skipped_unless_it_is_openapi() {
        let example = "```json\n{\"data\": [ ... ]}\n```\n";
        assert_eq!(from_page("p", example).unwrap(), []);
        let broken = "# T\n\n```json\n{\"openapi\": \"3.1.0\",\n  \"paths\": {,}}\n```\n";
        let error = from_page("p", broken).unwrap_err();
        assert!(
            error.starts_with("p: malformed JSON in the fenced block: line 5"),
            "{error}"
        );
    }

    #[test]
    fn openapi_3_1_is_read_as_3_0_3_and_its_conversions_kept() {
        let page = "```yaml\nopenapi: 3.1.0\npaths: {}\n```\n";
        let found = from_page("p", page).unwrap();
        assert_eq!(found[0].doc["openapi"], "3.0.3");
        assert_eq!(found[0].conversions[0].from, "`openapi: 3.1.0`");
        let error = from_document("d", "openapi: 3.2.0\npaths: {}\n").unwrap_err();
        assert!(error.contains("OpenAPI 3.2.0 is not supported"), "{error}");
    }

    #[test]
    fn index_links_come_from_list_items_only() {
        let index = "# Docs\nSee [home](https://x/)\n- [A](https://x/a.md): about A\n* [B](/b)\n";
        assert_eq!(index_links("i", index).unwrap(), ["https://x/a.md", "/b"]);
    }
}
