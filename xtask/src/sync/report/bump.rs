//! The version bump a drift needs under Cargo's semver rules, from the workspace's version.
//!
//! Cargo treats `0.y.z` as `y` being the major number: a Rust-API break on `0.y.z` needs
//! `0.(y+1).0`, anything else `0.y.(z+1)`. On `x.y.z` (`x` ≥ 1) a break needs `(x+1).0.0`,
//! additions `x.(y+1).0`, anything else `x.y.(z+1)`. On `0.0.z` every release is a break for
//! Cargo, so every change takes `0.0.(z+1)`.

use std::fmt;

use serde::Serialize;

/// What a change is, under Cargo's semver rules.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `openapi.yaml` does not change: no release.
    #[default]
    None,
    /// The spec changes, the public Rust API does not.
    Patch,
    /// Public items are added, none breaks.
    Additive,
    /// Code using `invaro` may stop compiling or start failing.
    Breaking,
}

impl Kind {
    /// The marker's and the flag's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::Patch => "patch",
            Kind::Additive => "additive",
            Kind::Breaking => "breaking",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The bump a drift needs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Bump {
    /// What the change is.
    pub kind: Kind,
    /// The workspace's version now (`[workspace.package] version`), if it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// The version to release next; `None` when nothing changes or the version is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Why: the items that decide the kind.
    pub reason: String,
}

impl Bump {
    /// The bump of a change of `kind` for a workspace at `current` (`x.y.z`; pre-release and
    /// build suffixes are dropped from the next version).
    pub fn new(kind: Kind, current: Option<&str>, reason: String) -> Bump {
        let next = match kind {
            Kind::None => None,
            _ => current.and_then(|v| next(v, kind)),
        };
        Bump {
            kind,
            current: current.map(str::to_owned),
            next,
            reason,
        }
    }
}

/// The version after `current` for a change of `kind`; `None` when `current` is not `x.y.z`.
pub fn next(current: &str, kind: Kind) -> Option<String> {
    let core = current.split(['-', '+']).next().unwrap_or(current);
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let (Some(Some(x)), Some(Some(y)), Some(Some(z)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (x, y, z) = match (x, y, kind) {
        (_, _, Kind::None) => (x, y, z),
        (0, 0, _) => (0, 0, z.checked_add(1)?),
        (0, _, Kind::Breaking) => (0, y.checked_add(1)?, 0),
        (0, _, _) => (0, y, z.checked_add(1)?),
        (_, _, Kind::Breaking) => (x.checked_add(1)?, 0, 0),
        (_, _, Kind::Additive) => (x, y.checked_add(1)?, 0),
        (_, _, Kind::Patch) => (x, y, z.checked_add(1)?),
    };
    Some(format!("{x}.{y}.{z}"))
}

/// The `[workspace.package] version` of a root `Cargo.toml`'s text.
pub fn workspace_version(manifest: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(manifest).ok()?;
    table
        .get("workspace")?
        .get("package")?
        .get("version")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_rules_for_zero_and_one_majors() {
        let cases = [
            ("0.1.0", Kind::Breaking, "0.2.0"),
            ("0.1.0", Kind::Additive, "0.1.1"),
            ("0.1.3", Kind::Patch, "0.1.4"),
            ("1.4.2", Kind::Breaking, "2.0.0"),
            ("1.4.2", Kind::Additive, "1.5.0"),
            ("1.4.2", Kind::Patch, "1.4.3"),
            ("0.0.7", Kind::Additive, "0.0.8"),
            ("1.0.0-rc.1", Kind::Patch, "1.0.1"),
        ];
        for (current, kind, expected) in cases {
            assert_eq!(
                next(current, kind).as_deref(),
                Some(expected),
                "{current} {kind}"
            );
        }
        assert_eq!(next("1.2", Kind::Patch), None);
        assert_eq!(next("18446744073709551615.0.0", Kind::Breaking), None);
        assert_eq!(
            Bump::new(Kind::None, Some("0.1.0"), String::new()).next,
            None
        );
    }

    #[test]
    fn the_version_is_read_from_the_workspace_package_table() {
        let manifest = "[workspace]\nmembers = []\n[workspace.package]\nversion = \"0.3.1\"\n";
        assert_eq!(workspace_version(manifest).as_deref(), Some("0.3.1"));
        assert_eq!(workspace_version("[package]\nversion = \"1.0.0\"\n"), None);
    }
}
