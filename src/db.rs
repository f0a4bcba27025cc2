//! Opening the database (SQLite in WAL mode with durable commits, or PostgreSQL) and applying
//! migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::redact_url;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("cannot open the database {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot apply the migrations to {url}: {cause}")]
    Migrate { url: String, cause: String },
}

/// The settings every SQLite connection gets: WAL, `synchronous=FULL`, foreign keys and a busy
/// timeout.
fn durable(o: SqliteConnectOptions) -> SqliteConnectOptions {
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

/// Connects; SQLite gets WAL, `synchronous=FULL` (an acknowledged commit survives a power loss),
/// foreign keys and a busy timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(durable);
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts)
        .await
        .map_err(|e| DbOpenError::Connect {
            url: redact_url(url),
            cause: e.to_string(),
        })
}

/// The connection of the group-commit writer: one connection of its own, so that its page
/// cache stays warm (in WAL mode a connection's cache is dropped whenever another connection
/// has written) and its statements stay prepared. A SQLite file is driven in place on the
/// writer's thread, with an 8 MB page cache (see [`crate::sqlite_direct`]).
pub async fn connect_writer(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    if url.starts_with("sqlite:")
        && let Some(db) =
            crate::sqlite_direct::connect(url)
                .await
                .map_err(|e| DbOpenError::Connect {
                    url: redact_url(url),
                    cause: e.to_string(),
                })?
    {
        return Ok(db);
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None);
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| durable(o).pragma("cache_size", "-8000"));
    } else {
        opts.map_sqlx_postgres_opts(writer_session);
    }
    Database::connect(opts)
        .await
        .map_err(|e| DbOpenError::Connect {
            url: redact_url(url),
            cause: e.to_string(),
        })
}

/// The writer's PostgreSQL session.
///
/// * `enable_seqscan=off`: every query the writer runs is served by an index (the burst count
///   by the burst index, the upserts by their keys), but its prepared statements are planned
///   once, often while `responses` is still small and before autovacuum has analysed it, and a
///   sequential-scan plan made then stays: measured at 3 ms per burst count, 40 % of the
///   backend's time, after a few thousand submissions into a new database.
/// * A statement cache for every shape of the bulk statements (one per batch size, see
///   `store::exact_chunks`), so that none is prepared twice.
fn writer_session(
    o: sea_orm::sqlx::postgres::PgConnectOptions,
) -> sea_orm::sqlx::postgres::PgConnectOptions {
    o.options([("enable_seqscan", "off")])
        .statement_cache_capacity(512)
}

/// Connects and brings the schema up to date (on PostgreSQL under the start-up lock).
pub async fn open(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    let db = connect(url).await?;
    migrate(&db, url).await?;
    Ok(db)
}

/// As [`open`], then loads the shipped unit list into an empty database, both under the
/// start-up lock; returns the number of units loaded.
pub async fn open_with_units(url: &str) -> anyhow::Result<(DatabaseConnection, usize)> {
    let db = connect(url).await?;
    let lock = StartupLock::acquire(url).await?;
    let prepared = async {
        migrate_unlocked(&db, url).await?;
        crate::store::units::load_shipped_if_empty(&db).await
    }
    .await;
    lock.release().await;
    Ok((db, prepared?))
}

/// Applies the migrations (on PostgreSQL under the start-up lock).
pub async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbOpenError> {
    let lock = StartupLock::acquire(url).await?;
    let migrated = migrate_unlocked(db, url).await;
    lock.release().await;
    migrated
}

async fn migrate_unlocked(db: &DatabaseConnection, url: &str) -> Result<(), DbOpenError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| DbOpenError::Migrate {
            url: redact_url(url),
            cause: e.to_string(),
        })
}

/// The key of the PostgreSQL advisory lock taken around the start-up work ("HaiLong" + 1).
pub const STARTUP_LOCK_KEY: i64 = 0x4861_694C_6F6E_6701;

/// Serialises the start-up work (migrations, the first load of the unit list) of several
/// processes starting at once on one PostgreSQL database: a session-level advisory lock held
/// on a dedicated connection outside the pool, so that lock and unlock happen in one session.
/// If the process dies, the session ends and PostgreSQL releases the lock. SQLite needs none.
pub struct StartupLock(Option<sea_orm::sqlx::PgConnection>);

impl StartupLock {
    /// Takes the lock, waiting while another process holds it.
    pub async fn acquire(url: &str) -> Result<StartupLock, DbOpenError> {
        use sea_orm::sqlx::{self, Connection};
        if !url.starts_with("postgres") {
            return Ok(StartupLock(None));
        }
        let fail = |e: sqlx::Error| DbOpenError::Connect {
            url: redact_url(url),
            cause: format!("cannot take the start-up lock: {e}"),
        };
        let mut conn =
            tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(url))
                .await
                .map_err(|_| DbOpenError::Connect {
                    url: redact_url(url),
                    cause: "timed out connecting for the start-up lock".into(),
                })?
                .map_err(fail)?;
        let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(STARTUP_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(fail)?;
        if !got {
            tracing::info!("another process is migrating the database: waiting for it");
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(STARTUP_LOCK_KEY)
                .execute(&mut conn)
                .await
                .map_err(fail)?;
        }
        Ok(StartupLock(Some(conn)))
    }

    /// Releases the lock and closes its connection (closing alone would release it too).
    pub async fn release(self) {
        use sea_orm::sqlx::{self, Connection};
        if let Some(mut conn) = self.0 {
            if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(STARTUP_LOCK_KEY)
                .execute(&mut conn)
                .await
            {
                tracing::warn!(error = %e, "cannot release the start-up lock; closing its session");
            }
            let _ = conn.close().await;
        }
    }
}
