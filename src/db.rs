//! Opening the database (SQLite in WAL mode with durable commits, or PostgreSQL) and applying
//! migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
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

/// Connects; SQLite gets WAL, `synchronous=FULL` (an acknowledged commit survives a power loss),
/// foreign keys and a busy timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
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

/// Connects and brings the schema up to date.
pub async fn open(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    let db = connect(url).await?;
    migrate(&db, url).await?;
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbOpenError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| DbOpenError::Migrate {
            url: redact_url(url),
            cause: e.to_string(),
        })
}
