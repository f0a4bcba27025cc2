//! Starting the servers under test (the release `hailong` and the bare axum yardstick) and
//! reading their peak memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub base: String,
    child: Child,
}

impl Server {
    /// Starts `bin args…` and waits for the line announcing `http://ADDR` on stdout.
    pub fn start(name: &str, mut cmd: Command) -> Result<Server, String> {
        cmd.stdout(Stdio::piped()).stdin(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("{name}: no stdout"))?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("{name}: {e}"))?;
            if n == 0 {
                let status = child.wait().map_err(|e| e.to_string())?;
                return Err(format!("{name} stopped before serving ({status})"));
            }
            if let Some(i) = line.find("http://") {
                let base = line[i..].trim().to_string();
                // Keep draining stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || {
                    let mut sink = String::new();
                    while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                        sink.clear();
                    }
                });
                return Ok(Server { base, child });
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in MB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        peak_rss_mb(self.pid())
    }

    /// Stops the server; returns its peak RSS in MB.
    pub fn stop(mut self) -> Option<f64> {
        let rss = self.peak_rss_mb();
        let _ = self.child.kill();
        let _ = self.child.wait();
        rss
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `hailong serve` on `db_url`, rate limits off, on a free loopback port. wrk stands for a
/// reverse proxy in front of many residents: the server trusts loopback's `X-Forwarded-For`,
/// which the load scripts fill with addresses drawn from a large pool (see `load::form_script`),
/// so that the per-address rules see traffic as they would from a city, not from one client.
pub fn hailong(bin: &Path, repo: &Path, work: &Path, db_url: &str) -> Result<Server, String> {
    let config = work.join("bench-proxy.toml");
    std::fs::write(
        &config,
        "[rate_limit]\ntrusted_proxy_header = \"X-Forwarded-For\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .current_dir(work)
        .env("HAILONG_DATABASE_URL", db_url)
        .env("HAILONG_LISTEN", "127.0.0.1:0")
        .env("HAILONG_RATE_LIMIT", "off")
        .env("HAILONG_SURVEYS_DIR", repo.join("surveys"))
        .env("HAILONG_MAIL_DIR", work.join("mail"))
        .env("HAILONG_CONFIG", &config)
        .env("RUST_LOG", "error")
        .stderr(Stdio::inherit());
    Server::start("hailong", cmd)
}

/// The bare axum yardstick on a free loopback port.
pub fn bare(bin: &Path) -> Result<Server, String> {
    let mut cmd = Command::new(bin);
    cmd.arg("127.0.0.1:0").stderr(Stdio::inherit());
    Server::start("bare", cmd)
}

/// Builds the release binaries the harness starts and returns (hailong, bare).
pub fn build(repo: &Path) -> Result<(PathBuf, PathBuf), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the release binaries (hailong, bare)…");
    let status = Command::new(cargo)
        .current_dir(repo)
        .args([
            "build",
            "--release",
            "-p",
            "hailong",
            "--bin",
            "hailong",
            "-p",
            "hailong-bench",
            "--bin",
            "bare",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let dir = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no folder for the bench binary")?;
    let hailong = dir.join("hailong");
    let bare = dir.join("bare");
    for b in [&hailong, &bare] {
        if !b.exists() {
            return Err(format!("{} was not built", b.display()));
        }
    }
    Ok((hailong, bare))
}
