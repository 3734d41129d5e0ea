//! Every command's success path against a sandbox, with `--json` output parsed back.

use serde_json::Value;

use crate::support::{Api, KEY, bare, json_file_has, run};

#[test]
fn parse_prints_the_result_and_its_json_reads_back() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let human = run(api
        .cmd()
        .arg("parse")
        .arg(&invoice)
        .args(["--kind", "invoice"]))
    .code(0);
    assert!(
        human.json().get("bank_details").is_some(),
        "{}",
        human.stdout
    );
    assert!(human.stderr.contains("done"), "{}", human.stderr);

    let out = run(api
        .cmd()
        .args(["--json", "parse", "--kind", "invoice"])
        .arg(&invoice))
    .code(0);
    let items = out.json();
    let item = &items[0];
    assert_eq!(items.as_array().map(Vec::len), Some(1));
    assert_eq!(item["status"], "done");
    assert!(item["job_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(item["result"]["bank_details"].is_object(), "{item}");
}

#[test]
fn parse_with_a_webhook_listener_is_told_of_the_result() {
    let api = Api::with_timings(invaro_sandbox::JobTimings {
        pending: std::time::Duration::from_millis(200),
        processing: std::time::Duration::from_millis(200),
    });
    let invoice = api.invoice("invoice.pdf");
    // Polling slows to every 30 s with a listener: within the timeout only the delivery can
    // end the wait.
    let out = run(api
        .cmd()
        .args(["--json", "parse", "--kind", "invoice", "--timeout", "20s"])
        .args(["--webhook-listen", "127.0.0.1:0"])
        .args(["--webhook-secret", invaro_sandbox::DEFAULT_WEBHOOK_SECRET])
        .arg(&invoice))
    .code(0);
    assert_eq!(out.json()[0]["status"], "done", "{}", out.stdout);
    assert!(api.stats().webhooks_delivered >= 1);
}

#[test]
fn parse_runs_several_files_and_saves_each_result() {
    let api = Api::start();
    let a = api.invoice("a.pdf");
    let b = api.file("b.pdf", invaro_sandbox::samples::STATEMENT_PDF);
    let out_dir = api.dir.path().join("results");
    let out = run(api
        .cmd()
        .args(["parse", "--kind", "statement", "--out"])
        .arg(&out_dir)
        .arg(&a)
        .arg(&b))
    .code(0);
    let saved: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(saved.len(), 2, "{}", out.stdout);
    assert!(json_file_has(&out_dir.join("a.pdf.json"), "transactions"));
    assert!(json_file_has(&out_dir.join("b.pdf.json"), "transactions"));
    assert_eq!(api.stats().jobs_created, 2);
}

#[test]
fn parse_without_waiting_prints_job_ids_that_wait_and_status_take() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let started = run(api
        .cmd()
        .args(["--json", "parse", "--no-wait", "--kind", "invoice"])
        .arg(&invoice))
    .code(0);
    let job_id = started.json()[0]["job_id"]
        .as_str()
        .expect("a job id")
        .to_string();
    assert_eq!(started.json()[0]["status"], "started");
    assert!(
        started
            .stderr
            .contains(&format!("invaro wait --kind invoice {job_id}"))
    );

    let status = run(api.cmd().args(["--json", "status", &job_id])).code(0);
    assert_eq!(status.json()[0]["job_id"], job_id.as_str());
    let table = run(api.cmd().args(["status", &job_id])).code(0);
    assert!(table.stdout.starts_with("JOB"), "{}", table.stdout);
    assert!(table.stdout.contains(&job_id));

    let waited = run(api
        .cmd()
        .args(["--json", "wait", "--kind", "invoice", &job_id]))
    .code(0);
    assert_eq!(waited.json()[0]["status"], "done");
    assert!(waited.json()[0]["result"]["buyer_details"].is_object());
}

#[test]
fn upload_start_and_wait_chain_through_stdout() {
    let api = Api::start();
    let statement = api.file("march.pdf", invaro_sandbox::samples::STATEMENT_PDF);
    let uploaded = run(api.cmd().arg("upload").arg(&statement)).code(0);
    let document_id = uploaded.stdout.trim().to_string();
    assert_eq!(uploaded.stdout.lines().count(), 1, "{}", uploaded.stdout);

    let started = run(api
        .cmd()
        .args(["start", "--kind", "statement", &document_id]))
    .code(0);
    let job_id = started.stdout.trim().to_string();
    assert!(job_id.starts_with("job_"), "{job_id}");

    // Without --kind, wait finds out that this is a statement job.
    let waited = run(api
        .cmd()
        .args(["--json", "wait", &job_id, "--timeout", "10s"]))
    .code(0);
    assert_eq!(waited.json()[0]["status"], "done");
    assert!(waited.json()[0]["result"]["transactions"].is_array());

    let json = run(api.cmd().args(["--json", "upload"]).arg(&statement)).code(0);
    assert_eq!(json.json()[0]["status"], "uploaded");
    assert!(json.json()[0]["document_id"].is_string());
}

#[test]
fn batch_summarises_done_failed_and_skipped_files() {
    let api = Api::start();
    api.invoice("good.pdf");
    api.invoice("will-fail.pdf");
    api.file("notes.txt", b"not a document");
    let big = std::fs::File::create(api.dir.path().join("huge.pdf")).expect("created");
    big.set_len(invaro::MAX_FILE_BYTES + 1)
        .expect("a sparse file");
    std::fs::create_dir(api.dir.path().join("sub")).expect("a subfolder");

    let out = run(api
        .cmd()
        .args(["--json", "batch", "--kind", "invoice", "--concurrency", "2"])
        .arg(api.dir.path()))
    .code(3);
    let items = out.json();
    let by_file = |name: &str| -> Value {
        items
            .as_array()
            .and_then(|items| {
                items.iter().find(|item| {
                    item["file"]
                        .as_str()
                        .is_some_and(|f| f.ends_with(&format!("/{name}")))
                })
            })
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not in {items}"))
    };
    assert_eq!(by_file("good.pdf")["status"], "done");
    let failed = by_file("will-fail.pdf");
    assert_eq!(failed["status"], "failed");
    let job_id = failed["job_id"].as_str().expect("the failed job's id");
    assert!(
        failed["reason"]
            .as_str()
            .is_some_and(|r| r.contains(job_id))
    );
    assert_eq!(by_file("notes.txt")["status"], "skipped");
    assert!(
        by_file("notes.txt")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("PDF, JPEG or PNG"))
    );
    assert!(
        by_file("huge.pdf")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("10 MB"))
    );
    assert_eq!(by_file("sub")["status"], "skipped");
    assert!(out.stderr.contains("1 of 2 files failed"), "{}", out.stderr);

    let table = run(api
        .cmd()
        .args(["batch", "--kind", "invoice"])
        .arg(api.dir.path()))
    .code(3);
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("FILE") && header.contains("REASON"),
        "{header}"
    );
    assert!(table.stdout.contains("skipped") && table.stdout.contains("failed"));
}

#[test]
fn batch_of_good_files_exits_zero_and_saves_results() {
    let api = Api::start();
    let docs = api.dir.path().join("docs");
    std::fs::create_dir(&docs).expect("a folder");
    for name in ["one.pdf", "two.pdf", "three.pdf"] {
        std::fs::write(docs.join(name), invaro_sandbox::samples::INVOICE_PDF).expect("written");
    }
    let out_dir = api.dir.path().join("out");
    let out = run(api
        .cmd()
        .args(["batch", "--kind", "invoice", "--out"])
        .arg(&out_dir)
        .arg(&docs))
    .code(0);
    assert_eq!(out.stdout.matches(" done ").count(), 3, "{}", out.stdout);
    for name in ["one.pdf", "two.pdf", "three.pdf"] {
        assert!(json_file_has(
            &out_dir.join(format!("{name}.json")),
            "bank_details"
        ));
    }
}

#[test]
fn schemas_are_created_read_updated_and_listed() {
    let api = Api::start();
    let definition = api.file("schema.json", br#"{"fields":{"total":"number"}}"#);
    let created = run(api
        .cmd()
        .args([
            "--json", "schemas", "create", "--name", "gst", "--type", "invoice", "--file",
        ])
        .arg(&definition))
    .code(0)
    .json();
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(created["version"], 1);

    let got = run(api.cmd().args(["--json", "schemas", "get", &id]))
        .code(0)
        .json();
    assert_eq!(got["name"], "gst");
    let human = run(api.cmd().args(["schemas", "get", &id])).code(0);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("name") && l.ends_with("gst"))
    );

    let updated = run(api
        .cmd()
        .args([
            "--json",
            "schemas",
            "update",
            &id,
            "--description",
            "v2",
            "--file",
        ])
        .arg(&definition))
    .code(0)
    .json();
    assert_eq!(updated["version"], 2);

    let listed = run(api
        .cmd()
        .args(["--json", "schemas", "list", "--type", "invoice"]))
    .code(0)
    .json();
    assert_eq!(listed["schemas"][0]["id"], id.as_str());
    let table = run(api.cmd().args(["schemas", "list"])).code(0);
    assert!(table.stdout.starts_with("ID") && table.stdout.contains(&id));
}

#[test]
fn files_are_listed_shown_downloaded_and_deleted() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let id = run(api.cmd().arg("upload").arg(&invoice))
        .code(0)
        .stdout
        .trim()
        .to_string();

    let listed = run(api.cmd().args(["--json", "files", "list"]))
        .code(0)
        .json();
    assert_eq!(listed["files"][0]["id"], id.as_str());
    let table = run(api.cmd().args(["files", "list"])).code(0);
    assert!(table.stdout.starts_with("ID") && table.stdout.contains("invoice.pdf"));

    let got = run(api.cmd().args(["--json", "files", "get", &id]))
        .code(0)
        .json();
    assert_eq!(got["filename"], "invoice.pdf");

    let copy = api.dir.path().join("copy.pdf");
    run(api
        .cmd()
        .args(["files", "download", &id, "--out"])
        .arg(&copy))
    .code(0);
    assert_eq!(
        std::fs::read(&copy).expect("downloaded"),
        invaro_sandbox::samples::INVOICE_PDF
    );
    let piped = api
        .cmd()
        .args(["files", "download", &id, "--out", "-"])
        .output();
    assert_eq!(
        piped.expect("runs").stdout,
        invaro_sandbox::samples::INVOICE_PDF
    );

    let deleted = run(api.cmd().args(["--json", "files", "delete", &id]))
        .code(0)
        .json();
    assert_eq!(deleted["file_id"], id.as_str());
    let again = run(api.cmd().args(["files", "delete", &id])).code(1);
    assert!(again.stderr.contains("409"), "{}", again.stderr);
}

#[test]
fn webhook_signatures_made_by_sign_pass_verify() {
    let body = br#"{"event":"job.completed","job_id":"job_7"}"#;
    let signed = run(bare()
        .args(["webhook", "sign", "--secret", "whsec_1"])
        .write_stdin(body.as_slice()))
    .code(0);
    let header = signed.stdout.trim().to_string();
    assert_eq!(header, invaro::webhook::sign("whsec_1", body));

    let verified = run(bare()
        .args([
            "--json",
            "webhook",
            "verify",
            "--secret",
            "whsec_1",
            "--signature",
            &header,
            "-",
        ])
        .write_stdin(body.as_slice()))
    .code(0)
    .json();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["event"]["job_id"], "job_7");

    let forged = run(bare()
        .args(["webhook", "verify", "--signature", &header])
        .env("INVARO_WEBHOOK_SECRET", "another")
        .write_stdin(body.as_slice()))
    .code(1);
    assert!(
        forged.stderr.contains("does not match"),
        "{}",
        forged.stderr
    );
    assert!(!forged.stderr.contains("another"));
}

#[test]
fn demo_parses_the_bundled_sample_end_to_end() {
    let out = run(bare().args(["demo", "--instant"])).code(0);
    assert!(out.json().get("bank_details").is_some(), "{}", out.stdout);
    assert!(out.stderr.contains("sandbox"), "{}", out.stderr);
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(bare().args(["completions", shell])).code(0);
        assert!(out.stdout.contains("invaro"), "{shell}");
        assert!(
            out.stdout.contains("schemas"),
            "{shell}: subcommands are completed"
        );
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    let commands: &[&[&str]] = &[
        &[],
        &["parse"],
        &["upload"],
        &["start"],
        &["status"],
        &["wait"],
        &["batch"],
        &["schemas", "list"],
        &["schemas", "get"],
        &["schemas", "create"],
        &["schemas", "update"],
        &["files", "list"],
        &["files", "get"],
        &["files", "download"],
        &["files", "delete"],
        &["webhook", "verify"],
        &["webhook", "sign"],
        &["sandbox"],
        &["demo"],
        &["completions"],
    ];
    for command in commands {
        let out = run(bare().args(*command).arg("--help")).code(0);
        assert!(
            out.stdout.contains("Example"),
            "{command:?}:\n{}",
            out.stdout
        );
        assert!(
            !out.stdout.contains("poll-ms"),
            "the test-only option stays hidden"
        );
    }
}

#[cfg(unix)]
#[test]
fn the_sandbox_command_serves_until_interrupted() {
    let mut child = std::process::Command::new(crate::support::BIN)
        .args(["sandbox", "--addr", "127.0.0.1:0", "--api-key", KEY])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("invaro sandbox starts");
    let stdout = crate::support::lines(child.stdout.take().expect("piped"));
    let seen = crate::support::wait_for_line(&stdout, "listening on");
    let url = seen
        .last()
        .and_then(|line| line.split_whitespace().last())
        .expect("the URL ends the line")
        .to_string();
    let status = run(bare().args(["--base-url", &url, "--api-key", KEY, "files", "list"]));
    crate::support::interrupt(&child);
    let code = crate::support::exit_code(&mut child);
    status.code(0);
    assert_eq!(code, 0, "the sandbox stops cleanly on Ctrl-C");
}

#[test]
fn rate_limit_sets_the_pace_of_every_command() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    // Two requests a minute: the upload and the start go, the first status check must wait
    // about 30 s, far beyond the timeout.
    let out = run(api
        .cmd()
        .env("INVARO_RATE_LIMIT", "2")
        .args(["parse", "--kind", "invoice", "--timeout", "300ms"])
        .arg(&invoice))
    .code(4);
    assert!(out.stderr.contains("no status seen"), "{}", out.stderr);
    let fast = run(api
        .cmd()
        .env("INVARO_RATE_LIMIT", "2")
        .args([
            "--rate-limit",
            "1000",
            "parse",
            "--kind",
            "invoice",
            "--timeout",
            "10s",
        ])
        .arg(&invoice))
    .code(0);
    assert!(fast.stdout.contains("bank_details"), "{}", fast.stdout);
}
