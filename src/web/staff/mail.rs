//! `GET /staff/mail` (ministry only): the messages the outbox could not deliver yet or gave up
//! on, with a retry button for failed ones. Residents' addresses are shown masked.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Staff, audit, render, see_other};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::mail::outbox;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/mail", get(page))
        .route("/staff/mail/{id}/retry", post(retry))
}

use crate::mail::outbox::RESIDENT_KINDS;

async fn page(State(state): State<AppState>, staff: Staff) -> AppResult<Response> {
    if !staff.scope().is_ministry() {
        return Err(AppError::NotFound);
    }
    let mut sections = Vec::new();
    for status in [outbox::FAILED, outbox::PENDING] {
        let rows: Vec<serde_json::Value> = outbox::list(&state.db, status, 200)
            .await?
            .into_iter()
            .map(|m| {
                let recipient = if RESIDENT_KINDS.contains(&m.kind.as_str()) {
                    crate::privacy::mask_text(&m.recipient)
                } else {
                    m.recipient.clone()
                };
                serde_json::json!({
                    "id": m.id,
                    "kind": m.kind,
                    "recipient": recipient,
                    "attempts": m.attempts,
                    "next_attempt_at": m.next_attempt_at.with_timezone(&crate::period::vietnam()).format("%Y-%m-%d %H:%M").to_string(),
                    "last_error": m.last_error.unwrap_or_default(),
                })
            })
            .collect();
        sections.push(serde_json::json!({"status": status, "rows": rows}));
    }
    let mut ctx = staff.context();
    ctx.insert("sections", &sections);
    ctx.insert(
        "n_pending",
        &outbox::count(&state.db, outbox::PENDING).await?,
    );
    ctx.insert("n_failed", &outbox::count(&state.db, outbox::FAILED).await?);
    ctx.insert("n_sent", &outbox::count(&state.db, outbox::SENT).await?);
    render(&state, "staff/mail.html", &ctx)
}

#[derive(Deserialize)]
pub struct RetryForm {
    csrf: Option<String>,
}

async fn retry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RetryForm>,
) -> AppResult<Response> {
    if !staff.scope().is_ministry() {
        return Err(AppError::NotFound);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    if !outbox::retry(&state.db, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &state,
        Some(&staff.user),
        "mail_retry",
        &format!("outbox:{id}"),
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/staff/mail"))
}
