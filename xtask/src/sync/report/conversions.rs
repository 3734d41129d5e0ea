//! The report's section on pages written in OpenAPI 3.1: each conversion to 3.0.3 once, by page,
//! for a terminal and for a pull-request body. Conversions are not drift: they are how the same
//! API written in 3.1 gives the same `openapi.yaml`.

use std::fmt::{self, Write};

use crate::sync::dialect::Conversion;

/// The conversions for a terminal, grouped by page; nothing when there are none.
pub fn write_text(out: &mut impl Write, conversions: &[Conversion]) -> fmt::Result {
    if conversions.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nOpenAPI 3.1 read as 3.0.3 ({} conversion(s); not drift: the same API written in 3.0 gives the same openapi.yaml):",
        conversions.len()
    )?;
    let mut page = None;
    for c in conversions {
        if page != Some(&c.page) {
            writeln!(out, "  {}", c.page)?;
            page = Some(&c.page);
        }
        writeln!(out, "    {}: {} -> {}{}", c.place, c.from, c.to, also(c))?;
    }
    Ok(())
}

/// The conversions as a Markdown section with one table; nothing when there are none.
pub fn write_markdown(out: &mut impl Write, conversions: &[Conversion]) -> fmt::Result {
    if conversions.is_empty() {
        return Ok(());
    }
    writeln!(out, "### OpenAPI 3.1 read as 3.0.3 (not drift)\n")?;
    writeln!(
        out,
        "The upstream writes OpenAPI 3.1; the sync rewrote it as the 3.0.3 the generator reads. \
         The same API written in 3.0 gives the same `openapi.yaml`.\n"
    )?;
    writeln!(out, "| page | place | written | read as |")?;
    writeln!(out, "|---|---|---|---|")?;
    for c in conversions {
        writeln!(
            out,
            "| {}{} | {} | {} | {} |",
            cell(&format!("`{}`", c.page)),
            also(c),
            cell(&format!("`{}`", c.place)),
            cell(&c.from),
            cell(&c.to)
        )?;
    }
    writeln!(out)
}

fn also(c: &Conversion) -> String {
    match c.also_on {
        0 => String::new(),
        n => format!(" (and on {n} more page(s))"),
    }
}

/// Text that stays inside one table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversion(page: &str, also_on: usize) -> Conversion {
        Conversion {
            page: page.into(),
            place: "#/components/schemas/Job/properties/note/type".into(),
            from: "`type: [\"string\",\"null\"]`".into(),
            to: "`type: string` + `nullable: true`".into(),
            also_on,
        }
    }

    #[test]
    fn the_text_groups_by_page() {
        let mut out = String::new();
        write_text(&mut out, &[conversion("a.md", 2), conversion("b.md", 0)]).unwrap();
        assert!(out.contains("OpenAPI 3.1 read as 3.0.3 (2 conversion(s); not drift"));
        assert!(out.contains("\n  a.md\n    #/components/schemas/Job/properties/note/type: `type: [\"string\",\"null\"]` -> `type: string` + `nullable: true` (and on 2 more page(s))\n  b.md\n"), "{out}");
        let mut none = String::new();
        write_text(&mut none, &[]).unwrap();
        assert_eq!(none, "");
    }

    #[test]
    fn the_markdown_is_one_table_row_per_conversion() {
        let mut out = String::new();
        let mut piped = conversion("a.md", 0);
        piped.from = "`pattern: a|b`".into();
        write_markdown(&mut out, &[piped]).unwrap();
        assert!(out.starts_with("### OpenAPI 3.1 read as 3.0.3 (not drift)\n"));
        assert!(out.contains("| `a.md` | `#/components/schemas/Job/properties/note/type` | `pattern: a\\|b` | `type: string` + `nullable: true` |\n"), "{out}");
    }
}
