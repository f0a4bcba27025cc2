//! Queries and writes over the entities; rollup maintenance.

pub mod audit;
pub mod csvio;
pub mod flags;
pub mod integrity;
pub mod posters;
pub mod responses;
pub mod tokens;
pub mod units;
pub mod verify;

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

/// Stores responses in one transaction; returns their receipts after the commit.
pub async fn write_batch(
    db: &DatabaseConnection,
    batch: &[responses::NewResponse],
) -> Result<Vec<String>, DbErr> {
    let txn = db.begin().await?;
    let receipts = responses::insert_batch(&txn, batch).await?;
    txn.commit().await?;
    Ok(receipts)
}

/// As [`write_batch`], with the configured integrity rules.
pub async fn write_batch_with(
    db: &DatabaseConnection,
    batch: &[responses::NewResponse],
    rules: &crate::config::IntegrityConfig,
) -> Result<Vec<String>, DbErr> {
    let txn = db.begin().await?;
    let receipts = responses::insert_batch_with(&txn, batch, rules).await?;
    txn.commit().await?;
    Ok(receipts)
}
