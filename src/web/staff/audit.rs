//! The audit trail of staff actions: recording (into `audit_log`) and the ministry's
//! page that reads it.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::{Staff, render};
use crate::app::AppState;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};
use crate::store::staff::StaffUser;

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/audit", get(page))
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    action: Option<String>,
    page: Option<u64>,
}

const PAGE: u64 = 100;

/// `GET /staff/audit` (ministry only): newest first, filtered by action.
async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    if !staff.scope().is_ministry() {
        return Err(AppError::NotFound);
    }
    let action = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let mut query = audit_log::Entity::find();
    if let Some(a) = action {
        query = query.filter(audit_log::Column::Action.eq(a));
    }
    let total = query.clone().count(&state.db).await?;
    let page = q.page.unwrap_or(0).min(1_000_000);
    let rows: Vec<serde_json::Value> = query
        .order_by_desc(audit_log::Column::Id)
        .offset(page * PAGE)
        .limit(PAGE)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "at": r.at.with_timezone(&crate::period::vietnam()).format("%Y-%m-%d %H:%M:%S").to_string(),
                "actor": r.actor, "action": r.action, "target": r.target,
                "detail": r.detail.unwrap_or_default(),
            })
        })
        .collect();
    let mut ctx = staff.context();
    ctx.insert("rows", &rows);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("has_next", &((page + 1) * PAGE < total));
    ctx.insert("action", &action);
    render(&state, "staff/audit.html", &ctx)
}

/// Records one staff action in the append-only `audit_log`. The action it records has
/// already happened, so a failure to write does not undo it: it is logged as an error.
pub async fn record(
    state: &AppState,
    actor: Option<&StaffUser>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let actor = actor.map_or("-", |a| a.email.as_str());
    let detail = (!detail.as_object().is_some_and(|o| o.is_empty())).then(|| detail.to_string());
    if let Err(e) = crate::store::audit::record(&state.db, actor, action, target, detail).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}
