//! Driving a server with wrk: the Lua scripts, the run, and its parsed result.

use std::path::Path;
use std::process::Command;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    pub requests: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses with a status outside 2xx/3xx.
    pub bad_status: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

impl Load {
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Makes sure `wrk` is there: installs the Debian package when it is missing.
pub fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("wrk is missing: installing the Debian package `wrk` with apt-get");
    let sudo = !is_root();
    let run = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd.status().map(|s| s.success()).unwrap_or(false)
    };
    let installed = run(&["install", "-y", "-qq", "wrk"])
        || (run(&["update", "-qq"]) && run(&["install", "-y", "-qq", "wrk"]));
    if !installed {
        return Err("cannot install wrk; install it (apt-get install wrk) and run again".into());
    }
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|_| ())
        .map_err(|e| format!("wrk still cannot run: {e}"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Lua shared by every script: the ward codes requests spread over, and the machine-readable
/// summary line the harness parses.
fn common_lua(wards: &[String]) -> String {
    let list: Vec<String> = wards.iter().map(|w| format!("\"{w}\"")).collect();
    format!(
        r#"
local wards = {{ {} }}
local threads = {{}}
local counter = 0
setup = function(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
init = function(args)
  math.randomseed((tid or 0) * 7919 + os.time())
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d bad_status=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#,
        list.join(",")
    )
}

/// GET of a survey page, spread over the wards.
pub fn page_script(wards: &[String]) -> String {
    common_lua(wards)
        + r#"
request = function()
  return wrk.format("GET", "/s/" .. wards[math.random(#wards)])
end
"#
}

/// GET of one fixed path.
pub fn fixed_get_script(path: &str) -> String {
    common_lua(&[])
        + &format!(
            r#"
request = function()
  return wrk.format("GET", "{path}")
end
"#
        )
}

/// GET of a path with `{{ward}}` replaced by a ward code, spread over the wards.
pub fn ward_get_script(wards: &[String], prefix: &str, suffix: &str) -> String {
    common_lua(wards)
        + &format!(
            r#"
request = function()
  return wrk.format("GET", "{prefix}" .. wards[math.random(#wards)] .. "{suffix}")
end
"#
        )
}

/// POST of a complete, valid 17-field survey form with varied answers and a unique comment.
pub fn form_script(wards: &[String]) -> String {
    common_lua(wards)
        + r#"
local likert = {"a1","a2","r1","r2","s1","s2","c1","c2","p1","p2","overall"}
local sexes = {"m","f","x"}
local ages = {"18-34","35-54","55%2B"}
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
request = function()
  counter = counter + 1
  -- A resident's address from a pool of about 16 million (the server trusts loopback's header).
  headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  local parts = {}
  for i = 1, #likert do
    parts[#parts + 1] = likert[i] .. "=" .. math.random(1, 5)
  end
  parts[#parts + 1] = "used_procedures=yes"
  parts[#parts + 1] = "trust=" .. math.random(0, 10)
  parts[#parts + 1] = "sex=" .. sexes[math.random(3)]
  parts[#parts + 1] = "age=" .. ages[math.random(3)]
  parts[#parts + 1] = "issue=Tr%E1%BB%99m+c%E1%BA%AFp+xe+m%C3%A1y"
  parts[#parts + 1] = "comment=G%C3%B3p+%C3%BD+" .. (tid or 0) .. "-" .. counter .. "-" .. math.random(1000000)
  return wrk.format("POST", "/s/" .. wards[math.random(#wards)], headers, table.concat(parts, "&"))
end
"#
}

/// Runs wrk against `base` with `script` for `seconds`, after a one-second warm-up.
pub fn run(
    base: &str,
    script: &str,
    dir: &Path,
    seconds: u64,
    connections: u32,
    threads: u32,
) -> Result<Load, String> {
    let file = dir.join(format!("wrk-{}.lua", rand_suffix()));
    std::fs::write(&file, script).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let go = |secs: u64| -> Result<Load, String> {
        let out = Command::new("wrk")
            .arg(format!("-t{threads}"))
            .arg(format!("-c{connections}"))
            .arg(format!("-d{secs}s"))
            .arg("--timeout")
            .arg("5s")
            .arg("-s")
            .arg(&file)
            .arg(base)
            .output()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        parse(&text).ok_or_else(|| {
            format!(
                "wrk printed no summary:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    go(1)?;
    go(seconds)
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn parse(text: &str) -> Option<Load> {
    let line = text.lines().find(|l| l.starts_with("BENCH "))?;
    let mut load = Load::default();
    for kv in line.split_whitespace().skip(1) {
        let (k, v) = kv.split_once('=')?;
        let v: u64 = v.parse().ok()?;
        match k {
            "requests" => load.requests = v,
            "duration_us" => load.seconds = v as f64 / 1e6,
            "p50_us" => load.p50_ms = v as f64 / 1e3,
            "p99_us" => load.p99_ms = v as f64 / 1e3,
            "bad_status" => load.bad_status = v,
            "socket_errors" => load.socket_errors = v,
            _ => {}
        }
    }
    Some(load)
}
