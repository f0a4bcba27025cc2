//! `GET /r/{token}/yes|no`: a resident's one-click answer to the follow-up e-mail;
//! `GET|POST /mail/unsubscribe/{token}`: a staff user leaves the weekly digest (the POST is the
//! RFC 8058 one-click target of `List-Unsubscribe-Post`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::mail::digest;

use super::html;
use crate::app::AppState;
use crate::error::AppResult;
use crate::mail::replies;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{token}/{answer}", get(answer))
        .route(
            "/mail/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
}

async fn answer(
    State(state): State<AppState>,
    Path((token, answer)): Path<(String, String)>,
) -> AppResult<Response> {
    let recorded =
        replies::record_answer(&state.db, state.secrets.server(), &token, &answer).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("lang", "vi");
    ctx.insert("answer", &recorded);
    let page = html(state.tera.render("public/followup.html", &ctx)?);
    Ok(match recorded {
        Some(_) => page,
        None => (StatusCode::NOT_FOUND, page).into_response(),
    })
}

fn unsubscribe_view(state: &AppState, st: &str, token: &str) -> AppResult<Response> {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", "vi");
    ctx.insert("state", st);
    ctx.insert("token", token);
    let page = html(state.tera.render("public/unsubscribe.html", &ctx)?);
    Ok(if st == "bad" {
        (StatusCode::NOT_FOUND, page).into_response()
    } else {
        page
    })
}

/// Asks before unsubscribing: a link scanner's GET must not unsubscribe anybody.
async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let ok =
        crate::mail::signed::verify(state.secrets.server(), digest::UNSUBSCRIBE_PURPOSE, &token)
            .is_some();
    unsubscribe_view(&state, if ok { "ask" } else { "bad" }, &token)
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let done = digest::unsubscribe(&state.db, state.secrets.server(), &token).await?;
    unsubscribe_view(&state, if done { "done" } else { "bad" }, &token)
}
