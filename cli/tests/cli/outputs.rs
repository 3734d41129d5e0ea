//! `--out`: one result file per input, checked before anything is sent, never overwritten
//! unless asked.

use crate::support::{Api, entries, json_file_has, run};

#[test]
fn same_named_files_are_saved_apart_and_never_overwritten() {
    let api = Api::start();
    for folder in ["a", "b"] {
        std::fs::create_dir(api.dir.path().join(folder)).expect("a folder");
    }
    let a = api.invoice("a/invoice.pdf");
    let b = api.file("b/invoice.pdf", invaro_sandbox::samples::STATEMENT_PDF);
    let out_dir = api.dir.path().join("results");
    let parse = |extra: &[&str]| {
        let mut cmd = api.cmd();
        cmd.args(["parse", "--kind", "statement", "--out"])
            .arg(&out_dir)
            .args(extra)
            .arg(&a)
            .arg(&b);
        run(&mut cmd)
    };
    let out = parse(&[]).code(0);
    let saved_a = out_dir.join("a").join("invoice.pdf.json");
    let saved_b = out_dir.join("b").join("invoice.pdf.json");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [saved_a.display().to_string(), saved_b.display().to_string()],
        "{}",
        out.stderr
    );
    let text_a = std::fs::read_to_string(&saved_a).expect("a's result");
    let text_b = std::fs::read_to_string(&saved_b).expect("b's result");
    assert_ne!(text_a, text_b, "each file's own result");
    assert!(json_file_has(&saved_a, "transactions"));
    assert_eq!(entries(&out_dir), ["a", "b"]);

    // Again: the results are there, so nothing is sent and nothing is replaced.
    std::fs::write(&saved_b, "mine").expect("written");
    let before = api.stats().requests;
    let again = parse(&[]).code(2);
    assert!(
        again.stderr.contains(&saved_a.display().to_string())
            && again.stderr.contains("already exists")
            && again.stderr.contains("--overwrite"),
        "{}",
        again.stderr
    );
    assert_eq!(api.stats().requests, before, "nothing was sent");
    assert_eq!(std::fs::read_to_string(&saved_b).expect("kept"), "mine");

    parse(&["--overwrite"]).code(0);
    assert_eq!(std::fs::read_to_string(&saved_b).expect("replaced"), text_b);
    assert_eq!(
        entries(&out_dir.join("b")),
        ["invoice.pdf.json"],
        "no temporary file left"
    );
}

#[test]
fn batch_refuses_to_overwrite_results_before_sending() {
    let api = Api::start();
    let docs = api.dir.path().join("docs");
    std::fs::create_dir(&docs).expect("a folder");
    std::fs::write(docs.join("one.pdf"), invaro_sandbox::samples::INVOICE_PDF).expect("written");
    let out_dir = api.dir.path().join("out");
    let batch = |extra: &[&str]| {
        let mut cmd = api.cmd();
        cmd.args(["batch", "--kind", "invoice", "--out"])
            .arg(&out_dir)
            .args(extra)
            .arg(&docs);
        run(&mut cmd)
    };
    batch(&[]).code(0);
    let jobs = api.stats().jobs_created;
    // A rerun resumes from the journal: the result is its own, and nothing is sent again.
    batch(&[]).code(0);
    assert_eq!(api.stats().jobs_created, jobs);
    // Without the journal the result file is someone else's.
    std::fs::remove_file(docs.join(".invaro-batch.sqlite")).expect("the journal is there");
    let again = batch(&[]).code(2);
    assert!(again.stderr.contains("one.pdf.json"), "{}", again.stderr);
    assert_eq!(api.stats().jobs_created, jobs);
    batch(&["--overwrite"]).code(0);
    assert_eq!(api.stats().jobs_created, jobs + 1);
}

#[test]
fn a_bad_out_is_refused_before_anything_is_sent() {
    let api = Api::start();
    let invoice = api.invoice("invoice.pdf");
    let file = api.file("not-a-folder", b"x");
    let out = run(api
        .cmd()
        .args(["parse", "--kind", "invoice", "--out"])
        .arg(&file)
        .arg(&invoice))
    .code(2);
    assert!(
        out.stderr.contains("--out") && out.stderr.contains("is a file, not a folder"),
        "{}",
        out.stderr
    );
    let out = run(api
        .cmd()
        .args(["batch", "--kind", "invoice", "--out"])
        .arg(file.join("sub"))
        .arg(api.dir.path()))
    .code(2);
    assert!(out.stderr.contains("cannot be created"), "{}", out.stderr);
    let out = run(api
        .cmd()
        .args(["files", "download", "some-id", "--out"])
        .arg(api.dir.path().join("no/such/folder/x.pdf")))
    .code(2);
    assert!(out.stderr.contains("x.pdf"), "{}", out.stderr);
    let out = run(api
        .cmd()
        .args(["files", "download", "some-id", "--out"])
        .arg(api.dir.path()))
    .code(2);
    assert!(out.stderr.contains("is a folder"), "{}", out.stderr);
    assert_eq!(api.stats().requests, 0, "nothing reached the API");
    assert_eq!(std::fs::read(&file).expect("kept"), b"x");
}
