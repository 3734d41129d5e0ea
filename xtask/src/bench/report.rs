//! The bench's figures: a Markdown table for people (printed, and written into
//! `docs/benchmarks.md` between two marker comments) and the same figures as JSON for tools.

use std::{fmt::Write as _, path::Path};

use serde::Serialize;

/// One measured figure, with what it is compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// What was measured, such as `job status, sequential: invaro`.
    pub name: String,
    /// The median over the repeated runs.
    pub value: f64,
    /// The unit of `value` and `baseline`.
    pub unit: String,
    /// The same figure for the code a user would otherwise write, if there is one.
    pub baseline: Option<f64>,
    /// What `baseline` measured, such as `reqwest + serde`.
    pub baseline_name: Option<String>,
    /// `value / baseline`, the median of the ratios of each run (so noise shared by the pair
    /// cancels), or of the medians when the runs cannot be paired.
    pub ratio: Option<f64>,
    /// The goal set for it, in words.
    pub target: Option<String>,
}

impl Figure {
    /// A figure with no baseline.
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value,
            unit: unit.into(),
            baseline: None,
            baseline_name: None,
            ratio: None,
            target: None,
        }
    }

    /// Adds the baseline and the ratio of the two.
    pub fn against(mut self, name: impl Into<String>, baseline: f64, ratio: f64) -> Self {
        self.baseline = Some(baseline);
        self.baseline_name = Some(name.into());
        self.ratio = Some(ratio);
        self
    }

    /// Adds the goal.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// Everything one run of the bench found, and where it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The machine, in a line.
    pub machine: String,
    /// Seconds the whole bench took.
    pub seconds: f64,
    /// The figures, in section order.
    pub figures: Vec<Figure>,
}

impl Report {
    /// The figures as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| Figure | invaro | Baseline | Ratio | Target |\n|---|---:|---:|---:|---|\n",
        );
        for f in &self.figures {
            let baseline = match (&f.baseline, &f.baseline_name) {
                (Some(value), Some(name)) => format!("{} ({name})", number(*value, &f.unit)),
                _ => "-".into(),
            };
            let ratio = f.ratio.map_or("-".into(), |r| format!("{r:.3}"));
            let target = f.target.as_deref().unwrap_or("-");
            let _ = writeln!(
                out,
                "| {} | {} | {baseline} | {ratio} | {target} |",
                f.name,
                number(f.value, &f.unit)
            );
        }
        let _ = write!(
            out,
            "\nMachine: {}. Bench run time: {:.0} s.\n",
            self.machine, self.seconds
        );
        out
    }

    /// Writes the report as JSON to `path`, creating its folder.
    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot be created: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("the report cannot be written as JSON: {e}"))?;
        crate::files::write_atomic(path, text.as_bytes())
            .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
    }
}

/// The comment that opens the bench's table in `docs/benchmarks.md` (its line may go on).
pub const TABLE_START: &str = "<!-- bench-table:start";
/// The comment that closes it.
pub const TABLE_END: &str = "<!-- bench-table:end -->";

/// `page` with the lines between its two table markers replaced by `table`; the marker lines
/// and everything around them are kept. Fails, naming the rule, unless each marker starts a
/// line exactly once and the start comes first.
pub fn splice(page: &str, table: &str) -> Result<String, String> {
    let line_at = |marker: &str| -> Result<usize, String> {
        let starts: Vec<usize> = page
            .match_indices(marker)
            .map(|(at, _)| at)
            .filter(|&at| at == 0 || page.as_bytes()[at - 1] == b'\n')
            .collect();
        match starts[..] {
            [at] => Ok(at),
            _ => Err(format!(
                "needs `{marker}` at the start of exactly one line (found {})",
                starts.len()
            )),
        }
    };
    let (start, end) = (line_at(TABLE_START)?, line_at(TABLE_END)?);
    let body = page[start..]
        .find('\n')
        .map(|n| start + n + 1)
        .filter(|&body| body <= end)
        .ok_or_else(|| format!("`{TABLE_START}` must come on a line before `{TABLE_END}`"))?;
    let table = table.trim_matches('\n');
    Ok(format!("{}{table}\n{}", &page[..body], &page[end..]))
}

impl Report {
    /// Rewrites the table in the page at `path` (see [`splice`]), leaving the prose as it was.
    pub fn write_into_page(&self, path: &Path) -> Result<(), String> {
        let page = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
        let page =
            splice(&page, &self.markdown()).map_err(|e| format!("{}: {e}", path.display()))?;
        crate::files::write_atomic(path, page.as_bytes())
            .map_err(|e| format!("{}: cannot be written: {e}", path.display()))
    }
}

/// A value with its unit, with as many decimals as its size deserves.
fn number(value: f64, unit: &str) -> String {
    let digits = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.digits$} {unit}")
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The machine the bench runs on: CPU model, cores, memory and OS, as Linux reports them.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".into(), |m| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!(
        "{model}, {cores} cores, {memory_gb:.0} GB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_table_is_replaced_between_its_markers_and_the_prose_kept() {
        let page = "# Benchmarks\n\nProse before.\n\n<!-- bench-table:start: by the bench -->\n\
                    | old | table |\n\nMachine: old.\n<!-- bench-table:end -->\n\nProse after.\n";
        let new = splice(page, "| new | table |\n\nMachine: new.\n").expect("spliced");
        assert_eq!(
            new,
            "# Benchmarks\n\nProse before.\n\n<!-- bench-table:start: by the bench -->\n\
             | new | table |\n\nMachine: new.\n<!-- bench-table:end -->\n\nProse after.\n"
        );
        assert_eq!(
            splice(&new, "| new | table |\n\nMachine: new.").unwrap(),
            new
        );
    }

    #[test]
    fn a_page_without_its_markers_is_refused() {
        let missing = splice("no markers\n", "| t |").unwrap_err();
        assert!(missing.contains("bench-table:start"), "{missing}");
        let twice =
            "<!-- bench-table:start -->\n<!-- bench-table:end -->\n<!-- bench-table:end -->\n";
        assert!(splice(twice, "| t |").unwrap_err().contains("found 2"));
        let reversed = "<!-- bench-table:end -->\n<!-- bench-table:start -->\n";
        assert!(splice(reversed, "| t |").unwrap_err().contains("before"));
    }

    #[test]
    fn the_table_and_the_json_carry_the_same_figures() {
        let report = Report {
            machine: "test machine".into(),
            seconds: 1.0,
            figures: vec![
                Figure::new("status calls: invaro", 52.3, "µs/call")
                    .against("reqwest", 50.0, 1.045)
                    .target("≤ 1.05"),
                Figure::new("429s", 0.0, "responses"),
            ],
        };
        let table = report.markdown();
        assert!(
            table.contains(
                "| status calls: invaro | 52.3 µs/call | 50.0 µs/call (reqwest) | 1.045 | ≤ 1.05 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| 429s | 0.00 responses | - | - | - |"),
            "{table}"
        );
        let json = serde_json::to_value(&report).expect("encodes");
        assert_eq!(json["figures"][0]["ratio"], 1.045);
        assert_eq!(json["figures"][0]["baseline"], 50.0);
        assert_eq!(json["figures"][1]["baseline"], serde_json::Value::Null);
    }
}
