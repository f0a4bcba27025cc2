//! The backups `serve` takes itself when `[backup] dir` is set: one every `every_hours`, named
//! `hailong-YYYYMMDDTHHMMSSZ.db` (`.dump` on PostgreSQL) so that names sort by time, keeping the
//! newest `keep`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::config::BackupConfig;

const PREFIX: &str = "hailong-";
const STAMP: &str = "%Y%m%dT%H%M%SZ";
/// The wait before another try when a backup failed.
const RETRY: Duration = Duration::from_secs(15 * 60);

/// The extension of this backend's backups.
pub fn extension(database_url: &str) -> &'static str {
    if database_url.starts_with("postgres") {
        "dump"
    } else {
        "db"
    }
}

/// The file name of a backup taken at `at`.
pub fn file_name(at: DateTime<Utc>, ext: &str) -> String {
    format!("{PREFIX}{}.{ext}", at.format(STAMP))
}

/// When the backup named `name` was taken, if it is one of ours with extension `ext`.
pub fn taken_at(name: &str, ext: &str) -> Option<DateTime<Utc>> {
    let stamp = name
        .strip_prefix(PREFIX)?
        .strip_suffix(ext)?
        .strip_suffix('.')?;
    NaiveDateTime::parse_from_str(stamp, STAMP)
        .ok()
        .map(|t| t.and_utc())
}

/// The backups in `dir` with extension `ext`, oldest first (other files are never touched).
pub fn list(dir: &Path, ext: &str) -> std::io::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(at) = entry.file_name().to_str().and_then(|n| taken_at(n, ext))
            && entry.file_type()?.is_file()
        {
            found.push((at, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Deletes the oldest backups in `dir` beyond the newest `keep`; returns the deleted files.
pub fn rotate(dir: &Path, ext: &str, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let all = list(dir, ext)?;
    let excess = all.len().saturating_sub(keep);
    let mut deleted = Vec::with_capacity(excess);
    for (_, path) in all.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        deleted.push(path);
    }
    Ok(deleted)
}

/// How long to wait before the next backup: none is due until `every` after the newest.
fn next_wait(newest: Option<DateTime<Utc>>, now: DateTime<Utc>, every: Duration) -> Duration {
    match newest {
        None => Duration::ZERO,
        Some(at) => {
            let since = (now - at).to_std().unwrap_or(Duration::ZERO);
            every.saturating_sub(since)
        }
    }
}

/// Takes one backup into `cfg.dir` now and rotates; logs what it did.
pub async fn take_one(database_url: &str, dir: &Path, keep: usize) -> Result<(), String> {
    let ext = extension(database_url);
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the backup folder {}: {e}", dir.display()))?;
    let out = dir.join(file_name(Utc::now(), ext));
    let written = super::take(database_url, &out)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        file = %written.path.display(),
        bytes = written.bytes,
        ms = written.took.as_millis() as u64,
        "backup written"
    );
    match rotate(dir, ext, keep) {
        Ok(deleted) => {
            for path in deleted {
                tracing::info!(file = %path.display(), keep, "old backup deleted");
            }
            Ok(())
        }
        Err(e) => Err(format!(
            "the backup was written, but old backups in {} cannot be deleted: {e}",
            dir.display()
        )),
    }
}

/// Takes and rotates backups per `cfg` until the task is dropped (nothing while `dir` is unset).
pub async fn run(database_url: String, cfg: BackupConfig) {
    let Some(dir) = cfg.dir.clone() else { return };
    let ext = extension(&database_url);
    let every = Duration::from_secs(u64::from(cfg.every_hours) * 3600);
    tracing::info!(
        dir = %dir.display(),
        every_hours = cfg.every_hours,
        keep = cfg.keep,
        "scheduled backups are on"
    );
    loop {
        let newest = list(&dir, ext)
            .ok()
            .and_then(|all| all.last().map(|(at, _)| *at));
        tokio::time::sleep(next_wait(newest, Utc::now(), every)).await;
        match take_one(&database_url, &dir, cfg.keep).await {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(error = %e, retry_minutes = RETRY.as_secs() / 60, "scheduled backup failed");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_parse_back() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T09:05:07Z")
            .unwrap()
            .to_utc();
        let name = file_name(at, "db");
        assert_eq!(name, "hailong-20261203T090507Z.db");
        assert_eq!(taken_at(&name, "db"), Some(at));
        assert_eq!(taken_at(&name, "dump"), None);
        assert_eq!(taken_at("hailong-20261203T090507Z.db.partial", "db"), None);
        assert_eq!(taken_at("notes.db", "db"), None);
        assert!(file_name(at, "db") < file_name(at + chrono::Duration::seconds(1), "db"));
    }

    #[test]
    fn rotation_keeps_the_newest_and_touches_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "hailong-20260101T000000Z.db",
            "hailong-20260301T000000Z.db",
            "hailong-20260201T000000Z.db",
            "hailong-20260401T000000Z.db",
            "hailong-20250101T000000Z.dump",
            "hailong-20250101T000000Z.db.partial",
            "README.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let deleted = rotate(dir.path(), "db", 2).unwrap();
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(deleted),
            ["hailong-20260101T000000Z.db", "hailong-20260201T000000Z.db"]
        );
        let mut left = names(
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect(),
        );
        left.sort();
        assert_eq!(
            left,
            [
                "README.txt",
                "hailong-20250101T000000Z.db.partial",
                "hailong-20250101T000000Z.dump",
                "hailong-20260301T000000Z.db",
                "hailong-20260401T000000Z.db",
            ]
        );
        assert!(rotate(dir.path(), "db", 2).unwrap().is_empty());
    }

    #[test]
    fn the_next_backup_is_due_every_interval_after_the_newest() {
        let every = Duration::from_secs(6 * 3600);
        let now = Utc::now();
        assert_eq!(next_wait(None, now, every), Duration::ZERO);
        assert_eq!(
            next_wait(Some(now - chrono::Duration::hours(7)), now, every),
            Duration::ZERO
        );
        assert_eq!(
            next_wait(Some(now - chrono::Duration::hours(2)), now, every),
            Duration::from_secs(4 * 3600)
        );
        // A clock set back: wait the interval, not more.
        assert_eq!(
            next_wait(Some(now + chrono::Duration::hours(3)), now, every),
            every
        );
    }
}
