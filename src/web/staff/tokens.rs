//! API tokens (ministry only): `GET /staff/tokens`, `POST /staff/tokens` (create; the token is
//! shown once), `POST /staff/tokens/{id}/revoke`.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Staff, audit, render, see_other};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::store::api_tokens;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/tokens", get(list).post(create))
        .route("/staff/tokens/{id}/revoke", post(revoke))
}

fn ministry_only(staff: &Staff) -> AppResult<()> {
    if staff.scope().is_ministry() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

async fn page(
    state: &AppState,
    staff: &Staff,
    created: Option<(String, String)>,
) -> AppResult<Response> {
    let fmt = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&crate::period::vietnam())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let tokens: Vec<serde_json::Value> = api_tokens::list(&state.db)
        .await?
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id, "name": t.name, "created_at": fmt(t.created_at),
                "revoked_at": t.revoked_at.map(fmt), "last_used_at": t.last_used_at.map(fmt),
            })
        })
        .collect();
    let mut ctx = staff.context();
    ctx.insert("tokens", &tokens);
    ctx.insert(
        "created",
        &created.map(|(n, t)| serde_json::json!({"name": n, "token": t})),
    );
    render(state, "staff/tokens.html", &ctx)
}

async fn list(State(state): State<AppState>, staff: Staff) -> AppResult<Response> {
    ministry_only(&staff)?;
    page(&state, &staff, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<CreateForm>,
) -> AppResult<Response> {
    ministry_only(&staff)?;
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "Tên khóa phải có từ 1 đến 100 ký tự. / The token name must have 1 to 100 characters."
                .into(),
        ));
    }
    let (id, token) = api_tokens::create(&state.db, name, staff.user.id).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "api_token_created",
        &format!("api_token:{id}"),
        serde_json::json!({"name": name}),
    )
    .await;
    // The token is in this response only; it is stored hashed.
    page(&state, &staff, Some((name.to_string(), token))).await
}

async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> AppResult<Response> {
    ministry_only(&staff)?;
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    if !api_tokens::revoke(&state.db, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &state,
        Some(&staff.user),
        "api_token_revoked",
        &format!("api_token:{id}"),
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/staff/tokens"))
}
