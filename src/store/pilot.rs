//! The pilot group of model wards (docs/console.md, "Pilot group"): the units the ministry's
//! home shows side by side. Kept in `pilot_wards` and edited by the ministry in the console;
//! every change is audited in the same transaction (`pilot.add`, `pilot.remove`). On start,
//! `serve` fills the group once from `[staff] pilot_wards` ([`seed_from_config`]).

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use crate::entities::{pilot_ward, unit};

/// Who added the units that came from the configuration file.
pub const FROM_CONFIG: &str = "config";

/// Every unit of the group, by code.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<pilot_ward::Model>, DbErr> {
    pilot_ward::Entity::find()
        .order_by_asc(pilot_ward::Column::WardCode)
        .all(db)
        .await
}

/// The codes of the group's units, in code order.
pub async fn codes(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    Ok(list(db).await?.into_iter().map(|p| p.ward_code).collect())
}

/// Adds unit `code` (which must exist) to the group, audited as `pilot.add` by `actor`;
/// `Ok(false)` when it was already in the group (nothing written).
pub async fn add(db: &DatabaseConnection, code: &str, actor: &str) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let n = pilot_ward::Entity::insert(pilot_ward::ActiveModel {
        ward_code: Set(code.to_string()),
        added_at: Set(Utc::now()),
        added_by: Set(actor.to_string()),
    })
    .on_conflict(
        OnConflict::column(pilot_ward::Column::WardCode)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if n == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    let size = pilot_ward::Entity::find().count(&txn).await?;
    super::audit::record(
        &txn,
        actor,
        "pilot.add",
        &format!("ward:{code}"),
        Some(serde_json::json!({"size": size}).to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Removes unit `code` from the group, audited as `pilot.remove` by `actor`; `Ok(false)` when
/// it was not in the group.
pub async fn remove(db: &DatabaseConnection, code: &str, actor: &str) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let n = pilot_ward::Entity::delete_many()
        .filter(pilot_ward::Column::WardCode.eq(code))
        .exec(&txn)
        .await?
        .rows_affected;
    if n == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    let size = pilot_ward::Entity::find().count(&txn).await?;
    super::audit::record(
        &txn,
        actor,
        "pilot.remove",
        &format!("ward:{code}"),
        Some(serde_json::json!({"size": size}).to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// What [`seed_from_config`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Seeded {
    /// The units put in the group.
    pub added: Vec<String>,
    /// Configured codes that are not units of the list (left out).
    pub unknown: Vec<String>,
}

/// Fills the group from the configured codes when the group is empty and the console has
/// never changed it (no `pilot.` entry in the audit log: a group the ministry emptied stays
/// empty). Audited once as `pilot.seed` by `system`. Deployments that configured
/// `[staff] pilot_wards` before the group moved to the database keep their group.
pub async fn seed_from_config(
    db: &DatabaseConnection,
    configured: &[String],
) -> Result<Seeded, DbErr> {
    if configured.is_empty()
        || pilot_ward::Entity::find().count(db).await? > 0
        || super::audit::any_action_with_prefix(db, "pilot.").await?
    {
        return Ok(Seeded::default());
    }
    let known: Vec<String> = unit::Entity::find()
        .filter(unit::Column::Code.is_in(configured.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let mut seeded = Seeded::default();
    for c in configured {
        if seeded.added.contains(c) || seeded.unknown.contains(c) {
            continue;
        }
        if known.contains(c) {
            seeded.added.push(c.clone());
        } else {
            seeded.unknown.push(c.clone());
        }
    }
    if seeded.added.is_empty() {
        return Ok(seeded);
    }
    let txn = super::begin_write(db).await?;
    let now = Utc::now();
    pilot_ward::Entity::insert_many(seeded.added.iter().map(|c| pilot_ward::ActiveModel {
        ward_code: Set(c.clone()),
        added_at: Set(now),
        added_by: Set(FROM_CONFIG.to_string()),
    }))
    .on_conflict(
        OnConflict::column(pilot_ward::Column::WardCode)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    super::audit::record(
        &txn,
        "system",
        "pilot.seed",
        "pilot",
        Some(
            serde_json::json!({"wards": seeded.added, "source": "[staff] pilot_wards"}).to_string(),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(seeded)
}
