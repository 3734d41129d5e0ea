//! `cargo xtask sync`: turns the upstream API docs into `openapi.yaml`, deterministically, and
//! tells a reviewer what changed in the API.
//!
//! fetch ([`source`], over [`http`] with its limits) -> extract fragments ([`extract`]) -> merge
//! ([`merge`]) -> normalise ([`normalise`]) -> apply the curated corrections ([`overlay`]) ->
//! write `openapi.yaml`, with a drift report ([`report`]) against the `openapi.yaml` it replaces.
//! [`build`] is the pipeline over texts; [`run`] is the command around it (files, network,
//! snapshot, the Rust-API verdict from the generated code, the version bump).
//!
//! Exit statuses of `cargo xtask sync` ([`Failure::status`]): 0 no drift, or drift the
//! `--fail-on` gate accepts (the report says so), or a sync that wrote its files; 1 drift the
//! gate rejects (`--check` only); 3 the sync could not reach a verdict: an upstream or parse
//! failure (a source or page that cannot be fetched, a timeout, a cut body, no OpenAPI fragment,
//! bad YAML, a spec the client cannot be generated from) or a local file that cannot be read or
//! written. 2 is clap's usage error. A failed or partial fetch is never "no drift".

pub mod dialect;
pub mod extract;
pub mod http;
pub mod merge;
pub mod normalise;
pub mod overlay;
pub mod report;
pub mod source;
mod yaml;

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{codegen, files};
use overlay::Overlay;
use report::{Gate, Report};
use source::{Fetched, Kind, Material};

pub use report::FailOn;

/// The files the command reads and writes.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root: relative paths of `sources.toml` are relative to it.
    pub root: PathBuf,
    /// The OpenAPI document written by the sync.
    pub spec: PathBuf,
    /// The default sources.
    pub sources: PathBuf,
    /// The curated corrections.
    pub overlay: PathBuf,
    /// The vendored upstream material of the last sync.
    pub vendored: PathBuf,
    /// The committed snapshot of the generated client.
    pub snapshot: PathBuf,
}

impl Paths {
    /// The layout of a workspace rooted at `root`.
    pub fn under(root: &Path) -> Paths {
        Paths {
            root: root.to_path_buf(),
            spec: root.join("openapi.yaml"),
            sources: root.join("spec/sources.toml"),
            overlay: root.join("spec/overlay.yaml"),
            vendored: root.join("spec/upstream"),
            snapshot: root.join(codegen::SNAPSHOT),
        }
    }

    /// `path` as messages show it: relative to the root when inside it.
    fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// How the report is printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// A pull-request body, ending with the `<!-- invaro-drift ... -->` marker line.
    Markdown,
}

/// Why the command failed, and so its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `--check` found drift that `--fail-on` rejects: exit status 1.
    Rejected(String),
    /// No verdict: the upstream or a local file could not be read, parsed, generated from or
    /// written: exit status 3.
    Unusable(String),
}

impl Failure {
    /// The exit status: 1 for rejected drift, 3 when there is no verdict.
    pub fn status(&self) -> u8 {
        match self {
            Failure::Rejected(_) => 1,
            Failure::Unusable(_) => 3,
        }
    }

    /// What to print.
    pub fn message(&self) -> &str {
        match self {
            Failure::Rejected(message) | Failure::Unusable(message) => message,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Unusable(message)
    }
}

/// What the command was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sources to read instead of `spec/sources.toml`.
    pub from: Vec<String>,
    /// Read the vendored material only.
    pub offline: bool,
    /// Write nothing; fail as `fail_on` says.
    pub check: bool,
    /// What makes a check fail.
    pub fail_on: FailOn,
    /// How to print the report.
    pub format: Format,
    /// How long one request to the upstream may take (`None`: [`source::DEFAULT_TIMEOUT`]).
    pub fetch_timeout: Option<Duration>,
}

/// The result of the pipeline.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new `openapi.yaml`.
    pub spec: String,
    /// What changed.
    pub report: Report,
}

/// Runs the pipeline over upstream texts: `overlay` is the overlay's text (named `overlay_name`
/// in messages), `current` the `openapi.yaml` being replaced, if any.
pub fn build(
    materials: &[Material],
    overlay_name: &str,
    overlay: &str,
    current: Option<&str>,
) -> Result<Outcome, String> {
    let mut fragments = Vec::new();
    let mut report = Report::default();
    for material in materials {
        let origin = material.origin();
        match material.kind {
            Kind::Index => {}
            Kind::Page => {
                let found = extract::from_page(&origin, &material.text)?;
                if found.is_empty() {
                    report.skipped_pages.push(origin.clone());
                }
                fragments.extend(found);
            }
            Kind::Document => fragments.push(extract::from_document(&origin, &material.text)?),
        }
        report.sources.push(origin);
    }
    if fragments.is_empty() {
        return Err(format!(
            "no OpenAPI document in the {} source(s) read ({} page(s) without a fenced yaml block)",
            materials.len(),
            report.skipped_pages.len()
        ));
    }
    // The document's `openapi` comes from the first fragment: 3.0.3 when the sync converted it.
    let version_converted = !fragments[0].conversions.is_empty();
    for fragment in &mut fragments {
        normalise::relative_paths(&mut fragment.doc);
        report.conversions.append(&mut fragment.conversions);
    }
    report.conversions = dialect::once(std::mem::take(&mut report.conversions));
    let mut doc = merge::merge(&fragments)?;
    normalise::one_server(&mut doc);

    let overlay = Overlay::parse(overlay_name, overlay)?;
    let mut applied = overlay.apply(&mut doc)?;
    if version_converted {
        // The conversion wrote that version, not the upstream: the overlay's stays needed.
        for note in &mut applied.provided {
            note.pointers.retain(|pointer| pointer != "/openapi");
        }
        applied.provided.retain(|note| !note.pointers.is_empty());
    }
    let doc = normalise::order(doc, &overlay.path_order);
    let spec = yaml::write(&doc)?;
    report.spec_sha256 = Sha256::digest(spec.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    report.spec_changes = current != Some(spec.as_str());

    let old = current
        .and_then(|text| yaml::parse(text, 1).ok())
        .unwrap_or(Value::Null);
    report.operations = report::operations(&old, &doc);
    report.stale_actions = applied.stale;
    report.provided_upstream = applied.provided;
    report.unknown_ordered_paths = overlay
        .path_order
        .iter()
        .filter(|path| {
            doc.get("paths")
                .and_then(|p| p.get(path.as_str()))
                .is_none()
        })
        .cloned()
        .collect();
    Ok(Outcome { spec, report })
}

/// The command `cargo xtask sync`: reads the sources (or the vendored copy), runs the pipeline,
/// judges the Rust API from the client generated before and after, prints the report, then
/// replaces the vendored copy, `openapi.yaml` and the snapshot together, or in check mode fails
/// as `options.fail_on` says. On any error, nothing is written.
///
/// # Errors
/// [`Failure::Rejected`] for drift the gate rejects, [`Failure::Unusable`] when there is no
/// verdict (see the module's docs for the exit statuses).
pub fn run(paths: &Paths, options: &Options) -> Result<(), Failure> {
    let timeout = options.fetch_timeout.unwrap_or(source::DEFAULT_TIMEOUT);
    let fetched = if options.offline {
        Fetched {
            materials: source::read_vendored(&paths.vendored)?,
            refused: Vec::new(),
        }
    } else if options.from.is_empty() {
        source::fetch_within(&default_sources(paths)?, timeout)?
    } else {
        source::fetch_within(&options.from, timeout)?
    };
    let overlay = read(&paths.overlay)?
        .ok_or_else(|| format!("{}: the overlay is missing", paths.show(&paths.overlay)))?;
    let current = read(&paths.spec)?;
    let mut outcome = build(
        &fetched.materials,
        &paths.show(&paths.overlay),
        &overlay,
        current.as_deref(),
    )?;
    outcome.report.refused = fetched.refused.clone();
    // Generated before anything is written or judged: a spec the client cannot be built from
    // is an error that must leave every file as it was.
    let code = invaro_codegen::generate(&paths.show(&paths.spec), &outcome.spec)
        .map_err(|e| format!("the synced spec cannot be turned into a client: {e}"))?;
    // The client before: generated from the spec being replaced, else (a spec the generator
    // rejects) the committed snapshot.
    let before = match current.as_deref() {
        Some(text) if text == outcome.spec => Some(code.clone()),
        Some(text) => invaro_codegen::generate(&paths.show(&paths.spec), text).ok(),
        None => None,
    };
    let old_code = match before {
        Some(code) => Some(code),
        None => read(&paths.snapshot)?,
    };
    let own = own_code(&paths.root)?;
    report::judge(&mut outcome.report, old_code.as_deref(), &code, &own)?;
    let version = read(&paths.root.join("Cargo.toml"))?
        .as_deref()
        .and_then(report::bump::workspace_version);
    report::propose_bump(&mut outcome.report, version.as_deref());

    let fix = if options.offline {
        "cargo xtask sync --offline"
    } else {
        "cargo xtask sync"
    };
    if options.check {
        let gate = Gate::judge(
            options.fail_on,
            outcome.report.spec_changes,
            &outcome.report,
        );
        outcome.report.gate = Some(gate);
        print_report(&outcome.report, options.format)?;
        return match options.fail_on {
            _ if !gate.failed => Ok(()),
            FailOn::Any => Err(Failure::Rejected(files::out_of_date(
                &paths.spec,
                current.as_deref().unwrap_or_default(),
                &outcome.spec,
                fix,
            ))),
            level => Err(Failure::Rejected(format!(
                "the drift breaks what --fail-on {level} guards (see the report); run `{fix}` to take it"
            ))),
        };
    }
    print_report(&outcome.report, options.format)?;
    let mut batch = files::Batch::default();
    if !options.offline {
        batch.folder(
            &paths.vendored,
            &source::vendored_files(&fetched.materials)?,
        )?;
    }
    batch.file(&paths.spec, outcome.spec.as_bytes())?;
    batch.file(&paths.snapshot, code.as_bytes())?;
    Ok(batch.commit()?)
}

fn print_report(report: &Report, format: Format) -> Result<(), String> {
    match format {
        Format::Json => {
            let text = serde_json::to_string_pretty(report)
                .map_err(|e| format!("cannot write the report as JSON: {e}"))?;
            println!("{text}");
        }
        Format::Text => print!("{report}"),
        Format::Markdown => print!("{}", report::markdown(report)),
    }
    Ok(())
}

/// What the hand-written files of the client (`client/src` under the workspace `root`, all but
/// the generated snapshot) use of the generated code, in path order.
///
/// # Errors
/// When a file or folder cannot be read.
pub fn own_code(root: &Path) -> Result<Vec<report::api::uses::Uses>, String> {
    let paths = Paths::under(root);
    let mut files = Vec::new();
    let dir = paths.root.join("client/src");
    if dir.is_dir() {
        rust_files(&dir, &mut files)?;
    }
    files.sort();
    let mut uses = Vec::new();
    for file in files {
        if file == paths.snapshot {
            continue;
        }
        let name = paths.show(&file);
        let text = fs::read_to_string(&file).map_err(|e| format!("{name}: cannot be read: {e}"))?;
        // A file that does not tokenize cannot build either way: nothing to learn from it.
        uses.extend(report::api::uses::Uses::scan(&name, &text));
    }
    Ok(uses)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("{}: cannot be read: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: cannot be read: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The contents of `path`, or `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: cannot be read: {e}", path.display())),
    }
}

/// `spec/sources.toml`: `from = ["https://…", "relative/path.md"]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sources {
    from: Vec<String>,
}

fn default_sources(paths: &Paths) -> Result<Vec<String>, String> {
    let name = paths.show(&paths.sources);
    let text = read(&paths.sources)?.ok_or_else(|| format!("{name}: missing"))?;
    let sources: Sources = toml::from_str(&text).map_err(|e| format!("{name}: malformed: {e}"))?;
    if sources.from.is_empty() {
        return Err(format!("{name}: `from` lists no source"));
    }
    Ok(sources
        .from
        .into_iter()
        .map(|s| {
            if s.contains("://") || Path::new(&s).is_absolute() {
                s
            } else {
                paths.root.join(s).display().to_string()
            }
        })
        .collect())
}
