//! What goes to stdout: one JSON document with `--json`, otherwise tables and plain text.
//! Nothing else writes to stdout, so pipes only ever see results.

use std::io::Write;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use serde_json::Value;

/// Where results go and in which form.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    json: bool,
}

impl Output {
    /// JSON documents when `json`, tables and text otherwise.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether results are printed as JSON.
    pub fn is_json(self) -> bool {
        self.json
    }

    /// Prints `value` as one pretty JSON document (dates in RFC 3339, as serde writes them).
    pub fn json(self, value: &impl Serialize) {
        let text = serde_json::to_string_pretty(value)
            .expect("values printed are plain data that always serializes");
        self.line(&text);
    }

    /// Prints `value` as JSON with `--json`, or `human()` otherwise.
    pub fn emit(self, value: &impl Serialize, human: impl FnOnce() -> String) {
        if self.json {
            self.json(value);
        } else {
            self.line(&human());
        }
    }

    /// Prints one record: JSON with `--json`, otherwise `field: value` lines.
    pub fn record(self, value: &impl Serialize) {
        if self.json {
            return self.json(value);
        }
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        let Value::Object(fields) = value else {
            return self.line(&cell(&value));
        };
        let width = fields.keys().map(String::len).max().unwrap_or(0);
        let lines: Vec<String> = fields
            .iter()
            .map(|(name, value)| match value {
                Value::Object(_) | Value::Array(_) => format!(
                    "{name}:\n{}",
                    serde_json::to_string_pretty(value).unwrap_or_default()
                ),
                _ => format!("{name:width$}  {}", cell(value)),
            })
            .collect();
        self.line(&lines.join("\n"));
    }

    /// Writes a line to stdout; a closed pipe (`invaro ... | head`) ends the output quietly.
    pub fn line(self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }
}

/// A table of `columns` (header, JSON field name), one row per item, each cell read from the
/// item's JSON (dates in local time).
pub fn table_of<T: Serialize>(items: &[T], columns: &[(&str, &str)]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let value = serde_json::to_value(item).unwrap_or(Value::Null);
            columns
                .iter()
                .map(|(_, field)| cell(value.get(*field).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    let headers: Vec<&str> = columns.iter().map(|(header, _)| *header).collect();
    table(&headers, &rows)
}

/// A JSON value as a table cell: strings bare, RFC 3339 dates in local time, null empty.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(date) => local_time(date.with_timezone(&Utc)),
            Err(_) => text.clone(),
        },
        other => other.to_string(),
    }
}

/// A date as local time, to the second.
pub fn local_time(date: DateTime<Utc>) -> String {
    date.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Left-aligned columns two spaces apart, under upper-case headers.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_under_headers() {
        let rows = vec![
            vec!["a.pdf".to_string(), "done".to_string()],
            vec!["long-name.png".to_string(), String::new()],
        ];
        let text = table(&["file", "status"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FILE           STATUS");
        assert_eq!(lines[1], "a.pdf          done");
        assert_eq!(lines[2], "long-name.png");
    }

    #[test]
    fn dates_show_in_local_time_and_other_cells_bare() {
        let date = "2025-03-01T10:00:00Z";
        let expected = local_time(date.parse().expect("a valid date"));
        assert_eq!(cell(&Value::String(date.into())), expected);
        assert_eq!(cell(&Value::String("job_1".into())), "job_1");
        assert_eq!(cell(&serde_json::json!(40.0)), "40.0");
        assert_eq!(cell(&Value::Null), "");
    }
}
