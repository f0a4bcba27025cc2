//! Signing in and out, and changing one's password: `GET|POST /staff/login`,
//! `POST /staff/logout`, `GET|POST /staff/password`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;

use super::{AnyStaff, Staff, audit, csrf_rejected, render, see_other};
use crate::app::AppState;
use crate::auth::session::{LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::{login_csrf, password};
use crate::error::{AppError, AppResult};
use crate::store::staff;
use crate::web::{FinalPage, Lang};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_page).post(login))
        .route("/staff/logout", post(logout))
        .route("/staff/password", get(password_page).post(change_password))
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    lang: Option<String>,
    next: Option<String>,
}

/// Where to go after signing in: `next` when it is a path inside the console, else `/staff`.
/// Anything else is ignored: other origins (`https://…`, `//host`, `/\host`), control
/// characters (a CR or LF would split the `Location` header), dot segments that climb out of
/// `/staff` (also percent-encoded, as browsers decode them), and the login page itself.
/// Where a user lands after signing in: an interviewer always on its interview page (it may
/// open nothing else), everyone else on `next`.
fn landing(scope: &crate::auth::Scope, next: String) -> String {
    match scope.interviewer_ward() {
        Some(w) => {
            let page = super::interview_path(w);
            if next == page || next.starts_with(&format!("{page}?")) {
                next
            } else {
                page
            }
        }
        None => next,
    }
}

pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_console_path(n) => n.to_string(),
        _ => "/staff".to_string(),
    }
}

fn is_console_path(n: &str) -> bool {
    if n.len() >= 512 || !n.bytes().all(|b| b.is_ascii_graphic()) || n.contains('\\') {
        return false;
    }
    let path = n.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decoded(path);
    let Some(rest) = decoded.strip_prefix(b"/staff") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with(b"/")) || decoded.starts_with(b"/staff/login") {
        return false;
    }
    // Decoded, the path must still be printable, with no `\\`, no empty segment (`//`) and no
    // `.` or `..` segment.
    decoded.iter().all(u8::is_ascii_graphic)
        && !decoded.contains(&b'\\')
        && !decoded.windows(2).any(|w| w == b"//")
        && decoded
            .split(|b| *b == b'/')
            .all(|seg| seg != b"." && seg != b"..")
}

/// `%XX` decoded (other bytes as they are).
fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn login_form(
    state: &AppState,
    lang: Lang,
    csrf: &str,
    email: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("l", lang.as_str());
    ctx.insert("csrf", csrf);
    ctx.insert("email", email);
    ctx.insert("next", next);
    ctx.insert("error", &error);
    let mut resp = render(state, "staff/login.html", &ctx)?;
    *resp.status_mut() = status;
    resp.extensions_mut().insert(FinalPage);
    Ok(resp)
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
    staff: Option<AnyStaff>,
) -> AppResult<Response> {
    let next = safe_next(q.next.as_deref());
    if let Some(AnyStaff(s)) = staff {
        return Ok(see_other(&landing(&s.user.scope, next)));
    }
    let lang = Lang::from_query(q.lang.as_deref());
    let (csrf, cookie) = login_csrf::for_form(&state.secrets, &headers, Utc::now());
    let mut resp = login_form(&state, lang, &csrf, "", &next, None, StatusCode::OK)?;
    resp.headers_mut().insert(
        header::SET_COOKIE,
        state.staff.cookie(LOGIN_CSRF_COOKIE, &cookie, None),
    );
    Ok(resp)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let next = safe_next(f.next.as_deref().or(q.next.as_deref()));
    // Double submit: the hidden field must repeat the token of a pre-login cookie we signed.
    let Some(csrf) = login_csrf::check(&state.secrets, &headers, f.csrf.as_deref(), Utc::now())
    else {
        return Ok(csrf_rejected(&state, lang));
    };
    let client = crate::ratelimit::client_of(&state, &headers, Some(addr));
    let attempt = match state.limiters.begin_login(client.ip, &f.email) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let mut resp = login_form(
                &state,
                lang,
                &csrf,
                &f.email,
                &next,
                Some(
                    "Đăng nhập sai quá nhiều lần. Vui lòng đợi một lát rồi thử lại. / Too many sign-in \
                 attempts. Please wait a moment and try again.",
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            wait.set_on(&mut resp);
            return Ok(resp);
        }
    };
    let found = staff::find_for_login(&state.db, &f.email).await?;
    // Verify against a dummy hash for an unknown e-mail, so both failures take as long.
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| state.staff.dummy_hash.clone());
    let pw = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
    let user = match (found, ok) {
        (Some((user, _)), true) => user,
        _ => {
            audit::record(
                &state,
                None,
                "login_failed",
                &staff::normalise_email(&f.email),
                serde_json::json!({}),
            )
            .await;
            return login_form(
                &state,
                lang,
                &csrf,
                &f.email,
                &next,
                Some(
                    "E-mail hoặc mật khẩu không đúng. / The e-mail or the password is not correct.",
                ),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    state.limiters.login_succeeded(attempt);
    let token = staff::create_session(&state.db, user.id).await?;
    audit::record(
        &state,
        Some(&user),
        "login",
        &user.email,
        serde_json::json!({}),
    )
    .await;
    let mut resp = see_other(&landing(&user.scope, next));
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        state.staff.cookie(SESSION_COOKIE, &token, None),
    );
    h.append(
        header::SET_COOKIE,
        state.staff.cookie(LOGIN_CSRF_COOKIE, "", Some(0)),
    );
    Ok(resp)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    AnyStaff(staff): AnyStaff,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    staff::delete_session(&state.db, &staff.session).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "logout",
        &staff.user.email,
        serde_json::json!({}),
    )
    .await;
    let mut resp = see_other("/staff/login");
    resp.headers_mut().insert(
        header::SET_COOKIE,
        state.staff.cookie(SESSION_COOKIE, "", Some(0)),
    );
    Ok(resp)
}

fn password_form(
    state: &AppState,
    staff: &Staff,
    error: Option<&str>,
    done: bool,
    status: StatusCode,
) -> AppResult<Response> {
    let mut ctx = staff.context();
    ctx.insert("error", &error);
    ctx.insert("done", &done);
    let mut resp = render(state, "staff/password.html", &ctx)?;
    *resp.status_mut() = status;
    resp.extensions_mut().insert(FinalPage);
    Ok(resp)
}

async fn password_page(
    State(state): State<AppState>,
    AnyStaff(staff): AnyStaff,
) -> AppResult<Response> {
    password_form(&state, &staff, None, false, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    AnyStaff(staff): AnyStaff,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if let Err(m) = password::check_new(&f.new) {
        return password_form(&state, &staff, Some(&m), false, unprocessable);
    }
    if f.new != f.confirm {
        return password_form(
            &state,
            &staff,
            Some("Hai mật khẩu mới không khớp nhau. / The two new passwords do not match."),
            false,
            unprocessable,
        );
    }
    let hash = staff::password_hash_of(&state.db, staff.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (current, new) = (f.current.clone(), f.new.clone());
    let new_hash = tokio::task::spawn_blocking(move || {
        if password::verify(&current, &hash) {
            password::hash(&new).map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(|e| AppError::Internal(format!("password change: {e}")))?
    .map_err(AppError::Internal)?;
    let Some(new_hash) = new_hash else {
        return password_form(
            &state,
            &staff,
            Some("Mật khẩu hiện tại không đúng. / The current password is not correct."),
            false,
            unprocessable,
        );
    };
    staff::set_password(&state.db, staff.user.id, &new_hash).await?;
    // Every other session of this user ends: a stolen session does not survive the change.
    staff::delete_other_sessions(&state.db, staff.user.id, &staff.session).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "password_changed",
        &staff.user.email,
        serde_json::json!({}),
    )
    .await;
    password_form(&state, &staff, None, true, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            super::safe_next(Some("/staff/wards/00004")),
            "/staff/wards/00004"
        );
        assert_eq!(super::safe_next(Some("https://evil.example")), "/staff");
        assert_eq!(super::safe_next(Some("/staff//evil")), "/staff");
        assert_eq!(super::safe_next(Some("/staff/login")), "/staff");
        assert_eq!(super::safe_next(None), "/staff");
        for kept in [
            "/staff",
            "/staff/",
            "/staff/exports?from=2026-01&to=2026-03",
            "/staff/a.b",
        ] {
            assert_eq!(super::safe_next(Some(kept)), kept);
        }
        for ignored in [
            "/staff\r\nSet-Cookie: x=1",
            "/staff/../api",
            "/staff/%2e%2E/api",
            "/staff/%2F%2Fevil",
            "/staff/%5Cevil",
            "/staff/%0aX",
            "/staff\\evil",
            "/staffevil",
            "//evil/staff",
            "/staff/é",
        ] {
            assert_eq!(super::safe_next(Some(ignored)), "/staff", "{ignored:?}");
        }
    }
}
