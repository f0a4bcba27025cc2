//! Reads from a PostgreSQL streaming standby (`HAILONG_DATABASE_READ_URL`, docs/deployment.md):
//! console pages, exports, the API and the public results read the standby; a staff session
//! reads the primary right after its own change; past the lag limit console pages say so and
//! the API reads the primary; an unreachable standby sends every read to the primary; SQLite
//! refuses a read URL.
//!
//! The standby tests pause the standby's replay (`pg_wal_replay_pause()`), which holds for
//! every database on it: they run one at a time, and [`Paused`] resumes replay when dropped,
//! even when the test fails.

use std::time::{Duration, Instant};

use hailong::replica::{Health, Why};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::{Backend, TestApp};
use crate::staff::{Browser, signed_in, submit};

/// One standby test at a time: pausing replay pauses it for all of them.
static STANDBY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const INBOX: &str = "/staff/wards/00004/feedback";
const NOTICE: &str = "Số liệu có thể chậm khoảng";

/// The standby of the test server (`HAILONG_TEST_POSTGRES_READ_URL`); the test is marked
/// ignored without it, so it panics here only when run anyway.
fn standby_admin_url() -> String {
    match std::env::var("HAILONG_TEST_POSTGRES_READ_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "needs a PostgreSQL standby: run .ci/standby.sh and set \
             HAILONG_TEST_POSTGRES_READ_URL=postgres://postgres@127.0.0.1:5433/DB"
        ),
    }
}

/// The standby's URL of the primary database `primary_url` (same database name).
fn standby_url_for(primary_url: &str) -> String {
    let admin = standby_admin_url();
    let (base, _) = admin.rsplit_once('/').expect("a database name");
    let (_, name) = primary_url.rsplit_once('/').expect("a database name");
    format!("{base}/{name}")
}

/// A server on a fresh PostgreSQL database with its standby as the read URL.
async fn spawn_replica(max_lag_secs: u64) -> TestApp {
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database.read_url = Some(standby_url_for(&c.database_url));
        c.database.read_max_lag_secs = max_lag_secs;
        c.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    caught_up(&app).await;
    app
}

async fn primary_lsn(app: &TestApp) -> i64 {
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Waits until the app's probe has seen the standby replay everything the primary had now.
async fn caught_up(app: &TestApp) {
    let target = primary_lsn(app).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let h = app.state.reads.health();
        if let Health::Up {
            replay_lsn: Some(r),
            lag,
        } = h
            && r >= target
            && lag < Duration::from_secs(1)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the standby did not catch up: {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn on_standby(sql: &str) -> String {
    let db = Database::connect(standby_admin_url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("a row");
    let v = row.try_get_by_index::<String>(0).unwrap_or_default();
    db.close().await.ok();
    v
}

/// The standby's replay, paused until this is dropped (also when a test fails).
struct Paused;

impl Paused {
    async fn start() -> Paused {
        on_standby("SELECT pg_wal_replay_pause()::text").await;
        let guard = Paused;
        let deadline = Instant::now() + Duration::from_secs(30);
        while on_standby("SELECT pg_get_wal_replay_pause_state()").await != "paused" {
            assert!(Instant::now() < deadline, "replay did not pause");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        guard
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // Drop cannot wait for a future: resume from a thread with its own runtime.
        let resumed = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(on_standby("SELECT pg_wal_replay_resume()::text"))
        })
        .join();
        if resumed.is_err() {
            eprintln!(
                "could not resume the standby's replay: run SELECT pg_wal_replay_resume() on it"
            );
        }
    }
}

/// `n` of the ward's figures for the current quarter, as a public API caller sees it.
async fn api_n(app: &TestApp) -> i64 {
    let r = reqwest::get(app.url("/api/v1/wards/00004/satisfaction"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["n"]
        .as_i64()
        .expect("n")
}

async fn page(b: &Browser, path: &str) -> String {
    let r = b.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// A resident answers and follows the redirect to the thank-you page, which must show the
/// receipt whatever the standby holds.
async fn answer_and_thank(app: &TestApp, comment: &str) {
    let body = format!(
        "{}&comment={}",
        crate::public::VALID,
        form_urlencoded::byte_serialize(comment.as_bytes()).collect::<String>()
    );
    let resident = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = resident
        .post(app.url("/s/00004"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let receipt = to
        .split("r=")
        .nth(1)
        .expect("a receipt in the link")
        .to_string();
    let thanks = resident.get(app.url(&to)).send().await.unwrap();
    assert_eq!(thanks.status(), 200);
    assert!(thanks.text().await.unwrap().contains(&receipt));
}

async fn first_response_id(app: &TestApp) -> i64 {
    app.count("SELECT MIN(id) FROM responses").await
}

async fn metrics(app: &TestApp) -> String {
    let addr = app.metrics_addr.expect("the metrics listener");
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls `check` for up to 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_standby),
    ignore = "needs a PostgreSQL standby: run .ci/standby.sh and set HAILONG_TEST_POSTGRES_READ_URL"
)]
async fn console_api_and_results_read_the_standby_and_staff_see_their_own_changes() {
    let _one = STANDBY.lock().await;
    let app = spawn_replica(300).await;
    submit(&app, "00004", "Phản ánh thứ nhất", 2).await;
    let officer = signed_in(&app, "a@example.vn", "ward:00004").await;
    let colleague = signed_in(&app, "b@example.vn", "ward:00004").await;
    let csrf = officer.csrf().await;
    caught_up(&app).await;
    assert_eq!(api_n(&app).await, 1);
    let (_, route) = app.state.reads.route(None, false);
    assert!(route.standby, "{route:?}");

    let paused = Paused::start().await;
    // The resident's thank-you page does not depend on the standby.
    answer_and_thank(&app, "Phản ánh thứ hai").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM responses").await, 2);
    // The API, the open data and a colleague's inbox read the standby: not there yet.
    assert_eq!(api_n(&app).await, 1);
    let theirs = page(&colleague, INBOX).await;
    assert!(theirs.contains("Phản ánh thứ nhất"), "{theirs}");
    assert!(!theirs.contains("Phản ánh thứ hai"));
    assert!(!theirs.contains(NOTICE));
    let dashboard = page(&colleague, "/staff/wards/00004").await;
    assert!(!dashboard.contains(NOTICE));

    // The officer acts; the next page of that session reads the primary and shows it, with
    // the second answer too (which only the primary has).
    let id = first_response_id(&app).await;
    let r = officer
        .post(
            &format!("{INBOX}/{id}/status"),
            &[("status", "in_progress"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mine = page(&officer, INBOX).await;
    assert!(mine.contains("badge st-in_progress"), "{mine}");
    assert!(mine.contains("Phản ánh thứ hai"));
    // The colleague (no change of theirs pending) still reads the standby.
    let theirs = page(&colleague, INBOX).await;
    assert!(!theirs.contains("badge st-in_progress"));
    assert!(!theirs.contains("Phản ánh thứ hai"));
    assert_eq!(api_n(&app).await, 1);
    let text = metrics(&app).await;
    assert!(
        text.contains("hailong_reads_total{to=\"primary\",why=\"own_write\"}"),
        "{text}"
    );
    assert!(text.contains("hailong_reads_total{to=\"standby\",why=\"standby\"}"));

    // Replay resumes: everything arrives on the standby, and every read goes there again.
    drop(paused);
    eventually("the API shows the second answer", || async {
        api_n(&app).await == 2
    })
    .await;
    caught_up(&app).await;
    let theirs = page(&colleague, INBOX).await;
    assert!(theirs.contains("badge st-in_progress") && theirs.contains("Phản ánh thứ hai"));
    let (_, route) = app.state.reads.route(None, false);
    assert!(route.standby, "{route:?}");
    // Public results and open data answer from it.
    assert_eq!(app.get("/results/wards/00004").await.status(), 200);
    assert_eq!(app.get("/open-data/aggregates.csv").await.status(), 200);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_standby),
    ignore = "needs a PostgreSQL standby: run .ci/standby.sh and set HAILONG_TEST_POSTGRES_READ_URL"
)]
async fn past_the_lag_limit_console_pages_say_so_and_the_api_reads_the_primary() {
    let _one = STANDBY.lock().await;
    let app = spawn_replica(1).await;
    submit(&app, "00004", "Phản ánh thứ nhất", 2).await;
    let colleague = signed_in(&app, "b@example.vn", "ward:00004").await;
    caught_up(&app).await;
    assert!(!page(&colleague, INBOX).await.contains(NOTICE));

    let paused = Paused::start().await;
    submit(&app, "00004", "Phản ánh thứ hai", 4).await;
    eventually("the probe sees the standby 2 s late", || async {
        matches!(app.state.reads.health(), Health::Up { lag, .. } if lag >= Duration::from_secs(2))
    })
    .await;
    // Console pages keep reading the standby, and say by how much it may be late.
    let theirs = page(&colleague, INBOX).await;
    assert!(!theirs.contains("Phản ánh thứ hai"), "{theirs}");
    let at = theirs.find(NOTICE).expect("the lag notice");
    let rest = &theirs[at + NOTICE.len()..];
    let secs: u64 = rest
        .trim_start()
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number of seconds");
    assert!(secs >= 2, "{rest}");
    assert!(rest.contains("giây so với thực tế"));
    let en = page(&colleague, &format!("{INBOX}?lang=en")).await;
    assert!(en.contains("Figures may be about"), "{en}");
    for p in ["/staff", "/staff/wards/00004"] {
        assert!(page(&colleague, p).await.contains(NOTICE), "{p}");
    }
    // Exports, the API and the public results cannot carry the notice: they read the primary.
    assert_eq!(api_n(&app).await, 2);
    let export = colleague.get("/staff/exports/responses.csv").await;
    assert_eq!(export.status(), 200);
    assert!(export.text().await.unwrap().contains("Phản ánh thứ hai"));
    let (_, route) = app.state.reads.route(None, false);
    assert_eq!((route.standby, route.why), (false, Why::Lagging));
    let text = metrics(&app).await;
    assert!(
        text.contains("hailong_reads_total{to=\"primary\",why=\"lagging\"}"),
        "{text}"
    );
    assert!(text.contains("hailong_standby_lag_seconds"));

    drop(paused);
    caught_up(&app).await;
    let theirs = page(&colleague, INBOX).await;
    assert!(!theirs.contains(NOTICE));
    assert!(theirs.contains("Phản ánh thứ hai"));
    let (_, route) = app.state.reads.route(None, false);
    assert!(route.standby, "{route:?}");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn an_unreachable_standby_sends_every_read_to_the_primary() {
    // Nothing listens on port 1.
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database.read_url = Some("postgres://postgres@127.0.0.1:1/hailong".into());
        c.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    assert_eq!(app.state.reads.health(), Health::Down);
    submit(&app, "00004", "Phản ánh thứ nhất", 2).await;
    let officer = signed_in(&app, "a@example.vn", "ward:00004").await;
    assert_eq!(api_n(&app).await, 1);
    let inbox = page(&officer, INBOX).await;
    assert!(inbox.contains("Phản ánh thứ nhất") && !inbox.contains(NOTICE));
    for p in [
        "/staff",
        "/staff/wards/00004",
        "/staff/exports/responses.csv",
    ] {
        assert_eq!(officer.get(p).await.status(), 200, "{p}");
    }
    for p in [
        "/results/wards/00004",
        "/results",
        "/open-data/aggregates.json",
    ] {
        assert_eq!(app.get(p).await.status(), 200, "{p}");
    }
    // A staff change still works (its read-your-writes note goes to the primary).
    let id = first_response_id(&app).await;
    let csrf = officer.csrf().await;
    let r = officer
        .post(
            &format!("{INBOX}/{id}/status"),
            &[("status", "in_progress"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(page(&officer, INBOX).await.contains("badge st-in_progress"));
    let text = metrics(&app).await;
    assert!(
        text.contains("hailong_reads_total{to=\"primary\",why=\"unreachable\"}"),
        "{text}"
    );
    app.finish().await;
}

#[tokio::test]
async fn sqlite_refuses_a_read_url() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let mut cfg = crate::helpers::test_config(&sqlite, dir.path());
    cfg.database.read_url = Some("postgres://u:secret@standby/db".into());
    let e = match hailong::app::App::build(cfg).await {
        Ok(_) => panic!("a SQLite server with a read URL must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("HAILONG_DATABASE_READ_URL"), "{e}");
    assert!(!e.contains("secret"), "{e}");
    // The command line refuses it before doing anything, naming the setting, exit code 2.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hailong"))
        .arg("migrate")
        .current_dir(dir.path())
        .env("HAILONG_DATABASE_URL", &sqlite)
        .env(
            "HAILONG_DATABASE_READ_URL",
            "postgres://u:secret@standby/db",
        )
        .env_remove("HAILONG_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HAILONG_DATABASE_READ_URL") && err.contains("SQLite"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    assert!(!dir.path().join("t.db").exists(), "nothing was created");
}
