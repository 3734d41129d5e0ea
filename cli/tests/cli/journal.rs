//! `invaro batch` killed with SIGKILL and run again: its journal makes the reruns finish the
//! batch without uploading or starting anything twice, and keeps a second run away.

use std::{
    path::{Path, PathBuf},
    process::Child,
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::support::{Api, bare, entries, exit_code, json_file_has, run, spawn, wait_for_lines};

/// Distinct documents (each its own content) in `dir`.
fn documents(dir: &Path, count: usize) -> Vec<String> {
    std::fs::create_dir_all(dir).expect("a folder");
    (0..count)
        .map(|i| {
            let name = format!("invoice-{i:02}.pdf");
            let mut bytes = invaro_sandbox::samples::INVOICE_PDF.to_vec();
            bytes.extend_from_slice(format!("\n% copy {i}\n").as_bytes());
            std::fs::write(dir.join(&name), bytes).expect("written");
            name
        })
        .collect()
}

fn batch(api: &Api, docs: &Path, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = api.std_cmd();
    cmd.args(["--rate-limit", "100000", "batch", "--kind", "invoice"])
        .args(["--concurrency", "4", "--out"])
        .arg(out)
        .args(extra)
        .arg(docs);
    cmd
}

/// Reads `lines` until the `nth` one (from 1) containing `needle`, then kills `child` with
/// SIGKILL. Panics if the run ends first or takes more than 20 s.
fn kill_at(child: &mut Child, lines: &mpsc::Receiver<String>, needle: &str, nth: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    let mut read = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        if line.contains(needle) {
            seen += 1;
            if seen == nth {
                child.kill().expect("SIGKILL is sent");
                child.wait().expect("the killed run is reaped");
                return;
            }
        }
        read.push(line);
    }
    let _ = child.kill();
    panic!("no {nth}th line with {needle:?}; read: {read:#?}");
}

#[test]
fn a_batch_killed_at_any_point_resumes_without_sending_anything_twice() {
    let api = Api::for_batches();
    let docs = api.dir.path().join("docs");
    let out = api.dir.path().join("out");
    let names = documents(&docs, 32);
    // After some uploads, at the moment of an upload, between upload and start (the start's
    // intent recorded, the request maybe sent), at a start, and while jobs are waited on.
    let kills = [
        ("uploaded as document", 5),
        (": uploading", 3),
        (": starting", 4),
        (": starting", 1),
        (": started job", 6),
    ];
    for (needle, nth) in kills {
        let (mut child, _stdout, stderr) = spawn(&mut batch(&api, &docs, &out, &[]));
        kill_at(&mut child, &stderr, needle, nth);
    }
    let mut retry = false;
    let mut finished = None;
    for _ in 0..5 {
        let flags: &[&str] = if retry { &["--retry-in-doubt"] } else { &[] };
        let (mut child, _stdout, stderr) = spawn(&mut batch(&api, &docs, &out, flags));
        let code = exit_code(&mut child);
        let said: Vec<String> = stderr.iter().collect();
        if code == 0 {
            finished = Some(said);
            break;
        }
        // Files left in doubt are sent again only when the rerun says so; this sandbox keeps
        // no job `pending`, so a document shown as pending has none.
        retry = said.iter().any(|line| line.contains("--retry-in-doubt"));
        assert!(retry, "a rerun failed for another reason: {said:#?}");
    }
    let said = finished.expect("a rerun finishes the batch");
    assert!(
        said.iter().any(|l| l.contains("done in an earlier run")),
        "{said:#?}"
    );

    let stats = api.http_stats();
    let uploads = stats["uploads_by_sha256"]
        .as_object()
        .expect("uploads by hash");
    assert_eq!(uploads.len(), 32, "every document uploaded: {uploads:#?}");
    assert!(
        uploads.values().all(|n| n == 1),
        "uploaded twice: {uploads:#?}"
    );
    let starts = stats["job_starts_by_document"].as_object().expect("starts");
    assert_eq!(starts.len(), 32, "every document started: {starts:#?}");
    assert!(
        starts.values().all(|n| n == 1),
        "started twice: {starts:#?}"
    );
    assert_eq!(stats["jobs_created"], 32);

    let expected: Vec<String> = names.iter().map(|n| format!("{n}.json")).collect();
    assert_eq!(
        entries(&out),
        expected,
        "one result per document, no temporary file"
    );
    assert!(
        expected
            .iter()
            .all(|n| json_file_has(&out.join(n), "bank_details"))
    );
    let status = run(bare().args(["--json", "batch", "--status"]).arg(&docs)).code(0);
    let rows = status.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 32);
    for row in rows {
        assert_eq!(row["state"], "done", "{row}");
        let saved = PathBuf::from(row["saved_to"].as_str().expect("saved"));
        assert!(saved.starts_with(&out), "{row}");
    }
}

#[test]
fn a_second_run_on_the_same_journal_is_refused_and_a_killed_one_blocks_nothing() {
    let api = Api::with(
        invaro_sandbox::Sandbox::builder()
            .api_key(crate::support::KEY)
            .rate_limit(1_000_000, Duration::from_secs(60))
            .job_timings(invaro_sandbox::JobTimings {
                pending: Duration::ZERO,
                processing: Duration::from_secs(600),
            }),
    );
    let docs = api.dir.path().join("docs");
    let out = api.dir.path().join("out");
    documents(&docs, 2);
    let (mut first, _stdout, stderr) = spawn(&mut batch(&api, &docs, &out, &[]));
    wait_for_lines(
        &stderr,
        &["invoice-00.pdf: started job", "invoice-01.pdf: started job"],
    );
    let second = run(api
        .cmd()
        .args(["batch", "--kind", "invoice", "--out"])
        .arg(&out)
        .arg(&docs))
    .code(2);
    assert!(
        second.stderr.contains("in use by another run"),
        "{}",
        second.stderr
    );
    // The journal can be read while a run holds it.
    let status = run(bare().args(["batch", "--status"]).arg(&docs)).code(0);
    assert!(status.stdout.contains("started"), "{}", status.stdout);
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    // The dead run's lock is gone: a rerun takes the journal (and waits on the same jobs).
    let (mut rerun, _stdout, stderr) = spawn(&mut batch(&api, &docs, &out, &["--timeout", "50ms"]));
    let code = exit_code(&mut rerun);
    let said: Vec<String> = stderr.iter().collect();
    assert_eq!(code, 4, "the jobs outlast the timeout: {said:#?}");
    assert!(!said.iter().any(|l| l.contains("in use")), "{said:#?}");
    assert_eq!(api.stats().jobs_created, 2, "the rerun started nothing");
}

#[test]
fn status_reads_the_journal_without_the_api_and_says_when_there_is_none() {
    let api = Api::for_batches();
    let docs = api.dir.path().join("docs");
    documents(&docs, 2);
    let none = run(bare().args(["batch", "--status"]).arg(&docs)).code(2);
    assert!(none.stderr.contains("no batch journal"), "{}", none.stderr);
    let mut cmd = api.std_cmd();
    cmd.args(["--rate-limit", "100000", "batch", "--kind", "invoice"])
        .arg(&docs);
    let (mut child, _out, _err) = spawn(&mut cmd);
    assert_eq!(exit_code(&mut child), 0);
    // No key, no URL: nothing can be sent.
    let status = run(bare().args(["--json", "batch", "--status"]).arg(&docs)).code(0);
    let rows: Value = status.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert!(rows[0]["sha256"].as_str().is_some_and(|h| h.len() == 64));
    assert!(rows[0]["job_id"].is_string() && rows[0]["document_id"].is_string());
    let table = run(bare().args(["batch", "--status"]).arg(&docs)).code(0);
    assert!(table.stdout.contains("2 files: 2 done"), "{}", table.stdout);
}
