//! The benchmark harness: `cargo run --release -p hailong-bench --bin bench [-- OPTIONS]`.
//!
//! It builds the release `hailong` and the bare axum yardstick (`benches/bare.rs`), starts them
//! on loopback with a fresh database and `HAILONG_RATE_LIMIT=off`, drives them with wrk
//! (installed with apt-get when missing), each scenario bounded in time, and prints:
//! survey page requests/s and p99; durable submissions/s and p99 on SQLite and PostgreSQL;
//! satisfaction and ranking read latency with 1,000,000 stored responses next to a naive
//! recompute from raw rows; the servers' peak RSS; and every throughput as a ratio to the bare
//! endpoint measured in the same run, against its targets (benches/README.md).

mod data;
mod import;
mod load;
mod results;
mod server;
mod writer;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hailong::entities::response;
use hailong::period::Period;
use hailong::store::figures::MeasureCtx;
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};

#[derive(Parser, Debug)]
#[command(name = "bench", about = "Hài Lòng benchmark harness")]
struct Args {
    /// Seconds per load scenario (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Wards the load and the stored responses spread over (the first ones of the unit list).
    #[arg(long, default_value_t = 1000)]
    wards: usize,
    /// Responses stored for the read benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    responses: u64,
    /// A PostgreSQL server where the harness may create a database (also
    /// `HAILONG_BENCH_POSTGRES_URL` or `HAILONG_TEST_POSTGRES_URL`); without it the PostgreSQL
    /// scenario is skipped.
    #[arg(long)]
    postgres: Option<String>,
    /// Skip the read benchmark (and its million responses).
    #[arg(long)]
    skip_reads: bool,
    /// Rounds of the submission scenarios: each round measures the bare form, then SQLite, then
    /// PostgreSQL submissions, one after the other, so that each ratio compares loads run
    /// seconds apart; the targets use the median round. On a shared machine whose speed drifts
    /// over minutes, one long round can compare the bare form on a fast stretch with the
    /// submissions on a slow one.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Do not run `cargo build --release` first (use the binaries next to this one).
    #[arg(long)]
    no_build: bool,
    /// Run only the public results scenario (results pages against the bare static page),
    /// over the first `--wards` wards.
    #[arg(long)]
    only_results: bool,
    /// Run only this scenario: `import` (paper ballots through `hailong responses import`).
    #[arg(long, value_parser = ["import"])]
    only: Option<String>,
    /// Skip the import scenario in a full run.
    #[arg(long)]
    skip_import: bool,
    /// Paper ballots in the import scenario's file.
    #[arg(long, default_value_t = 1_000_000)]
    import_ballots: u64,
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    misses: Vec<String>,
    peak_rss_mb: f64,
}

impl Report {
    fn line(&mut self, s: String) {
        println!("{s}");
        self.lines.push(s);
    }
    fn target(&mut self, what: &str, value: f64, ok: bool, target: &str) {
        let verdict = if ok { "ok" } else { "MISSED" };
        self.line(format!("  target {what}: {value:.3} ({target}) {verdict}"));
        if !ok {
            self.misses
                .push(format!("{what}: {value:.3}, target {target}"));
        }
    }
    fn rss(&mut self, name: &str, mb: Option<f64>) {
        if let Some(mb) = mb {
            self.line(format!("  peak RSS of {name}: {mb:.1} MB"));
            self.peak_rss_mb = self.peak_rss_mb.max(mb);
        }
    }
}

fn load_line(name: &str, l: &load::Load) -> String {
    format!(
        "{name:<44} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests in {:.1} s, {} bad status, {} socket errors)",
        l.rps(),
        l.p50_ms,
        l.p99_ms,
        l.requests,
        l.seconds,
        l.bad_status,
        l.socket_errors
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) if report.misses.is_empty() => {
            println!("\nall targets met");
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("\ntargets missed:");
            for m in &report.misses {
                println!("  {m}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn stored_responses(url: &str) -> Result<u64, String> {
    let db = Database::connect(url).await.map_err(|e| e.to_string())?;
    let n = response::Entity::find()
        .count(&db)
        .await
        .map_err(|e| e.to_string())?;
    db.close().await.ok();
    Ok(n)
}

fn verify(bin: &Path, repo: &Path, work: &Path, url: &str) -> Result<String, String> {
    let out = std::process::Command::new(bin)
        .args(["index", "verify"])
        .current_dir(work)
        .env("HAILONG_DATABASE_URL", url)
        .env("HAILONG_SURVEYS_DIR", repo.join("surveys"))
        .env_remove("HAILONG_CONFIG")
        .env("RUST_LOG", "error")
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text.lines().last().unwrap_or_default().to_string())
    } else {
        Err(format!("hailong index verify failed:\n{text}"))
    }
}

/// The form load on a started server, which is then stopped: one line for the load, one for
/// the server's peak RSS (named `rss_name`).
fn form_load(
    r: &mut Report,
    label: &str,
    rss_name: &str,
    srv: server::Server,
    work: &Path,
    wards: &[String],
    args: &Args,
) -> Result<load::Load, String> {
    let l = load::run(
        &srv.base,
        &load::form_script(wards),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line(label, &l));
    let rss = srv.stop();
    r.rss(rss_name, rss);
    Ok(l)
}

/// One round of submissions on one database: a fresh server on `url`, the form load, the
/// server stopped, and the round's ratio to the bare form's `bare_rps`.
#[allow(clippy::too_many_arguments)]
fn submission_round(
    r: &mut Report,
    round: usize,
    backend: &str,
    bare_rps: f64,
    bin: &Path,
    repo: &Path,
    work: &Path,
    url: &str,
    wards: &[String],
    args: &Args,
) -> Result<load::Load, String> {
    let label = format!("hailong: POST /s/{{ward}} on {backend} (durable)");
    let srv = server::hailong(bin, repo, work, url)?;
    let l = form_load(
        r,
        &label,
        &format!("hailong ({label})"),
        srv,
        work,
        wards,
        args,
    )?;
    r.line(format!(
        "  round {round}: {backend} submissions / bare form {:.3}",
        l.rps() / bare_rps
    ));
    Ok(l)
}

/// After every round on one database: every acknowledged submission is stored and the
/// aggregates verify.
async fn check_stored(
    r: &mut Report,
    label: &str,
    bin: &Path,
    repo: &Path,
    work: &Path,
    url: &str,
    rounds: &[load::Load],
) -> Result<(), String> {
    let stored = stored_responses(url).await?;
    let acknowledged: u64 = rounds.iter().map(|l| l.requests).sum();
    let refused: u64 = rounds.iter().map(|l| l.bad_status).sum();
    // The warm-up seconds' submissions are stored too.
    let ok = stored >= acknowledged && refused == 0;
    r.line(format!(
        "  {label}: stored responses {stored} (≥ {acknowledged} acknowledged in the measured runs: {})",
        if ok { "yes" } else { "NO" }
    ));
    if !ok {
        r.misses.push(format!(
            "{label}: acknowledged submissions missing or refused"
        ));
    }
    match verify(bin, repo, work, url) {
        Ok(line) => r.line(format!("  {label}: hailong index verify: {line}")),
        Err(e) => {
            r.line(format!("  {e}"));
            r.misses.push(format!("{label}: index verify failed"));
        }
    }
    Ok(())
}

/// The median of `values` (the upper one of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn run(args: Args) -> Result<Report, String> {
    // This package lives in `benches/` of the repository.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no repository folder")?;
    let import_only = args.only.as_deref() == Some("import");
    if !import_only {
        load::ensure_wrk()?;
    }
    let (hailong_bin, bare_bin) = if args.no_build {
        let dir = std::env::current_exe()
            .map_err(|e| e.to_string())?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("no folder")?;
        (dir.join("hailong"), dir.join("bare"))
    } else {
        server::build(&repo)?
    };
    let work = std::env::temp_dir().join(format!("hailong-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let result = if args.only_results {
        let units = hailong::store::units::parse_units(hailong::store::units::SHIPPED_UNITS_CSV)
            .map_err(|e| e.to_string())?;
        let wards: Vec<String> = units
            .iter()
            .take(args.wards)
            .map(|u| u.ward_code.clone())
            .collect();
        results::scenario(&args, &repo, &work, &hailong_bin, &bare_bin, &wards)
    } else if import_only {
        let mut r = Report::default();
        match imports(&mut r, &args, &repo, &work, &hailong_bin).await {
            Ok(()) => Ok(r),
            Err(e) => Err(e),
        }
    } else {
        scenarios(&args, &repo, &work, &hailong_bin, &bare_bin).await
    };
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn scenarios(
    args: &Args,
    repo: &Path,
    work: &Path,
    hailong_bin: &Path,
    bare_bin: &Path,
) -> Result<Report, String> {
    let mut r = Report::default();
    let wards = bench_wards(args)?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    r.line(format!(
        "Hài Lòng benchmark — {} s per scenario, wrk {} threads × {} connections, {} CPUs, loopback, load generator on the same cores",
        args.seconds, args.threads, args.connections, cpus
    ));
    r.line(format!("requests spread over {} wards\n", wards.len()));

    // The yardstick's static page.
    let bare = server::bare(bare_bin)?;
    let bare_page = load::run(
        &bare.base,
        &load::fixed_get_script("/"),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line("bare axum: static 3 KB page", &bare_page));
    let rss = bare.stop();
    r.rss("bare axum", rss);

    // The survey page.
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        work.join("submissions.db").display()
    );
    let srv = server::hailong(hailong_bin, repo, work, &sqlite_url)?;
    let page = load::run(
        &srv.base,
        &load::page_script(&wards),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line("hailong: GET /s/{ward} (survey page)", &page));
    let body = fetch_len(&srv.base, &format!("/s/{}", wards[0])).await;
    r.line(format!("  survey page size: {body} bytes"));
    r.target(
        "page / bare static",
        page.rps() / bare_page.rps(),
        page.rps() / bare_page.rps() >= 0.30,
        "≥ 0.30",
    );
    let rss = srv.stop();
    r.rss("hailong (survey page)", rss);

    // Durable submissions, in rounds: the bare form, SQLite, PostgreSQL, one after the other.
    let pg_admin = pg_admin(args);
    let pg = match &pg_admin {
        Some(admin) => {
            let name = format!("hailong_bench_{}", std::process::id());
            Some((admin.clone(), name.clone(), create_pg(admin, &name).await?))
        }
        None => None,
    };
    let pg_url = pg.as_ref().map(|(_, _, url)| url.as_str());
    let measured = submission_rounds(
        &mut r,
        args,
        repo,
        work,
        hailong_bin,
        bare_bin,
        &sqlite_url,
        pg_url,
        &wards,
    )
    .await;
    let checked = match &measured {
        Ok(rounds) => {
            submission_targets(
                &mut r,
                args,
                repo,
                work,
                hailong_bin,
                &sqlite_url,
                pg_url,
                &wards,
                rounds,
            )
            .await
        }
        Err(_) => Ok(()),
    };
    if let Some((admin, name, _)) = &pg {
        drop_pg(admin, name).await;
    }
    measured?;
    checked?;
    if pg.is_none() {
        r.line(
            "!!! SKIPPED PostgreSQL submissions: pass --postgres postgres://postgres@127.0.0.1:5432/postgres !!!".into(),
        );
    }

    if !args.skip_reads {
        reads(&mut r, args, repo, work, hailong_bin, &wards).await?;
    }
    if !args.skip_import {
        imports(&mut r, args, repo, work, hailong_bin).await?;
    }
    let peak = r.peak_rss_mb;
    r.target("peak RSS of any server, MB", peak, peak < 200.0, "< 200 MB");
    Ok(r)
}

/// The first `args.wards` wards of the shipped unit list.
fn bench_wards(args: &Args) -> Result<Vec<String>, String> {
    let units = hailong::store::units::parse_units(hailong::store::units::SHIPPED_UNITS_CSV)
        .map_err(|e| e.to_string())?;
    Ok(units
        .iter()
        .take(args.wards)
        .map(|u| u.ward_code.clone())
        .collect())
}

/// The PostgreSQL server the harness may use: `--postgres`, `HAILONG_BENCH_POSTGRES_URL` or
/// `HAILONG_TEST_POSTGRES_URL`.
fn pg_admin(args: &Args) -> Option<String> {
    args.postgres
        .clone()
        .or_else(|| std::env::var("HAILONG_BENCH_POSTGRES_URL").ok())
        .or_else(|| std::env::var("HAILONG_TEST_POSTGRES_URL").ok())
        .filter(|u| !u.is_empty())
}

/// One round's loads: the bare form, then submissions on SQLite and on PostgreSQL (if any).
struct Round {
    bare_form: load::Load,
    sqlite: load::Load,
    postgres: Option<load::Load>,
}

/// Runs `args.rounds` rounds of the bare form and the submissions, printing each load and each
/// round's ratios.
#[allow(clippy::too_many_arguments)]
async fn submission_rounds(
    r: &mut Report,
    args: &Args,
    repo: &Path,
    work: &Path,
    hailong_bin: &Path,
    bare_bin: &Path,
    sqlite_url: &str,
    pg_url: Option<&str>,
    wards: &[String],
) -> Result<Vec<Round>, String> {
    let count = args.rounds.max(1);
    let mut rounds = Vec::with_capacity(count);
    for i in 0..count {
        r.line(format!("\nround {} of {count}", i + 1));
        let bare_form = form_load(
            r,
            "bare axum: 17-field form → 303",
            "bare axum",
            server::bare(bare_bin)?,
            work,
            wards,
            args,
        )?;
        let round = i + 1;
        let bare_rps = bare_form.rps();
        let sqlite = submission_round(
            r,
            round,
            "SQLite",
            bare_rps,
            hailong_bin,
            repo,
            work,
            sqlite_url,
            wards,
            args,
        )?;
        let postgres = match pg_url {
            Some(url) => Some(submission_round(
                r,
                round,
                "PostgreSQL",
                bare_rps,
                hailong_bin,
                repo,
                work,
                url,
                wards,
                args,
            )?),
            None => None,
        };
        rounds.push(Round {
            bare_form,
            sqlite,
            postgres,
        });
    }
    Ok(rounds)
}

/// After the rounds: what was acknowledged is stored, the aggregates verify, the writer alone,
/// and the targets on the median round.
#[allow(clippy::too_many_arguments)]
async fn submission_targets(
    r: &mut Report,
    args: &Args,
    repo: &Path,
    work: &Path,
    hailong_bin: &Path,
    sqlite_url: &str,
    pg_url: Option<&str>,
    wards: &[String],
    rounds: &[Round],
) -> Result<(), String> {
    r.line(String::new());
    let bare_form: Vec<f64> = rounds.iter().map(|x| x.bare_form.rps()).collect();
    let bare_median = median(&bare_form);
    let sqlite: Vec<(load::Load, f64)> = rounds
        .iter()
        .map(|x| (x.sqlite, x.bare_form.rps()))
        .collect();
    backend_targets(
        r,
        "SQLite",
        0.20,
        &sqlite,
        hailong_bin,
        repo,
        work,
        sqlite_url,
    )
    .await?;
    let writer_url = format!("sqlite://{}?mode=rwc", work.join("writer.db").display());
    hailong::db::open_with_units(&writer_url)
        .await
        .map_err(|e| e.to_string())?;
    writer_alone(r, "SQLite", &writer_url, repo, wards, args, bare_median).await?;
    if let Some(url) = pg_url {
        let pg: Vec<(load::Load, f64)> = rounds
            .iter()
            .filter_map(|x| x.postgres.map(|p| (p, x.bare_form.rps())))
            .collect();
        backend_targets(r, "PostgreSQL", 0.10, &pg, hailong_bin, repo, work, url).await?;
        writer_alone(r, "PostgreSQL", url, repo, wards, args, bare_median).await?;
    }
    Ok(())
}

/// One backend's submissions after every round (each load with the bare form's requests/s of
/// its round): what was acknowledged is stored, the aggregates verify, and the targets on the
/// median round, a ratio of at least `min_ratio` and a p99 under 25 ms.
#[allow(clippy::too_many_arguments)]
async fn backend_targets(
    r: &mut Report,
    backend: &str,
    min_ratio: f64,
    rounds: &[(load::Load, f64)],
    bin: &Path,
    repo: &Path,
    work: &Path,
    url: &str,
) -> Result<(), String> {
    let loads: Vec<load::Load> = rounds.iter().map(|(l, _)| *l).collect();
    check_stored(r, backend, bin, repo, work, url, &loads).await?;
    let ratios: Vec<f64> = rounds.iter().map(|(l, bare)| l.rps() / bare).collect();
    let p99: Vec<f64> = loads.iter().map(|l| l.p99_ms).collect();
    let (ratio, p99) = (median(&ratios), median(&p99));
    r.target(
        &format!("{backend} submissions / bare form (median round)"),
        ratio,
        ratio >= min_ratio,
        &format!("≥ {min_ratio:.2}"),
    );
    r.target(
        &format!("{backend} submission p99 ms (median round)"),
        p99,
        p99 < 25.0,
        "< 25 ms",
    );
    Ok(())
}

/// The writer's storing path alone on `url` (see `writer.rs`): a yardstick for how much of a
/// submission's cost is storage; no target.
async fn writer_alone(
    r: &mut Report,
    backend: &str,
    url: &str,
    repo: &Path,
    wards: &[String],
    args: &Args,
    bare_form_rps: f64,
) -> Result<(), String> {
    let catalog = hailong::survey::Catalog::load(repo.join("surveys"))
        .map_err(|p| format!("{} survey problems", p.len()))?;
    let survey = catalog
        .get(hailong::app::DEFAULT_SURVEY)
        .ok_or("the default survey is missing")?;
    let (rate, median_ms) = writer::run(url, survey, wards, args.seconds.min(5)).await?;
    r.line(format!(
        "  writer alone on {backend}, in process, batches of {}: {rate:.0} responses/s, \
         {median_ms:.2} ms median per batch (store and commit); {:.3} of the bare form",
        writer::BATCH,
        rate / bare_form_rps
    ));
    Ok(())
}

async fn fetch_len(base: &str, path: &str) -> usize {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let Ok(mut s) = tokio::net::TcpStream::connect(host).await else {
        return 0;
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len())
}

/// `n` GETs of `path` one after another with `cookie`, each on a new connection: the number
/// answered with a status other than 200 and each request's time.
async fn timed_gets(base: &str, path: &str, cookie: &str, n: usize) -> (usize, Vec<Duration>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    let mut bad = 0;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let Ok(mut s) = tokio::net::TcpStream::connect(host).await else {
            bad += 1;
            continue;
        };
        let mut buf = Vec::new();
        if s.write_all(req.as_bytes()).await.is_err() || s.read_to_end(&mut buf).await.is_err() {
            bad += 1;
            continue;
        }
        times.push(t.elapsed());
        if !buf.starts_with(b"HTTP/1.1 200") {
            bad += 1;
        }
    }
    (bad, times)
}

fn p50_p95(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort();
    if t.is_empty() {
        return (0.0, 0.0);
    }
    let at = |q: f64| t[((t.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95))
}

async fn create_pg(admin: &str, name: &str) -> Result<String, String> {
    let db = Database::connect(admin)
        .await
        .map_err(|e| format!("PostgreSQL: {e}"))?;
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| format!("PostgreSQL: {e}"))?;
    db.close().await.ok();
    // `postgres://user@host/db?host=/run/postgresql` names a Unix socket: keep the query.
    let (path, query) = admin
        .split_once('?')
        .map_or((admin, None), |(p, q)| (p, Some(q)));
    let (base, _) = path
        .rsplit_once('/')
        .ok_or("postgres URL without a database name")?;
    Ok(match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    })
}

async fn drop_pg(admin: &str, name: &str) {
    if let Ok(db) = Database::connect(admin).await {
        let _ = db
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        db.close().await.ok();
    }
}

/// The import scenario: `args.import_ballots` paper ballots through `hailong responses import`
/// on SQLite (and PostgreSQL when given), each followed by `hailong index verify`, against the
/// 200 MB peak memory target.
async fn imports(
    r: &mut Report,
    args: &Args,
    repo: &Path,
    work: &Path,
    bin: &Path,
) -> Result<(), String> {
    let wards = bench_wards(args)?;
    let file = work.join("ballots.csv");
    let started = Instant::now();
    let bytes = import::write_ballots(&file, &wards, args.import_ballots)?;
    r.line(format!(
        "\nimport: {} paper ballots over {} wards, {:.1} MB of CSV (written in {:.1} s)",
        args.import_ballots,
        wards.len(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
    let mut targets = vec![(
        "SQLite".to_string(),
        format!("sqlite://{}?mode=rwc", work.join("import.db").display()),
        None,
    )];
    if let Some(admin) = pg_admin(args) {
        let name = format!("hailong_import_{}", std::process::id());
        let url = create_pg(&admin, &name).await?;
        targets.push(("PostgreSQL".into(), url, Some((admin, name))));
    }
    let mut result = Ok(());
    for (backend, url, _) in &targets {
        let done = import::run(bin, repo, work, url, &file);
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        r.line(format!(
            "  {backend}: {} in {:.1} s ({:.0} ballots/s, {:.1} MB/s), peak RSS {:.1} MB",
            done.stdout,
            done.seconds,
            done.ballots as f64 / done.seconds,
            done.bytes as f64 / 1e6 / done.seconds,
            done.peak_rss_mb
        ));
        if done.ballots != args.import_ballots {
            r.misses.push(format!(
                "{backend} import stored {} of {} ballots",
                done.ballots, args.import_ballots
            ));
        }
        r.target(
            &format!("{backend} import peak RSS, MB"),
            done.peak_rss_mb,
            done.peak_rss_mb < 200.0,
            "< 200 MB",
        );
        match verify(bin, repo, work, url) {
            Ok(line) => r.line(format!("  {backend}: hailong index verify: {line}")),
            Err(e) => {
                r.line(format!("  {e}"));
                r.misses
                    .push(format!("{backend} import: index verify failed"));
            }
        }
    }
    for (_, _, pg) in &targets {
        if let Some((admin, name)) = pg {
            drop_pg(admin, name).await;
        }
    }
    let _ = std::fs::remove_file(&file);
    result
}

async fn reads(
    r: &mut Report,
    args: &Args,
    repo: &Path,
    work: &Path,
    bin: &Path,
    wards: &[String],
) -> Result<(), String> {
    let url = format!("sqlite://{}?mode=rwc", work.join("reads.db").display());
    let catalog = hailong::survey::Catalog::load(repo.join("surveys"))
        .map_err(|p| format!("{} survey problems", p.len()))?;
    let survey = catalog
        .get(hailong::app::DEFAULT_SURVEY)
        .ok_or("the default survey is missing")?;
    let db = hailong::db::open(&url).await.map_err(|e| e.to_string())?;
    hailong::store::units::load_shipped_if_empty(&db)
        .await
        .map_err(|e| e.to_string())?;
    r.line(format!(
        "\nloading {} responses over {} wards straight through the store (insert_batch, {} per transaction)…",
        args.responses,
        wards.len(),
        5000
    ));
    let rate = data::load(&db, survey, wards, args.responses).await?;
    r.line(format!(
        "  stored at {rate:.0} responses/s (SQLite, synchronous=FULL)"
    ));

    let spec = hailong::intake::scale_spec(survey);
    let method = hailong::measure::MethodConfig::default();
    let criteria = hailong::measure::score::default_criteria();
    let ctx = MeasureCtx {
        spec: &spec,
        method: &method,
        criteria: &criteria,
        config_hash: "bench",
    };
    let period = Period::current_quarter();
    let err = |e: sea_orm::DbErr| e.to_string();

    let t = data::time_calls(wards, 2000, |w| {
        let db = &db;
        async move { data::fast_ward(db, ctx, &w, period).await.map(|_| ()) }
    })
    .await
    .map_err(err)?;
    let (fast_med, fast_p99) = data::median_p99(t);
    let t = data::time_calls(wards, 20, |w| {
        let (db, survey, spec, method) = (&db, survey, &spec, &method);
        async move {
            data::naive_ward(db, survey, spec, method, &w, period)
                .await
                .map(|_| ())
        }
    })
    .await
    .map_err(err)?;
    let (naive_med, naive_p99) = data::median_p99(t);
    // Cross-check: the fast read and the naive recompute agree.
    let f = data::fast_ward(&db, ctx, &wards[0], period)
        .await
        .map_err(err)?;
    let g = data::naive_ward(&db, survey, &spec, &method, &wards[0], period)
        .await
        .map_err(err)?;
    let agree = f.n == g.n
        && match (f.index, g.index) {
            (Some(a), Some(b)) => (a.value - b.value).abs() < 1e-6,
            (None, None) => true,
            _ => false,
        };
    r.line(format!(
        "satisfaction of one ward, {period} (n = {} each): rollups median {fast_med:.3} ms, p99 {fast_p99:.3} ms; naive full recompute median {naive_med:.1} ms, p99 {naive_p99:.1} ms ({:.0}× slower); same figures: {}",
        f.n,
        naive_med / fast_med.max(1e-9),
        if agree { "yes" } else { "NO" }
    ));
    if !agree {
        r.misses
            .push("fast and naive satisfaction figures differ".into());
    }
    r.target(
        "satisfaction read median ms",
        fast_med,
        fast_med < 1.0,
        "< 1 ms",
    );

    let province = "01".to_string();
    let provinces = vec![province.clone()];
    let t = data::time_calls(&provinces, 50, |p| {
        let db = &db;
        async move {
            hailong::store::figures::province_ranking(db, ctx, &p, period)
                .await
                .map(|_| ())
        }
    })
    .await
    .map_err(err)?;
    let (rank_med, rank_p99) = data::median_p99(t);
    let t = data::time_calls(&provinces, 3, |p| {
        let (db, survey, spec, method) = (&db, survey, &spec, &method);
        async move {
            data::naive_ranking(db, survey, spec, method, &p, period)
                .await
                .map(|_| ())
        }
    })
    .await
    .map_err(err)?;
    let (naive_rank_med, naive_rank_p99) = data::median_p99(t);
    let wards_in_province = hailong::store::units::units_of_province(&db, &province)
        .await
        .map_err(err)?
        .len();
    r.line(format!(
        "ranking of province {province} ({wards_in_province} wards, with change flags), {period}: rollups median {rank_med:.2} ms, p99 {rank_p99:.2} ms; naive full recompute median {naive_rank_med:.0} ms, p99 {naive_rank_p99:.0} ms"
    ));
    // Staff sessions for the console pages (a ward of the load, its province, the ministry).
    let hash = hailong::auth::password::hash("bench password 123").map_err(|e| e.to_string())?;
    let mut sessions = Vec::new();
    for (email, role) in [
        ("ward@bench.vn", format!("ward:{}", wards[0])),
        ("province@bench.vn", format!("province:{province}")),
        ("ministry@bench.vn", "ministry".to_string()),
    ] {
        let scope = hailong::auth::Scope::parse(&role).map_err(|e| e.to_string())?;
        let id = hailong::store::staff::add_user(&db, email, &scope, &hash)
            .await
            .map_err(|e| format!("{e:?}"))?;
        sessions.push(
            hailong::store::staff::create_session(&db, id)
                .await
                .map_err(err)?,
        );
    }
    db.close().await.ok();

    // The same reads over HTTP, which also puts the million rows under the server's RSS.
    let started = Instant::now();
    let srv = server::hailong(bin, repo, work, &url)?;
    let startup = started.elapsed().as_secs_f64();
    let api = load::run(
        &srv.base,
        &load::ward_get_script(
            wards,
            "/api/v1/wards/",
            &format!("/satisfaction?period={period}"),
        ),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line(
        "hailong: GET /api/v1/wards/{ward}/satisfaction",
        &api,
    ));
    let rank = load::run(
        &srv.base,
        &load::fixed_get_script(&format!(
            "/api/v1/provinces/{province}/ranking?period={period}"
        )),
        work,
        args.seconds.min(5),
        args.connections,
        args.threads,
    )?;
    r.line(load_line(
        "hailong: GET /api/v1/provinces/01/ranking",
        &rank,
    ));
    // The consoles, one reader at a time: how long a page takes, not how many per second.
    let ward0 = &wards[0];
    let pages = [
        ("ward home", 0, "/staff".to_string()),
        ("ward inbox", 0, format!("/staff/wards/{ward0}/feedback")),
        (
            "ward inbox, text search",
            0,
            format!("/staff/wards/{ward0}/feedback?q=gop+y+so+12"),
        ),
        ("province home", 1, "/staff".to_string()),
        ("ministry home", 2, "/staff".to_string()),
    ];
    for (name, who, path) in pages {
        let cookie = format!("hl_staff={}", sessions[who]);
        let (bad, times) = timed_gets(&srv.base, &path, &cookie, 40).await;
        let (p50, p95) = p50_p95(times);
        r.line(format!(
            "hailong console: {name} ({path}), {} responses stored: p50 {p50:.1} ms, p95 {p95:.1} ms over 40 requests{}",
            args.responses,
            if bad > 0 { format!(", {bad} bad status") } else { String::new() }
        ));
        r.target(
            &format!("console {name} p95 ms"),
            p95,
            p95 < 100.0 && bad == 0,
            "< 100 ms",
        );
    }
    r.line(format!(
        "  server start on the loaded database: {startup:.1} s"
    ));
    if api.bad_status > 0 || rank.bad_status > 0 {
        r.misses.push("API reads answered with errors".into());
    }
    let rss = srv.stop();
    r.rss(
        &format!("hailong (reads, {} responses)", args.responses),
        rss,
    );
    Ok(())
}
