//! Exit codes, bad input caught before anything is sent, one-line errors, and no key in output.

use std::time::Duration;

use invaro_sandbox::JobTimings;

use crate::{
    scripted::Scripted,
    support::{Api, KEY, bare, entries, run},
};

/// Jobs that stay pending far longer than any test runs.
const STUCK: JobTimings = JobTimings {
    pending: Duration::from_secs(600),
    processing: Duration::ZERO,
};

/// One line on stderr, without a backtrace or a panic.
fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("invaro: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    lines[0]
}

#[test]
fn api_errors_exit_1_with_the_code_and_message() {
    let api = Api::start();
    let out = run(api.cmd().args(["status", "job_missing"])).code(1);
    let line = one_line(&out.stderr);
    assert!(
        line.contains("job_missing") && line.contains("404"),
        "{line}"
    );
    assert!(out.stdout.is_empty());

    let out = run(bare()
        .args(["--base-url", api.url(), "--api-key", "wrong_key_77"])
        .args(["schemas", "list"]))
    .code(1);
    let line = one_line(&out.stderr);
    assert!(line.contains("UNAUTHORIZED"), "{line}");
    assert!(!out.stderr.contains("wrong_key_77"));
}

#[test]
fn network_errors_exit_1() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1");
    let out = run(bare().args(["--base-url", &url, "--api-key", KEY, "files", "get", "x"])).code(1);
    assert!(
        one_line(&out.stderr).contains("transport error"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = run(bare().args(["parse", "a.pdf"])).code(2);
    assert!(out.stderr.contains("--kind"), "{}", out.stderr);
    run(bare().args(["wait", "job_1", "--timeout", "soon"])).code(2);
    run(bare().arg("nonsense")).code(2);

    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let out = run(bare().args(["parse", "--kind", "invoice"]).arg(&invoice)).code(2);
    assert!(
        one_line(&out.stderr).contains("INVARO_API_KEY"),
        "{}",
        out.stderr
    );
    let out = run(bare()
        .args(["--api-key", KEY, "--base-url", "http://example.com/api/v1"])
        .args(["files", "list"]))
    .code(2);
    assert!(one_line(&out.stderr).contains("https"), "{}", out.stderr);
}

#[test]
fn a_failed_job_exits_3_naming_the_job() {
    let api = Api::start();
    let doomed = api.invoice("fail-me.pdf");
    let out = run(api.cmd().args(["parse", "--kind", "invoice"]).arg(&doomed)).code(3);
    let line = one_line(&out.stderr);
    assert_eq!(api.stats().jobs_created, 1);
    assert!(
        line.contains("fail-me.pdf") && line.contains("job job_"),
        "{line}"
    );
    assert!(out.stdout.is_empty(), "no result for a failed job");
}

#[test]
fn a_wait_that_times_out_exits_4_with_the_job_id() {
    let api = Api::with_timings(STUCK);
    let invoice = api.invoice("invoice.pdf");
    let out = run(api
        .cmd()
        .args(["parse", "--kind", "invoice", "--timeout", "200ms"])
        .arg(&invoice))
    .code(4);
    let line = one_line(&out.stderr);
    assert!(line.contains("job_") && line.contains("pending"), "{line}");
}

#[test]
fn bad_files_are_refused_before_anything_is_uploaded() {
    let api = Api::start();
    let good = api.invoice("good.pdf");
    let text = api.file("notes.txt", b"plain text");
    let empty = api.file("empty.pdf", b"");
    let big = api.dir.path().join("big.pdf");
    let file = std::fs::File::create(&big).expect("created");
    file.set_len(invaro::MAX_FILE_BYTES + 1)
        .expect("a sparse file");
    let missing = api.dir.path().join("missing.pdf");
    let cases = [
        (missing, "does not exist"),
        (text, "not a PDF, JPEG or PNG"),
        (empty, "is empty"),
        (big, "at most 10 MB"),
    ];
    for (bad, rule) in cases {
        for command in ["parse", "upload"] {
            let mut cmd = api.cmd();
            cmd.arg(command).arg(&good).arg(&bad);
            if command == "parse" {
                cmd.args(["--kind", "invoice"]);
            }
            let out = run(&mut cmd).code(2);
            let line = one_line(&out.stderr);
            assert!(line.contains(&bad.display().to_string()), "{line}");
            assert!(line.contains(rule), "{line}");
        }
    }
    let empty_dir = api.dir.path().join("nothing");
    std::fs::create_dir(&empty_dir).expect("a folder");
    std::fs::write(empty_dir.join("readme.md"), "# no documents").expect("written");
    let out = run(api
        .cmd()
        .args(["batch", "--kind", "invoice"])
        .arg(&empty_dir))
    .code(2);
    assert!(one_line(&out.stderr).contains(&empty_dir.display().to_string()));
    let out = run(api
        .cmd()
        .args(["batch", "--kind", "invoice", "no/such/dir"]))
    .code(2);
    assert!(one_line(&out.stderr).contains("no/such/dir"));
    assert_eq!(api.stats().requests, 0, "nothing reached the API");
}

#[test]
fn the_key_never_appears_even_with_request_logs() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let doomed = api.invoice("fail.pdf");
    let runs = [
        run(api
            .cmd()
            .args(["-v", "parse", "--kind", "invoice"])
            .arg(&invoice))
        .code(0),
        run(api
            .cmd()
            .args(["-v", "--json", "parse", "--kind", "invoice"])
            .arg(&doomed))
        .code(3),
        run(api.cmd().args(["-v", "files", "list"])).code(0),
        run(api.cmd().args(["-v", "status", "job_nope"])).code(1),
        run(api
            .cmd()
            .env("INVARO_API_KEY", KEY)
            .args(["-v", "demo", "--instant"]))
        .code(0),
    ];
    for out in &runs {
        assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
        assert!(!out.stdout.contains("SECRET") && !out.stderr.contains("SECRET"));
    }
    // The logs are there: one line per request attempt, with the operation and status.
    assert!(
        runs[0].stderr.contains("upload_documents"),
        "{}",
        runs[0].stderr
    );
    assert!(runs[0].stderr.contains("status=200"), "{}", runs[0].stderr);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_waiting_and_names_the_jobs_to_resume() {
    let api = Api::with_timings(STUCK);
    let invoice = api.invoice("invoice.pdf");
    let mut child = api
        .std_cmd()
        .args(["parse", "--kind", "invoice"])
        .arg(&invoice)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("invaro starts");
    let stderr = crate::support::lines(child.stderr.take().expect("piped"));
    let seen = crate::support::wait_for_line(&stderr, "pending");
    let job_id = seen
        .last()
        .and_then(|line| line.split_whitespace().find(|w| w.starts_with("job_")))
        .expect("the progress line names the job")
        .to_string();
    crate::support::interrupt(&child);
    assert_eq!(crate::support::exit_code(&mut child), 130);
    let rest: Vec<String> = stderr.iter().collect();
    let last = rest.last().expect("a last line");
    assert!(
        last.contains(&format!("invaro wait --kind invoice {job_id}")),
        "{rest:#?}"
    );

    // The job id printed is one `invaro wait` takes up.
    let out = run(api.cmd().args(["wait", "--timeout", "100ms", &job_id])).code(4);
    assert!(out.stderr.contains(&job_id));
}

#[test]
fn one_unknown_job_does_not_hide_the_others() {
    let server = Scripted::start();
    let at = |args: &[&str]| {
        let mut cmd = bare();
        cmd.args(["--base-url", server.url(), "--api-key", KEY])
            .args(args);
        run(&mut cmd)
    };
    let out = at(&["status", "job_quick", "job_missing", "job_slow"]).code(1);
    assert!(
        out.stdout.contains("job_quick") && out.stdout.contains("job_slow"),
        "{}",
        out.stdout
    );
    let line = one_line(&out.stderr);
    assert!(
        line.contains("job_missing") && line.contains("404"),
        "{line}"
    );

    let out = at(&["--json", "status", "job_missing", "job_quick"]).code(1);
    assert_eq!(out.json()[0]["job_id"], "job_quick");
    assert_eq!(out.json().as_array().map(Vec::len), Some(1));

    let out = at(&[
        "--json",
        "wait",
        "--kind",
        "invoice",
        "job_missing",
        "job_quick",
    ])
    .code(1);
    assert_eq!(out.json()[1]["status"], "done");
    assert_eq!(out.json()[1]["result"]["job"], "job_quick");
    assert_eq!(out.json()[0]["status"], "failed");
    assert!(
        one_line(&out.stderr).contains("job_missing"),
        "{}",
        out.stderr
    );
}

#[test]
fn numbers_and_durations_out_of_range_are_usage_errors_naming_the_flag() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["wait", "job_1", "--timeout", "99999999999999999h"],
            "--timeout",
            "at most 24h",
        ),
        (
            &["wait", "job_1", "--timeout", "18446744073709551616ms"],
            "--timeout",
            "at most 24h",
        ),
        (
            &["parse", "a.pdf", "--kind", "invoice", "--timeout", "25h"],
            "--timeout",
            "at most 24h",
        ),
        (
            &["batch", "d", "--kind", "invoice", "--timeout", "0s"],
            "--timeout",
            "more than 0",
        ),
        (
            &["--connect-timeout", "2h", "files", "list"],
            "--connect-timeout",
            "at most 1h",
        ),
        (
            &["--read-timeout", "5", "files", "list"],
            "--read-timeout",
            "needs a unit",
        ),
        (
            &["files", "list", "--page-size", "101"],
            "--page-size",
            "1 to 100",
        ),
        (
            &["schemas", "list", "--page-size", "0"],
            "--page-size",
            "1 to 100",
        ),
        (
            &["files", "list", "--page", "99999999999999999999"],
            "--page",
            "",
        ),
        (
            &["batch", "d", "--kind", "invoice", "--concurrency", "65"],
            "--concurrency",
            "65",
        ),
        (
            &["--rate-limit", "0", "status", "job_1"],
            "--rate-limit",
            "0",
        ),
        (&["batch", "d"], "--kind", "required"),
    ];
    for (args, flag, rule) in cases {
        let out = run(bare().args(*args)).code(2);
        assert!(
            out.stderr.contains(flag) && out.stderr.contains(rule),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked") && !out.stderr.contains("internal error"));
    }
    let out = run(bare().env("INVARO_POLL_MS", "0").args(["status", "job_1"])).code(2);
    assert!(out.stderr.contains("--poll-ms"), "{}", out.stderr);
}

#[test]
fn a_read_timeout_ends_a_call_the_server_never_answers() {
    let server = Scripted::start();
    let started = std::time::Instant::now();
    let out = run(bare()
        .args(["--base-url", server.url(), "--api-key", KEY])
        .args(["--read-timeout", "300ms", "--connect-timeout", "2s"])
        .args(["start", "--kind", "invoice", "doc_hang"]))
    .code(1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the 300 ms timeout applied (the default is 30 s)"
    );
    assert!(one_line(&out.stderr).contains("doc_hang"), "{}", out.stderr);
    assert_eq!(
        server.seen("start"),
        1,
        "a POST that may have arrived is not sent again"
    );
}

#[test]
fn a_cut_download_leaves_the_old_file_and_no_partial_file() {
    let server = Scripted::start();
    let dir = tempfile::tempdir().expect("a folder");
    let target = dir.path().join("invoice.pdf");
    let old = vec![b'o'; 5_000];
    std::fs::write(&target, &old).expect("written");
    let out = run(bare()
        .args(["--base-url", server.cut_url(), "--api-key", KEY])
        .args(["files", "download", "f1", "--out"])
        .arg(&target))
    .code(1);
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&target.display().to_string()) && line.contains("left as it was"),
        "{line}"
    );
    assert!(server.seen("download") >= 1);
    assert_eq!(
        std::fs::read(&target).expect("kept"),
        old,
        "the old file is intact"
    );
    assert_eq!(
        entries(dir.path()),
        ["invoice.pdf"],
        "no partial or temporary file"
    );

    // Nor when there was no file before.
    let fresh = dir.path().join("new.pdf");
    run(bare()
        .args(["--base-url", server.cut_url(), "--api-key", KEY])
        .args(["files", "download", "f1", "--out"])
        .arg(&fresh))
    .code(1);
    assert_eq!(entries(dir.path()), ["invoice.pdf"]);
    assert!(server.seen("download") >= 2);
}

#[test]
fn a_wait_timeout_counts_from_the_start_for_jobs_that_queued() {
    let server = Scripted::start();
    let ids: Vec<String> = (1..=9).map(|n| format!("job_{n}")).collect();
    let started = std::time::Instant::now();
    let out = run(bare()
        .args(["--base-url", server.url(), "--api-key", KEY])
        .args(["wait", "--kind", "invoice", "--timeout", "2s"])
        .args(&ids))
    .code(4);
    // Four at a time, each with its own 2 s, would take at least 6 s.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a 2 s deadline for all nine jobs returns within 5 s"
    );
    assert!(
        out.stderr
            .contains(&format!("invaro wait --kind invoice {}", ids.join(" "))),
        "every job is named to resume: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("job_1 still pending after 2s")
            && out.stderr.contains("job job_9: no status seen within 2s"),
        "{}",
        out.stderr
    );
}
