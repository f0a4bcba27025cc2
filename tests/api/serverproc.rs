//! `hailong serve` as a child process (the real binary, as an operator runs it): started on
//! port 0, its address read from its JSON log; stopped with SIGTERM or killed with SIGKILL.
//! Dropping it kills the process, so a failing test leaves nothing running.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::helpers::repo_path;

/// How long a server may take to migrate, load the units and bind.
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// The last lines the server logged (for failure messages).
    log: Arc<Mutex<Vec<String>>>,
    /// Every line the server logs, in order, for [`ServerProcess::wait_for_log`].
    lines: Mutex<mpsc::Receiver<String>>,
}

/// The command of `hailong serve` on `db_url`, run in `dir`, without rate limits.
fn command(db_url: &str, dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hailong"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_remove("HAILONG_CONFIG")
        .env_remove("HAILONG_SMTP_URL")
        .env("HAILONG_DATABASE_URL", db_url)
        .env("HAILONG_SURVEYS_DIR", repo_path("surveys"))
        .env("HAILONG_MAIL_DIR", dir.join("mail"))
        .env("HAILONG_LISTEN", "127.0.0.1:0")
        .env("HAILONG_RATE_LIMIT", "off")
        .env("HAILONG_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,hailong=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The address in a `serving` log line (`{"fields":{"message":"serving","addr":"…"}}`).
fn serving_addr(line: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields")?;
    if fields.get("message")?.as_str()? != "serving" {
        return None;
    }
    fields.get("addr")?.as_str()?.parse().ok()
}

/// A started server whose address is not known yet.
pub struct Starting {
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
    addr_rx: mpsc::Receiver<SocketAddr>,
    lines: Option<mpsc::Receiver<String>>,
}

impl Starting {
    /// Waits until the server logs its address; panics with its log if it exits or takes
    /// too long.
    pub fn ready(mut self) -> ServerProcess {
        let deadline = Instant::now() + START_TIMEOUT;
        let log = self.log.clone();
        let child = self.child.as_mut().expect("not started twice");
        loop {
            match self.addr_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    return ServerProcess {
                        child: self.child.take().expect("the child"),
                        addr,
                        log,
                        lines: Mutex::new(self.lines.take().expect("not started twice")),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stderr closed: the process ended. Give the reader a moment to store
                    // the last lines.
                    std::thread::sleep(Duration::from_millis(100));
                    let status = child.wait().ok();
                    panic!(
                        "hailong serve exited before serving ({status:?}):\n{}",
                        log.lock().unwrap().join("\n")
                    );
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "hailong serve exited before serving ({status}):\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "hailong serve did not start within {START_TIMEOUT:?}:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        // A child still here was not handed over (`ready` panicked or was not called): never
        // leave a process behind.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `hailong serve` without waiting for it (so that several can start at once).
pub fn start(db_url: &str, dir: &Path, env: &[(&str, &str)]) -> Starting {
    let mut child = command(db_url, dir, env)
        .spawn()
        .expect("run hailong serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, addr_rx) = mpsc::channel();
    let (lines_tx, lines) = mpsc::channel();
    let keep = log.clone();
    // Reads stderr to its end (a full pipe would block the server), keeping the last lines.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = serving_addr(&line)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr);
            }
            let _ = lines_tx.send(line.clone());
            let mut log = keep.lock().unwrap();
            if log.len() >= 200 {
                log.remove(0);
            }
            log.push(line);
        }
    });
    Starting {
        child: Some(child),
        log,
        addr_rx,
        lines: Some(lines),
    }
}

impl ServerProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until the server logs a line whose message is `message` (and, when given, whose
    /// `target` is `target`); panics with the log after `timeout`. Lines logged before the
    /// server was ready count too.
    pub fn wait_for_log(&self, message: &str, target: Option<&str>, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let lines = self.lines.lock().unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue;
                    };
                    let msg = v.pointer("/fields/message").and_then(|m| m.as_str());
                    let tgt = v.get("target").and_then(|t| t.as_str());
                    if msg == Some(message) && target.is_none_or(|t| tgt == Some(t)) {
                        return;
                    }
                }
                Err(e) => panic!(
                    "the server did not log {message:?} within {timeout:?} ({e}):\n{}",
                    self.log()
                ),
            }
        }
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// SIGKILL: the process ends at once, in-flight requests and all.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGTERM, then waits (bounded) for a clean exit; returns whether it exited with 0.
    pub fn stop(self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.exits_within(Duration::from_secs(30))
    }

    /// Waits for the process to end (killing it after `timeout`); returns whether it exited
    /// with 0.
    pub fn exits_within(mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
