//! A `redis-server` of a test's own on a free port of 127.0.0.1, with nothing saved to disk,
//! stopped when dropped. Without `redis-server` on the machine the Redis tests are skipped with
//! a note (a fresh machine has only the Rust toolchain), except in CI (`CI` set), which installs
//! it and where its absence fails them.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port, or `None` (with a note) when the machine has no
    /// `redis-server` outside CI.
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        match spawn(port) {
            Some(child) => {
                let mut server = Self { child, port };
                server.wait_ready();
                Some(server)
            }
            None if std::env::var_os("CI").is_some() => {
                panic!("redis-server is not installed; .ci/run installs it")
            }
            None => {
                eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
                None
            }
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (its script cache and keys go with it).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.port).expect("redis-server started once already");
        self.wait_ready();
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing answers.
    pub fn freeze(&self) {
        signal("-STOP", self.child.id());
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        signal("-CONT", self.child.id());
    }

    /// Runs one command (inline form, such as `FLUSHALL`) and returns the raw reply.
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("redis answers");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a timeout");
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("written");
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Waits (at most 10 s) until it says it accepts connections; its log is drained from
    /// then on, so that a full pipe never stops it.
    fn wait_ready(&mut self) {
        let log = self.child.stdout.take().expect("the log is piped");
        let (ready, said) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        said.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                panic!(
                    "redis-server on port {} was not ready within 10 s",
                    self.port
                )
            });
    }

    /// A connection that sees every command the server runs from now on (`MONITOR`).
    pub fn monitor(&self) -> Monitor {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("redis answers");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a timeout");
        stream.write_all(b"MONITOR\r\n").expect("written");
        let mut lines = BufReader::new(stream);
        let mut ok = String::new();
        lines.read_line(&mut ok).expect("MONITOR answers");
        assert!(ok.starts_with("+OK"), "MONITOR answered {ok:?}");
        Monitor(lines)
    }
}

/// What a `MONITOR` connection sees.
pub struct Monitor(BufReader<TcpStream>);

impl Monitor {
    /// Waits (at most 30 s without a command) until `count` commands containing every one of
    /// `parts` have run, and returns the last of them.
    pub fn until(&mut self, count: usize, parts: &[&str]) -> String {
        let mut seen = 0;
        loop {
            let mut line = String::new();
            self.0.read_line(&mut line).expect("a command within 30 s");
            if parts.iter().all(|part| line.contains(part)) {
                seen += 1;
                if seen == count {
                    return line;
                }
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
    }
}

fn spawn(port: u16) -> Option<Child> {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn signal(which: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([which, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}
