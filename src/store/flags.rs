//! Moving a response between `counted` and `flagged` (docs/console.md): the status, the rollups and an
//! audit entry change in one transaction. The transition is a conditional UPDATE, so two
//! reviewers (or two instances) acting at once cannot apply the rollup change twice.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use super::responses::RollupDelta;
use crate::entities::response;
use crate::measure::Cell;
use crate::survey::catalog::Catalog;

/// The flag reason of a response a reviewer excluded.
pub const EXCLUDED: &str = "excluded";

#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("response {0} does not exist")]
    NotFound(i64),
    #[error("response {id} answered survey `{survey}`, which is not in the catalog")]
    UnknownSurvey { id: i64, survey: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The response moved; rollups and audit log updated.
    Done,
    /// It was already in the wanted state; nothing written.
    AlreadyThere,
}

/// Takes a counted response out of the index (status `flagged`, reason `excluded`).
pub async fn exclude(
    db: &DatabaseConnection,
    catalog: &Catalog,
    response_id: i64,
    actor: &str,
) -> Result<Change, FlagError> {
    set_counted(db, catalog, response_id, actor, false).await
}

/// Puts a flagged response into the index (status `counted`).
pub async fn include(
    db: &DatabaseConnection,
    catalog: &Catalog,
    response_id: i64,
    actor: &str,
) -> Result<Change, FlagError> {
    set_counted(db, catalog, response_id, actor, true).await
}

async fn set_counted(
    db: &DatabaseConnection,
    catalog: &Catalog,
    id: i64,
    actor: &str,
    counted: bool,
) -> Result<Change, FlagError> {
    let txn = super::begin_write(db).await?;
    let Some(resp) = response::Entity::find_by_id(id).one(&txn).await? else {
        return Err(FlagError::NotFound(id));
    };
    let mut delta = RollupDelta::default();
    let Some((from, to)) = move_one(&txn, catalog, &resp, counted, &mut delta).await? else {
        txn.rollback().await?;
        return Ok(Change::AlreadyThere);
    };
    delta.apply(&txn).await?;
    let detail = serde_json::json!({
        "ward_code": resp.ward_code,
        "receipt": resp.receipt,
        "from": from,
        "to": to,
        "previous_flag": resp.flag_reason,
    });
    super::audit::record(
        &txn,
        actor,
        if counted {
            "response.include"
        } else {
            "response.exclude"
        },
        &format!("response:{id}"),
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(Change::Done)
}

/// Moves `resp` into the index (`counted`) or out of it, with a conditional UPDATE, and adds
/// its rollup change to `delta`: the (from, to) statuses, or `None` when it was already there.
async fn move_one(
    txn: &impl sea_orm::ConnectionTrait,
    catalog: &Catalog,
    resp: &response::Model,
    counted: bool,
    delta: &mut RollupDelta,
) -> Result<Option<(&'static str, &'static str)>, FlagError> {
    let (from, to, reason) = if counted {
        ("flagged", "counted", None)
    } else {
        ("counted", "flagged", Some(EXCLUDED.to_string()))
    };
    let moved = response::Entity::update_many()
        .col_expr(response::Column::Status, Expr::value(to))
        .col_expr(response::Column::FlagReason, Expr::value(reason))
        .filter(response::Column::Id.eq(resp.id))
        .filter(response::Column::Status.eq(from))
        .exec(txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Ok(None);
    }
    let survey = catalog
        .get(&resp.survey_id)
        .ok_or_else(|| FlagError::UnknownSurvey {
            id: resp.id,
            survey: resp.survey_id.clone(),
        })?;
    let rows = super::responses::AnswerRow::from_json(&resp.answers);
    let cell = Cell::parse(&resp.cell).unwrap_or(Cell::Unknown);
    let respondent = crate::intake::respondent_from_rows(survey, cell, &rows);
    let contributions =
        crate::measure::contributions(&crate::intake::scale_spec(survey), &respondent);
    delta.add(
        &resp.ward_code,
        &resp.month,
        &contributions,
        if counted { 1 } else { -1 },
    );
    Ok(Some((from, to)))
}

/// One group of a ward's responses flagged `same_address`: those from one address hash on one
/// day. The hash itself never leaves the store; a group is named by its first response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressGroup {
    /// `YYYY-MM-DD`, the day whose key made the address hash (the Vietnam day).
    pub day: String,
    /// 1, 2, … in the order of the groups' first responses on that day.
    pub number: usize,
    /// The lowest response id of the group: what a form names it by.
    pub anchor: i64,
    pub count: usize,
    pub first: chrono::DateTime<chrono::Utc>,
    pub last: chrono::DateTime<chrono::Utc>,
}

/// The ward's flagged `same_address` responses with their address hash and day.
async fn same_address_rows(
    db: &impl sea_orm::ConnectionTrait,
    ward: &str,
) -> Result<Vec<(response::Model, String, String)>, DbErr> {
    use crate::entities::response_origin;
    let flagged = response::Entity::find()
        .filter(response::Column::WardCode.eq(ward))
        .filter(response::Column::Status.eq("flagged"))
        .filter(response::Column::FlagReason.eq(super::integrity::SAME_ADDRESS))
        .all(db)
        .await?;
    let mut origins = std::collections::HashMap::new();
    let ids: Vec<i64> = flagged.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(500) {
        for o in response_origin::Entity::find()
            .filter(response_origin::Column::ResponseId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            origins.insert(o.response_id, (o.ip_hash, o.day));
        }
    }
    Ok(flagged
        .into_iter()
        .filter_map(|r| {
            let (hash, day) = origins.remove(&r.id)?;
            Some((r, hash, day))
        })
        .collect())
}

/// The ward's `same_address` groups, newest day first, numbered within each day.
pub async fn address_groups(
    db: &DatabaseConnection,
    ward: &str,
) -> Result<Vec<AddressGroup>, DbErr> {
    let mut groups: std::collections::HashMap<(String, String), AddressGroup> =
        std::collections::HashMap::new();
    for (r, hash, day) in same_address_rows(db, ward).await? {
        let g = groups
            .entry((day.clone(), hash))
            .or_insert_with(|| AddressGroup {
                day,
                number: 0,
                anchor: r.id,
                count: 0,
                first: r.submitted_at,
                last: r.submitted_at,
            });
        g.count += 1;
        g.anchor = g.anchor.min(r.id);
        g.first = g.first.min(r.submitted_at);
        g.last = g.last.max(r.submitted_at);
    }
    let mut out: Vec<AddressGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        a.day
            .cmp(&b.day)
            .then(a.first.cmp(&b.first))
            .then(a.anchor.cmp(&b.anchor))
    });
    let mut day = String::new();
    let mut n = 0;
    for g in &mut out {
        if g.day != day {
            day = g.day.clone();
            n = 0;
        }
        n += 1;
        g.number = n;
    }
    out.sort_by(|a, b| b.day.cmp(&a.day).then(a.number.cmp(&b.number)));
    Ok(out)
}

/// Includes in the index every response of `ward` flagged `same_address` from the address and
/// day of the response `anchor` (one of them), in one transaction with one audit entry naming
/// the ward, the day and the count: what a reviewer does for a ward meeting on the office
/// Wi-Fi. The rollups change exactly as one include per response would change them. Returns
/// how many moved (0 when none was left flagged).
pub async fn include_address_group(
    db: &DatabaseConnection,
    catalog: &Catalog,
    ward: &str,
    anchor: i64,
    actor: &str,
) -> Result<usize, FlagError> {
    let txn = super::begin_write(db).await?;
    let rows = same_address_rows(&txn, ward).await?;
    let Some((_, hash, day)) = rows.iter().find(|(r, _, _)| r.id == anchor).cloned() else {
        txn.rollback().await?;
        return Err(FlagError::NotFound(anchor));
    };
    let mut delta = RollupDelta::default();
    let mut moved = 0;
    for (r, h, d) in &rows {
        if *h == hash
            && *d == day
            && move_one(&txn, catalog, r, true, &mut delta)
                .await?
                .is_some()
        {
            moved += 1;
        }
    }
    if moved == 0 {
        txn.rollback().await?;
        return Ok(0);
    }
    delta.apply(&txn).await?;
    let detail = serde_json::json!({
        "ward_code": ward,
        "day": day,
        "count": moved,
        "previous_flag": super::integrity::SAME_ADDRESS,
        "from": "flagged",
        "to": "counted",
    });
    super::audit::record(
        &txn,
        actor,
        "response.include_group",
        &format!("ward:{ward}"),
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(moved)
}

/// Flagged responses of a ward, newest first, with their reasons (for the review queue).
pub async fn flagged_of_ward(
    db: &DatabaseConnection,
    ward: &str,
) -> Result<Vec<response::Model>, DbErr> {
    use sea_orm::QueryOrder;
    response::Entity::find()
        .filter(response::Column::WardCode.eq(ward))
        .filter(response::Column::Status.eq("flagged"))
        .order_by_desc(response::Column::SubmittedAt)
        .all(db)
        .await
}

/// The newest `limit` flagged responses of a province's wards (for its review page).
pub async fn flagged_of_province(
    db: &DatabaseConnection,
    province_code: &str,
    limit: u64,
) -> Result<Vec<response::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    response::Entity::find()
        .filter(response::Column::Status.eq("flagged"))
        .filter(response::Column::WardCode.in_subquery(super::withheld::wards_of(province_code)))
        .order_by_desc(response::Column::SubmittedAt)
        .order_by_desc(response::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
