//! The review queue of flagged responses (docs/console.md): `GET /staff/wards/{code}/flagged` lists a
//! ward's flagged responses with their reasons; a reviewer includes one in the index
//! (`POST …/flagged/{id}/include`) or excludes a counted one (`POST …/responses/{id}/exclude`).
//! Responses flagged `same_address` are also shown grouped by day and address ("Nhóm địa chỉ
//! 1, 2…", never the hash), each group with one form that includes all of it in one audited
//! step (`POST …/flagged/groups/{first response id}/include`).
//! Each move updates the rollups and the audit log in one transaction (`store::flags`).
//! Reviewers are province and ministry staff: a ward may not include its own flagged responses.
//! `GET /staff/provinces/{code}/review` is the province's review page: complaints withheld from
//! their wards and the province's flagged responses (see `withheld`, with bulk forms), and the
//! wards' notes awaiting approval ("Anh/chị nói, chúng tôi làm", see `actions`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use sea_orm::EntityTrait;
use serde::Deserialize;

use super::{Staff, render, see_other};
use crate::app::AppState;
use crate::entities::response;
use crate::error::{AppError, AppResult};
use crate::store::{feedback, flags};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/wards/{ward_code}/flagged", get(queue))
        .route(
            "/staff/wards/{ward_code}/flagged/{id}/include",
            post(include),
        )
        .route(
            "/staff/wards/{ward_code}/flagged/groups/{anchor}/include",
            post(include_group),
        )
        .route(
            "/staff/wards/{ward_code}/responses/{id}/exclude",
            post(exclude),
        )
        .route(
            "/staff/provinces/{province_code}/review",
            get(province_review),
        )
}

#[derive(Deserialize, Default)]
pub struct ReviewQuery {
    done: Option<String>,
    /// How many the bulk action changed.
    n: Option<usize>,
}

/// The province's review page: the notes of its wards awaiting approval.
async fn province_review(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> AppResult<Response> {
    if !staff.scope().contains_province(&code) {
        return Err(AppError::NotFound);
    }
    let province = crate::store::units::find_province(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut notes = Vec::new();
    for n in crate::store::actions::pending_of_province(&state.db, &province.code).await? {
        let mut j = super::actions::note_json(&n);
        let name = state
            .units
            .get(&state.db, &n.ward_code)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        j["ward_name"] = serde_json::json!(name);
        notes.push(j);
    }
    let mut ctx = staff.context();
    ctx.insert(
        "province",
        &serde_json::json!({"code": province.code, "name": province.name}),
    );
    ctx.insert("notes", &notes);
    let (complaints, flagged) =
        super::withheld::review_lists(&state, &province.code, staff.lang).await?;
    ctx.insert("complaints", &complaints);
    ctx.insert("flagged", &flagged);
    ctx.insert(
        "done",
        &q.done.filter(|d| {
            [
                "approved", "rejected", "released", "included", "excluded", "none",
            ]
            .contains(&d.as_str())
        }),
    );
    ctx.insert("done_n", &q.n.unwrap_or(0));
    render(&state, "staff/review.html", &ctx)
}

/// The ward, when the user may review it (province or ministry scope); else 404.
async fn reviewable(
    state: &AppState,
    staff: &Staff,
    ward_code: &str,
) -> AppResult<crate::store::units::UnitInfo> {
    if !staff.scope().can_enter_criteria() {
        return Err(AppError::NotFound);
    }
    feedback::ward_in_scope(&state.db, staff.scope(), ward_code)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    included: Option<usize>,
}

async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Path(ward_code): Path<String>,
    Query(q): Query<QueueQuery>,
) -> AppResult<Response> {
    let ward = reviewable(&state, &staff, &ward_code).await?;
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&crate::period::vietnam());
    let rows: Vec<_> = flags::flagged_of_ward(&state.db, &ward.code)
        .await?
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "receipt": r.receipt, "channel": r.channel,
                "submitted_at": local(r.submitted_at).format("%d/%m/%Y %H:%M").to_string(),
                "reason": r.flag_reason,
            })
        })
        .collect();
    let groups: Vec<_> = flags::address_groups(&state.db, &ward.code)
        .await?
        .into_iter()
        .map(|g| {
            let day = chrono::NaiveDate::parse_from_str(&g.day, "%Y-%m-%d")
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or(g.day.clone());
            serde_json::json!({
                "day": day, "number": g.number, "anchor": g.anchor, "count": g.count,
                "first": local(g.first).format("%H:%M").to_string(),
                "last": local(g.last).format("%H:%M").to_string(),
            })
        })
        .collect();
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    ctx.insert("rows", &rows);
    ctx.insert("groups", &groups);
    ctx.insert("included", &q.included);
    render(&state, "staff/flagged.html", &ctx)
}

#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: Option<String>,
}

/// The response, when it belongs to the ward; else 404.
async fn response_of(state: &AppState, ward: &str, id: &str) -> AppResult<response::Model> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    response::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|r| r.ward_code == ward)
        .ok_or(AppError::NotFound)
}

async fn move_response(
    state: &AppState,
    staff: &Staff,
    ward_code: &str,
    id: &str,
    counted: bool,
) -> AppResult<Response> {
    let ward = reviewable(state, staff, ward_code).await?;
    let r = response_of(state, &ward.code, id).await?;
    let result = if counted {
        flags::include(&state.db, &state.catalog, r.id, &staff.user.email).await
    } else {
        flags::exclude(&state.db, &state.catalog, r.id, &staff.user.email).await
    };
    result.map_err(|e| AppError::Internal(format!("{e:?}")))?;
    Ok(see_other(&format!("/staff/wards/{}/flagged", ward.code)))
}

async fn include(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    move_response(&state, &staff, &ward_code, &id, true).await
}

async fn exclude(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    move_response(&state, &staff, &ward_code, &id, false).await
}

/// Includes a whole `same_address` group (named by its first response) in one audited step.
async fn include_group(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, anchor)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let ward = reviewable(&state, &staff, &ward_code).await?;
    let anchor: i64 = anchor.parse().map_err(|_| AppError::NotFound)?;
    let moved = match flags::include_address_group(
        &state.db,
        &state.catalog,
        &ward.code,
        anchor,
        &staff.user.email,
    )
    .await
    {
        Ok(n) => n,
        Err(flags::FlagError::NotFound(_)) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(format!("{e:?}"))),
    };
    Ok(see_other(&format!(
        "/staff/wards/{}/flagged?included={moved}",
        ward.code
    )))
}
