//! A sandbox per test, and the `invaro` binary pointed at it.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::Child,
    sync::mpsc,
    time::{Duration, Instant},
};

use invaro_sandbox::{JobTimings, Sandbox, Stats, samples};

/// The key the test sandboxes accept: distinctive, so a leak is easy to spot.
pub const KEY: &str = "sk_test_SECRET_4f9a27";

/// The `invaro` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_invaro");

/// Serves `app` on a free port of 127.0.0.1 from a runtime of its own (so tests can stay
/// synchronous), whose FastAPI-style answer to an unknown path is `404 {"detail": "Not
/// Found"}`. Returns the runtime (the server lives as long as it does) and the base URL.
pub fn serve_scripted(app: axum::Router) -> (tokio::runtime::Runtime, String) {
    let app = app.fallback(|| async {
        let body = axum::Json(serde_json::json!({"detail": "Not Found"}));
        (axum::http::StatusCode::NOT_FOUND, body)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let url = format!(
        "http://{}/api/v1",
        listener.local_addr().expect("an address")
    );
    runtime.spawn(async move { axum::serve(listener, app).await });
    (runtime, url)
}

/// A sandbox serving on its own runtime, so tests can stay synchronous.
pub struct Api {
    handle: Option<Sandbox>,
    runtime: tokio::runtime::Runtime,
    /// A folder for the test's files.
    pub dir: tempfile::TempDir,
}

impl Api {
    /// A sandbox whose jobs finish at once.
    pub fn start() -> Self {
        Self::with_timings(JobTimings::INSTANT)
    }

    /// A sandbox whose jobs take `timings`.
    pub fn with_timings(timings: JobTimings) -> Self {
        Self::with(Sandbox::builder().api_key(KEY).job_timings(timings))
    }

    /// A sandbox for batches: no rate limit to speak of, jobs taking a moment to process (and
    /// none left `pending`, so a document's record shows whether a job was started on it).
    pub fn for_batches() -> Self {
        let timings = JobTimings {
            pending: Duration::ZERO,
            processing: Duration::from_millis(150),
        };
        Self::with(
            Sandbox::builder()
                .api_key(KEY)
                .job_timings(timings)
                .rate_limit(1_000_000, Duration::from_secs(60)),
        )
    }

    /// A sandbox built by `builder` (give it the test key).
    pub fn with(builder: invaro_sandbox::SandboxBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let handle = runtime
            .block_on(builder.start())
            .expect("the sandbox starts");
        Self {
            handle: Some(handle),
            runtime,
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    fn handle(&self) -> &Sandbox {
        self.handle.as_ref().expect("present until drop")
    }

    /// The sandbox's base URL.
    pub fn url(&self) -> &str {
        self.handle().base_url()
    }

    /// What the sandbox has seen so far.
    pub fn stats(&self) -> Stats {
        self.handle().stats()
    }

    /// What the sandbox has seen, read as another process would: `GET /_sandbox/stats`.
    pub fn http_stats(&self) -> serde_json::Value {
        let origin = self.url().trim_end_matches("/api/v1").to_string();
        self.runtime.block_on(async move {
            let response = reqwest::get(format!("{origin}/_sandbox/stats"))
                .await
                .expect("the stats route answers");
            assert!(response.status().is_success(), "{}", response.status());
            response.json().await.expect("the stats are JSON")
        })
    }

    /// `invaro` with the sandbox's URL and key on the command line and fast polling.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = bare();
        cmd.args(["--base-url", self.url(), "--api-key", KEY]);
        cmd
    }

    /// The same as a `std` command, for tests that drive the process themselves.
    pub fn std_cmd(&self) -> std::process::Command {
        std_cmd_at(self.url())
    }

    /// Writes a file into the test's folder and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("the test folder is writable");
        path
    }

    /// The bundled sample invoice, saved under `name` (a name with `fail` makes its job fail).
    pub fn invoice(&self, name: &str) -> PathBuf {
        self.file(name, samples::INVOICE_PDF)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.runtime.block_on(handle.shutdown());
        }
    }
}

/// `invaro` without any connection settings.
pub fn bare() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(BIN);
    cmd.env("INVARO_POLL_MS", "20")
        .env_remove("INVARO_API_KEY")
        .env_remove("INVARO_BASE_URL")
        .env_remove("INVARO_WEBHOOK_SECRET")
        .timeout(Duration::from_secs(20));
    cmd
}

/// What a finished command printed and how it exited.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON, failing the test with both streams when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cmd` to the end.
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let output = cmd.output().expect("invaro runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Lines of a stream as they come, read on a thread.
pub fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (at most 10 s) for a line containing `needle`, returning every line read so far.
pub fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line containing {needle:?} within 10 s; saw: {seen:#?}");
}

/// Waits (at most 10 s) until lines containing each of `needles` have been read, in any order,
/// returning every line read so far.
pub fn wait_for_lines(lines: &mpsc::Receiver<String>, needles: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen: Vec<String> = Vec::new();
    let all_seen = |seen: &[String]| needles.iter().all(|n| seen.iter().any(|l| l.contains(n)));
    while !all_seen(&seen) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("not all of {needles:?} within 10 s; saw: {seen:#?}"));
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("not all of {needles:?} within 10 s; saw: {seen:#?}"),
        }
    }
    seen
}

/// Spawns `cmd` with both streams piped, returning the child and its stdout and stderr lines.
pub fn spawn(
    cmd: &mut std::process::Command,
) -> (Child, mpsc::Receiver<String>, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("invaro starts");
    let stdout = lines(child.stdout.take().expect("piped"));
    let stderr = lines(child.stderr.take().expect("piped"));
    (child, stdout, stderr)
}

/// `invaro` pointed at `url` with the test key and fast polling, as a `std` command.
pub fn std_cmd_at(url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.env("INVARO_POLL_MS", "20")
        .env_remove("INVARO_API_KEY")
        .env_remove("INVARO_BASE_URL")
        .args(["--base-url", url, "--api-key", KEY]);
    cmd
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
#[cfg(unix)]
pub fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT failed");
}

/// Waits (at most 10 s) for `child` to exit and returns its code.
pub fn exit_code(child: &mut Child) -> i32 {
    let pid = child.id();
    std::thread::scope(|scope| {
        let (done, exited) = mpsc::channel();
        scope.spawn(move || {
            let status = child.wait().expect("the child can be waited on");
            let _ = done.send(status.code().unwrap_or(-1));
        });
        exited
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                // Unblock the waiting thread before failing, so the test ends instead of hanging.
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("the process did not exit within 10 s");
            })
    })
}

/// Whether `path` holds a JSON object with key `key`.
pub fn json_file_has(path: &Path, key: &str) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|value| value.get(key).is_some())
}
