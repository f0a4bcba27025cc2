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
    let (from, to, reason) = if counted {
        ("flagged", "counted", None)
    } else {
        ("counted", "flagged", Some(EXCLUDED.to_string()))
    };
    let moved = response::Entity::update_many()
        .col_expr(response::Column::Status, Expr::value(to))
        .col_expr(response::Column::FlagReason, Expr::value(reason))
        .filter(response::Column::Id.eq(id))
        .filter(response::Column::Status.eq(from))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        txn.rollback().await?;
        return Ok(Change::AlreadyThere);
    }
    let survey = catalog
        .get(&resp.survey_id)
        .ok_or_else(|| FlagError::UnknownSurvey {
            id,
            survey: resp.survey_id.clone(),
        })?;
    let rows = super::responses::AnswerRow::from_json(&resp.answers);
    let cell = Cell::parse(&resp.cell).unwrap_or(Cell::Unknown);
    let respondent = crate::intake::respondent_from_rows(survey, cell, &rows);
    let contributions =
        crate::measure::contributions(&crate::intake::scale_spec(survey), &respondent);
    let mut delta = RollupDelta::default();
    delta.add(
        &resp.ward_code,
        &resp.month,
        &contributions,
        if counted { 1 } else { -1 },
    );
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
