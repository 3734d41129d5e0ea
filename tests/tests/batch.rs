//! The batch journal and engine: crash safety, the lock, and resuming from every state a run
//! can leave a file in, against an in-process sandbox.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use invaro::{
    Client, DocumentKind, Error, PollPolicy, RateLimit, RetryPolicy, Upload,
    batch::{Entry, Event, Item, Journal, Runner, State},
};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// The child half of `a_killed_writer_leaves_a_whole_journal_and_no_lock`.
const CHILD: &str = "INVARO_TEST_JOURNAL_WRITER";

async fn sandbox(timings: JobTimings) -> (Sandbox, Client) {
    let sandbox = Sandbox::builder()
        .job_timings(timings)
        .rate_limit(100_000, Duration::from_secs(60))
        .start()
        .await
        .expect("the sandbox starts");
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry(RetryPolicy::default().initial_delay(Duration::from_millis(2)))
        .poll(
            PollPolicy::default()
                .first_check(Duration::from_millis(5))
                .max_interval(Duration::from_millis(20))
                .deadline(Duration::from_secs(30)),
        )
        .rate_limit(RateLimit::unlimited())
        .build()
        .expect("valid settings");
    (sandbox, client)
}

/// `count` distinct PDFs in `dir`.
fn documents(dir: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("invoice-{i:02}.pdf"));
            let mut bytes = samples::INVOICE_PDF.to_vec();
            bytes.extend_from_slice(format!("\n% copy {i}\n").as_bytes());
            std::fs::write(&path, bytes).expect("a writable folder");
            path
        })
        .collect()
}

fn max_count(map: &std::collections::BTreeMap<String, u64>) -> u64 {
    map.values().copied().max().unwrap_or(0)
}

#[test]
fn a_second_open_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let first = Journal::open(&path).expect("the first open");
    let second = Journal::open(&path).expect_err("a second open while the first holds it");
    assert!(matches!(second, Error::JournalBusy { .. }), "{second:?}");
    assert!(
        second.to_string().contains("in use by another run"),
        "{second}"
    );
    // Readers need no lock.
    assert!(Journal::read(&path).expect("read while held").is_empty());
    drop(first);
    Journal::open(&path).expect("open once the first is gone");
}

#[test]
fn a_journal_from_a_newer_version_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    drop(Journal::open(&path).unwrap());
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(db);
    let error = Journal::open(&path).expect_err("a layout from the future");
    assert!(error.to_string().contains("layout 99"), "{error}");
}

/// Writes rows until killed, printing the number of each one committed.
#[test]
fn journal_writer_child() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let journal = Journal::open(&path).expect("the child opens the journal");
    for i in 0u64.. {
        let mut entry = Entry::new(
            PathBuf::from(format!("file-{i:06}.pdf")),
            i,
            "0".repeat(64),
            DocumentKind::Invoice,
        );
        entry.state = State::Done;
        entry.result = Some("x".repeat(20_000));
        journal.put(&entry).expect("a write");
        println!("committed {i}");
    }
}

#[cfg(unix)]
#[test]
fn a_killed_writer_leaves_a_whole_journal_and_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "journal_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            last = Some(n.parse::<u64>().unwrap());
            if last == Some(200) {
                break;
            }
        }
    }
    let busy = Journal::open(&path).expect_err("the child holds the journal");
    assert!(matches!(busy, Error::JournalBusy { .. }), "{busy:?}");
    // Killed mid-write: the child is writing row after row without pause.
    child.kill().unwrap();
    child.wait().unwrap();
    let journal = Journal::open(&path).expect("a dead run's lock is released");
    let entries = journal.entries().expect("every row reads back");
    let last = last.unwrap();
    assert!(
        entries.len() as u64 > last,
        "{} rows, {last} committed",
        entries.len()
    );
    assert!(
        entries
            .iter()
            .all(|e| e.state == State::Done && e.result.as_ref().unwrap().len() == 20_000)
    );
    drop(journal);
    let db = rusqlite::Connection::open(&path).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_rerun_skips_what_is_done_and_redoes_only_changed_files() {
    let (sandbox, client) = sandbox(JobTimings::INSTANT).await;
    let dir = tempfile::tempdir().unwrap();
    let files = documents(dir.path(), 3);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let items = || {
        files
            .iter()
            .map(|f| {
                Item::new(f).save_as(out.join(format!("{}.json", f.file_name().unwrap().display())))
            })
            .collect::<Vec<_>>()
    };
    let rows = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .run(items())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.state == State::Done && r.result_path.is_some()),
        "{rows:#?}"
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    std::fs::remove_file(rows[0].result_path.as_ref().unwrap()).unwrap();
    std::fs::write(&files[2], [samples::INVOICE_PDF, b"\n% changed\n"].concat()).unwrap();
    let rows = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .on_event(Arc::new(move |entry: &Entry, event| {
            seen.lock()
                .unwrap()
                .push((entry.path.clone(), event.clone()))
        }))
        .run(items())
        .await
        .unwrap();
    let events = events.lock().unwrap();
    let mut skipped: Vec<_> = events
        .iter()
        .filter(|(_, e)| *e == Event::Skipped)
        .map(|(p, _)| p)
        .collect();
    skipped.sort();
    assert_eq!(skipped, [&files[0], &files[1]]);
    assert!(
        rows[0].result_path.as_ref().unwrap().is_file(),
        "a lost result file is restored"
    );
    let stats = sandbox.stats();
    assert_eq!(stats.uploads_by_sha256.len(), 4);
    assert_eq!(max_count(&stats.uploads_by_sha256), 1);
    assert_eq!(stats.jobs_created, 4);
}

/// A row left in `starting` by a run that died: the API's file record settles it.
#[tokio::test]
async fn a_start_in_doubt_is_settled_by_the_file_record_or_reported() {
    let (sandbox, client) = sandbox(JobTimings::INSTANT).await;
    let dir = tempfile::tempdir().unwrap();
    let files = documents(dir.path(), 2);
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let mut rows = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let doc = client
            .upload(&[Upload::path(file)])
            .await
            .unwrap()
            .remove(0)
            .doc_id;
        if i == 0 {
            // The start arrived; its answer was never recorded.
            client.start_job(DocumentKind::Invoice, &doc).await.unwrap();
        }
        let mut entry = row_for(file);
        entry.state = State::Starting;
        entry.document_id = Some(doc);
        journal.put(&entry).unwrap();
        rows.push(entry);
    }
    let items: Vec<Item> = files.iter().map(Item::new).collect();
    let after = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .run(items.clone())
        .await
        .unwrap();
    assert_eq!(after[0].state, State::Done, "{:#?}", after[0]);
    assert!(after[0].result.is_some());
    assert_eq!(after[1].state, State::Starting);
    assert!(
        after[1].in_doubt() && after[1].error.as_ref().unwrap().contains("pending"),
        "{:#?}",
        after[1]
    );
    assert_eq!(
        sandbox.stats().jobs_created,
        1,
        "nothing started on a guess"
    );
    let after = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .retry_in_doubt(true)
        .run(items)
        .await
        .unwrap();
    assert!(after.iter().all(|r| r.state == State::Done), "{after:#?}");
    let stats = sandbox.stats();
    assert_eq!(stats.jobs_created, 2);
    assert_eq!(max_count(&stats.job_starts_by_document), 1);
}

/// A row left in `uploading`: an upload that arrived is found in the file list, one that did
/// not is sent.
#[tokio::test]
async fn an_upload_in_doubt_is_found_in_the_file_list_or_sent() {
    let (sandbox, client) = sandbox(JobTimings::INSTANT).await;
    let dir = tempfile::tempdir().unwrap();
    let files = documents(dir.path(), 2);
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    for (i, file) in files.iter().enumerate() {
        let mut entry = row_for(file);
        entry.state = State::Uploading;
        entry.intent_at = Some(chrono::Utc::now().timestamp_millis());
        journal.put(&entry).unwrap();
        if i == 0 {
            client.upload(&[Upload::path(file)]).await.unwrap();
        }
    }
    let items: Vec<Item> = files.iter().map(Item::new).collect();
    let after = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .run(items)
        .await
        .unwrap();
    assert!(after.iter().all(|r| r.state == State::Done), "{after:#?}");
    let stats = sandbox.stats();
    assert_eq!(stats.uploads_by_sha256.len(), 2);
    assert_eq!(
        max_count(&stats.uploads_by_sha256),
        1,
        "{:?}",
        stats.uploads_by_sha256
    );
}

#[tokio::test]
async fn a_job_that_failed_is_final_and_a_refused_upload_is_tried_again() {
    let (sandbox, client) = sandbox(JobTimings::INSTANT).await;
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("fail-me.pdf");
    std::fs::write(&failing, samples::INVOICE_PDF).unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let missing = dir.path().join("gone.pdf");
    for _ in 0..2 {
        let rows = Runner::new(&client, DocumentKind::Invoice)
            .journal(&journal)
            .run(vec![Item::new(&failing), Item::new(&missing)])
            .await
            .unwrap();
        assert_eq!(rows[0].state, State::Failed);
        assert!(rows[0].is_final());
        // A file that cannot be read fails alone, and is tried again by the next run.
        assert_eq!(rows[1].state, State::Failed);
        assert!(!rows[1].is_final());
        assert!(
            rows[1].error.as_ref().unwrap().contains("gone.pdf"),
            "{:?}",
            rows[1]
        );
    }
    assert_eq!(
        sandbox.stats().jobs_created,
        1,
        "a failed job is not started again"
    );
}

/// A run spends most of its time waiting for the rate limiter: stopped there (Ctrl-C, a
/// crash), it has sent nothing for the waiting files, and their rows must say so rather than
/// leave a start in doubt (which a rerun cannot settle while the document is `pending`).
#[tokio::test]
async fn a_run_stopped_while_waiting_for_the_rate_limit_leaves_nothing_in_doubt() {
    let (sandbox, client) = sandbox(JobTimings::INSTANT).await;
    // One request an hour: the first upload goes, everything after it waits.
    let starved = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .rate_limit(RateLimit::new(1, Duration::from_secs(3600)))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = documents(dir.path(), 2);
    let items: Vec<Item> = files.iter().map(Item::new).collect();
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let uploaded = Arc::new(tokio::sync::Notify::new());
    let signal = uploaded.clone();
    let batch = Runner::new(&starved, DocumentKind::Invoice)
        .journal(&journal)
        .concurrency(2)
        .on_event(Arc::new(move |_, event| {
            if matches!(event, Event::Uploaded { .. }) {
                signal.notify_one();
            }
        }));
    tokio::select! {
        biased;
        () = uploaded.notified() => {}
        ran = batch.run(items.clone()) => panic!("a run at one request an hour ended: {ran:?}"),
    }
    let mut states: Vec<State> = files
        .iter()
        .map(|f| journal.get(f).unwrap().unwrap().state)
        .collect();
    states.sort_by_key(|s| s.as_str());
    assert_eq!(
        states,
        [State::New, State::Uploaded],
        "the file waiting to upload and the one waiting to start sent nothing"
    );
    assert_eq!(sandbox.stats().jobs_created, 0);
    let rows = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .run(items)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.state == State::Done), "{rows:#?}");
    let stats = sandbox.stats();
    assert_eq!(max_count(&stats.uploads_by_sha256), 1, "uploaded once each");
    assert_eq!(stats.uploads_by_sha256.len(), 2);
    assert_eq!(
        max_count(&stats.job_starts_by_document),
        1,
        "started once each"
    );
    assert_eq!(stats.jobs_created, 2);
}

/// A journal row for the invoice at `file`, as the engine would first write it.
fn row_for(file: &Path) -> Entry {
    let bytes = std::fs::read(file).unwrap();
    Entry::new(
        file.to_path_buf(),
        bytes.len() as u64,
        sha256(&bytes),
        DocumentKind::Invoice,
    )
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The concurrency bounds uploads and starts: a started job is waited on without its slot, so
/// with one slot the next file goes up while the first job runs.
#[tokio::test]
async fn a_started_job_does_not_hold_a_sending_slot_while_it_runs() {
    let (_sandbox, client) = sandbox(JobTimings {
        pending: Duration::from_millis(500),
        processing: Duration::from_millis(1500),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let files = documents(dir.path(), 3);
    let journal = Journal::open(dir.path().join("j.sqlite")).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let rows = Runner::new(&client, DocumentKind::Invoice)
        .journal(&journal)
        .concurrency(1)
        .on_event(Arc::new(move |_, event| {
            seen.lock().unwrap().push(event.clone())
        }))
        .run(files.iter().map(Item::new).collect())
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.state == State::Done), "{rows:#?}");
    let events = events.lock().unwrap();
    let last_start = events
        .iter()
        .rposition(|e| matches!(e, Event::Started { .. }))
        .unwrap();
    let first_done = events.iter().position(|e| *e == Event::Done).unwrap();
    assert!(
        last_start < first_done,
        "every job started before the first finished: {events:?}"
    );
}
