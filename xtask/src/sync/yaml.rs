//! Reading YAML (and JSON, its subset) into `serde_json::Value`, and writing it back.
//!
//! Everything inside the pipeline is a `serde_json::Value` with insertion-ordered maps, so the
//! order of keys is decided by the pipeline alone and the writer just prints it.

use serde_json::{Map, Number, Value};
use yaml_serde::Value as Yaml;

/// Parses YAML or JSON text. Errors say `line L, column C: reason`, counted from `first_line`
/// (the line of the text within its file), so that an error inside a Markdown fence points at the
/// page's own line.
pub fn parse(text: &str, first_line: usize) -> Result<Value, String> {
    let yaml: Yaml = yaml_serde::from_str(text).map_err(|e| match e.location() {
        Some(at) => format!(
            "line {}, column {}: {}",
            at.line() + first_line - 1,
            at.column(),
            strip_location(&e.to_string())
        ),
        None => e.to_string(),
    })?;
    to_json(yaml)
}

/// Writes `value` as block-style YAML, wrapping long strings at [`WIDTH`] columns; the same
/// value always gives the same bytes. The text is read back and compared before it is returned,
/// so a writer bug can never change the meaning of a spec.
pub fn write(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar, 0, 0));
            out.push('\n');
        }
    }
    match parse(&out, 1) {
        Ok(back) if back == *value => Ok(out),
        _ => Err("internal error: the YAML writer's output does not read back as its input".into()),
    }
}

/// Where long strings wrap, as in the hand-written spec this writer replaced.
pub const WIDTH: usize = 100;

fn write_map(map: &Map<String, Value>, indent: usize, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a list item follows its `- ` on the same line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        let key = scalar_text(key, usize::MAX, 0);
        out.push_str(&key);
        out.push(':');
        write_value(value, indent, indent + key.chars().count() + 2, out);
    }
}

fn write_seq(items: &[Value], indent: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(map, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => write_seq(inner, indent + 2, out),
            scalar => {
                out.push_str(&inline(scalar, indent + 2, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Writes the value of a map entry whose key (at `indent`) ends at column `column`.
fn write_value(value: &Value, indent: usize, column: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, indent + 2, out);
        }
        Value::String(s) if literal_block(s) => {
            out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar, column, indent + 2));
            out.push('\n');
        }
    }
}

/// A scalar (or an empty map or list) on the rest of a line that starts at `column`;
/// continuation lines of a wrapped string are indented by `indent`.
fn inline(value: &Value, column: usize, indent: usize) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_text(s, column, indent),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain, single-quoted or double-quoted scalar, wrapped at spaces when long.
fn scalar_text(s: &str, column: usize, indent: usize) -> String {
    if s.chars().any(|c| c.is_control()) {
        return double_quoted(s);
    }
    let text = if is_plain(s) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    };
    wrap(&text, column, indent)
}

/// Breaks `text` at single spaces so that lines stay within [`WIDTH`]. A line break inside a
/// plain or single-quoted scalar reads back as one space, so the value is unchanged.
fn wrap(text: &str, column: usize, indent: usize) -> String {
    if column == usize::MAX || column + text.chars().count() <= WIDTH {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut line_start = 0;
    let mut width = column;
    let mut last_break = None;
    let mut i = 0;
    while i < chars.len() {
        let breakable = chars[i] == ' '
            && i > 0
            && chars[i - 1] != ' '
            && chars
                .get(i + 1)
                .is_some_and(|c| c.is_alphanumeric() || "`(/$<".contains(*c));
        if breakable {
            if width + (i - line_start) > WIDTH
                && let Some(at) = last_break
            {
                out.extend(&chars[line_start..at]);
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                line_start = at + 1;
                width = indent;
            }
            last_break = Some(i);
        }
        i += 1;
    }
    if width + (chars.len() - line_start) > WIDTH
        && let Some(at) = last_break.filter(|at| *at > line_start)
    {
        out.extend(&chars[line_start..at]);
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        line_start = at + 1;
    }
    out.extend(&chars[line_start..]);
    out
}

/// Whether `s` reads back as the same string when written without quotes, in YAML 1.2 and in the
/// YAML 1.1 that many tools still use (where `yes`, `on` and dates are not strings).
fn is_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let reserved = [
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "=", "<<",
    ];
    !(s.starts_with(' ')
        || s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\t')
        || "-?:,[]{}#&*!|>'\"%@`.+".contains(first)
        || reserved.contains(&s.to_ascii_lowercase().as_str())
        || looks_numeric(s))
}

/// Numbers, dates and times in any YAML version's sense (conservatively: anything starting with a
/// digit and made of digits and number punctuation, or starting like a date).
fn looks_numeric(s: &str) -> bool {
    let first_digit = s.starts_with(|c: char| c.is_ascii_digit());
    let numberish = s
        .chars()
        .all(|c| c.is_ascii_digit() || "_:.eE+-".contains(c));
    let bytes = s.as_bytes();
    let date = bytes
        .get(..4)
        .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
        && bytes.get(4) == Some(&b'-');
    let prefixed = ["0x", "0o", "0b"]
        .iter()
        .any(|p| s.to_ascii_lowercase().starts_with(p));
    (first_digit && (numberish && !is_dotted_version(s) || date || prefixed))
        || s.parse::<f64>().is_ok()
}

/// `3.0.3` and `1.0.0` are strings in every YAML version, and common in specs.
fn is_dotted_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Text with line breaks as a literal block, when it has nothing a block cannot hold.
fn literal_block(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && !s.chars().any(|c| c != '\n' && c.is_control())
        && s.lines().all(|line| !line.ends_with(' '))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Drops the " at line L column C" suffix the YAML crate appends, since the caller prints a
/// location of its own.
fn strip_location(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn to_json(yaml: Yaml) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => Value::Number(number(&n)?),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                map.insert(key_text(key)?, to_json(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => to_json(tagged.value)?,
    })
}

fn number(n: &yaml_serde::Number) -> Result<Number, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.into());
    }
    n.as_f64()
        .and_then(Number::from_f64)
        .ok_or_else(|| format!("the number {n} has no JSON form"))
}

/// Map keys become strings: YAML allows `200:` where OpenAPI means `'200':`.
fn key_text(key: Yaml) -> Result<String, String> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Null => Ok("null".into()),
        Yaml::Tagged(tagged) => key_text(tagged.value),
        Yaml::Sequence(_) | Yaml::Mapping(_) => {
            Err("a map key is itself a list or a map, which OpenAPI never uses".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn awkward_strings_read_back_unchanged() {
        let long = "word ".repeat(40) + "end";
        let value = json!({
            "plain": "Upload Documents", "version": "3.0.3", "code": "200", "date": "2024-01-07T10:00:00Z",
            "bool": "yes", "null": "null", "colon": "a: b", "hash": "a #b", "quote": "it's",
            "lead": "- x", "ref": "#/components/schemas/Job", "empty": "", "spaces": " x ",
            "lines": "a\n\nb", "trailing": "a\n", "control": "a\u{7}b\r", "long": long,
            "long_quoted": format!("'{long}': x"), "float": "1e5", "num": 1.5, "int": -3,
            "list": [[1, 2], {"a": {}}, [], {"k": [true, null]}],
            "200": {"x": "y"}
        });
        let text = write(&value).expect("the writer reads back");
        assert_eq!(parse(&text, 1).unwrap(), value);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
    }

    #[test]
    fn errors_count_lines_from_the_given_first_line() {
        // The bad line is the text's second: line 11 of a file where the text starts at line 10.
        let err = parse("a: 1\nb: c: d\n", 10).unwrap_err();
        assert!(err.starts_with("line 11, column "), "{err}");
    }
}
