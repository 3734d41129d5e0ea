//! `git`: the checkout, the drift branch and the remote.

use std::path::Path;

use super::tool::run_tool;

/// What the sync writes, relative to the workspace root: all of it is committed together.
pub const SYNCED: [&str; 3] = ["openapi.yaml", "spec/upstream", "client/src/generated.rs"];

/// In the message of every commit this command makes: a branch tip without it was pushed by
/// someone else.
pub const SIGNATURE: &str = "Written by `cargo xtask drift-pr`";
/// Where the drift branch goes.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    /// The drift branch.
    pub branch: &'a str,
    /// The branch it is made from.
    pub base: &'a str,
    /// The remote it is pushed to.
    pub remote: &'a str,
}

/// `git` in the workspace.
pub struct Git<'a> {
    pub root: &'a Path,
}

impl Git<'_> {
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        run_tool("git", self.root, args)
    }

    /// The checkout is the base branch and the files the sync writes are as committed.
    pub fn ready(&self, base: &str) -> Result<(), String> {
        let head = self.run(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        if head.trim() != base {
            return Err(format!(
                "the checkout is on `{}`, not on the base branch `{base}`: the drift branch is \
                 made from the base",
                head.trim()
            ));
        }
        let mut status = vec!["status", "--porcelain", "--"];
        status.extend(SYNCED);
        let dirty = self.run(&status)?;
        if !dirty.trim().is_empty() {
            return Err(format!(
                "uncommitted changes in the files the sync writes; commit or discard them \
                 first:\n{}",
                dirty.trim_end()
            ));
        }
        Ok(())
    }

    pub fn changed(&self, path: &str) -> Result<bool, String> {
        Ok(!self
            .run(&["status", "--porcelain", "--", path])?
            .trim()
            .is_empty())
    }

    /// Puts back what the sync wrote.
    pub fn restore(&self) -> Result<(), String> {
        let mut checkout = vec!["checkout", "HEAD", "--"];
        checkout.extend(SYNCED);
        self.run(&checkout)?;
        self.run(&["clean", "-fdq", "--", "spec/upstream"])
            .map(drop)
    }

    /// The commit the remote's `branch` points at, if it exists.
    pub fn remote_branch(&self, remote: &str, branch: &str) -> Result<Option<String>, String> {
        let line = self.run(&["ls-remote", remote, &format!("refs/heads/{branch}")])?;
        Ok(line.split_whitespace().next().map(str::to_owned))
    }

    /// Commits the synced files on `branch` (remade from `base`) and force-pushes it to
    /// `remote`, unless the remote branch already holds the same files. Leaves the checkout on
    /// `base`. Returns whether it pushed.
    pub fn commit_and_push(&self, to: &Push<'_>, subject: &str) -> Result<bool, String> {
        let Push {
            branch,
            base,
            remote,
        } = *to;
        self.run(&["switch", "--quiet", "-C", branch])?;
        let committed = self.commit(subject);
        let pushed = committed.and_then(|()| {
            let ours = self.run(&["rev-parse", "HEAD^{tree}"])?;
            let theirs = match self.remote_branch(remote, branch)? {
                Some(_) => {
                    self.run(&["fetch", "--quiet", "--no-tags", remote, branch])?;
                    // A force-push would drop what a maintainer pushed to the branch (fixes of
                    // the hand-written layer, say).
                    let tip = self.run(&["log", "-1", "--format=%B", "FETCH_HEAD"])?;
                    if !tip.contains(SIGNATURE) {
                        return Err(format!(
                            "{remote}/{branch} has commits this command did not make; it is not \
                             overwritten. Merge or close its pull request, or delete the branch, \
                             and the next run remakes it from {base}",
                        ));
                    }
                    Some(self.run(&["rev-parse", "FETCH_HEAD^{tree}"])?)
                }
                None => None,
            };
            if theirs.as_deref() == Some(ours.as_str()) {
                return Ok(false);
            }
            let refspec = format!("HEAD:refs/heads/{branch}");
            self.run(&["push", "--quiet", "--force", remote, &refspec])?;
            Ok(true)
        });
        let back = self.run(&["switch", "--quiet", base]);
        let pushed = pushed?;
        back?;
        Ok(pushed)
    }

    pub fn commit(&self, subject: &str) -> Result<(), String> {
        let mut add = vec!["add", "--all", "--"];
        add.extend(SYNCED);
        self.run(&add)?;
        let message = format!(
            "{subject}\n\n{SIGNATURE}: openapi.yaml, the vendored pages and the generated \
             client as `cargo xtask sync` made them from the upstream docs."
        );
        // A runner has no identity configured; one set by the user or the environment wins.
        let mut commit = Vec::new();
        if self.run(&["config", "user.email"]).is_err() {
            commit.extend([
                "-c",
                "user.name=invaro drift check",
                "-c",
                "user.email=41898282+github-actions[bot]@users.noreply.github.com",
            ]);
        }
        commit.extend(["commit", "--quiet", "--no-verify", "-m", &message]);
        self.run(&commit).map(drop)
    }
}
