//! The import scenario: a file of paper ballots written to disk, `hailong responses import`
//! run on it as a child process, its wall time and peak resident memory, then
//! `hailong index verify`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What one import took.
pub struct Imported {
    pub ballots: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The child's peak RSS (VmHWM), read every 5 ms while it ran.
    pub peak_rss_mb: f64,
    pub stdout: String,
}

/// A Likert answer: a few `na`, and answers leaning to agreement, as real ones do.
fn likert(rng: &mut StdRng) -> String {
    match rng.gen_range(0..20) {
        0 => "na".into(),
        x => (1 + (x % 5).max(rng.gen_range(0..5))).min(5).to_string(),
    }
}

/// Writes `total` valid ballots over `wards` and the last 180 days; returns the file's size.
pub fn write_ballots(path: &Path, wards: &[String], total: u64) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut rng = StdRng::seed_from_u64(11);
    let today = chrono::Utc::now().date_naive();
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        w,
        "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,p1,p2,overall,trust,issue,comment"
    )
    .map_err(io)?;
    for i in 0..total {
        let ward = &wards[(i as usize) % wards.len()];
        let day = today - chrono::Duration::days(rng.gen_range(1..180));
        let sex = ["m", "f", "x", ""][rng.gen_range(0..4)];
        let age = ["18-34", "35-54", "55+", ""][rng.gen_range(0..4)];
        write!(w, "{ward},{day},{sex},{age}").map_err(io)?;
        for _ in 0..8 {
            let v = likert(&mut rng);
            write!(w, ",{v}").map_err(io)?;
        }
        if rng.gen_bool(0.4) {
            let (p1, p2) = (likert(&mut rng), likert(&mut rng));
            write!(w, ",yes,{p1},{p2}").map_err(io)?;
        } else {
            write!(w, ",no,,").map_err(io)?;
        }
        let overall = rng.gen_range(1..=5);
        let trust = rng.gen_range(0..=10);
        let comment = if rng.gen_bool(0.3) {
            format!("\"Cán bộ tiếp dân, phiếu số {i}\"")
        } else {
            String::new()
        };
        writeln!(w, ",{overall},{trust},,{comment}").map_err(io)?;
    }
    w.flush().map_err(io)?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| e.to_string())
}

/// Runs `hailong responses import FILE` on `db_url` and watches its memory.
pub fn run(
    bin: &Path,
    repo: &Path,
    work: &Path,
    db_url: &str,
    file: &Path,
) -> Result<Imported, String> {
    let out_path = work.join("import.out");
    let err_path = work.join("import.err");
    let open = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["responses", "import"])
        .arg(file)
        .current_dir(work)
        .env("HAILONG_DATABASE_URL", db_url)
        .env("HAILONG_SURVEYS_DIR", repo.join("surveys"))
        .env("HAILONG_MAIL_DIR", work.join("mail"))
        .env_remove("HAILONG_CONFIG")
        .env("RUST_LOG", "error")
        .stdout(open(&out_path)?)
        .stderr(open(&err_path)?)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start hailong responses import: {e}"))?;
    let pid = child.id();
    let mut peak = 0.0f64;
    let status = loop {
        // VmHWM only grows: the last reading before the exit is the peak but for the last 5 ms.
        if let Some(mb) = crate::server::peak_rss_mb(pid) {
            peak = peak.max(mb);
        }
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let stdout = read(&out_path).trim().to_string();
    if !status.success() {
        let stderr: String = read(&err_path)
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!(
            "hailong responses import failed ({status}): {stdout}\n{stderr}"
        ));
    }
    let ballots = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Imported {
        ballots,
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        seconds,
        peak_rss_mb: peak,
        stdout,
    })
}
