//! "Anh/chị nói, chúng tôi làm": a ward's users write short notes on what they did about what
//! residents raised (`GET|POST /staff/wards/{code}/actions`); the province's users and the
//! ministry approve or reject them (`POST /staff/actions/{id}/approve`, `…/reject`) from the
//! province's review page. Approved notes show on the ward's public results page. Anything
//! outside the user's scope answers 404.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, response::Html};
use serde::Deserialize;

use super::{Staff, see_other};
use crate::app::AppState;
use crate::auth::Scope;
use crate::entities::action_note;
use crate::error::{AppError, AppResult};
use crate::store::actions::{self, MAX_CHARS, NewNote};
use crate::store::units::UnitInfo;
use crate::web::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/wards/{ward_code}/actions", get(page).post(add))
        .route("/staff/actions/{id}/approve", post(approve))
        .route("/staff/actions/{id}/reject", post(reject))
}

/// A note as the staff templates list it.
pub fn note_json(n: &action_note::Model) -> serde_json::Value {
    let words = |lang| {
        crate::period::Period::parse(&n.period)
            .map(|p| crate::web::results::format::period(p, lang))
            .unwrap_or_else(|_| n.period.clone())
    };
    serde_json::json!({
        "period_vi": words(crate::web::Lang::Vi),
        "period_en": words(crate::web::Lang::En),
        "id": n.id,
        "ward_code": n.ward_code,
        "period": n.period,
        "body": n.body,
        "state": n.state,
        "created": n.created_at.with_timezone(&crate::period::vietnam()).format("%d/%m/%Y").to_string(),
    })
}

/// Whether this user writes the ward's notes: only a user of that very ward.
fn writes_for(staff: &Staff, ward: &UnitInfo) -> bool {
    matches!(staff.scope(), Scope::Ward(w) if *w == ward.code)
}

/// Puts the notes section's context (see `staff/action_notes.html`) into `ctx`; the form's
/// period starts at `period` unless the form is being shown again.
pub async fn notes_context(
    state: &AppState,
    staff: &Staff,
    ward: &UnitInfo,
    period: crate::period::Period,
    ctx: &mut tera::Context,
) -> AppResult<()> {
    let notes: Vec<_> = actions::of_ward(&state.db, &ward.code)
        .await?
        .iter()
        .map(note_json)
        .collect();
    ctx.insert("notes", &notes);
    ctx.insert("can_write", &writes_for(staff, ward));
    ctx.insert("max_chars", &MAX_CHARS);
    if ctx.get("note_form").is_none() {
        ctx.insert(
            "note_form",
            &serde_json::json!({"period": period.to_string(), "text": ""}),
        );
    }
    Ok(())
}

async fn ward_of(state: &AppState, staff: &Staff, code: &str) -> AppResult<UnitInfo> {
    crate::store::feedback::ward_in_scope(&state.db, staff.scope(), code)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<SavedQuery>,
) -> AppResult<Response> {
    let ward = ward_of(&state, &staff, &code).await?;
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    ctx.insert("saved", &q.saved.is_some());
    notes_context(
        &state,
        &staff,
        &ward,
        crate::period::Period::current_quarter(),
        &mut ctx,
    )
    .await?;
    super::render(&state, "staff/actions.html", &ctx)
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: Option<String>,
    period: Option<String>,
    text: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let ward = ward_of(&state, &staff, &code).await?;
    if !writes_for(&staff, &ward) {
        return Err(AppError::NotFound);
    }
    let period = f.period.unwrap_or_default();
    let text = f.text.unwrap_or_default();
    let note = match NewNote::parse(&period, &text) {
        Ok(n) => n,
        Err(bad) => {
            let mut ctx = staff.context();
            ctx.insert("ward", &ward);
            ctx.insert("saved", &false);
            ctx.insert(
                "note_error",
                &match staff.lang {
                    Lang::Vi => bad.vi,
                    Lang::En => bad.en,
                },
            );
            ctx.insert(
                "note_form",
                &serde_json::json!({"period": period, "text": text}),
            );
            notes_context(
                &state,
                &staff,
                &ward,
                crate::period::Period::current_quarter(),
                &mut ctx,
            )
            .await?;
            let body = state.tera.render("staff/actions.html", &ctx)?;
            let mut resp = (StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response();
            resp.extensions_mut().insert(crate::web::FinalPage);
            return Ok(resp);
        }
    };
    actions::create(
        &state.db,
        &ward.code,
        &note,
        staff.user.id,
        &staff.user.email,
    )
    .await?;
    let lang = if staff.lang == Lang::En {
        "&lang=en"
    } else {
        ""
    };
    Ok(see_other(&format!(
        "/staff/wards/{}/actions?saved=1{lang}",
        ward.code
    )))
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
}

async fn decide(state: &AppState, staff: &Staff, id: &str, approve: bool) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let note = actions::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Reviewers: the province's users and the ministry; a ward never approves its own notes.
    if !staff.scope().can_enter_criteria() {
        return Err(AppError::NotFound);
    }
    let ward = ward_of(state, staff, &note.ward_code).await?;
    let changed = actions::decide(
        &state.db,
        note.id,
        approve,
        staff.user.id,
        &staff.user.email,
    )
    .await?;
    if !changed {
        let message =
            "Ghi chú này đã được xem xét trước đó. / This note has already been reviewed.";
        let mut r = (StatusCode::CONFLICT, message).into_response();
        r.extensions_mut()
            .insert(crate::error::ErrorMessage(message.to_string()));
        return Ok(r);
    }
    // The ward's results page shows its approved notes: render it afresh, from a standby only
    // once it has the decision (else the page kept for a minute would miss it).
    state.reads.fence().await;
    state.results.clear();
    let done = if approve { "approved" } else { "rejected" };
    let lang = if staff.lang == Lang::En {
        "&lang=en"
    } else {
        ""
    };
    Ok(see_other(&format!(
        "/staff/provinces/{}/review?done={done}{lang}",
        ward.province_code
    )))
}

async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    decide(&state, &staff, &id, true).await
}

async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    decide(&state, &staff, &id, false).await
}
