//! One real `trophyd` process, for the tests that need more than `TestApp` gives: a SIGKILL
//! (crash.rs), a clean SIGTERM and a stopped node for the tenant tools (tenant_move.rs), the
//! serve banner and shutdown (cli.rs). It listens on `127.0.0.1:0`; its address is the first
//! line it prints, and the rest of its output is read on a thread (handed over line by line)
//! so that it never blocks on a full pipe.

// Each test file that includes this uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_trophyd");

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Trophyd {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, from the first line.
    pub url: String,
    lines: mpsc::Receiver<String>,
}

impl Trophyd {
    /// Starts `trophyd --listen 127.0.0.1:0` with what `configure` adds (arguments, working
    /// directory, environment, where stderr goes; stdout is taken here).
    pub fn start(configure: impl FnOnce(&mut Command)) -> Trophyd {
        let mut command = Command::new(BIN);
        command
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("TROPHYD_LISTEN")
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        configure(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start trophyd");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Nobody may be listening any more; keep draining anyway.
                let _ = tx.send(line);
            }
        });
        let mut server = Trophyd {
            child: Some(child),
            url: String::new(),
            lines,
        };
        let first = server.next_line();
        let url = first
            .strip_prefix("trophyd listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        server.url = url.trim().to_owned();
        server
    }

    /// The next line printed (the first is the address).
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("trophyd printed no line within {START_TIMEOUT:?}: {e}"))
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("reap");
        }
    }

    /// SIGTERM, as a supervisor stops it, and its exit status once it has stopped.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("trophyd is running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        child.wait().expect("wait")
    }
}

impl Drop for Trophyd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
