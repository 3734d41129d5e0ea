//! Ctrl-C keeps what finished: results printed or saved, every started job printed, and every
//! unfinished job named in the resume command. SIGINT is sent on an event (a line printed, a
//! request seen), never after a fixed sleep.

use crate::{
    scripted::Scripted,
    support::{entries, exit_code, interrupt, spawn, std_cmd_at, wait_for_line, wait_for_lines},
};

#[test]
fn ctrl_c_during_parse_keeps_finished_results_and_names_running_jobs() {
    let server = Scripted::start();
    let dir = tempfile::tempdir().expect("a folder");
    let quick = dir.path().join("quick.pdf");
    let slow = dir.path().join("slow.pdf");
    // Four files run at once and none of these finishes, so the last never gets its turn.
    let queued: Vec<_> = ["s2.pdf", "s3.pdf", "s4.pdf", "never.pdf"]
        .iter()
        .map(|name| dir.path().join(name))
        .collect();
    for path in [&quick, &slow].into_iter().chain(&queued) {
        std::fs::write(path, invaro_sandbox::samples::INVOICE_PDF).expect("written");
    }
    let out_dir = dir.path().join("results");

    // Printed on stdout.
    let (mut child, stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["parse", "--kind", "invoice"])
            .arg(&slow)
            .arg(&quick)
            .args(&queued),
    );
    wait_for_lines(&stderr, &["quick.pdf: done", "job job_slow pending"]);
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    let printed: String = stdout.iter().collect::<Vec<_>>().join("\n");
    assert!(printed.contains("job_quick"), "quick's result: {printed}");
    let rest: Vec<String> = stderr.iter().collect();
    let last = rest.last().expect("a last line");
    assert!(
        last.contains("invaro wait --kind invoice job_slow") && !last.contains("job_quick"),
        "{rest:#?}"
    );
    let never = queued[3].display().to_string();
    assert!(
        last.contains("files without a confirmed upload: ") && last.contains(&never),
        "{rest:#?}"
    );
    assert!(!server.saw("upload never.pdf"), "never.pdf was not sent");
    assert!(server.saw("upload quick.pdf") && server.saw("upload slow.pdf"));

    // Saved with --out.
    let (mut child, stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["parse", "--kind", "invoice", "--out"])
            .arg(&out_dir)
            .arg(&slow)
            .arg(&quick),
    );
    wait_for_lines(&stderr, &["quick.pdf: done", "job job_slow pending"]);
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    assert_eq!(entries(&out_dir), ["quick.pdf.json"]);
    let saved = out_dir.join("quick.pdf.json").display().to_string();
    assert_eq!(stdout.iter().collect::<Vec<_>>(), [saved]);
    let last = stderr.iter().last().expect("a last line");
    assert!(
        last.contains("invaro wait --kind invoice job_slow"),
        "{last}"
    );
}

#[test]
fn ctrl_c_during_start_prints_every_started_job() {
    let server = Scripted::start();
    let ids = ["doc_a", "doc_b", "doc_hang", "doc_c"];
    let (mut child, stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["start", "--kind", "invoice"])
            .args(ids),
    );
    // Each id as soon as its job started, before the command is over.
    wait_for_line(&stdout, "job_a");
    wait_for_line(&stdout, "job_b");
    server.wait_for("start doc_hang");
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    assert!(stdout.iter().next().is_none(), "nothing else on stdout");
    let last = stderr.iter().last().expect("a last line");
    assert!(
        last.contains("invaro wait --kind invoice job_a job_b"),
        "{last}"
    );
    assert!(
        last.contains("invaro start --kind invoice doc_hang doc_c"),
        "{last}"
    );
    assert_eq!(server.seen("start"), 3, "doc_c was never sent");

    // With --json: one array, printed on Ctrl-C too.
    let (mut child, stdout, _stderr) = spawn(
        std_cmd_at(server.url())
            .args(["--json", "start", "--kind", "invoice"])
            .args(ids),
    );
    server.wait_for("start doc_hang");
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    let text = stdout.iter().collect::<Vec<_>>().join("\n");
    let items: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    let statuses: Vec<(&str, &str)> = items
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| {
            (
                item["document_id"].as_str().unwrap_or_default(),
                item["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("doc_a", "started"),
            ("doc_b", "started"),
            ("doc_hang", "interrupted"),
            ("doc_c", "interrupted")
        ]
    );
    assert_eq!(items[1]["job_id"], "job_b");
}

#[test]
fn ctrl_c_during_wait_names_jobs_not_yet_polled() {
    let server = Scripted::start();
    let ids = [
        "job_1",
        "job_2",
        "job_3",
        "job_4",
        "job_5",
        "job_6",
        "job_quick",
    ];
    let (mut child, stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["wait", "--kind", "statement"])
            .args(ids),
    );
    wait_for_line(&stderr, "pending");
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    assert!(stdout.iter().next().is_none(), "no job finished");
    let last = stderr.iter().last().expect("a last line");
    assert!(
        last.contains("invaro wait --kind statement job_1 job_2 job_3 job_4 job_5 job_6 job_quick"),
        "every job given, polled or not: {last}"
    );
}

#[test]
fn ctrl_c_during_batch_saves_what_finished_and_prints_the_summary() {
    let server = Scripted::start();
    let dir = tempfile::tempdir().expect("a folder");
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).expect("a folder");
    for name in ["quick.pdf", "slow.pdf"] {
        std::fs::write(docs.join(name), invaro_sandbox::samples::INVOICE_PDF).expect("written");
    }
    let out_dir = dir.path().join("results");
    let (mut child, stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["batch", "--kind", "invoice", "--out"])
            .arg(&out_dir)
            .arg(&docs),
    );
    wait_for_lines(
        &stderr,
        &["quick.pdf: done", "slow.pdf: started job job_slow"],
    );
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    assert_eq!(entries(&out_dir), ["quick.pdf.json"]);
    let table: Vec<String> = stdout.iter().collect();
    let row = |name: &str| {
        table
            .iter()
            .find(|line| line.contains(name))
            .cloned()
            .unwrap_or_else(|| panic!("no row for {name}: {table:#?}"))
    };
    assert!(row("quick.pdf").contains("done"), "{table:#?}");
    assert!(row("slow.pdf").contains("interrupted"), "{table:#?}");
    let last = stderr.iter().last().expect("a last line");
    assert!(
        last.contains("invaro wait --kind invoice job_slow"),
        "{last}"
    );
}

#[test]
fn ctrl_c_during_a_download_leaves_the_old_file_and_no_temporary_one() {
    let server = Scripted::start();
    let dir = tempfile::tempdir().expect("a folder");
    let target = dir.path().join("invoice.pdf");
    std::fs::write(&target, b"old").expect("written");
    let (mut child, _stdout, _stderr) = spawn(
        std_cmd_at(server.cut_url())
            .args(["files", "download", "stall", "--out"])
            .arg(&target),
    );
    server.wait_for("sent /api/v1/files/stall/download");
    interrupt(&child);
    assert_eq!(exit_code(&mut child), 130);
    assert_eq!(std::fs::read(&target).expect("kept"), b"old");
    assert_eq!(entries(dir.path()), ["invoice.pdf"]);
}
