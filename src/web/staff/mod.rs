//! The staff console under `/staff` (docs/api.md): one file per area. Every page takes a [`Staff`]
//! (a live session) and hands its scope to the store, so that what lies outside the scope is
//! answered `404` exactly like what does not exist.

use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::{Lang, html, render_error_page};
use crate::app::AppState;
use crate::auth::Scope;
use crate::auth::session::{SESSION_COOKIE, read_cookie};
use crate::error::{AppError, AppResult};
use crate::store::staff::{Session, StaffUser, load_session};

pub mod actions;
pub mod aggregates;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod exports;
pub mod feedback;
pub mod home;
pub mod mail;
pub mod overview;
pub mod pilot;
pub mod posters;
pub mod reset;
pub mod review;
pub mod svg;
pub mod tokens;
pub mod withheld;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(auth::routes())
        .merge(actions::routes())
        .merge(overview::routes())
        .merge(pilot::routes())
        .merge(posters::routes())
        .merge(dashboard::routes())
        .merge(feedback::routes())
        .merge(exports::routes())
        .merge(aggregates::routes())
        .merge(review::routes())
        .merge(withheld::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .merge(mail::routes())
        .merge(reset::routes())
}

/// A signed-in staff member (a live server-side session).
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: StaffUser,
    /// The session's CSRF token, put in every form and checked on every POST.
    pub csrf: String,
    /// SHA-256 of the session cookie (the stored session id).
    pub session: String,
    pub lang: Lang,
}

impl Staff {
    pub fn scope(&self) -> &Scope {
        &self.user.scope
    }

    /// Checks the CSRF field of a state-changing form: `Some(403 page)` when it is missing
    /// or wrong, `None` when it matches the session's token.
    pub fn check_csrf(&self, state: &AppState, sent: Option<&str>) -> Option<Response> {
        match sent {
            Some(s) if crate::auth::same_secret(s, &self.csrf) => None,
            _ => Some(csrf_rejected(state, self.lang)),
        }
    }

    /// The template context every staff page starts from.
    pub fn context(&self) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("lang", self.lang.as_str());
        ctx.insert("l", self.lang.as_str());
        ctx.insert("csrf", &self.csrf);
        ctx.insert("me", &self.user);
        ctx.insert("is_ministry", &self.user.scope.is_ministry());
        ctx.insert(
            "home_ward",
            &match self.scope() {
                Scope::Ward(w) => Some(w.clone()),
                _ => None,
            },
        );
        ctx.insert(
            "home_province",
            &match self.scope() {
                Scope::Province(p) => Some(p.clone()),
                _ => None,
            },
        );
        ctx
    }
}

/// The 403 page of a missing or wrong CSRF token.
pub fn csrf_rejected(state: &AppState, lang: Lang) -> Response {
    render_error_page(
        state,
        StatusCode::FORBIDDEN,
        lang,
        Some(
            "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã chống giả mạo CSRF sai). Vui lòng tải lại \
             trang rồi gửi lại. / The form has expired or is not valid (wrong anti-forgery CSRF \
             token). Please reload the page and send it again.",
        ),
    )
}

pub fn lang_of(parts: &Parts) -> Lang {
    Lang::from_query(
        parts
            .uri
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
            .map(|(_, v)| v.into_owned())
            .as_deref(),
    )
}

/// The session of a console request, looked up once by the page limit (which keys signed-in
/// staff by session) and kept in the request for the [`Staff`] extractor.
#[derive(Debug, Clone)]
pub struct ResolvedSession(pub Option<Session>);

/// For the page limit: the stored id of the live session of a console request, if it has
/// one. The lookup is kept in the request, so the [`Staff`] extractor does not repeat it.
pub async fn session_limit_key(
    state: &AppState,
    req: &mut axum::extract::Request,
) -> Option<String> {
    if !req.uri().path().starts_with("/staff") {
        return None;
    }
    let token = read_cookie(req.headers(), SESSION_COOKIE)?;
    match load_session(&state.db, &token, state.staff.policy, Utc::now()).await {
        Ok(s) => {
            let key = s.as_ref().map(|s| s.id_hash.clone());
            req.extensions_mut().insert(ResolvedSession(s));
            key
        }
        // Limited as a visitor; the extractor looks again and reports the error.
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up a staff session for the page limit");
            None
        }
    }
}

/// The live session of a request (from its cookie), looked up at most once per request: the
/// answer is kept in the request for the next extractor ([`Staff`], `Caller`, `Reads`).
pub async fn resolved_session(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Session>, AppError> {
    if let Some(resolved) = parts.extensions.get::<ResolvedSession>() {
        return Ok(resolved.0.clone());
    }
    let Some(token) = read_cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let s = load_session(&state.db, &token, state.staff.policy, Utc::now()).await?;
    parts.extensions.insert(ResolvedSession(s.clone()));
    Ok(s)
}

async fn session_of(parts: &mut Parts, state: &AppState) -> Result<Option<Staff>, AppError> {
    let s = resolved_session(parts, state).await?;
    Ok(s.map(|s| Staff {
        user: s.user,
        csrf: s.csrf,
        session: s.id_hash,
        lang: lang_of(parts),
    }))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(parts, state).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => {
                // Not signed in (or the session expired): to the login page, then back here.
                let target = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/staff");
                let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
                Err(Redirect::to(&format!("/staff/login?next={next}")).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        session_of(parts, state)
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// Renders a staff page.
pub fn render(state: &AppState, template: &str, ctx: &tera::Context) -> AppResult<Response> {
    let mut resp = html(state.tera.render(template, ctx)?);
    // Staff pages are personal: never cached by a shared cache or the back button.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// `303 See Other` to `to`; to `/staff` when `to` cannot be a header value (never a panic).
pub fn see_other(to: &str) -> Response {
    let location = header::HeaderValue::from_str(to).unwrap_or_else(|_| {
        tracing::warn!("a redirect target is not a valid header value: to /staff instead");
        header::HeaderValue::from_static("/staff")
    });
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}
