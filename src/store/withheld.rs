//! Complaints about the police do not go to the accused: a response whose comment or issue
//! names misconduct (`mail.misconduct_keywords`) is stored with a row in `withheld_responses`
//! by the writer, in the response's own transaction. Until a province or ministry user releases
//! it, the ward's inbox, item pages, alerts and exports leave its text out; the province's
//! users are alerted instead (`mail::alerts`). Its scores count as usual.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entities::{response, unit, withheld_response};

/// The condition "the response is not withheld from its ward" (never withheld, or released).
pub fn not_withheld() -> SimpleExpr {
    response::Column::Id.not_in_subquery(
        Query::select()
            .column(withheld_response::Column::ResponseId)
            .from(withheld_response::Entity)
            .and_where(withheld_response::Column::ReleasedAt.is_null())
            .to_owned(),
    )
}

/// The codes of a province's units, as a subquery.
pub fn wards_of(province_code: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(unit::Column::Code)
        .from(unit::Entity)
        .and_where(unit::Column::ProvinceCode.eq(province_code))
        .to_owned()
}

/// Which of `ids` are withheld and not released.
pub async fn unreleased_among(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashSet<i64>, DbErr> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let rows = withheld_response::Entity::find()
            .filter(withheld_response::Column::ResponseId.is_in(chunk.iter().copied()))
            .filter(withheld_response::Column::ReleasedAt.is_null())
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|w| w.response_id));
    }
    Ok(out)
}

/// One withheld response awaiting release, with the response itself.
#[derive(Debug, Clone)]
pub struct Pending {
    pub withheld: withheld_response::Model,
    pub response: response::Model,
}

/// The withheld, unreleased responses of a province's wards, newest first (at most 500).
pub async fn pending_of_province(
    db: &impl ConnectionTrait,
    province_code: &str,
) -> Result<Vec<Pending>, DbErr> {
    let rows = withheld_response::Entity::find()
        .filter(withheld_response::Column::ReleasedAt.is_null())
        .filter(withheld_response::Column::WardCode.in_subquery(wards_of(province_code)))
        .order_by_desc(withheld_response::Column::WithheldAt)
        .order_by_desc(withheld_response::Column::ResponseId)
        .limit(500)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|w| w.response_id).collect();
    let mut responses: std::collections::HashMap<i64, response::Model> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        for r in response::Entity::find()
            .filter(response::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            responses.insert(r.id, r);
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|w| {
            responses.remove(&w.response_id).map(|response| Pending {
                withheld: w,
                response,
            })
        })
        .collect())
}

/// Releases the withheld responses `ids` to their wards, those of the province
/// `province_code` only when given (a province user), in one transaction with one audit entry
/// each. Ids not withheld, already released or outside the province are left alone. Returns
/// how many were released.
pub async fn release(
    db: &DatabaseConnection,
    ids: &[i64],
    province_code: Option<&str>,
    actor: &str,
) -> Result<usize, DbErr> {
    let txn = super::begin_write(db).await?;
    let mut released = 0;
    for &id in ids {
        let Some(w) = withheld_response::Entity::find_by_id(id).one(&txn).await? else {
            continue;
        };
        if w.released_at.is_some() {
            continue;
        }
        if let Some(p) = province_code {
            let in_province = unit::Entity::find_by_id(w.ward_code.clone())
                .one(&txn)
                .await?
                .is_some_and(|u| u.province_code == p);
            if !in_province {
                continue;
            }
        }
        let moved = withheld_response::Entity::update_many()
            .col_expr(
                withheld_response::Column::ReleasedAt,
                Expr::value(Utc::now()),
            )
            .col_expr(withheld_response::Column::ReleasedBy, Expr::value(actor))
            .filter(withheld_response::Column::ResponseId.eq(id))
            .filter(withheld_response::Column::ReleasedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if moved == 0 {
            continue;
        }
        super::audit::record(
            &txn,
            actor,
            "response.release",
            &format!("response:{id}"),
            Some(format!(
                "chuyển cho đơn vị {} (từ khoá: {})",
                w.ward_code, w.keywords
            )),
        )
        .await?;
        released += 1;
    }
    txn.commit().await?;
    Ok(released)
}
