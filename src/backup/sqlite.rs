//! SQLite: an online backup with SQLite's backup API, and the check of a backup file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{BackupError, Written, finish, io, partial_path};
use crate::survey::catalog::Catalog;

/// The first 16 bytes of every SQLite database file.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// How long the copy may wait for a lock (only a crash recovery of the WAL holds one).
const LOCK_WAIT: Duration = Duration::from_secs(30);

fn failed(what: &str) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
    move |e| BackupError::Failed(format!("{what}: {e}"))
}

/// The file of the SQLite database `url` (`sqlite://hailong.db?mode=rwc`).
pub fn database_path(url: &str) -> Result<PathBuf, BackupError> {
    let opts = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| BackupError::Failed(format!("the database URL `{url}` is not valid: {e}")))?;
    let path = opts.get_filename().to_path_buf();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || url.contains("memory") {
        return Err(BackupError::Failed(
            "the database is in memory: there is no file to back up".into(),
        ));
    }
    Ok(path)
}

/// Copies the live database `db` into `out`, online: the writer goes on committing while the
/// copy runs. The copy is one step of the backup API (one read transaction), so it holds the
/// database as of the moment it began, never a mix of two moments. The copy is switched to
/// the rollback journal (`journal_mode=DELETE`) so that it is one self-contained file.
pub fn backup(db: &Path, out: &Path) -> Result<Written, BackupError> {
    let started = Instant::now();
    if !db.is_file() {
        return Err(BackupError::Failed(format!(
            "there is no SQLite database at {}: check HAILONG_DATABASE_URL",
            db.display()
        )));
    }
    // Read-write without create (a read-only connection to a WAL database needs its -shm
    // file), and query-only: this connection never writes.
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed("cannot open the database"))?;
    src.busy_timeout(LOCK_WAIT)
        .map_err(failed("cannot set a busy timeout"))?;
    src.execute_batch("PRAGMA query_only = ON;")
        .map_err(failed("cannot open the database read-only"))?;
    let partial = partial_path(out);
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io(&partial))?;
    }
    finish(&partial, out, started, copy(&src, &partial))
}

fn copy(src: &Connection, partial: &Path) -> Result<(), BackupError> {
    let mut dst = Connection::open(partial).map_err(|e| BackupError::Io {
        path: partial.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    {
        let backup = Backup::new(src, &mut dst).map_err(failed("cannot start the backup"))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            // -1: every page in one step, under one read transaction.
            match backup.step(-1).map_err(failed("the backup failed"))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(BackupError::Failed(format!(
                        "the database stayed locked for {} s: try again",
                        LOCK_WAIT.as_secs()
                    )));
                }
                other => {
                    return Err(BackupError::Failed(format!(
                        "the backup stopped unexpectedly ({other:?})"
                    )));
                }
            }
        }
    }
    let mode: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(failed("cannot make the backup a single file"))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Failed(format!(
            "the backup stayed in journal mode `{mode}`"
        )));
    }
    dst.close()
        .map_err(|(_, e)| BackupError::Failed(format!("cannot close the backup: {e}")))
}

/// What `backup verify` found in a sound backup.
#[derive(Debug)]
pub struct Verified {
    pub responses: u64,
    pub rows_checked: usize,
}

/// Checks the SQLite backup `file`: SQLite's `integrity_check`, then the `index verify`
/// comparison (every stored rollup against a recompute from the raw responses). The file is
/// opened read-only as immutable: nothing is written to it or beside it.
pub async fn verify(file: &Path, catalog: &Catalog) -> Result<Verified, BackupError> {
    let path = file.to_path_buf();
    tokio::task::spawn_blocking(move || integrity(&path))
        .await
        .map_err(|e| BackupError::Failed(format!("the check stopped: {e}")))??;
    // The URL names the file; the options set it again as a path, whatever its characters.
    let mut opts = sea_orm::ConnectOptions::new(format!("sqlite://{}", file.display()));
    let path = file.to_path_buf();
    opts.sqlx_logging(false)
        .max_connections(1)
        .min_connections(1)
        .map_sqlx_sqlite_opts(move |o| o.filename(&path).read_only(true).immutable(true));
    let db = sea_orm::Database::connect(opts)
        .await
        .map_err(|e| BackupError::Failed(format!("cannot open {}: {e}", file.display())))?;
    let report = crate::store::verify::verify(&db, catalog).await;
    db.close().await.ok();
    let report = report.map_err(|e| {
        BackupError::Failed(format!("cannot read the responses of the backup: {e}"))
    })?;
    if !report.differences.is_empty() {
        let mut list: Vec<String> = report.differences.iter().take(20).cloned().collect();
        if report.differences.len() > 20 {
            list.push(format!("… and {} more", report.differences.len() - 20));
        }
        return Err(BackupError::Failed(format!(
            "{} rollup row(s) of the backup differ from a recompute of its responses:\n  {}",
            report.differences.len(),
            list.join("\n  ")
        )));
    }
    Ok(Verified {
        responses: report.responses,
        rows_checked: report.rows_checked,
    })
}

/// SQLite's own check of every page and index, and that the file is a Hài Lòng database.
fn integrity(file: &Path) -> Result<(), BackupError> {
    let damaged = |e: rusqlite::Error| {
        BackupError::Failed(format!(
            "{} is damaged or not a SQLite database: {e}",
            file.display()
        ))
    };
    let conn = Connection::open_with_flags(
        uri(file),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(damaged)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(damaged)?;
    let faults: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(damaged)?
        .collect::<Result<_, _>>()
        .map_err(damaged)?;
    if faults != ["ok"] {
        let shown: Vec<&str> = faults.iter().take(20).map(String::as_str).collect();
        return Err(BackupError::Failed(format!(
            "{} fails SQLite's integrity check ({} fault(s)):\n  {}",
            file.display(),
            faults.len(),
            shown.join("\n  ")
        )));
    }
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('responses', 'rollup_cells', 'seaql_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(damaged)?;
    if tables != 3 {
        return Err(BackupError::Failed(format!(
            "{} is a SQLite database but not a Hài Lòng database (it lacks the responses, rollup_cells or seaql_migrations table)",
            file.display()
        )));
    }
    Ok(())
}

/// A read-only, immutable `file:` URI for `path` (`?`, `#` and `%` escaped).
fn uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = String::from("file:");
    for c in abs.to_string_lossy().chars() {
        match c {
            '?' => s.push_str("%3f"),
            '#' => s.push_str("%23"),
            '%' => s.push_str("%25"),
            c => s.push(c),
        }
    }
    s.push_str("?immutable=1");
    s
}
