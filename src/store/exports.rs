//! Export queries: responses (never contact data) in pages by id, so that any number of rows
//! streams in bounded memory; every query applies the caller's [`Scope`].

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::responses::AnswerRow;
use crate::auth::Scope;
use crate::entities::{response, unit};
use crate::period::Period;

/// What an export covers, already checked against the scope by [`resolve`].
#[derive(Debug, Clone)]
pub struct ExportFilter {
    pub ward: Option<String>,
    pub province: Option<String>,
    pub period: Option<Period>,
}

/// The condition on `responses.ward_code` of a scope (every export query includes it).
fn scope_condition(scope: &Scope) -> Condition {
    match scope {
        Scope::Ministry => Condition::all(),
        Scope::Ward(w) => Condition::all().add(response::Column::WardCode.eq(w.clone())),
        Scope::Province(p) => Condition::all().add(in_province(p)),
        // An interviewer exports nothing (the console never lets one this far).
        Scope::Interviewer(_) => Condition::all().add(response::Column::Id.lt(0)),
    }
}

fn in_province(p: &str) -> sea_orm::sea_query::SimpleExpr {
    response::Column::WardCode.in_subquery(
        Query::select()
            .column(unit::Column::Code)
            .from(unit::Entity)
            .and_where(Expr::col(unit::Column::ProvinceCode).eq(p))
            .to_owned(),
    )
}

fn condition(scope: &Scope, f: &ExportFilter) -> Condition {
    let mut c = scope_condition(scope);
    if let Some(w) = &f.ward {
        c = c.add(response::Column::WardCode.eq(w.clone()));
    }
    if let Some(p) = &f.province {
        c = c.add(in_province(p));
    }
    if let Some(period) = f.period {
        c = c.add(super::in_period(period));
    }
    c
}

/// What a ward user's export shows in place of the text of a response withheld from the ward.
pub const WITHHELD_TEXT: &str = "[đang chờ cấp trên xem xét]";

/// One page of responses after `after_id`, ordered by id, with their answers (contact data
/// lives in another table and is never read here).
pub async fn responses_page(
    db: &impl ConnectionTrait,
    scope: &Scope,
    f: &ExportFilter,
    after_id: i64,
    limit: u64,
) -> Result<Vec<(response::Model, Vec<AnswerRow>)>, DbErr> {
    let rows = response::Entity::find()
        .filter(condition(scope, f))
        .filter(response::Column::Id.gt(after_id))
        .order_by_asc(response::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    // A ward user's export leaves out the text of complaints withheld from the ward.
    let withheld = if scope.reviews_wards() {
        std::collections::HashSet::new()
    } else {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        super::withheld::unreleased_among(db, &ids).await?
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut a = AnswerRow::from_json(&r.answers);
            if withheld.contains(&r.id) {
                for row in a.iter_mut().filter(|row| row.value_text.is_some()) {
                    row.value_text = Some(WITHHELD_TEXT.to_string());
                }
            }
            (r, a)
        })
        .collect())
}

/// Ward code → province code, for the export's `province_code` column.
pub async fn province_of_wards(
    db: &impl ConnectionTrait,
) -> Result<HashMap<String, String>, DbErr> {
    Ok(unit::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.code, u.province_code))
        .collect())
}
