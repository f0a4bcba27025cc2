//! Crash safety (docs/durability.md): `hailong serve` on a file database under continuous load is
//! killed with SIGKILL; after a restart on the same database every response whose receipt was
//! acknowledged (a `303` to `/s/{ward}/thanks?r=RECEIPT`) is stored, and the rollups still
//! equal a full recompute. Requests in flight at the kill may fail; that is allowed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hailong::entities::response;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};

use crate::helpers::{fresh_postgres, postgres_url, run_cli, stderr, stdout};
use crate::public::VALID;
use crate::serverproc;

const CLIENTS: usize = 16;
const WARDS: [&str; 3] = ["00004", "00008", "00025"];
/// Load runs at least this long before the kill…
const MIN_LOAD: Duration = Duration::from_millis(1500);
/// …and until this many receipts were acknowledged, up to `MAX_LOAD`.
const MIN_ACKNOWLEDGED: usize = 200;
const MAX_LOAD: Duration = Duration::from_secs(30);
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

async fn killed_under_load(db_url: &str, dir: &std::path::Path) {
    let server = tokio::task::spawn_blocking({
        let (db_url, dir) = (db_url.to_string(), dir.to_path_buf());
        move || serverproc::start(&db_url, &dir, &[]).ready()
    })
    .await
    .unwrap();
    let base = server.url("");
    // Set just before the SIGKILL: clients stop starting requests, and failures are expected.
    let killing = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..CLIENTS {
        let (base, killing, acknowledged) = (base.clone(), killing.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut receipts = Vec::new();
            let mut i = t;
            while !killing.load(Ordering::Relaxed) {
                let ward = WARDS[i % WARDS.len()];
                i += 1;
                let sent = c
                    .post(format!("{base}/s/{ward}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(VALID)
                    .send()
                    .await;
                // Only complete answers count; before the kill every one must be a 303.
                let r = match sent {
                    Ok(r) if r.status() == 303 => r,
                    Ok(r) if !killing.load(Ordering::Relaxed) => {
                        panic!("a submission was answered {}", r.status())
                    }
                    Err(e) if !killing.load(Ordering::Relaxed) => {
                        panic!("a submission failed before the kill: {e}")
                    }
                    _ => continue,
                };
                let location = r.headers()["location"].to_str().unwrap().to_string();
                let receipt = location
                    .split("r=")
                    .nth(1)
                    .expect("a receipt in the Location")
                    .split('&')
                    .next()
                    .unwrap()
                    .to_string();
                assert!(location.starts_with(&format!("/s/{ward}/thanks?")));
                receipts.push((ward, receipt));
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            receipts
        }));
    }
    let started = Instant::now();
    while started.elapsed() < MAX_LOAD
        && (started.elapsed() < MIN_LOAD || acknowledged.load(Ordering::Relaxed) < MIN_ACKNOWLEDGED)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL with every client's request in flight.
    let load_time = started.elapsed();
    let at_kill = acknowledged.load(Ordering::Relaxed);
    killing.store(true, Ordering::Relaxed);
    tokio::task::spawn_blocking(move || server.kill())
        .await
        .unwrap();
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.extend(t.await.expect("a client task"));
    }
    eprintln!(
        "crash: {} acknowledged in {load_time:?} ({at_kill} when the kill was sent)",
        receipts.len()
    );
    assert!(
        receipts.len() >= MIN_ACKNOWLEDGED,
        "only {} submissions were acknowledged in {load_time:?}",
        receipts.len()
    );

    // Restart on the same database: every acknowledged receipt is there.
    let server = tokio::task::spawn_blocking({
        let (db_url, dir) = (db_url.to_string(), dir.to_path_buf());
        move || serverproc::start(&db_url, &dir, &[]).ready()
    })
    .await
    .unwrap();
    let db = Database::connect(db_url).await.unwrap();
    let wanted: HashSet<&str> = receipts.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(wanted.len(), receipts.len(), "receipts are distinct");
    let mut found = HashSet::new();
    for chunk in receipts.chunks(500) {
        let list: Vec<String> = chunk.iter().map(|(_, r)| r.clone()).collect();
        for r in response::Entity::find()
            .filter(response::Column::Receipt.is_in(list))
            .all(&db)
            .await
            .unwrap()
        {
            found.insert(r.receipt);
        }
    }
    let missing: Vec<&&str> = wanted
        .iter()
        .filter(|r| !found.contains(**r))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged receipts are not stored, e.g. {missing:?}",
        wanted.len() - found.len()
    );
    db.close().await.ok();
    // The restarted server shows the thank-you page of acknowledged receipts.
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for (ward, receipt) in receipts.iter().step_by(receipts.len() / 10) {
        let r = c
            .get(server.url(&format!("/s/{ward}/thanks?r={receipt}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "receipt {receipt}");
        assert!(r.text().await.unwrap().contains(receipt.as_str()));
    }
    let log = server.log();
    let stopped = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(stopped, "the restarted server stops cleanly:\n{log}");
    let out = run_cli(db_url, dir, &["index", "verify"], None);
    assert!(
        out.status.success(),
        "index verify after the crash: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_responses_survive_sigkill_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    tokio::time::timeout(TEST_TIMEOUT, killed_under_load(&db_url, dir.path()))
        .await
        .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn acknowledged_responses_survive_sigkill_postgres() {
    let Some(admin) = postgres_url("crash::acknowledged_responses_survive_sigkill_postgres") else {
        return;
    };
    let (db_url, admin, name) = fresh_postgres(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, killed_under_load(&db_url, dir.path()))
        .await
        .expect("the test finishes in time");
    if let Ok(admin) = Database::connect(&admin).await {
        use sea_orm::ConnectionTrait;
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}
