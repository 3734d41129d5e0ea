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
use super::http::{FetchError, Http};

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

/// The most pages read from one index; the rest are refused (and reported).
pub const MAX_LINKS: usize = 500;

/// What [`fetch`] read, and the links it refused to follow (each with the reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// The texts read, in order.
    pub materials: Vec<Material>,
    /// Links of indexes not followed, and why (see [`http`](super::http)).
    pub refused: Vec<String>,
}

/// Reads every source, following the page links of indexes, in order.
///
/// A source itself must be readable: a refusal is an error. A link of an index that the rules
/// of [`http`](super::http) forbid is skipped and listed in [`Fetched::refused`].
pub fn fetch(sources: &[String]) -> Result<Fetched, String> {
    fetch_within(sources, DEFAULT_TIMEOUT)
}

/// How long one request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// [`fetch`], each request given at most `timeout`.
pub fn fetch_within(sources: &[String], timeout: Duration) -> Result<Fetched, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let http = Http::new(timeout)?;
    runtime.block_on(async {
        let mut fetched = Fetched::default();
        for source in sources {
            fetch_source(&http, source, &mut fetched).await?;
        }
        Ok(fetched)
    })
}

async fn fetch_source(http: &Http, source: &str, out: &mut Fetched) -> Result<(), String> {
    let location = Location::parse(source)?;
    let kind = Kind::of(source);
    let text = location.read(http).await.map_err(|e| e.to_string())?;
    let links = match kind {
        Kind::Index => extract::index_links(source, &text)?,
        Kind::Page | Kind::Document => Vec::new(),
    };
    out.materials.push(material(source, &location, kind, text));
    if links.len() > MAX_LINKS {
        out.refused.push(format!(
            "{source}: the last {} of its {} links: an index is read up to {MAX_LINKS} pages",
            links.len() - MAX_LINKS,
            links.len()
        ));
    }
    for link in links.iter().take(MAX_LINKS) {
        let page = location.join(link)?.markdown_form();
        match page.read(http).await {
            Ok(text) => out
                .materials
                .push(material(source, &page, Kind::Page, text)),
            Err(FetchError::Refused(reason)) => {
                out.refused
                    .push(format!("link `{link}` of {source}: {reason}"));
            }
            Err(FetchError::Failed(message)) => return Err(message),
        }
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

/// A URL or a local path.
#[derive(Debug, Clone)]
enum Location {
    Url(Url),
    Path(PathBuf),
}

impl Location {
    /// A source as given: an http(s) URL or a local path.
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

    /// A link of an index, resolved against the index's own location. An absolute URL of any
    /// scheme stays a URL, so that the rules of [`http`](super::http) judge it.
    fn join(&self, link: &str) -> Result<Location, String> {
        if let Ok(url) = Url::parse(link) {
            return Ok(Location::Url(url));
        }
        match self {
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

    async fn read(&self, http: &Http) -> Result<String, FetchError> {
        match self {
            Location::Path(path) => fs::read_to_string(path).map_err(|e| {
                FetchError::Failed(format!("{}: cannot be read: {e}", path.display()))
            }),
            Location::Url(url) => http.get(url).await,
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

/// The files of the vendored folder for `materials`: one per text, then the manifest.
pub fn vendored_files(materials: &[Material]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut manifest = Manifest::default();
    let mut files = Vec::new();
    for material in materials {
        let name = unique_name(material, &manifest);
        files.push((name.clone(), material.text.clone().into_bytes()));
        manifest.files.push(Entry {
            name,
            kind: material.kind,
            source: material.source.clone(),
            location: material.location.clone(),
        });
    }
    let text = toml::to_string(&manifest)
        .map_err(|e| format!("cannot write the vendored manifest: {e}"))?;
    files.push((
        MANIFEST.to_owned(),
        format!("{MANIFEST_HEADER}{text}").into_bytes(),
    ));
    Ok(files)
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
