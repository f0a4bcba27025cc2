//! The append-only audit log of staff actions (docs/console.md). Rows are only ever inserted.

use chrono::Utc;
use sea_orm::{ActiveValue::NotSet, ConnectionTrait, DbErr, EntityTrait, Set};

use crate::entities::audit_log;

/// Appends one entry, in the caller's connection or transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: Option<String>,
) -> Result<(), DbErr> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        target: Set(target.to_string()),
        detail: Set(detail),
    })
    .exec(db)
    .await?;
    Ok(())
}
