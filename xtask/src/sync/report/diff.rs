//! Comparing the operations of two specs: which were added, removed, moved or changed, and how.

use std::collections::BTreeSet;

use serde_json::Value;

use super::rules::{self, Side};
use super::shape::{self, Field, Fields, Shape};
use super::{Breaks, Change, OperationDrift, Status, Subject};
use crate::sync::normalise::METHODS;

/// Compares the operations of the old and new spec, by path then method.
///
/// Operations are matched by path (parameter names aside) and method; one left over on each side
/// with the same operationId is the same operation, moved.
pub fn operations(old: &Value, new: &Value) -> Vec<OperationDrift> {
    let before = shape::shapes(old);
    let mut after = shape::shapes(new);
    let mut drift = Vec::new();
    let mut removed = Vec::new();
    for (key, old) in &before {
        match after.remove(key) {
            Some(new) => drift.extend(changed(old, &new)),
            None => removed.push(old),
        }
    }
    let mut added: Vec<Shape> = after.into_values().collect();
    for old in removed {
        let same_id = added
            .iter()
            .position(|new| new.id.is_some() && new.id == old.id);
        match same_id {
            Some(at) => drift.push(moved(old, &added.remove(at))),
            None => drift.push(whole(old, Status::Removed)),
        }
    }
    drift.extend(added.iter().map(|new| whole(new, Status::Added)));
    drift.sort_by(|a, b| (&a.path, rank(a)).cmp(&(&b.path, rank(b))));
    drift
}

fn rank(op: &OperationDrift) -> usize {
    METHODS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(&op.method))
        .unwrap_or(METHODS.len())
}

fn drift(shape: &Shape, status: Status, breaks: Breaks, changes: Vec<Change>) -> OperationDrift {
    OperationDrift {
        method: shape::method(shape.rank),
        path: shape.path.clone(),
        operation_id: shape.id.clone(),
        status,
        moved_from: None,
        breaks: changes.iter().fold(breaks, |all, c| all.or(c.breaks)),
        changes,
        rust_api: Vec::new(),
    }
}

fn whole(shape: &Shape, status: Status) -> OperationDrift {
    drift(shape, status, rules::operation(status), Vec::new())
}

fn changed(old: &Shape, new: &Shape) -> Option<OperationDrift> {
    let changes = compare(old, new);
    (!changes.is_empty()).then(|| drift(new, Status::Changed, Breaks::NONE, changes))
}

fn moved(old: &Shape, new: &Shape) -> OperationDrift {
    let mut op = drift(
        new,
        Status::Moved,
        rules::operation(Status::Moved),
        compare(old, new),
    );
    op.moved_from = Some(old.title());
    op
}

fn compare(old: &Shape, new: &Shape) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.id != new.id {
        let name = |id: &Option<String>| id.clone().unwrap_or_else(|| "(none)".into());
        changes.push(Change {
            subject: Subject::OperationId,
            name: name(&new.id),
            change: Status::Renamed,
            detail: Some(format!("{} -> {}", name(&old.id), name(&new.id))),
            breaks: rules::OPERATION_RENAMED,
        });
    }
    let old_parameters = renamed_path_parameters(old, new, &mut changes);
    compare_fields(
        Side::Parameter,
        "",
        &old_parameters,
        &new.parameters,
        &mut changes,
    );
    compare_fields(Side::Request, "", &old.request, &new.request, &mut changes);
    for (status, old_fields) in &old.responses {
        match new.responses.get(status) {
            Some(new_fields) => {
                compare_fields(Side::Response, status, old_fields, new_fields, &mut changes);
            }
            None => changes.push(status_change(status, Status::Removed)),
        }
    }
    for status in new.responses.keys() {
        if !old.responses.contains_key(status) {
            changes.push(status_change(status, Status::Added));
        }
    }
    changes
}

/// The old parameters, with path parameters renamed in the new path known by their new names
/// (matched by position in the path), and a change for each rename.
fn renamed_path_parameters(old: &Shape, new: &Shape, changes: &mut Vec<Change>) -> Fields {
    let mut parameters = old.parameters.clone();
    if old.path_parameters.len() != new.path_parameters.len() {
        return parameters;
    }
    for (before, after) in old.path_parameters.iter().zip(&new.path_parameters) {
        if before == after {
            continue;
        }
        if let Some(field) = parameters.remove(&format!("path {before}")) {
            parameters.insert(format!("path {after}"), field);
        }
        changes.push(Change {
            subject: Subject::Parameter,
            name: format!("path {after}"),
            change: Status::Renamed,
            detail: Some(format!("{before} -> {after}")),
            breaks: rules::PATH_PARAMETER_RENAMED,
        });
    }
    parameters
}

fn status_change(status: &str, change: Status) -> Change {
    Change {
        subject: Subject::StatusCode,
        name: status.to_owned(),
        change,
        detail: None,
        breaks: rules::status_code(status),
    }
}

fn subject(side: Side) -> Subject {
    match side {
        Side::Parameter => Subject::Parameter,
        Side::Request => Subject::RequestField,
        Side::Response => Subject::ResponseField,
    }
}

fn compare_fields(side: Side, status: &str, old: &Fields, new: &Fields, out: &mut Vec<Change>) {
    let label = |name: &str| {
        let name = if name.is_empty() { "(body)" } else { name };
        if status.is_empty() {
            name.to_owned()
        } else {
            format!("{status} {name}")
        }
    };
    let change = |name: &str, change: Status, detail: Option<String>, required: bool| Change {
        subject: subject(side),
        name: label(name),
        change,
        detail,
        breaks: rules::field(side, change, required),
    };
    // The fields inside an added or removed field are that one change, not many.
    let mut whole: Vec<&str> = Vec::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        if whole.iter().any(|w| is_inside(name, w)) {
            continue;
        }
        match (old.get(name), new.get(name)) {
            (None, Some(field)) => {
                let detail = if field.required {
                    "required"
                } else {
                    "optional"
                };
                out.push(change(
                    name,
                    Status::Added,
                    Some(detail.into()),
                    field.required,
                ));
                whole.push(name);
            }
            (Some(field), None) => {
                out.push(change(name, Status::Removed, None, field.required));
                whole.push(name);
            }
            (Some(before), Some(after)) => {
                if before.ty != after.ty {
                    let detail = format!("{} -> {}", before.ty, after.ty);
                    out.push(change(
                        name,
                        Status::TypeChanged,
                        Some(detail),
                        after.required,
                    ));
                }
                if before.required != after.required {
                    let now = if after.required {
                        Status::NowRequired
                    } else {
                        Status::NowOptional
                    };
                    out.push(change(name, now, None, after.required));
                }
                enum_changes(side, &label(name), before, after, out);
            }
            (None, None) => {}
        }
    }
}

/// Whether field `name` lies inside field `outer` (`data.id` inside `data`, `items[]` inside
/// `items`; everything inside the body itself).
fn is_inside(name: &str, outer: &str) -> bool {
    outer.is_empty()
        || name
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
}

fn enum_changes(side: Side, at: &str, before: &Field, after: &Field, out: &mut Vec<Change>) {
    let place = format!("{} {at}", super::render::subject_text(subject(side)));
    let gone = before.enums.iter().filter(|v| !after.enums.contains(v));
    let new = after.enums.iter().filter(|v| !before.enums.contains(v));
    let values = gone
        .map(|v| (v, Status::Removed))
        .chain(new.map(|v| (v, Status::Added)));
    for (value, change) in values {
        out.push(Change {
            subject: Subject::EnumValue,
            name: place.clone(),
            change,
            detail: Some(value.clone()),
            breaks: rules::enum_value(side, change),
        });
    }
}
