//! Getting OpenAPI fragments out of upstream texts: fenced `yaml` blocks of Markdown pages,
//! whole documents, and the page links of an `llms.txt` index.

use serde_json::Value;

use super::yaml;

/// One OpenAPI document found in an upstream text, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// The page or document it was read from (a URL or a path).
    pub origin: String,
    /// The document.
    pub doc: Value,
}

/// The OpenAPI fragments of a Markdown page: every fenced `yaml` block that is an OpenAPI
/// document. A page without one gives an empty list.
pub fn from_page(origin: &str, text: &str) -> Result<Vec<Fragment>, String> {
    reject_html(origin, text, "a Markdown page")?;
    let mut fragments = Vec::new();
    for fence in yaml_fences(text) {
        let doc = yaml::parse(&fence.body, fence.first_line)
            .map_err(|e| format!("{origin}: malformed YAML in the fenced block: {e}"))?;
        if is_openapi(&doc) {
            check_version(origin, &doc)?;
            fragments.push(Fragment {
                origin: origin.into(),
                doc,
            });
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
    check_version(origin, &doc)?;
    Ok(Fragment {
        origin: origin.into(),
        doc,
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

/// progenitor reads OpenAPI 3.0.x only.
fn check_version(origin: &str, doc: &Value) -> Result<(), String> {
    let version = match (doc.get("openapi"), doc.get("swagger")) {
        (Some(Value::String(v)), _) if v.starts_with("3.0.") => return Ok(()),
        (Some(v), _) => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        (None, Some(v)) => format!("Swagger {}", v.as_str().unwrap_or("2.0")),
        (None, None) => "no version".into(),
    };
    Err(format!(
        "{origin}: OpenAPI {version} is not supported: progenitor needs OpenAPI 3.0.x"
    ))
}

/// A fenced code block whose info string starts with `yaml` or `yml`.
struct Fence {
    /// Line number (from 1) of the block's first content line within the page.
    first_line: usize,
    body: String,
}

fn yaml_fences(text: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut open: Option<(String, bool, Fence)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some((marker, info)) = fence_marker(trimmed) {
                    let lang = info.split_whitespace().next().unwrap_or_default();
                    let is_yaml = matches!(lang.to_ascii_lowercase().as_str(), "yaml" | "yml");
                    let fence = Fence {
                        first_line: index + 2,
                        body: String::new(),
                    };
                    open = Some((marker, is_yaml, fence));
                }
            }
            Some((marker, is_yaml, fence)) => {
                if closes(trimmed, marker) {
                    let (_, is_yaml, fence) = open.take().expect("a fence is open");
                    if is_yaml {
                        fences.push(fence);
                    }
                } else if *is_yaml {
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
        let page = "# Title\n\n````yaml GET /x\nopenapi: 3.0.0\n````\n```json\n{}\n```\n";
        let fences = yaml_fences(page);
        assert_eq!(fences.len(), 1);
        assert_eq!(fences[0].first_line, 4);
        assert_eq!(fences[0].body, "openapi: 3.0.0\n");
    }

    #[test]
    fn a_shorter_fence_inside_a_longer_one_does_not_close_it() {
        let page = "````yaml\na: |\n  ```\nb: 1\n````\n";
        assert_eq!(yaml_fences(page)[0].body, "a: |\n  ```\nb: 1\n");
    }

    #[test]
    fn index_links_come_from_list_items_only() {
        let index = "# Docs\nSee [home](https://x/)\n- [A](https://x/a.md): about A\n* [B](/b)\n";
        assert_eq!(index_links("i", index).unwrap(), ["https://x/a.md", "/b"]);
    }
}
