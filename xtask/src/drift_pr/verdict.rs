//! The verdicts the sync's Markdown report ends with, and the pull request's labels and title
//! they give.

/// A label: name, colour, description.
pub type Label = (&'static str, &'static str, &'static str);

/// Every drift pull request carries it.
pub const DRIFT: Label = ("drift", "c5def5", "The upstream API docs changed");
/// The labels this command sets on the pull request and removes again when they stop being
/// true. `drift` is always set; the others follow the report's verdicts.
pub const PR_LABELS: [Label; 6] = [
    DRIFT,
    (
        "breaks-wire",
        "b60205",
        "Drift that breaks clients on the wire",
    ),
    (
        "breaks-rust-api",
        "d93f0b",
        "Drift that breaks the Rust API of invaro",
    ),
    ("bump-breaking", "5319e7", "Needs a breaking version bump"),
    ("bump-additive", "0e8a16", "Needs an additive version bump"),
    ("bump-patch", "fbca04", "Needs a patch version bump"),
];
/// The verdicts on the report's last line,
/// `<!-- invaro-drift wire=yes rust-api=no bump=additive next=0.2.0 -->`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The change breaks clients on the wire.
    pub wire: bool,
    /// The change breaks the Rust API of `invaro`.
    pub rust_api: bool,
    /// `breaking`, `additive`, `patch` or `none`.
    pub bump: String,
    /// The proposed next version, if any.
    pub next: Option<String>,
}

impl Verdict {
    /// Reads the marker from the last non-empty line of `report`.
    ///
    /// # Errors
    /// When that line is not the marker or a field is missing or unknown.
    pub fn parse(report: &str) -> Result<Verdict, String> {
        let last = report.lines().rev().find(|l| !l.trim().is_empty());
        let fields = last
            .and_then(|l| l.trim().strip_prefix("<!-- invaro-drift "))
            .and_then(|l| l.strip_suffix("-->"))
            .ok_or_else(|| {
                format!(
                    "the sync's Markdown report does not end with the `<!-- invaro-drift ... -->` \
                     line (its last line is {:?})",
                    last.unwrap_or_default()
                )
            })?;
        let field = |name: &str| {
            fields
                .split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("the drift marker has no `{name}=`: {fields:?}"))
        };
        let yes = |name: &str| match field(name)? {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(format!("drift marker: `{name}={other}` is not yes or no")),
        };
        let bump = field("bump")?;
        if !["breaking", "additive", "patch", "none"].contains(&bump) {
            return Err(format!(
                "drift marker: `bump={bump}` is not breaking, additive, patch or none"
            ));
        }
        let next = field("next")?;
        Ok(Verdict {
            wire: yes("wire")?,
            rust_api: yes("rust-api")?,
            bump: bump.to_owned(),
            next: (next != "-").then(|| next.to_owned()),
        })
    }

    /// The pull request's labels for these verdicts.
    pub fn labels(&self) -> Vec<&'static str> {
        let wanted = |name: &str| match name {
            "drift" => true,
            "breaks-wire" => self.wire,
            "breaks-rust-api" => self.rust_api,
            bump => bump.strip_prefix("bump-") == Some(self.bump.as_str()),
        };
        PR_LABELS
            .iter()
            .map(|(name, ..)| *name)
            .filter(|name| wanted(name))
            .collect()
    }

    /// The title of the pull request and the subject of its commit.
    pub fn title(&self) -> String {
        let breaks: Vec<&str> = [(self.wire, "wire"), (self.rust_api, "Rust API")]
            .into_iter()
            .filter_map(|(b, axis)| b.then_some(axis))
            .collect();
        let breaks = if breaks.is_empty() {
            "breaks nothing".to_owned()
        } else {
            format!("breaks the {}", breaks.join(" and the "))
        };
        let bump = match &self.next {
            Some(next) => format!("{} bump to {next}", self.bump),
            None => format!("bump {}", self.bump),
        };
        format!("Spec drift from the upstream docs: {breaks}, {bump}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_gives_the_verdicts_and_labels() {
        let report = "# Drift\n\nstuff\n<!-- invaro-drift wire=yes rust-api=no bump=breaking next=0.2.0 -->\n";
        let verdict = Verdict::parse(report).unwrap();
        assert_eq!(
            verdict,
            Verdict {
                wire: true,
                rust_api: false,
                bump: "breaking".into(),
                next: Some("0.2.0".into())
            }
        );
        assert_eq!(verdict.labels(), ["drift", "breaks-wire", "bump-breaking"]);
        let none =
            Verdict::parse("<!-- invaro-drift wire=no rust-api=no bump=none next=- -->").unwrap();
        assert_eq!(none.labels(), ["drift"]);
        assert_eq!(none.next, None);
    }

    #[test]
    fn a_report_without_the_marker_is_refused() {
        assert!(Verdict::parse("# Drift\n\nno marker\n").is_err());
        assert!(
            Verdict::parse("<!-- invaro-drift wire=maybe rust-api=no bump=none next=- -->")
                .is_err()
        );
        assert!(
            Verdict::parse("<!-- invaro-drift wire=no rust-api=no bump=major next=- -->").is_err()
        );
    }
}
