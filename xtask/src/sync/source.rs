//! Upstream material: fetching it from URLs and paths, and vendoring it under `spec/upstream/`
//! so that `--offline` reruns the pipeline on exactly what the last sync read.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::extract;
use crate::files;

/// The vendored folder's list of files.
pub const MANIFEST: &str = "manifest.toml";

/// What an upstream text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An `llms.txt` index whose links lead to pages.
    Index,
    /// A Markdown docs page that may embed an OpenAPI fragment in a fenced `yaml` block.
    Page,
    /// A whole OpenAPI document, JSON or YAML.
    Document,
}

impl Kind {
    /// The kind a location names: `*.txt` is an index, `*.json`, `*.yaml` and `*.yml` are whole
    /// documents, anything else is a Markdown page.
    pub fn of(location: &str) -> Kind {
        let name = location.split(['?', '#']).next().unwrap_or(location);
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("txt") => Kind::Index,
            Some("json" | "yaml" | "yml") => Kind::Document,
            _ => Kind::Page,
        }
    }
}

/// One upstream text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// The source (a `--from` value or an entry of `spec/sources.toml`) that led to it.
    pub source: String,
    /// Where it was read: a URL or a path. Unknown for material vendored by hand.
    pub location: Option<String>,
    /// What it is.
    pub kind: Kind,
    /// Its text.
    pub text: String,
    /// Its file name in the vendored folder (set when it is vendored or read from there).
    pub vendored_as: Option<String>,
}

impl Material {
    /// How messages and the report name it.
    pub fn origin(&self) -> String {
        match (&self.location, &self.vendored_as) {
            (Some(location), _) => location.clone(),
            (None, Some(name)) => format!("{name} (vendored from {})", self.source),
            (None, None) => self.source.clone(),
        }
    }
}

/// Reads every source, following the page links of indexes, in order.
pub fn fetch(sources: &[String]) -> Result<Vec<Material>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent("invaro-xtask-sync")
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    runtime.block_on(async {
        let mut all = Vec::new();
        for source in sources {
            fetch_source(&client, source, &mut all).await?;
        }
        Ok(all)
    })
}

async fn fetch_source(
    client: &reqwest::Client,
    source: &str,
    out: &mut Vec<Material>,
) -> Result<(), String> {
    let location = Location::parse(source)?;
    let kind = Kind::of(source);
    let text = location.read(client).await?;
    let links = match kind {
        Kind::Index => extract::index_links(source, &text)?,
        Kind::Page | Kind::Document => Vec::new(),
    };
    out.push(material(source, &location, kind, text));
    for link in links {
        let page = location.join(&link)?.markdown_form();
        let text = page.read(client).await?;
        out.push(material(source, &page, Kind::Page, text));
    }
    Ok(())
}

fn material(source: &str, location: &Location, kind: Kind, text: String) -> Material {
    Material {
        source: source.into(),
        location: Some(location.to_string()),
        kind,
        text,
        vendored_as: None,
    }
}

/// A URL (http or https) or a local path.
#[derive(Debug, Clone)]
enum Location {
    Url(Url),
    Path(PathBuf),
}

impl Location {
    fn parse(text: &str) -> Result<Location, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            Url::parse(text)
                .map(Location::Url)
                .map_err(|e| format!("{text}: not a valid URL: {e}"))
        } else if text.contains("://") {
            Err(format!(
                "{text}: unsupported source: use an http or https URL or a local path"
            ))
        } else {
            Ok(Location::Path(PathBuf::from(text)))
        }
    }

    /// A link of an index, resolved against the index's own location.
    fn join(&self, link: &str) -> Result<Location, String> {
        match self {
            _ if link.starts_with("http://") || link.starts_with("https://") => {
                Location::parse(link)
            }
            Location::Url(base) => base
                .join(link)
                .map(Location::Url)
                .map_err(|e| format!("{base}: the link {link} cannot be resolved: {e}")),
            Location::Path(base) => Ok(Location::Path(
                base.parent().unwrap_or(Path::new(".")).join(link),
            )),
        }
    }

    /// The `.md` form of a docs page: what an `llms.txt` index leads to.
    fn markdown_form(self) -> Location {
        match self {
            Location::Url(mut url) => {
                url.set_fragment(None);
                url.set_query(None);
                let path = url.path().trim_end_matches('/').to_owned();
                if !path.ends_with(".md") {
                    url.set_path(&format!("{path}.md"));
                }
                Location::Url(url)
            }
            Location::Path(path) if path.extension().is_some_and(|e| e == "md") => {
                Location::Path(path)
            }
            Location::Path(path) => {
                let mut name = path.into_os_string();
                name.push(".md");
                Location::Path(name.into())
            }
        }
    }

    async fn read(&self, client: &reqwest::Client) -> Result<String, String> {
        match self {
            Location::Path(path) => fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot be read: {e}", path.display())),
            Location::Url(url) => {
                let response = client
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| format!("cannot reach {url}: {}", error_chain(&e)))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("{url}: HTTP {status}"));
                }
                response
                    .text()
                    .await
                    .map_err(|e| format!("{url}: cannot read the body: {}", error_chain(&e)))
            }
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Url(url) => write!(f, "{url}"),
            Location::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An error and its causes on one line: reqwest's own message rarely says what failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// The manifest of the vendored folder: one entry per file, in the order they were read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    #[serde(default, rename = "file")]
    files: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// The file, inside the vendored folder.
    name: String,
    kind: Kind,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

const MANIFEST_HEADER: &str = "\
# The upstream material of the last `cargo xtask sync`, which `cargo xtask sync --offline` reads.
# Written by the sync: one entry per file of this folder, in the order it was read.

";

/// Reads the vendored material, in manifest order.
pub fn read_vendored(dir: &Path) -> Result<Vec<Material>, String> {
    let manifest_path = dir.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path)
        .map_err(|e| format!("{}: cannot be read: {e}", manifest_path.display()))?;
    let manifest: Manifest = toml::from_str(&text)
        .map_err(|e| format!("{}: malformed manifest: {e}", manifest_path.display()))?;
    manifest
        .files
        .into_iter()
        .map(|entry| {
            let path = dir.join(&entry.name);
            let text = fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
            Ok(Material {
                source: entry.source,
                location: entry.location,
                kind: entry.kind,
                text,
                vendored_as: Some(entry.name),
            })
        })
        .collect()
}

/// Replaces the vendored folder by `materials`, all at once: the new folder is written beside
/// the old one and swapped in by renames, so a failure leaves the old one as it was.
pub fn vendor(dir: &Path, materials: &[Material]) -> Result<(), String> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let fresh = parent.join(format!(".{name}.new-{}", std::process::id()));
    let stale = parent.join(format!(".{name}.old-{}", std::process::id()));
    let result = write_folder(&fresh, materials).and_then(|()| swap(dir, &fresh, &stale));
    let _ = fs::remove_dir_all(&fresh);
    let _ = fs::remove_dir_all(&stale);
    result.map_err(|e| format!("{}: cannot be written: {e}", dir.display()))
}

fn write_folder(folder: &Path, materials: &[Material]) -> std::io::Result<()> {
    fs::create_dir_all(folder)?;
    let mut manifest = Manifest::default();
    for material in materials {
        let name = unique_name(material, &manifest);
        files::write_atomic(&folder.join(&name), material.text.as_bytes())?;
        manifest.files.push(Entry {
            name,
            kind: material.kind,
            source: material.source.clone(),
            location: material.location.clone(),
        });
    }
    let text = toml::to_string(&manifest).map_err(std::io::Error::other)?;
    files::write_atomic(
        &folder.join(MANIFEST),
        format!("{MANIFEST_HEADER}{text}").as_bytes(),
    )
}

fn swap(dir: &Path, fresh: &Path, stale: &Path) -> std::io::Result<()> {
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, stale)?;
    }
    fs::rename(fresh, dir).inspect_err(|_| {
        if had_old {
            let _ = fs::rename(stale, dir);
        }
    })
}

/// A file name from the location's path (`/api-reference/status.md` gives
/// `api-reference-status.md`), made unique within the folder.
fn unique_name(material: &Material, manifest: &Manifest) -> String {
    let location = material.location.as_deref().unwrap_or(&material.source);
    let path = match Url::parse(location) {
        Ok(url) => url.path().to_owned(),
        Err(_) => Path::new(location)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let base: String = path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let base = if base.is_empty() || base == MANIFEST {
        "upstream".to_owned()
    } else {
        base
    };
    let taken = |n: &str| manifest.files.iter().any(|e| e.name == n);
    if !taken(&base) {
        return base;
    }
    let (stem, ext) = base.rsplit_once('.').unwrap_or((&base, ""));
    (2..)
        .map(|i| format!("{stem}-{i}.{ext}").trim_end_matches('.').to_owned())
        .find(|n| !taken(n))
        .expect("an unused name exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_name() {
        assert_eq!(Kind::of("https://docs.invaro.ai/llms.txt"), Kind::Index);
        assert_eq!(
            Kind::of("../shared/upstream/openapi-2025-02.json"),
            Kind::Document
        );
        assert_eq!(Kind::of("spec.YAML?x=1"), Kind::Document);
        assert_eq!(
            Kind::of("https://docs.invaro.ai/api-reference/status"),
            Kind::Page
        );
    }

    #[test]
    fn pages_are_read_in_their_markdown_form() {
        let page = |s: &str| {
            Location::parse("https://d.example/llms.txt")
                .unwrap()
                .join(s)
                .unwrap()
                .markdown_form()
                .to_string()
        };
        assert_eq!(page("/api/status#top"), "https://d.example/api/status.md");
        assert_eq!(page("api/status.md"), "https://d.example/api/status.md");
        assert_eq!(page("https://e.example/a/"), "https://e.example/a.md");
    }
}
