//! Backups (see docs/deployment.md): `hailong backup --out FILE`, `hailong backup verify FILE`,
//! and the backups `serve` takes and rotates itself when `[backup] dir` is set.
//!
//! SQLite is copied online with SQLite's backup API from a connection of its own, in one step:
//! one read transaction, so the copy is the database as of one instant, and every submission
//! acknowledged before the copy began (acknowledged only after its commit) is in it; the writer
//! goes on committing to the WAL meanwhile. PostgreSQL is dumped with `pg_dump -Fc`.
//!
//! A backup is written to `FILE.partial` beside its destination, flushed to disk, then renamed:
//! a failed or interrupted backup never leaves a file under the destination's name.

pub mod postgres;
pub mod schedule;
pub mod sqlite;

use std::path::{Path, PathBuf};

/// What a finished backup wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub took: std::time::Duration,
}

/// Why a backup or its check failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Failed(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes a backup of the database at `database_url` into `out` (SQLite or PostgreSQL).
pub async fn take(database_url: &str, out: &Path) -> Result<Written, BackupError> {
    if out.is_dir() {
        return Err(BackupError::Failed(format!(
            "{} is a folder: give the backup's file name, e.g. --out {}",
            out.display(),
            out.join("hailong-backup.db").display()
        )));
    }
    if database_url.starts_with("postgres") {
        postgres::dump(database_url, out).await
    } else {
        let path = sqlite::database_path(database_url)?;
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || sqlite::backup(&path, &out))
            .await
            .map_err(|e| BackupError::Failed(format!("the backup task stopped: {e}")))?
    }
}

/// The file `path.partial`, where a backup is written before it is renamed to `path`.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Ends a backup written to `partial` (`made` says whether that worked): publishes it as `out`,
/// or removes what there is of it.
pub(crate) fn finish(
    partial: &Path,
    out: &Path,
    started: std::time::Instant,
    made: Result<(), BackupError>,
) -> Result<Written, BackupError> {
    match made.and_then(|()| publish(partial, out)) {
        Ok(bytes) => Ok(Written {
            path: out.to_path_buf(),
            bytes,
            took: started.elapsed(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(partial);
            Err(e)
        }
    }
}

/// Flushes `partial` to disk, renames it to `out` and flushes the folder, so that `out` is
/// either the whole backup or absent after a crash.
fn publish(partial: &Path, out: &Path) -> Result<u64, BackupError> {
    let file = std::fs::File::open(partial).map_err(io(partial))?;
    file.sync_all().map_err(io(partial))?;
    let bytes = file.metadata().map_err(io(partial))?.len();
    drop(file);
    std::fs::rename(partial, out).map_err(io(out))?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(bytes)
}

/// `hailong backup --out FILE`.
pub async fn backup_command(config: &crate::config::Config, out: &Path) -> std::process::ExitCode {
    match take(&config.database_url, out).await {
        Ok(w) => {
            println!(
                "backup written: {} ({} bytes in {:.1} s)",
                w.path.display(),
                w.bytes,
                w.took.as_secs_f64()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: no backup was written: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// `hailong backup verify FILE`: a SQLite backup is checked with SQLite's integrity check and
/// the `index verify` comparison; a `pg_dump -Fc` archive with `pg_restore --list`.
pub async fn verify_command(config: &crate::config::Config, file: &Path) -> std::process::ExitCode {
    let fail = |m: String| {
        eprintln!("error: {m}");
        std::process::ExitCode::from(1)
    };
    let mut head = [0u8; 16];
    let read = std::fs::File::open(file).and_then(|mut f| {
        use std::io::Read;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    });
    let n = match read {
        Ok(n) => n,
        Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
    };
    if n >= postgres::MAGIC.len() && head.starts_with(postgres::MAGIC) {
        return match postgres::check_dump(file).await {
            Ok(entries) => {
                println!(
                    "ok: {} is a readable PostgreSQL dump ({entries} entries); restore it into a \
                     scratch database and run `hailong index verify` there for the full check",
                    file.display()
                );
                std::process::ExitCode::SUCCESS
            }
            Err(e) => fail(e.to_string()),
        };
    }
    if n < sqlite::MAGIC.len() || &head != sqlite::MAGIC {
        return fail(format!(
            "{} is not a backup: it is neither a SQLite database nor a pg_dump -Fc archive{}",
            file.display(),
            if n == 0 { " (it is empty)" } else { "" }
        ));
    }
    let catalog = match crate::app::load_catalog(config) {
        Ok(c) => c,
        Err(e) => return fail(format!("{e:#}")),
    };
    match sqlite::verify(file, &catalog).await {
        Ok(v) => {
            println!(
                "ok: {} passes SQLite's integrity check, and its {} rollup rows match a full \
                 recompute of its {} counted responses",
                file.display(),
                v.rows_checked,
                v.responses
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => fail(format!("the backup {} is not sound: {e}", file.display())),
    }
}
