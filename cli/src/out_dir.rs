//! Where `--out DIR` saves each result: one name per input, never a file that exists already
//! (unless `--overwrite`), all checked before anything is sent.
//!
//! A result is saved as `DIR/NAME.json`, NAME being the input's file name. Inputs that share a
//! name get as many of their parent folders as tell them apart, as subfolders of DIR
//! (`a/invoice.pdf` and `b/invoice.pdf` become `DIR/a/invoice.pdf.json` and
//! `DIR/b/invoice.pdf.json`); the same file given twice becomes `NAME.json`, `NAME-2.json`, ...
//! in the order given. Names are compared ignoring case, so that results do not collide on
//! file systems that ignore it.

use std::{
    collections::HashMap,
    path::{Component, Path, PathBuf},
};

use crate::{exit::Failure, save};

/// The result file of each input under `dir`, in the order given: checks that `dir` is a
/// writable folder (creating it and the subfolders needed) and that no result file exists,
/// unless `overwrite`.
pub fn plan(dir: &Path, inputs: &[&Path], overwrite: bool) -> Result<Vec<PathBuf>, Failure> {
    plan_replacing(dir, inputs, |_| overwrite)
}

/// [`plan`], where the result of input `i` may replace a file that exists when `replace(i)`.
pub fn plan_replacing(
    dir: &Path,
    inputs: &[&Path],
    replace: impl Fn(usize) -> bool,
) -> Result<Vec<PathBuf>, Failure> {
    save::check_folder(dir, "--out")?;
    let targets: Vec<PathBuf> = names(inputs)
        .into_iter()
        .map(|name| dir.join(name))
        .collect();
    for (i, target) in targets.iter().enumerate() {
        match std::fs::symlink_metadata(target) {
            Ok(meta) if meta.is_dir() => {
                return Err(Failure::usage(format!(
                    "{}: is a folder, so the result cannot be saved there",
                    target.display()
                )));
            }
            Ok(_) if !replace(i) => {
                return Err(Failure::usage(format!(
                    "{}: already exists; pass --overwrite to replace it, or choose another --out",
                    target.display()
                )));
            }
            _ => {}
        }
    }
    // Only once nothing is in the way: the subfolders that tell same-named files apart.
    for folder in targets.iter().filter_map(|t| t.parent()) {
        if folder != dir {
            save::check_folder(folder, "--out")?;
        }
    }
    Ok(targets)
}

/// A unique relative result path for each input (see the module docs).
fn names(inputs: &[&Path]) -> Vec<PathBuf> {
    let parts: Vec<Vec<String>> = inputs.iter().map(|path| components(path)).collect();
    let full: Vec<usize> = parts.iter().map(Vec::len).collect();
    // How many trailing components each name uses.
    let mut depth = vec![1; inputs.len()];
    loop {
        let mut grew = false;
        for group in collisions(&parts, &depth) {
            // Folders cannot tell apart the same file (or names differing only in case).
            if collisions(&parts, &full).iter().any(|same| same == &group) {
                continue;
            }
            for i in group {
                if depth[i] < parts[i].len() {
                    depth[i] += 1;
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut names: Vec<PathBuf> = parts
        .iter()
        .zip(&depth)
        .map(|(parts, &depth)| parts[parts.len().saturating_sub(depth)..].iter().collect())
        .collect();
    // What is still shared is the same file more than once: number the later ones.
    for group in collisions(&parts, &depth) {
        for (n, i) in group.into_iter().enumerate().skip(1) {
            let name = names[i].file_name().unwrap_or_default().to_string_lossy();
            let numbered = format!("{name}-{}", n + 1);
            names[i].set_file_name(numbered);
        }
    }
    for name in &mut names {
        let file = name.file_name().unwrap_or_default().to_string_lossy();
        let with_json = format!("{file}.json");
        name.set_file_name(with_json);
    }
    names
}

/// The indexes of inputs whose names (their last `depth` components) are the same, ignoring
/// case, in groups of two or more, each in input order.
fn collisions(parts: &[Vec<String>], depth: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (parts, &depth)) in parts.iter().zip(depth).enumerate() {
        let key = parts[parts.len().saturating_sub(depth)..]
            .join("/")
            .to_lowercase();
        groups.entry(key).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    groups
}

/// The named components of the input's real path (its path as given when that cannot be
/// found), so `./a/x.pdf` and `a/../a/x.pdf` are the same file.
fn components(path: &Path) -> Vec<String> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<String> = real
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        vec!["result".into()]
    } else {
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(inputs: &[&str]) -> Vec<String> {
        let paths: Vec<&Path> = inputs.iter().map(Path::new).collect();
        names(&paths)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn distinct_names_stay_bare() {
        assert_eq!(
            named(&["/x/a.pdf", "/y/b.pdf"]),
            ["a.pdf.json", "b.pdf.json"]
        );
    }

    #[test]
    fn shared_names_get_the_folders_that_tell_them_apart() {
        assert_eq!(
            named(&["/w/a/invoice.pdf", "/w/b/invoice.pdf", "/w/c.pdf"]),
            ["a/invoice.pdf.json", "b/invoice.pdf.json", "c.pdf.json"]
        );
        assert_eq!(
            named(&["/p/a/x/i.pdf", "/p/b/x/i.pdf"]),
            ["a/x/i.pdf.json", "b/x/i.pdf.json"]
        );
        assert_eq!(
            named(&["/w/A.pdf", "/v/a.pdf"]),
            ["w/A.pdf.json", "v/a.pdf.json"]
        );
    }

    #[test]
    fn the_same_file_twice_is_numbered_in_order() {
        assert_eq!(
            named(&["/w/a.pdf", "/w/a.pdf", "/w/a.pdf"]),
            ["a.pdf.json", "a.pdf-2.json", "a.pdf-3.json"]
        );
        assert_eq!(
            named(&["/w/a/i.pdf", "/w/a/i.pdf", "/w/b/i.pdf"]),
            ["a/i.pdf.json", "a/i.pdf-2.json", "b/i.pdf.json"]
        );
        assert_eq!(
            named(&["/w/A.pdf", "/w/a.pdf"]),
            ["A.pdf.json", "a.pdf-2.json"]
        );
    }
}
