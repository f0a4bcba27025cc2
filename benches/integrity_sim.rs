//! What the integrity rules do to genuine and to stuffed traffic (docs/integrity.md).
//!
//! `cargo run --release -p hailong-bench --bin integrity_sim`: each scenario runs on a fresh
//! application over a temporary SQLite database, with the default configuration (rate limits
//! on, the default `[integrity]` rules) and one trusted proxy, so that each request carries
//! its client address in `X-Forwarded-For`. Requests go through the real router in process
//! (`tower::ServiceExt::oneshot`): the limiters, the handlers, the group-commit writer. Time
//! is simulated by moving the application's clock forward between requests, so a day of
//! traffic takes seconds; the runs are seeded and repeatable. Every scenario starts at 08:00
//! Vietnam time and ends with the rollups checked against a recompute.
//!
//! For each scenario it prints submitted / acknowledged (303) / counted / flagged by reason /
//! refused (429), and the target ward's index and status (this month) before and after.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use hailong::app::{App, AppState};
use hailong::clock::Clock;
use hailong::period::Period;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};
use tower::ServiceExt;

/// The target ward of the single-ward scenarios.
const WARD: &str = "00025";

struct Sim {
    _dir: tempfile::TempDir,
    state: AppState,
    router: axum::Router,
    clock: Clock,
    submitted: u64,
    acknowledged: u64,
    refused: u64,
    other: u64,
}

/// A resident's answers: mostly satisfied, some spread.
fn genuine_body(rng: &mut StdRng) -> String {
    let mut b = String::new();
    let level: u8 = rng.gen_range(3..=5);
    for q in ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"] {
        let v = (level as i8 + rng.gen_range(-1..=1)).clamp(1, 5);
        b.push_str(&format!("{q}={v}&"));
    }
    let sex = ["m", "f"][rng.gen_range(0..2)];
    let age = ["18-34", "35-54", "55%2B"][rng.gen_range(0..3)];
    b.push_str(&format!(
        "used_procedures=no&overall={level}&trust={}&sex={sex}&age={age}",
        level * 2
    ));
    b
}

/// What a stuffer sends: the lowest answer everywhere.
const STUFFED: &str =
    "a1=1&a2=1&r1=1&r2=1&s1=1&s2=1&c1=1&c2=1&used_procedures=no&overall=1&trust=0&sex=m&age=18-34";

impl Sim {
    async fn new() -> Sim {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut config = hailong::config::Config {
            database_url: format!("sqlite://{}?mode=rwc", dir.path().join("sim.db").display()),
            listen: "127.0.0.1:0".into(),
            surveys_dir: repo.join("surveys"),
            mail_dir: dir.path().join("mail"),
            ..Default::default()
        };
        // Requests through `oneshot` have no peer address (0.0.0.0): that is the proxy.
        config.rate_limit.trusted_proxy_header = Some("X-Forwarded-For".into());
        config.rate_limit.trusted_proxies = vec!["0.0.0.0/32".into()];
        let clock = Clock::system();
        let app = App::build_with_clock(config, clock.clone())
            .await
            .expect("the application builds");
        let state = app.state();
        let router = hailong::web::router(state.clone());
        // Start at the next 08:00, Vietnam time.
        let vn = clock.now().with_timezone(&hailong::period::vietnam());
        let eight = vn
            .date_naive()
            .succ_opt()
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap();
        let target = eight
            .and_local_timezone(hailong::period::vietnam())
            .unwrap();
        clock.advance((target - vn).to_std().unwrap_or_default());
        Sim {
            _dir: dir,
            state,
            router,
            clock,
            submitted: 0,
            acknowledged: 0,
            refused: 0,
            other: 0,
        }
    }

    fn advance(&self, seconds: f64) {
        self.clock
            .advance(Duration::from_secs_f64(seconds.max(0.0)));
    }

    /// Opens the survey page from `ip` without a cookie; returns the device cookie it sets.
    async fn open(&self, ip: &str, ward: &str) -> Option<String> {
        let req = Request::get(format!("/s/{ward}"))
            .header("x-forwarded-for", ip)
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        resp.headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }

    /// Submits `body` to `ward` from `ip`, with the device cookie if any.
    async fn submit(&mut self, ip: &str, cookie: Option<&str>, ward: &str, body: &str) {
        let mut req = Request::post(format!("/s/{ward}"))
            .header("x-forwarded-for", ip)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        self.submitted += 1;
        match resp.status().as_u16() {
            303 => self.acknowledged += 1,
            429 => self.refused += 1,
            _ => self.other += 1,
        }
    }

    /// A resident with a phone of their own: opens the page, then answers.
    async fn resident(&mut self, ip: &str, ward: &str, body: &str) {
        let cookie = self.open(ip, ward).await;
        self.submit(ip, cookie.as_deref(), ward, body).await;
    }

    async fn rows(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        let db = &self.state.db;
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .expect("a query")
    }

    /// (counted, flagged by reason) over every response.
    async fn outcomes(&self) -> (i64, BTreeMap<String, i64>) {
        let mut counted = 0;
        let mut flagged = BTreeMap::new();
        for row in self
            .rows(
                "SELECT status, COALESCE(flag_reason, '') AS reason, COUNT(*) AS n FROM responses \
                 WHERE channel <> 'paper' GROUP BY status, COALESCE(flag_reason, '')",
            )
            .await
        {
            let status: String = row.try_get("", "status").unwrap();
            let reason: String = row.try_get("", "reason").unwrap();
            let n: i64 = row.try_get("", "n").unwrap();
            if status == "counted" {
                counted += n;
            } else {
                *flagged.entry(reason).or_insert(0) += n;
            }
        }
        (counted, flagged)
    }

    /// The ward's status and index this month, e.g. `low_reliability 62,4 (n 35)`.
    async fn figure(&self, ward: &str) -> String {
        let period = Period::month_of(self.clock.now());
        let f = hailong::store::figures::ward_figures(
            &self.state.db,
            self.state.measure_ctx(),
            ward,
            period,
        )
        .await
        .expect("the ward's figures");
        let status = match f.status {
            hailong::measure::Status::Published => "published",
            hailong::measure::Status::LowReliability => "low_reliability",
            hailong::measure::Status::InsufficientData => "insufficient_data",
        };
        match f.point {
            Some(i) => format!(
                "{status} {} (n {})",
                format!("{i:.1}").replace('.', ","),
                f.n
            ),
            None => format!("{status} – (n {})", f.n),
        }
    }

    /// Genuine paper ballots stored before the scenario (a ward with a history).
    async fn paper_baseline(&self, ward: &str, n: usize, rng: &mut StdRng) {
        let survey = self.state.catalog.get("ward-police").unwrap();
        let mut batch = Vec::new();
        for _ in 0..n {
            let body = genuine_body(rng);
            let pairs = hailong::web::form::decode(body.as_bytes()).unwrap();
            let valid =
                hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Paper).unwrap();
            batch.push(hailong::intake::new_response(
                survey,
                &valid,
                ward,
                hailong::store::responses::Channel::Paper,
                self.clock.now() - chrono::Duration::hours(1),
            ));
        }
        hailong::store::write_batch(&self.state.db, &batch)
            .await
            .expect("the baseline is stored");
    }

    async fn verify(&self) {
        let report = hailong::store::verify::verify(&self.state.db, &self.state.catalog)
            .await
            .expect("verify runs");
        assert!(
            report.differences.is_empty(),
            "the rollups differ from a recompute: {:?}",
            report.differences
        );
    }
}

/// One line of the table.
struct Line {
    scenario: String,
    submitted: u64,
    acknowledged: u64,
    counted: i64,
    flagged: BTreeMap<String, i64>,
    refused: u64,
    before: String,
    after: String,
}

async fn finish(sim: &Sim, scenario: &str, ward: &str, before: String) -> Line {
    sim.verify().await;
    assert_eq!(
        sim.other, 0,
        "{scenario}: an answer that was neither 303 nor 429"
    );
    let (counted, flagged) = sim.outcomes().await;
    Line {
        scenario: scenario.to_string(),
        submitted: sim.submitted,
        acknowledged: sim.acknowledged,
        counted,
        flagged,
        refused: sim.refused,
        before,
        after: sim.figure(ward).await,
    }
}

/// A random address in one of the carriers' ranges (distinct /24s, almost surely).
fn random_address(rng: &mut StdRng) -> String {
    format!(
        "{}.{}.{}.{}",
        [14, 27, 42, 113, 115, 171, 183][rng.gen_range(0..7)],
        rng.gen_range(0..=255),
        rng.gen_range(0..=255),
        rng.gen_range(1..=254)
    )
}

/// Events at random moments of `span_s` seconds, in order, as (offset, index).
fn spread(rng: &mut StdRng, n: usize, span_s: f64) -> Vec<(f64, usize)> {
    let mut at: Vec<(f64, usize)> = (0..n).map(|i| (rng.gen_range(0.0..span_s), i)).collect();
    at.sort_by(|a, b| a.0.total_cmp(&b.0));
    at
}

/// Runs the events in time order, moving the clock to each.
async fn run_spread<F>(sim: &mut Sim, events: Vec<(f64, usize)>, mut each: F)
where
    F: FnMut(usize) -> (String, String, String),
{
    let mut now = 0.0;
    for (t, i) in events {
        sim.advance(t - now);
        now = t;
        let (ip, ward, body) = each(i);
        sim.resident(&ip, &ward, &body).await;
    }
}

async fn genuine_wards(rng: &mut StdRng) -> Line {
    let mut sim = Sim::new().await;
    let wards: Vec<String> = sim
        .rows("SELECT code FROM units ORDER BY code LIMIT 20")
        .await
        .iter()
        .map(|r| r.try_get("", "code").unwrap())
        .collect();
    let before = sim.figure(&wards[0]).await;
    let people: Vec<(String, String, String)> = (0..600)
        .map(|i| {
            (
                random_address(rng),
                wards[i % 20].clone(),
                genuine_body(rng),
            )
        })
        .collect();
    // 08:00 to 21:00 Vietnam time of one day.
    let events = spread(rng, people.len(), 13.0 * 3600.0);
    run_spread(&mut sim, events, |i| people[i].clone()).await;
    let mut line = finish(
        &sim,
        "genuine: 20 wards × 30 residents over a day, own phones and addresses",
        &wards[0],
        before,
    )
    .await;
    let mut statuses = BTreeMap::new();
    for w in &wards {
        let f = sim.figure(w).await;
        *statuses
            .entry(f.split(' ').next().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    let summary: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
    line.after = format!("{} [all 20: {}]", line.after, summary.join(", "));
    line
}

async fn one_address(
    rng: &mut StdRng,
    name: &str,
    n: usize,
    span_s: f64,
    include: bool,
) -> Vec<Line> {
    let mut sim = Sim::new().await;
    let before = sim.figure(WARD).await;
    let bodies: Vec<String> = (0..n).map(|_| genuine_body(rng)).collect();
    let events = spread(rng, n, span_s);
    run_spread(&mut sim, events, |i| {
        (
            "27.72.10.5".to_string(),
            WARD.to_string(),
            bodies[i].clone(),
        )
    })
    .await;
    let mut lines = vec![finish(&sim, name, WARD, before.clone()).await];
    if include {
        let groups = hailong::store::flags::address_groups(&sim.state.db, WARD)
            .await
            .unwrap();
        for g in groups {
            hailong::store::flags::include_address_group(
                &sim.state.db,
                &sim.state.catalog,
                WARD,
                g.anchor,
                "reviewer@sim",
            )
            .await
            .unwrap();
        }
        lines.push(
            finish(
                &sim,
                &format!("{name}, after a reviewer includes its group"),
                WARD,
                before,
            )
            .await,
        );
    }
    lines
}

async fn one_client_fresh_cookies(baseline: usize, rng: &mut StdRng) -> Line {
    let mut sim = Sim::new().await;
    sim.paper_baseline(WARD, baseline, rng).await;
    let before = sim.figure(WARD).await;
    for _ in 0..130 {
        let cookie = sim.open("203.0.113.66", WARD).await;
        sim.submit("203.0.113.66", cookie.as_deref(), WARD, STUFFED)
            .await;
        sim.advance(0.5);
    }
    finish(
        &sim,
        &stuffing_name("one client, fresh cookie each time, 130 at 2/s", baseline),
        WARD,
        before,
    )
    .await
}

async fn one_prefix(baseline: usize, rng: &mut StdRng) -> Line {
    let mut sim = Sim::new().await;
    sim.paper_baseline(WARD, baseline, rng).await;
    let before = sim.figure(WARD).await;
    // 200 over an hour, 4 from each of 50 addresses of one /24, in turn.
    for i in 0..200 {
        let ip = format!("45.117.80.{}", 1 + i % 50);
        let cookie = sim.open(&ip, WARD).await;
        sim.submit(&ip, cookie.as_deref(), WARD, STUFFED).await;
        sim.advance(18.0);
    }
    finish(
        &sim,
        &stuffing_name("200 from 50 addresses of one /24 over an hour", baseline),
        WARD,
        before,
    )
    .await
}

async fn slow_drip(baseline: usize, rng: &mut StdRng) -> Line {
    let mut sim = Sim::new().await;
    sim.paper_baseline(WARD, baseline, rng).await;
    let before = sim.figure(WARD).await;
    for _ in 0..288 {
        let cookie = sim.open("203.0.113.99", WARD).await;
        sim.submit("203.0.113.99", cookie.as_deref(), WARD, STUFFED)
            .await;
        sim.advance(300.0);
    }
    finish(
        &sim,
        &stuffing_name("slow drip: 1 every 5 min for 24 h, one address", baseline),
        WARD,
        before,
    )
    .await
}

fn stuffing_name(what: &str, baseline: usize) -> String {
    if baseline == 0 {
        format!("stuffing: {what}")
    } else {
        format!("stuffing: {what}; ward has {baseline} genuine paper ballots")
    }
}

fn print(lines: &[Line]) {
    println!(
        "| scenario | submitted | acknowledged | counted | flagged (by reason) | refused (429) | ward before | ward after |"
    );
    println!("|---|---:|---:|---:|---|---:|---|---|");
    for l in lines {
        let flagged: i64 = l.flagged.values().sum();
        let reasons: Vec<String> = l.flagged.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!(
            "| {} | {} | {} | {} | {}{} | {} | {} | {} |",
            l.scenario,
            l.submitted,
            l.acknowledged,
            l.counted,
            flagged,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            l.refused,
            l.before,
            l.after
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut rng = StdRng::seed_from_u64(20261204);
    let cfg = hailong::config::IntegrityConfig::default();
    let limits = hailong::config::RateLimitConfig::default();
    println!(
        "rules: address_counted_per_day {}, burst: window {} min, floor {}, factor {} × the usual rate over {} days; \
         limits: {} submissions/min per device per ward, {} per address per ward",
        cfg.address_counted_per_day,
        cfg.burst_window_minutes,
        cfg.burst_min_per_window,
        cfg.burst_factor,
        cfg.burst_baseline_days,
        limits.submissions_per_minute,
        limits.address_submissions_per_minute
    );
    println!();
    let mut lines = vec![genuine_wards(&mut rng).await];
    lines.extend(
        one_address(
            &mut rng,
            "genuine: 50 residents behind one carrier NAT address, one hour",
            50,
            3600.0,
            true,
        )
        .await,
    );
    lines.extend(
        one_address(
            &mut rng,
            "genuine: ward meeting of 40 on the office Wi-Fi, 30 minutes",
            40,
            1800.0,
            true,
        )
        .await,
    );
    for baseline in [0, 35] {
        lines.push(one_client_fresh_cookies(baseline, &mut rng).await);
        lines.push(one_prefix(baseline, &mut rng).await);
        lines.push(slow_drip(baseline, &mut rng).await);
    }
    print(&lines);
}
