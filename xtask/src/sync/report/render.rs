//! The drift report as a terminal shows it: one line per operation and per change, each led by
//! its two verdicts (wire, then Rust API).

use std::fmt;

use super::{ApiChange, Breaks, Change, FailOn, Gate, OperationDrift, Report, Status, Subject};

/// How a subject reads in a sentence.
pub fn subject_text(subject: Subject) -> &'static str {
    match subject {
        Subject::OperationId => "operationId",
        Subject::Parameter => "parameter",
        Subject::RequestField => "request field",
        Subject::ResponseField => "response field",
        Subject::EnumValue => "enum value",
        Subject::StatusCode => "status code",
    }
}

pub(super) fn status_text(status: Status) -> &'static str {
    match status {
        Status::Added => "added",
        Status::Removed => "removed",
        Status::Changed => "changed",
        Status::Moved => "moved",
        Status::Renamed => "renamed",
        Status::TypeChanged => "type changed",
        Status::NowRequired => "now required",
        Status::NowOptional => "now optional",
    }
}

fn mark(breaking: bool) -> &'static str {
    if breaking { "BREAKING" } else { "ok" }
}

/// The two verdict columns.
fn verdicts(breaks: Breaks) -> String {
    format!("{:<9} {:<9}", mark(breaks.wire), mark(breaks.rust_api))
}

impl FailOn {
    /// What the exit status follows, in words.
    fn follows(self) -> &'static str {
        match self {
            FailOn::Any => "any change to openapi.yaml",
            FailOn::Wire => "changes that break the wire",
            FailOn::RustApi => "changes that break the Rust API",
            FailOn::Breaking => "changes that break the wire or the Rust API",
        }
    }

    /// The flag's value.
    fn flag(self) -> &'static str {
        match self {
            FailOn::Any => "any",
            FailOn::Wire => "wire",
            FailOn::RustApi => "rust-api",
            FailOn::Breaking => "breaking",
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.flag())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Drift report: {} upstream source(s) read, {} page(s) without an OpenAPI block skipped.",
            self.sources.len(),
            self.skipped_pages.len()
        )?;
        for page in &self.skipped_pages {
            writeln!(f, "  skipped: {page}")?;
        }
        super::conversions::write_text(f, &self.conversions)?;
        if self.is_empty() {
            writeln!(
                f,
                "No drift: every operation is as openapi.yaml has it, and every overlay action is in use."
            )?;
        } else {
            self.write_operations(f)?;
            self.write_unowned(f)?;
            self.write_refused(f)?;
            self.write_overlay(f)?;
        }
        self.write_bump(f)?;
        match &self.gate {
            Some(gate) => write_gate(f, gate, self),
            None => Ok(()),
        }
    }
}

impl Report {
    fn write_operations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operations.is_empty() {
            return Ok(());
        }
        let count =
            |axis: fn(&Breaks) -> bool| self.operations.iter().filter(|o| axis(&o.breaks)).count();
        writeln!(
            f,
            "\nOperations: {} added, removed, moved or changed; {} break the wire, {} break the Rust API of `invaro` (from the generated code).",
            self.operations.len(),
            count(|b| b.wire),
            count(|b| b.rust_api),
        )?;
        writeln!(f, "  {:<9} {:<9} operation or change", "wire", "Rust API")?;
        for op in &self.operations {
            write_operation(f, op)?;
        }
        Ok(())
    }

    /// Items of the client that no operation above reaches (types of the hand-written uploads).
    fn write_unowned(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unowned: Vec<&ApiChange> = self
            .rust_api
            .iter()
            .filter(|item| !self.operations.iter().any(|op| op.rust_api.contains(item)))
            .collect();
        if unowned.is_empty() {
            return Ok(());
        }
        writeln!(f, "\nRust API items of no generated operation:")?;
        for item in unowned {
            write_item(f, item)?;
        }
        Ok(())
    }

    fn write_bump(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bump = &self.bump;
        match (&bump.current, &bump.next) {
            (Some(current), Some(next)) => writeln!(
                f,
                "\nVersion: a {} bump, {current} -> {next} under Cargo's semver rules: {}.",
                bump.kind, bump.reason
            ),
            _ => writeln!(f, "\nVersion: {}: {}.", bump.kind, bump.reason),
        }
    }

    fn write_refused(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.refused.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\nRefused (not read; what they lead to is missing from the spec):"
        )?;
        for refusal in &self.refused {
            writeln!(f, "  {refusal}")?;
        }
        Ok(())
    }

    fn write_overlay(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.stale_actions.is_empty() {
            writeln!(
                f,
                "\nOverlay actions whose target matches nothing (the upstream no longer has it, or the target is wrong: delete or fix them):"
            )?;
            for note in &self.stale_actions {
                writeln!(
                    f,
                    "  action {} {:?}: {}",
                    note.action, note.description, note.target
                )?;
            }
        }
        if !self.provided_upstream.is_empty() {
            writeln!(
                f,
                "\nOverlay additions the upstream now provides itself (candidates to delete):"
            )?;
            for note in &self.provided_upstream {
                writeln!(f, "  action {} {:?}, at:", note.action, note.description)?;
                for pointer in &note.pointers {
                    writeln!(f, "      {pointer}")?;
                }
            }
        }
        if !self.unknown_ordered_paths.is_empty() {
            let paths = self.unknown_ordered_paths.join(", ");
            writeln!(
                f,
                "\nPaths in the overlay's x-path-order that the spec lacks: {paths}"
            )?;
        }
        Ok(())
    }
}

/// `GET /path (operationId)`, with where a moved operation was.
pub(super) fn operation_text(op: &OperationDrift) -> String {
    let id = op
        .operation_id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let from = op
        .moved_from
        .as_deref()
        .map(|from| format!(", moved from {from}"))
        .unwrap_or_default();
    format!("{} {}{id}{from}", op.method, op.path)
}

/// One change in words: `parameter `query sort`: added (optional)`.
pub(super) fn change_text(change: &Change) -> String {
    let (what, detail) = match change.subject {
        Subject::EnumValue => {
            let value = change.detail.as_deref().unwrap_or_default();
            (
                format!("enum value `{value}` of {}", change.name),
                String::new(),
            )
        }
        subject => (
            format!("{} `{}`", subject_text(subject), change.name),
            change
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
        ),
    };
    format!("{what}: {}{detail}", status_text(change.change))
}

fn write_operation(f: &mut fmt::Formatter<'_>, op: &OperationDrift) -> fmt::Result {
    let sign = match op.status {
        Status::Added => '+',
        Status::Removed => '-',
        Status::Moved => '>',
        _ => '~',
    };
    let id = op
        .operation_id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let from = op
        .moved_from
        .as_deref()
        .map(|from| format!(" from {from}"))
        .unwrap_or_default();
    writeln!(
        f,
        "  {} {sign} {} {}{id}: {}{from}",
        verdicts(op.breaks),
        op.method,
        op.path,
        status_text(op.status)
    )?;
    for change in &op.changes {
        writeln!(
            f,
            "  {}     {}",
            verdicts(change.breaks),
            change_text(change)
        )?;
    }
    for item in &op.rust_api {
        write_item(f, item)?;
    }
    Ok(())
}

/// A Rust-API item: its verdict in the Rust API column.
fn write_item(f: &mut fmt::Formatter<'_>, item: &ApiChange) -> fmt::Result {
    writeln!(
        f,
        "  {:<9} {:<9}     Rust API: {}",
        "",
        mark(item.breaking),
        item.line()
    )
}

fn write_gate(f: &mut fmt::Formatter<'_>, gate: &Gate, report: &Report) -> fmt::Result {
    let breaks = report.breaks();
    let found = match gate.fail_on {
        FailOn::Any if gate.spec_changes => "openapi.yaml would change".to_owned(),
        FailOn::Any => "openapi.yaml is up to date".to_owned(),
        FailOn::Wire => found("the wire", breaks.wire),
        FailOn::RustApi => found("the Rust API", breaks.rust_api),
        FailOn::Breaking => found("the wire or the Rust API", breaks.wire || breaks.rust_api),
    };
    let verdict = if gate.failed { "fails" } else { "passes" };
    writeln!(
        f,
        "\nCheck (--fail-on {}): the exit status follows {}; {found}, so the check {verdict}.",
        gate.fail_on,
        gate.fail_on.follows()
    )
}

fn found(axis: &str, breaking: bool) -> String {
    if breaking {
        format!("a change breaks {axis}")
    } else {
        format!("no change breaks {axis}")
    }
}
