//! The staff console under `/staff` (docs/api.md): one file per area. Every page takes a [`Staff`]
//! (a live session) and hands its scope to the store, so that what lies outside the scope is
//! answered `404` exactly like what does not exist.
//!
//! An interviewer's session (role `interviewer:{ward}`) is no [`Staff`]: that extractor answers
//! it `403` (and sends it from `/staff` to its interview page), so that every console page and
//! the API refuse it without a check of their own. The few pages an interviewer uses (its
//! interview page, sign-out, its own password) take [`AnyStaff`].

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
pub mod interview;
pub mod mail;
pub mod overview;
pub mod pilot;
pub mod posters;
pub mod reset;
pub mod review;
pub mod svg;
pub mod tokens;
pub mod users;
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
        .merge(interview::routes())
        .merge(users::routes())
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
    /// The role as the header shows it: "Cán bộ Công an – Phường Ba Đình", never `ward:00004`.
    pub role_words: String,
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
        ctx.insert("role_words", &self.role_words);
        ctx.insert("is_ministry", &self.user.scope.is_ministry());
        ctx.insert("interviewer_ward", &self.user.scope.interviewer_ward());
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
    let Some(s) = resolved_session(parts, state).await? else {
        return Ok(None);
    };
    let lang = lang_of(parts);
    let en = lang == Lang::En;
    let role_words = match &s.user.scope {
        Scope::Ministry => s.user.scope.in_words(None, en),
        Scope::Province(p) => match crate::store::units::find_province(&state.db, p).await? {
            Some(p) if !en => crate::store::accounts::province_title(&p.name),
            Some(p) => format!("Police of {}", p.name),
            None => s.user.scope.in_words(None, en),
        },
        Scope::Ward(w) => match state.units.get(&state.db, w).await? {
            Some(u) if !en => crate::store::accounts::ward_title(&u),
            Some(u) => format!("Police of {}", u.name),
            None => s.user.scope.in_words(None, en),
        },
        Scope::Interviewer(w) => {
            let name = state.units.get(&state.db, w).await?.map(|u| u.name);
            s.user.scope.in_words(name.as_deref(), en)
        }
    };
    Ok(Some(Staff {
        user: s.user,
        csrf: s.csrf,
        session: s.id_hash,
        lang,
        role_words,
    }))
}

/// A live session of any role, interviewers included: only for the pages an interviewer may
/// use (its interview page, sign-out, its own password).
#[derive(Debug, Clone)]
pub struct AnyStaff(pub Staff);

/// The interview page of an interviewer's ward.
pub fn interview_path(ward: &str) -> String {
    format!("/staff/interview/{ward}")
}

/// What an interviewer's session gets from a console page or the API: `/staff` (the home)
/// sends it to its interview page; everything else is `403`, as an HTML page or, under
/// `/api/`, as JSON (see `web::error_pages`).
pub fn interviewer_refused(path: &str, ward: &str) -> Response {
    if path == "/staff" || path == "/staff/" {
        return see_other(&interview_path(ward));
    }
    let message = "Tài khoản điều tra viên chỉ dùng để nhập phiếu phỏng vấn của phường, xã mình. / \
                   An interviewer account only enters the interviews of its own ward.";
    let mut r = (StatusCode::FORBIDDEN, message).into_response();
    r.extensions_mut()
        .insert(crate::error::ErrorMessage(message.to_string()));
    r
}

/// To the login page, then back to this request's path.
fn to_login(parts: &Parts) -> Response {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/staff");
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    Redirect::to(&format!("/staff/login?next={next}")).into_response()
}

impl FromRequestParts<AppState> for AnyStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(parts, state).await {
            Ok(Some(s)) => Ok(AnyStaff(s)),
            Ok(None) => Err(to_login(parts)),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for AnyStaff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        session_of(parts, state)
            .await
            .map(|s| s.map(AnyStaff))
            .map_err(IntoResponse::into_response)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(parts, state).await {
            Ok(Some(s)) => match s.scope().interviewer_ward() {
                None => Ok(s),
                Some(w) => Err(interviewer_refused(parts.uri.path(), w)),
            },
            // Not signed in (or the session expired): to the login page, then back here.
            Ok(None) => Err(to_login(parts)),
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
        match session_of(parts, state).await {
            Ok(Some(s)) => match s.scope().interviewer_ward() {
                None => Ok(Some(s)),
                Some(w) => Err(interviewer_refused(parts.uri.path(), w)),
            },
            Ok(None) => Ok(None),
            Err(e) => Err(e.into_response()),
        }
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
