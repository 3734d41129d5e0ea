//! `--verbose` on a long run: the rate budget on stderr once a second.

use crate::{
    scripted::Scripted,
    support::{exit_code, interrupt, spawn, std_cmd_at, wait_for_line},
};

#[test]
fn a_long_wait_shows_the_budget_once_a_second_and_only_with_verbose() {
    let server = Scripted::start();
    // job_1 stays pending: both waits run until interrupted. The quiet one starts first, so it
    // has run longer than the verbose one once that shows its budget.
    let (mut quiet, _, quiet_stderr) =
        spawn(std_cmd_at(server.url()).args(["wait", "--kind", "statement", "job_1"]));
    wait_for_line(&quiet_stderr, "pending");
    let (mut verbose, _stdout, stderr) = spawn(
        std_cmd_at(server.url())
            .args(["-v", "--rate-limit", "120"])
            .args(["wait", "--kind", "statement", "job_1"]),
    );
    let seen = wait_for_line(&stderr, "budget: ");
    interrupt(&verbose);
    interrupt(&quiet);
    assert_eq!(exit_code(&mut verbose), 130);
    assert_eq!(exit_code(&mut quiet), 130);
    let line = seen.last().expect("the budget line");
    assert!(line.contains(" of 120 left per 60s, "), "{line}");
    assert!(line.contains(" waiting, next in "), "{line}");
    assert!(
        quiet_stderr.iter().all(|line| !line.contains("budget: ")),
        "no budget line without -v"
    );
}
