//! Shared by the drift-pr tests: an upstream docs site on 127.0.0.1 whose pages change between
//! runs, a git checkout of a throwaway workspace whose `origin` is a bare repository, and a fake
//! `gh` (fake_gh.sh) first on `PATH` that keeps its pull requests, issues and labels in a folder.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    http::{StatusCode, Uri},
    response::IntoResponse,
};

use crate::sync_support::{Workspace, root};

/// What the site answers on one path.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this body.
    Page(String),
    /// This status with a short HTML body, as a proxy in front of a failing site.
    Status(u16),
    /// Nothing, ever: the connection stays open and silent.
    Silent,
}

/// A docs site on 127.0.0.1 whose answers the test changes between runs; every other path
/// answers 404.
pub struct Site {
    url: String,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

impl Site {
    /// Starts an empty site.
    pub fn start() -> Site {
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let shared = Arc::clone(&answers);
        // Bound before the thread starts: connections wait in the backlog, so there is no race.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a test runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let app = Router::new().fallback(move |uri: Uri| {
                    let answer = shared.lock().unwrap().get(uri.path()).cloned();
                    async move {
                        match answer {
                            Some(Answer::Page(body)) => (StatusCode::OK, body).into_response(),
                            Some(Answer::Status(code)) => (
                                StatusCode::from_u16(code).expect("a status"),
                                "<html><body><h1>Internal Server Error</h1></body></html>",
                            )
                                .into_response(),
                            Some(Answer::Silent) => std::future::pending().await,
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    }
                });
                axum::serve(listener, app).await.expect("the site serves");
            });
        });
        Site { url, answers }
    }

    /// Its index URL.
    pub fn index(&self) -> String {
        format!("{}/llms.txt", self.url)
    }

    /// Replaces every answer.
    pub fn set(&self, answers: &[(&str, Answer)]) {
        let mut map = self.answers.lock().unwrap();
        map.clear();
        map.extend(answers.iter().map(|(p, a)| ((*p).to_owned(), a.clone())));
    }

    /// Serves `pages` (name -> page text) under `/api/<name>.md`, listed by `/llms.txt`.
    pub fn serve_pages(&self, pages: &[(&str, String)]) {
        let mut index = String::from("# Invaro\n\n> Test copy of the docs.\n\n## API\n\n");
        let mut answers = Vec::new();
        for (name, text) in pages {
            index.push_str(&format!("- [{name}](/api/{name}): A page.\n"));
            answers.push((format!("/api/{name}.md"), Answer::Page(text.clone())));
        }
        let mut all: Vec<(&str, Answer)> = vec![("/llms.txt", Answer::Page(index))];
        all.extend(answers.iter().map(|(p, a)| (p.as_str(), a.clone())));
        self.set(&all);
    }
}

/// The vendored upstream page of the committed workspace: serving it gives no drift.
pub fn status_page() -> String {
    fs::read_to_string(root().join("spec/upstream/get-general-status.md"))
        .expect("the vendored page")
}

/// The status page with a required query parameter added: breaks the wire and the Rust API.
pub fn status_page_requiring_tenant() -> String {
    let page = status_page();
    let anchor = "      responses:\n        '200':\n          description: Job status retrieved";
    assert!(page.contains(anchor), "the vendored page changed shape");
    page.replacen(
        anchor,
        &format!(
            "        - name: tenant\n          in: query\n          required: true\n          \
             schema:\n            type: string\n{anchor}"
        ),
        1,
    )
}

/// A page with a new operation, `GET /health`: an addition on both axes.
pub fn health_page() -> String {
    "# Health\n\n> Tells whether the API is up.\n\n## OpenAPI\n\n````yaml GET /api/v1/health\n\
     openapi: 3.0.0\ninfo:\n  title: Invaro Document Processing API\n  version: 1.0.0\n\
     servers:\n  - url: https://api.invaro.ai/api/v1\n    description: Production API\n\
     paths:\n  /api/v1/health:\n    get:\n      summary: Health\n      operationId: getHealth\n\
     \x20     responses:\n        '200':\n          description: The API is up.\n````\n"
        .to_owned()
}

/// A pull request or issue as the fake `gh` keeps it.
#[derive(Debug, Clone)]
pub struct Item {
    pub number: u64,
    pub state: String,
    pub title: String,
    pub body: String,
    pub head: Option<String>,
    pub labels: BTreeSet<String>,
    pub comments: String,
}

/// A git checkout of a throwaway workspace (main, pushed to a bare `origin`), a fake `gh` and
/// its state.
pub struct Repo {
    workspace: Workspace,
    scratch: tempfile::TempDir,
}

impl Repo {
    /// The committed workspace files, committed on `main` and pushed to `origin`.
    pub fn new() -> Repo {
        let workspace = Workspace::copy();
        let scratch = tempfile::tempdir().expect("a temporary folder");
        let repo = Repo { workspace, scratch };
        fs::create_dir_all(repo.bin()).expect("a bin folder");
        let gh = repo.bin().join("gh");
        fs::write(&gh, include_str!("fake_gh.sh")).expect("the fake gh");
        fs::set_permissions(&gh, fs::Permissions::from_mode(0o755)).expect("executable");
        fs::create_dir_all(repo.state()).expect("a state folder");
        let origin = repo.origin();
        let origin = origin.to_str().expect("UTF-8");
        repo.git_in(
            repo.scratch.path(),
            &["init", "--quiet", "--bare", "--initial-branch=main", origin],
        );
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["add", "--all"]);
        repo.git(&[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "main",
        ]);
        repo.git(&["remote", "add", "origin", origin]);
        repo.git(&["push", "--quiet", "origin", "main"]);
        repo
    }

    /// The checkout's root.
    pub fn path(&self) -> &Path {
        self.workspace.path()
    }

    fn bin(&self) -> PathBuf {
        self.scratch.path().join("bin")
    }

    fn state(&self) -> PathBuf {
        self.scratch.path().join("gh")
    }

    fn origin(&self) -> PathBuf {
        self.scratch.path().join("origin.git")
    }

    /// Runs `cargo xtask drift-pr --root <checkout>` from the checkout, with the fake `gh` first
    /// on `PATH`, git's user and system settings ignored, and no `CARGO_MANIFEST_DIR` (which
    /// cargo sets for tests and which would point the command at the real workspace).
    pub fn drift_pr(&self, args: &[&str]) -> Output {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.bin()];
        dirs.extend(std::env::split_paths(&path));
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("drift-pr")
            .arg("--root")
            .arg(self.path())
            .args(args)
            .current_dir(self.path())
            .env_remove("CARGO_MANIFEST_DIR")
            .env("PATH", std::env::join_paths(dirs).expect("a PATH"))
            .env("FAKE_GH_STATE", self.state())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("the xtask binary runs")
    }

    /// `git` in the checkout; its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(self.path(), args)
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    /// The branches of `origin` and their commits.
    pub fn origin_branches(&self) -> BTreeMap<String, String> {
        let origin = self.origin();
        self.git(&["ls-remote", "--heads", origin.to_str().expect("UTF-8")])
            .lines()
            .filter_map(|line| {
                let (commit, name) = line.split_once('\t')?;
                Some((
                    name.strip_prefix("refs/heads/")?.to_owned(),
                    commit.to_owned(),
                ))
            })
            .collect()
    }

    /// A file as `origin`'s `branch` has it.
    pub fn origin_file(&self, branch: &str, path: &str) -> String {
        let origin = self.origin();
        self.git_in(
            self.scratch.path(),
            &[
                "--git-dir",
                origin.to_str().expect("UTF-8"),
                "show",
                &format!("{branch}:{path}"),
            ],
        )
    }

    /// Every `gh` call so far, one line each.
    pub fn gh_calls(&self) -> Vec<String> {
        fs::read_to_string(self.state().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The pull requests the fake `gh` holds, by number.
    pub fn pulls(&self) -> Vec<Item> {
        self.items("pulls")
    }

    /// The issues the fake `gh` holds, by number.
    pub fn issues(&self) -> Vec<Item> {
        self.items("issues")
    }

    /// The labels that exist on the fake repository.
    pub fn labels(&self) -> BTreeSet<String> {
        names(&self.state().join("labels"))
    }

    fn items(&self, kind: &str) -> Vec<Item> {
        let mut items: Vec<Item> = names(&self.state().join(kind))
            .into_iter()
            .map(|number| {
                let dir = self.state().join(kind).join(&number);
                let read = |name: &str| fs::read_to_string(dir.join(name)).ok();
                Item {
                    number: number.parse().expect("a number"),
                    state: read("state").expect("a state"),
                    title: read("title").expect("a title"),
                    body: read("body").expect("a body"),
                    head: read("head"),
                    labels: read("labels")
                        .unwrap_or_default()
                        .lines()
                        .map(str::to_owned)
                        .collect(),
                    comments: read("comments").unwrap_or_default(),
                }
            })
            .collect();
        items.sort_by_key(|item| item.number);
        items
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| {
                    e.expect("an entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}
