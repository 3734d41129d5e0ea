//! The bench's figures: a Markdown table for people and the same figures as JSON for tools.

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
