//! `gh`: the pull requests, issues and labels of the GitHub repository.

use std::path::Path;

use serde::Deserialize;

use super::{tool::run_tool, verdict::Label};

#[derive(Deserialize)]
pub struct Pull {
    pub number: u64,
    #[serde(default)]
    pub labels: Vec<Named>,
}

#[derive(Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Deserialize)]
pub struct Numbered {
    pub number: u64,
}

/// `gh`, run from the workspace root (it finds the repository from the git remote, or
/// `GH_REPO`).
pub struct Gh<'a> {
    pub root: &'a Path,
}

impl Gh<'_> {
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        run_tool("gh", self.root, args)
    }

    pub fn json<T: for<'de> Deserialize<'de>>(&self, args: &[&str]) -> Result<T, String> {
        let text = self.run(args)?;
        serde_json::from_str(&text)
            .map_err(|e| format!("`gh {}` answered unexpected JSON: {e}", args.join(" ")))
    }

    /// The oldest open pull request from `branch` into `base`.
    pub fn open_pull(&self, branch: &str, base: &str) -> Result<Option<Pull>, String> {
        let mut pulls: Vec<Pull> = self.json(&[
            "pr",
            "list",
            "--head",
            branch,
            "--base",
            base,
            "--state",
            "open",
            "--json",
            "number,labels",
        ])?;
        pulls.sort_by_key(|p| p.number);
        Ok(pulls.into_iter().next())
    }

    /// The oldest open issue with `label`.
    pub fn open_issue(&self, label: &str) -> Result<Option<u64>, String> {
        let issues: Vec<Numbered> = self.json(&[
            "issue", "list", "--label", label, "--state", "open", "--json", "number",
        ])?;
        Ok(issues.iter().map(|i| i.number).min())
    }

    /// Creates the labels, or brings their colour and description up to date.
    pub fn ensure_labels(&self, labels: &[Label]) -> Result<(), String> {
        for (name, color, description) in labels {
            self.run(&[
                "label",
                "create",
                name,
                "--color",
                color,
                "--description",
                description,
                "--force",
            ])?;
        }
        Ok(())
    }
}
