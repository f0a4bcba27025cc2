//! Contact e-mails are kept for `privacy.contact_retention_days` (default 90), then deleted by a
//! background task of `hailong serve` (hourly) — or by [`purge_contacts`] directly.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::entities::contact;

/// Deletes the contact e-mails left before `now - retention_days`; returns how many.
pub async fn purge_contacts(
    db: &DatabaseConnection,
    retention_days: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let res = contact::Entity::delete_many()
        .filter(contact::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Runs [`purge_contacts`] at start and then every `every`, until the task is dropped.
pub async fn purge_loop(db: DatabaseConnection, retention_days: u32, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match purge_contacts(&db, retention_days, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "purged contact e-mails past their retention"),
            Err(e) => tracing::error!(error = %e, "cannot purge contact e-mails"),
        }
    }
}
