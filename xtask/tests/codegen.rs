//! The snapshot drift check, as an ordinary test: `cargo test` fails when the committed
//! generated client is not exactly what openapi.yaml and the pinned progenitor produce.

use std::fs;

use xtask::{
    codegen::{self, Paths},
    project_root,
};

fn root() -> std::path::PathBuf {
    project_root().expect("the tests run inside the workspace")
}

#[test]
fn committed_snapshot_matches_the_spec() {
    codegen::run(&Paths::under(&root()), true).unwrap_or_else(|diff| panic!("{diff}"));
}

#[test]
fn a_changed_spec_fails_the_check_with_a_diff_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let real = Paths::under(&root());
    let spec = fs::read_to_string(&real.spec).unwrap();
    let changed = spec.replace(
        "        job_id:\n          type: string\n          example: job_1739261168870934041\n",
        "        job_id:\n          type: string\n          example: job_1739261168870934041\n        priority:\n          type: integer\n",
    );
    assert_ne!(changed, spec, "the test must really change the spec");
    let paths = Paths {
        spec: dir.path().join("openapi.yaml"),
        snapshot: dir.path().join("generated.rs"),
    };
    fs::write(&paths.spec, changed).unwrap();
    fs::copy(&real.snapshot, &paths.snapshot).unwrap();
    let before = fs::read(&paths.snapshot).unwrap();

    let error = codegen::run(&paths, true).unwrap_err();
    assert!(error.contains("+        pub priority:"), "{error}");
    assert!(error.contains("Run `cargo xtask codegen`"), "{error}");
    assert_eq!(
        fs::read(&paths.snapshot).unwrap(),
        before,
        "check mode writes nothing"
    );

    codegen::run(&paths, false).unwrap();
    codegen::run(&paths, true).unwrap();
}
