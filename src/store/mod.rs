//! Queries and writes over the entities; rollup maintenance.

pub mod api_tokens;
pub mod csvio;
pub mod exports;
pub mod feedback;
pub mod figures;
pub mod responses;
pub mod staff;
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
