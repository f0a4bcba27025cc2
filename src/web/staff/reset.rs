//! Forgotten passwords and invitations: `GET|POST /staff/forgot` (always answers the same, so
//! it tells nobody which addresses have accounts) and `GET|POST /staff/reset/{token}` (the signed,
//! expiring, single-use link of `mail::password`). Setting the password ends every session.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::{audit, csrf_rejected, render};
use crate::app::AppState;
use crate::auth::session::LOGIN_CSRF_COOKIE;
use crate::auth::{login_csrf, password};
use crate::entities::{staff_session, staff_user};
use crate::error::AppResult;
use crate::mail::password as links;
use crate::web::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/forgot", get(forgot_page).post(forgot))
        .route("/staff/reset/{token}", get(reset_page).post(reset))
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The pre-login CSRF token and its signed cookie (double submit with the `hl_login` cookie,
/// as on the login page; see `auth::login_csrf`).
fn csrf_of(state: &AppState, headers: &HeaderMap) -> (String, String) {
    login_csrf::for_form(&state.secrets, headers, Utc::now())
}

fn csrf_ok(state: &AppState, headers: &HeaderMap, sent: Option<&str>) -> bool {
    login_csrf::check(&state.secrets, headers, sent, Utc::now()).is_some()
}

fn page(
    state: &AppState,
    template: &str,
    lang: Lang,
    (csrf, cookie): &(String, String),
    fill: impl FnOnce(&mut tera::Context),
    status: StatusCode,
) -> AppResult<Response> {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("l", lang.as_str());
    ctx.insert("csrf", csrf);
    fill(&mut ctx);
    let mut resp = render(state, template, &ctx)?;
    *resp.status_mut() = status;
    resp.extensions_mut().insert(crate::web::FinalPage);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        state.staff.cookie(LOGIN_CSRF_COOKIE, cookie, None),
    );
    Ok(resp)
}

async fn forgot_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    page(
        &state,
        "staff/forgot.html",
        lang,
        &csrf_of(&state, &headers),
        |c| c.insert("sent", &false),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    csrf: Option<String>,
}

async fn forgot(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Form(f): Form<ForgotForm>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return Ok(csrf_rejected(&state, lang));
    }
    let email = crate::store::staff::normalise_email(&f.email);
    // The sign-in failure counts (per account and address, per address) also hold back reset
    // requests, each counted as a failure, so that nobody can make the server mail many
    // addresses (or one) from one client.
    let client = crate::ratelimit::client_of(&state, &headers, Some(addr));
    if let Err(wait) = state.limiters.begin_login(client.ip, &email) {
        let mut resp = page(
            &state,
            "staff/forgot.html",
            lang,
            &csrf_of(&state, &headers),
            |c| c.insert("limited", &true),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        wait.set_on(&mut resp);
        return Ok(resp);
    }
    let user = staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(&email))
        .filter(staff_user::Column::Active.eq(true))
        .one(&state.db)
        .await?;
    if let Some(u) = user {
        let valid = chrono::Duration::minutes(i64::from(state.config.mail.reset_valid_minutes));
        links::enqueue_link(
            &state.db,
            &state.tera,
            &state.config.base_url,
            state.secrets.server(),
            &u,
            "password_reset",
            valid,
        )
        .await?;
        audit::record(
            &state,
            None,
            "password_reset_requested",
            &format!("user:{}", u.id),
            serde_json::json!({}),
        )
        .await;
    }
    // The same answer whether or not the address has an account.
    page(
        &state,
        "staff/forgot.html",
        lang,
        &csrf_of(&state, &headers),
        |c| c.insert("sent", &true),
        StatusCode::OK,
    )
}

async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let user = links::check(&state.db, state.secrets.server(), &token, Utc::now()).await?;
    let (st, status) = if user.is_some() {
        ("form", StatusCode::OK)
    } else {
        ("bad", StatusCode::NOT_FOUND)
    };
    page(
        &state,
        "staff/reset.html",
        lang,
        &csrf_of(&state, &headers),
        |c| {
            c.insert("state", st);
            c.insert("token", &token);
            c.insert("email", &user.map(|u| u.email).unwrap_or_default());
            c.insert("error", &Option::<String>::None);
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    csrf: Option<String>,
}

async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    Form(f): Form<ResetForm>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    if !csrf_ok(&state, &headers, f.csrf.as_deref()) {
        return Ok(csrf_rejected(&state, lang));
    }
    let csrf = csrf_of(&state, &headers);
    let Some(user) = links::check(&state.db, state.secrets.server(), &token, Utc::now()).await?
    else {
        return page(
            &state,
            "staff/reset.html",
            lang,
            &csrf,
            |c| {
                c.insert("state", "bad");
                c.insert("token", &token);
            },
            StatusCode::NOT_FOUND,
        );
    };
    let problem = if f.password != f.confirm {
        Some("Hai mật khẩu không khớp. / The two passwords differ.".to_string())
    } else {
        password::check_new(&f.password).err()
    };
    if let Some(error) = problem {
        return page(
            &state,
            "staff/reset.html",
            lang,
            &csrf,
            |c| {
                c.insert("state", "form");
                c.insert("token", &token);
                c.insert("email", &user.email);
                c.insert("error", &Some(error));
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = password::hash(&f.password).map_err(crate::error::AppError::Internal)?;
    let txn = crate::store::begin_write(&state.db).await?;
    crate::store::staff::set_password(&txn, user.id, &hash).await?;
    staff_session::Entity::delete_many()
        .filter(staff_session::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    audit::record(
        &state,
        None,
        "password_reset",
        &format!("user:{}", user.id),
        serde_json::json!({"email": user.email}),
    )
    .await;
    page(
        &state,
        "staff/reset.html",
        lang,
        &csrf,
        |c| {
            c.insert("state", "done");
            c.insert("token", &token);
        },
        StatusCode::OK,
    )
}
