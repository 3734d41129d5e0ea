//! The drift report: what a sync changes in the API, operation by operation, each change judged
//! on two axes ([`Breaks`]): the wire and the Rust API of the generated `invaro` client; plus
//! what the sync found out about the overlay and the links it refused to follow.
//!
//! `shape` reads what a client depends on out of a spec, `diff` compares two specs, [`rules`]
//! holds the wire verdicts, [`api`] the Rust-API verdicts (from the generated code), [`verdict`]
//! ties the two together with the version [`bump`], `render` writes the report for a terminal and
//! `markdown` as a pull-request body.

pub mod api;
pub mod bump;
pub mod conversions;
mod diff;
mod markdown;
mod render;
pub mod rules;
mod shape;
pub mod verdict;

use serde::Serialize;

use super::dialect::Conversion;
use super::overlay::ActionNote;

pub use api::ApiChange;
pub use bump::Bump;
pub use diff::operations;
pub use markdown::{marker, write as markdown};
pub use verdict::{judge, propose_bump};

/// The report of one sync.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The upstream material read, in order.
    pub sources: Vec<String>,
    /// The sha256 of the normalised spec (the `openapi.yaml` the sync writes), in hex.
    pub spec_sha256: String,
    /// Whether `openapi.yaml` changes.
    pub spec_changes: bool,
    /// Pages without an OpenAPI block: skipped, and counted here.
    pub skipped_pages: Vec<String>,
    /// Links not followed, each with the URL and the rule that refused it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// Operations added, removed, moved or changed, by path then method.
    pub operations: Vec<OperationDrift>,
    /// Every public item of the generated client that changes, from the code.
    pub rust_api: Vec<ApiChange>,
    /// The version bump the change needs under Cargo's semver rules, and why.
    pub bump: Bump,
    /// Overlay actions whose target matches nothing.
    pub stale_actions: Vec<ActionNote>,
    /// Overlay actions adding what the upstream now provides itself: candidates to delete.
    pub provided_upstream: Vec<ActionNote>,
    /// Paths in the overlay's `x-path-order` that the spec does not have.
    pub unknown_ordered_paths: Vec<String>,
    /// How pages written in OpenAPI 3.1 were read as 3.0.3, each conversion once: not drift.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conversions: Vec<Conversion>,
    /// What `--check` decided, in check mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

/// Whether a change breaks each axis.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Breaks {
    /// A client built against the old spec may fail against a server of the new one.
    pub wire: bool,
    /// Code using the `invaro` client (or `invaro` itself) may stop compiling once the client is
    /// regenerated, or a call that compiles fails at run time (a required setter added).
    pub rust_api: bool,
}

impl Breaks {
    /// Breaks neither axis.
    pub const NONE: Breaks = Breaks::new(false, false);

    /// A verdict on the wire and the Rust API.
    pub const fn new(wire: bool, rust_api: bool) -> Breaks {
        Breaks { wire, rust_api }
    }

    /// Breaks an axis when either does.
    pub fn or(self, other: Breaks) -> Breaks {
        Breaks::new(self.wire || other.wire, self.rust_api || other.rust_api)
    }
}

/// How one operation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationDrift {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path, relative to the server URL (the new one, for a moved operation).
    pub path: String,
    /// Its operationId, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Added, removed, moved or changed.
    pub status: Status,
    /// Where a moved operation was: `METHOD path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// What the operation's drift breaks: the move itself and every change.
    pub breaks: Breaks,
    /// The changes of a changed or moved operation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The items of the generated client this operation's drift changes: its method, builder
    /// and setters, and the named types it reaches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rust_api: Vec<ApiChange>,
}

/// What happened to an operation or to a part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It is new.
    Added,
    /// It is gone.
    Removed,
    /// It is there in both, differently.
    Changed,
    /// An operation under another path or method, with the same operationId.
    Moved,
    /// The same thing under another name (a path parameter, an operationId).
    Renamed,
    /// Its type (or format, or nullability) differs.
    TypeChanged,
    /// It was optional and is now required.
    NowRequired,
    /// It was required and is now optional.
    NowOptional,
}

/// What part of an operation a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The operationId, which names the client's method.
    OperationId,
    /// A parameter, named `<in> <name>`.
    Parameter,
    /// A field of the request body (`(body)` for the body itself).
    RequestField,
    /// A field of a response body, named `<status> <field>`.
    ResponseField,
    /// A value of an enum; `name` says where, `detail` which value.
    EnumValue,
    /// A response status code.
    StatusCode,
}

/// One change inside an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What part of the operation.
    pub subject: Subject,
    /// Which one.
    pub name: String,
    /// What happened to it.
    pub change: Status,
    /// Old and new type or name, or the enum value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What it breaks.
    pub breaks: Breaks,
}

/// What makes `cargo xtask sync --check` exit 1.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Any change to `openapi.yaml`, breaking or not (also a hand edit): the spec is out of date.
    #[default]
    Any,
    /// A change that breaks the wire.
    Wire,
    /// A change that breaks the Rust API of the `invaro` client.
    RustApi,
    /// A change that breaks the wire or the Rust API.
    Breaking,
}

/// The decision of `--check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// What the exit status follows.
    pub fail_on: FailOn,
    /// Whether `openapi.yaml` would change.
    pub spec_changes: bool,
    /// Whether the check fails.
    pub failed: bool,
}

impl Gate {
    /// Judges a report by `fail_on`; `spec_changes` says whether `openapi.yaml` would change.
    pub fn judge(fail_on: FailOn, spec_changes: bool, report: &Report) -> Gate {
        let breaks = report.breaks();
        let failed = match fail_on {
            FailOn::Any => spec_changes,
            FailOn::Wire => breaks.wire,
            FailOn::RustApi => breaks.rust_api,
            FailOn::Breaking => breaks.wire || breaks.rust_api,
        };
        Gate {
            fail_on,
            spec_changes,
            failed,
        }
    }
}

impl Report {
    /// Whether there is nothing to tell: no operation changed, nothing was refused and the
    /// overlay is all in use.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
            && self.rust_api.is_empty()
            && self.refused.is_empty()
            && self.stale_actions.is_empty()
            && self.provided_upstream.is_empty()
            && self.unknown_ordered_paths.is_empty()
    }

    /// What the drift breaks: the wire over all operations, the Rust API over every item of
    /// the generated client.
    pub fn breaks(&self) -> Breaks {
        let wire = self.operations.iter().any(|op| op.breaks.wire);
        let rust_api = self.rust_api.iter().any(|item| item.breaking)
            || self.operations.iter().any(|op| op.breaks.rust_api);
        Breaks::new(wire, rust_api)
    }
}
