//! Backups (docs/deployment.md): `hailong backup --out FILE` while `serve` stores submissions
//! under load keeps every answer acknowledged before it began; `hailong backup verify` passes
//! on a sound backup and fails on a damaged one; a restore (stop, replace the file, start)
//! serves the backed-up answers; `serve` takes and rotates backups itself; on PostgreSQL the
//! backup is a `pg_dump -Fc` archive that `pg_restore` restores into a fresh database.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::{
    Backend, TestApp, drop_postgres, fresh_postgres, postgres_url, run_cli, stderr, stdout,
};
use crate::public::VALID;
use crate::serverproc;

const WARDS: [&str; 3] = ["00004", "00008", "00025"];

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The receipt in a `303` to `/s/{ward}/thanks?r=RECEIPT`.
fn receipt_of(r: &reqwest::Response) -> String {
    let location = r.headers()["location"].to_str().unwrap();
    location
        .split("r=")
        .nth(1)
        .expect("a receipt in the Location")
        .split('&')
        .next()
        .unwrap()
        .to_string()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Submits one valid answer to `ward` and returns its receipt.
async fn submit(c: &reqwest::Client, base: &str, ward: &str) -> String {
    let r = c
        .post(format!("{base}/s/{ward}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(VALID)
        .send()
        .await
        .expect("a submission");
    assert_eq!(r.status(), 303, "a submission is acknowledged");
    receipt_of(&r)
}

/// The receipts stored in the SQLite file `db` (read-only).
fn receipts_in(db: &Path) -> HashSet<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the backup");
    let mut stmt = conn.prepare("SELECT receipt FROM responses").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn cli(db_url: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    let (db_url, dir) = (db_url.to_string(), dir.to_path_buf());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&db_url, &dir, &args, None)
    })
    .await
    .unwrap()
}

async fn start_server(db_url: &str, dir: &Path) -> serverproc::ServerProcess {
    let (db_url, dir) = (db_url.to_string(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || serverproc::start(&db_url, &dir, &[]).ready())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_holds_every_answer_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("live.db"));
    let server = start_server(&db_url, dir.path()).await;
    let base = server.url("");
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (base, stop) = (base.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut acked = Vec::new();
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let receipt = submit(&c, &base, WARDS[i % WARDS.len()]).await;
                acked.push((Instant::now(), receipt));
                i += 1;
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = dir.path().join("backup.db");
    let began = Instant::now();
    let o = cli(
        &db_url,
        dir.path(),
        &["backup", "--out", out.to_str().unwrap()],
    )
    .await;
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("a client"));
    }
    assert!(o.status.success(), "backup: {}", stderr(&o));
    assert!(stdout(&o).contains("backup written"), "{}", stdout(&o));
    assert!(!dir.path().join("backup.db.partial").exists());

    let before: Vec<&String> = acked
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, r)| r)
        .collect();
    let during = acked
        .iter()
        .filter(|(at, _)| *at >= began && *at <= ended)
        .count();
    let in_backup = receipts_in(&out);
    let missing: Vec<&&String> = before.iter().filter(|r| !in_backup.contains(**r)).collect();
    eprintln!(
        "backup under load: {} acknowledged before it, {during} while it ran ({:?}), {} in it, {} in all",
        before.len(),
        ended - began,
        in_backup.len(),
        acked.len()
    );
    assert!(before.len() >= 50, "too little load: {}", before.len());
    assert!(
        during > 0,
        "no submission was acknowledged while the backup ran: it was not online"
    );
    assert!(
        missing.is_empty(),
        "{} answers acknowledged before the backup are not in it, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    let v = cli(
        &db_url,
        dir.path(),
        &["backup", "verify", out.to_str().unwrap()],
    )
    .await;
    assert!(v.status.success(), "verify: {}", stderr(&v));
    assert!(stdout(&v).contains("integrity check"), "{}", stdout(&v));
    assert!(
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_serves_the_answers_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let db_url = sqlite_url(&live);
    let server = start_server(&db_url, dir.path()).await;
    let c = client();
    let base = server.url("");
    let mut kept = Vec::new();
    for i in 0..12 {
        let ward = WARDS[i % WARDS.len()];
        kept.push((ward, submit(&c, &base, ward).await));
    }
    let backup = dir.path().join("backups").join("before.db");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    let o = cli(
        &db_url,
        dir.path(),
        &["backup", "--out", backup.to_str().unwrap()],
    )
    .await;
    assert!(o.status.success(), "backup: {}", stderr(&o));
    let mut lost = Vec::new();
    for i in 0..5 {
        let ward = WARDS[i % WARDS.len()];
        lost.push((ward, submit(&c, &base, ward).await));
    }
    // Restore: stop, replace the database file (and drop its WAL), start, verify.
    assert!(
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap()
    );
    for side in ["live.db-wal", "live.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(side));
    }
    std::fs::copy(&backup, &live).unwrap();
    let server = start_server(&db_url, dir.path()).await;
    for (ward, receipt) in &kept {
        let r = c
            .get(server.url(&format!("/s/{ward}/thanks?r={receipt}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "backed-up receipt {receipt}");
    }
    for (ward, receipt) in &lost {
        let r = c
            .get(server.url(&format!("/s/{ward}/thanks?r={receipt}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "receipt {receipt} came after the backup");
    }
    let v = cli(&db_url, dir.path(), &["index", "verify"]).await;
    assert!(v.status.success(), "index verify: {}", stderr(&v));
    assert!(
        stdout(&v).contains("12 counted responses"),
        "{}",
        stdout(&v)
    );
    // The restored server stores new answers.
    submit(&c, &server.url(""), "00004").await;
    assert!(
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap()
    );
}

/// Overwrites `len` bytes of `file` from `at` with a pattern.
fn scribble(file: &Path, at: u64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&vec![0xA5; len]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_backup_fails_verify() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = client();
    for ward in WARDS {
        submit(&c, &app.url(""), ward).await;
    }
    let dir = app.dir.path();
    let good = dir.join("good.db");
    let o = app.cli(&["backup", "--out", good.to_str().unwrap()]);
    assert!(o.status.success(), "backup: {}", stderr(&o));
    let o = app.cli(&["backup", "verify", good.to_str().unwrap()]);
    assert!(o.status.success(), "a sound backup: {}", stderr(&o));
    assert!(stdout(&o).contains("3 counted responses"), "{}", stdout(&o));
    let size = std::fs::metadata(&good).unwrap().len();

    let copy = |name: &str| -> PathBuf {
        let p = dir.join(name);
        std::fs::copy(&good, &p).unwrap();
        p
    };
    // Pages overwritten in the middle of the file.
    let scribbled = copy("scribbled.db");
    scribble(&scribbled, size / 4, (size / 2) as usize);
    // Cut in half.
    let truncated = copy("truncated.db");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(size / 2)
        .unwrap();
    // Sound pages, but a rollup that no longer matches its responses.
    let tampered = copy("tampered.db");
    {
        let conn = rusqlite::Connection::open(&tampered).unwrap();
        let changed = conn
            .execute(
                "UPDATE rollup_cells SET n0 = n0 + 1 WHERE rowid = (SELECT MIN(rowid) FROM rollup_cells)",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database at all\n").unwrap();
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    for (file, expected) in [
        (&scribbled, "not sound"),
        (&truncated, "not sound"),
        (&tampered, "differ from a recompute"),
        (&text, "is not a backup"),
        (&empty, "it is empty"),
        (&dir.join("missing.db"), "cannot read"),
    ] {
        let o = app.cli(&["backup", "verify", file.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            file.display(),
            stdout(&o)
        );
        assert!(
            stderr(&o).contains(expected),
            "{}: {}",
            file.display(),
            stderr(&o)
        );
    }
    // Bad arguments: a usage message and exit code 2; a folder as the output is refused.
    let o = app.cli(&["backup"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = app.cli(&["backup", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a folder"), "{}", stderr(&o));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_backups_and_keeps_the_newest() {
    let backups = tempfile::tempdir().unwrap();
    let old = [
        "hailong-20250101T000000Z.db",
        "hailong-20250201T000000Z.db",
        "hailong-20250301T000000Z.db",
    ];
    for name in old {
        std::fs::write(backups.path().join(name), b"an old backup").unwrap();
    }
    std::fs::write(backups.path().join("keep-me.txt"), b"not a backup").unwrap();
    let dir = backups.path().to_path_buf();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| {
        c.backup.dir = Some(dir);
        c.backup.keep = 2;
        c.backup.every_hours = 24;
    })
    .await;
    let names = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(backups.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // The newest backup is older than every_hours: one is taken at start, then rotated.
    let deadline = Instant::now() + Duration::from_secs(60);
    let rotated = |v: &[String]| v.len() == 3 && !v.contains(&old[1].to_string());
    while !rotated(&names()) {
        assert!(
            Instant::now() < deadline,
            "no rotated backup: {:?}",
            names()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = names();
    assert_eq!(now[0], old[2], "the newest old backup is kept: {now:?}");
    assert_eq!(now[2], "keep-me.txt", "other files are left alone: {now:?}");
    let new = &now[1];
    assert!(
        new.starts_with("hailong-20") && new.ends_with("Z.db") && new.as_str() > old[2],
        "{now:?}"
    );
    let o = app.cli(&[
        "backup",
        "verify",
        backups.path().join(new).to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
#[cfg_attr(
    hailong_tool_missing = "pg_dump",
    ignore = "needs pg_dump: apt-get install postgresql-client"
)]
#[cfg_attr(
    hailong_tool_missing = "pg_restore",
    ignore = "needs pg_restore: apt-get install postgresql-client"
)]
async fn postgres_backup_is_a_pg_dump_that_pg_restore_restores() {
    const TEST: &str = "backup::postgres_backup_is_a_pg_dump_that_pg_restore_restores";
    let Some(admin) = postgres_url(TEST) else {
        return;
    };
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = client();
    let mut receipts = HashSet::new();
    for i in 0..6 {
        receipts.insert(submit(&c, &app.url(""), WARDS[i % WARDS.len()]).await);
    }
    let out = app.dir.path().join("hailong.dump");
    let o = app.cli(&["backup", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "backup: {}", stderr(&o));
    let o = app.cli(&["backup", "verify", out.to_str().unwrap()]);
    assert!(o.status.success(), "verify: {}", stderr(&o));
    assert!(
        stdout(&o).contains("readable PostgreSQL dump"),
        "{}",
        stdout(&o)
    );

    let (restored, admin, name) = fresh_postgres(&admin).await;
    let r = std::process::Command::new("pg_restore")
        .arg("--no-owner")
        .arg(format!("--dbname={restored}"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "pg_restore: {}", stderr(&r));
    let o = run_cli(&restored, app.dir.path(), &["index", "verify"], None);
    assert!(
        o.status.success(),
        "index verify on the restore: {}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("6 counted responses"), "{}", stdout(&o));
    let db = sea_orm::Database::connect(&restored).await.unwrap();
    use sea_orm::EntityTrait;
    let found: HashSet<String> = hailong::entities::response::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.receipt)
        .collect();
    db.close().await.ok();
    assert_eq!(found, receipts);
    drop_postgres(&admin, &name).await;

    // Without pg_dump on PATH: a clear message and a non-zero exit, no file.
    let empty = tempfile::tempdir().unwrap();
    let missing = app.dir.path().join("none.dump");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hailong"))
        .args(["backup", "--out", missing.to_str().unwrap()])
        .env("PATH", empty.path())
        .env("HAILONG_DATABASE_URL", &app.db_url)
        .env_remove("HAILONG_CONFIG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("pg_dump is not on PATH"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("apt-get install postgresql-client"));
    assert!(!missing.exists());
    app.finish().await;
}
