//! The drift report as a pull-request body: the sources read and the hash of the spec, one table
//! of changes with both verdicts and the items of the client they change, the version bump and
//! why, the overlay's stale actions and the refused links; last, one machine-readable line
//! ([`marker`]) that the scheduled sync reads.

use std::fmt::Write;

use super::render::{change_text, operation_text, status_text};
use super::{OperationDrift, Report};

/// The last line of the Markdown report:
/// `<!-- invaro-drift wire=<yes|no> rust-api=<yes|no> bump=<breaking|additive|patch|none> next=<X.Y.Z|-> -->`.
pub fn marker(report: &Report) -> String {
    let breaks = report.breaks();
    let yes = |b: bool| if b { "yes" } else { "no" };
    let next = match (&report.bump.next, report.spec_changes) {
        (Some(next), true) => next.as_str(),
        _ => "-",
    };
    format!(
        "<!-- invaro-drift wire={} rust-api={} bump={} next={next} -->",
        yes(breaks.wire),
        yes(breaks.rust_api),
        report.bump.kind
    )
}

/// The whole Markdown report, ending with [`marker`] and a newline.
pub fn write(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut out, report);
    out
}

fn write_all(out: &mut String, report: &Report) -> std::fmt::Result {
    let breaks = report.breaks();
    let title = match (report.spec_changes, breaks.wire, breaks.rust_api) {
        (false, ..) => "no change to openapi.yaml",
        (true, false, false) => "nothing breaks",
        (true, true, false) => "breaks the wire",
        (true, false, true) => "breaks the Rust API",
        (true, true, true) => "breaks the wire and the Rust API",
    };
    writeln!(out, "## Upstream API drift: {title}\n")?;
    writeln!(out, "### Sources read\n")?;
    for source in &report.sources {
        writeln!(out, "- {}", code(source))?;
    }
    for page in &report.skipped_pages {
        writeln!(out, "- {} (no OpenAPI block: skipped)", code(page))?;
    }
    writeln!(
        out,
        "\nsha256 of the normalised spec (`openapi.yaml` as the sync writes it): `{}`\n",
        report.spec_sha256
    )?;

    writeln!(out, "### Changes\n")?;
    let unowned: Vec<_> = report
        .rust_api
        .iter()
        .filter(|item| {
            !report
                .operations
                .iter()
                .any(|op| op.rust_api.contains(item))
        })
        .collect();
    if report.operations.is_empty() && unowned.is_empty() {
        writeln!(
            out,
            "No operation and no public item of the client changes.\n"
        )?;
    } else {
        writeln!(
            out,
            "| operation | change | wire | Rust API | items of `invaro` |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for op in &report.operations {
            row(out, op)?;
        }
        if !unowned.is_empty() {
            let items: Vec<String> = unowned.iter().map(|i| code(&i.line())).collect();
            writeln!(
                out,
                "| (named types of no generated operation) | types changed | – | {} | {} |",
                mark(unowned.iter().any(|i| i.breaking)),
                cell(&items.join("<br>"))
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "### Version\n")?;
    let bump = &report.bump;
    match (&bump.current, &bump.next) {
        (Some(current), Some(next)) => writeln!(
            out,
            "**{} bump**: `{current}` → `{next}` under Cargo's semver rules: {}.\n",
            bump.kind, bump.reason
        )?,
        _ => writeln!(out, "**{}**: {}.\n", bump.kind, bump.reason)?,
    }
    if let Some(gate) = &report.gate {
        let verdict = if gate.failed { "fails" } else { "passes" };
        writeln!(out, "The check (`--fail-on {}`) {verdict}.\n", gate.fail_on)?;
    }

    super::conversions::write_markdown(out, &report.conversions)?;
    if !report.stale_actions.is_empty() || !report.provided_upstream.is_empty() {
        writeln!(out, "### Overlay\n")?;
        for note in &report.stale_actions {
            writeln!(
                out,
                "- stale: action {} ({}) matches nothing at {}: delete or fix it",
                note.action,
                note.description,
                code(&note.target)
            )?;
        }
        for note in &report.provided_upstream {
            writeln!(
                out,
                "- provided upstream: action {} ({}) adds what the upstream now has: a candidate to delete",
                note.action, note.description
            )?;
        }
        writeln!(out)?;
    }
    if !report.refused.is_empty() {
        writeln!(out, "### Refused links (not read)\n")?;
        for refusal in &report.refused {
            writeln!(out, "- {}", code(refusal))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", marker(report))
}

fn row(out: &mut String, op: &OperationDrift) -> std::fmt::Result {
    let mut changes = vec![status_text(op.status).to_owned()];
    changes.extend(op.changes.iter().map(change_text));
    let items: Vec<String> = op.rust_api.iter().map(|i| code(&i.line())).collect();
    writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        code(&operation_text(op)),
        cell(&changes.join("<br>")),
        mark(op.breaks.wire),
        mark(op.breaks.rust_api),
        if items.is_empty() {
            "–".to_owned()
        } else {
            cell(&items.join("<br>"))
        }
    )
}

fn mark(breaking: bool) -> &'static str {
    if breaking { "**BREAKING**" } else { "ok" }
}

/// Text in backticks, safe in a table cell.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
