//! Ties the Rust-API items ([`api`]) to the operations of the report, and proposes
//! the version bump ([`bump`](super::bump)).

use std::collections::BTreeSet;

use super::api::{self, ApiChange, Owner, extract::Api, uses::Uses};
use super::bump::{Bump, Kind};
use super::{Change, OperationDrift, Report, Status, Subject};

/// The drift between two spec texts on both axes, with the bump for a workspace at `version`:
/// what `cargo xtask sync` reports when `old` is replaced by `new` (sources and overlay aside).
///
/// # Errors
/// When either text is not YAML or no client can be generated from it.
pub fn between(
    old: &str,
    new: &str,
    own: &[Uses],
    version: Option<&str>,
) -> Result<Report, String> {
    let parse = |name: &str, text: &str| {
        yaml_serde::from_str::<serde_json::Value>(text).map_err(|e| format!("{name}: {e}"))
    };
    let generate =
        |name: &str, text: &str| invaro_codegen::generate(name, text).map_err(|e| e.to_string());
    let mut report = Report {
        operations: super::operations(&parse("old spec", old)?, &parse("new spec", new)?),
        spec_changes: old != new,
        ..Report::default()
    };
    let old_code = generate("old spec", old)?;
    judge(
        &mut report,
        Some(&old_code),
        &generate("new spec", new)?,
        own,
    )?;
    propose_bump(&mut report, version);
    Ok(report)
}

/// Fills in the Rust-API verdicts of `report` by comparing the client generated from the old
/// spec (`old_code`; `None` when there was none) with the one from the new spec (`new_code`);
/// `own` is what the hand-written files of the client use.
///
/// # Errors
/// When either generated file does not parse as Rust.
pub fn judge(
    report: &mut Report,
    old_code: Option<&str>,
    new_code: &str,
    own: &[Uses],
) -> Result<(), String> {
    let old = old_code.map(Api::of).transpose()?.unwrap_or_default();
    let new = Api::of(new_code)?;
    report.rust_api = api::compare(&old, &new, own);
    for op in &mut report.operations {
        op.rust_api = report
            .rust_api
            .iter()
            .filter(|item| concerns(op, item, &old, &new))
            .cloned()
            .collect();
        op.breaks.rust_api = op.rust_api.iter().any(|item| item.breaking);
        for change in &mut op.changes {
            change.breaks.rust_api = op
                .rust_api
                .iter()
                .any(|item| item.breaking && matches(change, item));
        }
    }
    Ok(())
}

/// Whether `item` belongs to the operation: its method, builder or setters, or a named type
/// the operation reaches (in the old client or the new one).
fn concerns(op: &OperationDrift, item: &ApiChange, old: &Api, new: &Api) -> bool {
    let Some(id) = op.operation_id.as_deref().map(api::folded) else {
        return false;
    };
    match &item.owner {
        Owner::Operation(builder) => api::folded(builder) == id,
        Owner::Type(ty) => [old, new].iter().any(|side| {
            side.items
                .keys()
                .find(|key| !key.contains(':') && api::folded(key) == id)
                .is_some_and(|builder| side.reach(builder).contains(ty))
        }),
        Owner::None => false,
    }
}

/// Whether a breaking item is what a change of the spec made of the code: matched by name (a
/// parameter and its setter, a field, an enum value and its variant, an operationId and its
/// method).
fn matches(change: &Change, item: &ApiChange) -> bool {
    let leaf = api::folded(item.item.rsplit("::").next().unwrap_or_default());
    match change.subject {
        Subject::OperationId => item.item.starts_with("Client::"),
        Subject::StatusCode => false,
        Subject::EnumValue => change.detail.as_deref().map(api::folded) == Some(leaf),
        _ => {
            let mut names: BTreeSet<String> = BTreeSet::new();
            names.insert(field_leaf(&change.name));
            if change.change == Status::Renamed
                && let Some(detail) = &change.detail
            {
                names.extend(detail.split(" -> ").map(api::folded));
            }
            names.contains(&leaf)
        }
    }
}

/// `200 data.items[].file_id` -> `fileid`; `query page_size` -> `pagesize`.
fn field_leaf(name: &str) -> String {
    let last = name.rsplit([' ', '.']).next().unwrap_or(name);
    api::folded(last.trim_end_matches("[]"))
}

/// Sets the bump the report's drift needs for a workspace at version `current`.
pub fn propose_bump(report: &mut Report, current: Option<&str>) {
    let breaking: Vec<String> = report
        .rust_api
        .iter()
        .filter(|item| item.breaking)
        .map(ApiChange::line)
        .collect();
    let added: Vec<String> = report
        .rust_api
        .iter()
        .filter(|item| !item.breaking)
        .map(ApiChange::line)
        .collect();
    let (kind, reason) = if !report.spec_changes {
        (Kind::None, "openapi.yaml does not change".to_owned())
    } else if !breaking.is_empty() {
        (
            Kind::Breaking,
            format!("the Rust API breaks: {}", listed(&breaking)),
        )
    } else if !added.is_empty() {
        (
            Kind::Additive,
            format!("public items are added, none breaks: {}", listed(&added)),
        )
    } else {
        (
            Kind::Patch,
            "openapi.yaml changes, the public Rust API of `invaro` does not".to_owned(),
        )
    };
    report.bump = Bump::new(kind, current, reason);
}

/// Up to five items, then how many more.
fn listed(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    text
}
