//! Under a pseudo-terminal, progress is drawn as bars.

use std::{
    io::Read,
    sync::mpsc,
    time::{Duration, Instant},
};

use invaro_sandbox::JobTimings;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::support::{Api, BIN, KEY};

#[test]
fn progress_bars_are_drawn_when_stderr_is_a_terminal() {
    let api = Api::with_timings(JobTimings {
        pending: Duration::from_millis(50),
        processing: Duration::from_millis(300),
    });
    let invoice = api.invoice("invoice.pdf");
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args([
        "--base-url",
        api.url(),
        "--api-key",
        KEY,
        "parse",
        "--kind",
        "invoice",
    ]);
    cmd.arg(&invoice);
    cmd.env("INVARO_POLL_MS", "20");
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("invaro starts");
    drop(pty.slave);

    let mut reader = pty.master.try_clone_reader().expect("a reader");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Reading ends with an error (EIO) once the child has exited and closed the terminal.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut screen = Vec::new();
    let exit = loop {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(50)) {
            screen.extend(chunk);
        }
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            // Drain what is left.
            while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
                screen.extend(chunk);
            }
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "invaro did not finish within 15 s"
        );
    };
    let screen = String::from_utf8_lossy(&screen);
    assert!(exit.success(), "{screen}");
    assert!(screen.contains("[##########"), "no bar drawn:\n{screen}");
    assert!(screen.contains("100% done"), "no finished bar:\n{screen}");
    assert!(
        !screen.contains(": uploading 698 bytes"),
        "plain progress lines instead of bars:\n{screen}"
    );
    assert!(screen.contains("bank_details"), "the result is printed too");
}
