//! Assisted interviews: `GET|POST /staff/interview/{ward_code}` (docs/integrity.md, "Assisted interviews").
//!
//! An interviewer (role `interviewer:{ward}`, someone outside the police) reads the survey's
//! questions to a resident and enters the answers here: the same questions, in the same words,
//! validated by the same code as the resident's own form (`web::survey`). A valid interview is
//! stored through the writer with channel `assisted` and its interviewer; it carries no device
//! cookie, address or invitation token, so none of the online checks flags it. Only the
//! interviewer of the ward may use the page: anyone else gets `403`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{AnyStaff, Staff, audit, render, see_other};
use crate::app::AppState;
use crate::error::{AppResult, ErrorMessage};
use crate::monitor::Submission;
use crate::store::interviews;
use crate::store::responses::Channel;
use crate::store::units::UnitInfo;
use crate::survey::{FormErrors, Mode, UnitKind, survey_form};
use crate::web::{FinalPage, Lang};

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/interview/{ward_code}", get(show).post(submit))
}

#[derive(Deserialize, Default)]
pub struct InterviewQuery {
    /// The receipt of the interview just stored (after the redirect of a POST).
    saved: Option<String>,
}

fn forbidden(message: &str) -> Response {
    let mut r = (StatusCode::FORBIDDEN, message.to_string()).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

/// `None` when the session is the interviewer of `ward`; the `403` for anyone else (another
/// ward's interviewer, or a police user: the police do not interview about themselves).
fn check_interviewer(staff: &Staff, ward: &str) -> Option<Response> {
    match staff.scope().interviewer_ward() {
        Some(w) if w == ward => None,
        Some(_) => Some(forbidden(
            "Anh/chị chỉ nhập được phiếu phỏng vấn cho phường, xã được giao. / You can enter \
             interviews only for the ward you were assigned.",
        )),
        None => Some(forbidden(
            "Trang này chỉ dành cho điều tra viên (người phỏng vấn ngoài lực lượng Công an). / \
             This page is for interviewers only (people outside the police).",
        )),
    }
}

/// The page's URL, with `?lang=en` under English.
fn page_url(ward: &str, lang: Lang) -> String {
    let mut url = super::interview_path(ward);
    if lang == Lang::En {
        url.push_str("?lang=en");
    }
    url
}

async fn render_page(
    state: &AppState,
    staff: &Staff,
    unit: &UnitInfo,
    kind: UnitKind,
    submitted: Option<&FormErrors>,
    saved: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let lang = staff.lang;
    let survey = crate::web::survey::survey(state)?;
    let form = survey_form(survey, lang, kind, submitted);
    let mut ctx = staff.context();
    ctx.insert("ward", &crate::web::survey::ward_view(unit, kind, lang));
    ctx.insert(
        "role_words",
        &staff.scope().in_words(Some(&unit.name), lang == Lang::En),
    );
    ctx.insert("action", &page_url(&unit.code, lang));
    let error_count = submitted.map_or(0, FormErrors::len);
    ctx.insert("has_errors", &(error_count > 0));
    ctx.insert("error_count", &error_count);
    ctx.insert("form", &form);
    ctx.insert("saved", &saved);
    ctx.insert(
        "entered",
        &interviews::count_entered(&state.db, staff.user.id, &unit.code).await?,
    );
    let mut resp = render(state, "staff/interview.html", &ctx)?;
    *resp.status_mut() = status;
    if status != StatusCode::OK {
        resp.extensions_mut().insert(FinalPage);
    }
    Ok(resp)
}

async fn show(
    State(state): State<AppState>,
    AnyStaff(staff): AnyStaff,
    Path(code): Path<String>,
    Query(q): Query<InterviewQuery>,
) -> AppResult<Response> {
    if let Some(r) = check_interviewer(&staff, &code) {
        return Ok(r);
    }
    let (unit, kind) = crate::web::survey::unit_or_404(&state, &code).await?;
    // The confirmation shows only a receipt of this interviewer's own interview in this ward.
    let saved = match q.saved.as_deref() {
        Some(r) if interviews::entered_by(&state.db, r, &unit.code, staff.user.id).await? => {
            Some(r)
        }
        _ => None,
    };
    render_page(&state, &staff, &unit, kind, None, saved, StatusCode::OK).await
}

fn bad_request(message: &str) -> Response {
    let mut r = (StatusCode::BAD_REQUEST, message.to_string()).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

async fn submit(
    State(state): State<AppState>,
    AnyStaff(staff): AnyStaff,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let answered = store_interview(&state, &staff, &code, &headers, &body).await;
    match &answered {
        Ok(r) if r.status() == StatusCode::SEE_OTHER => {
            state.metrics.submission(Submission::Counted)
        }
        Ok(r) if r.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            state.metrics.submission(Submission::Refused)
        }
        _ => {}
    }
    answered
}

async fn store_interview(
    state: &AppState,
    staff: &Staff,
    code: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> AppResult<Response> {
    if let Some(r) = check_interviewer(staff, code) {
        return Ok(r);
    }
    let (unit, kind) = crate::web::survey::unit_or_404(state, code).await?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Ok(crate::web::empty(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let pairs = match crate::web::form::decode(body) {
        Ok(p) => p,
        Err(crate::web::form::FormDecodeError::InvalidUtf8) => {
            return Ok(bad_request(
                "Dữ liệu gửi lên không phải UTF-8 hợp lệ. / The form data is not valid UTF-8.",
            ));
        }
        Err(crate::web::form::FormDecodeError::TooManyFields) => {
            return Ok(bad_request(
                "Biểu mẫu có quá nhiều trường. / The form has too many fields.",
            ));
        }
    };
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Some(r) = staff.check_csrf(state, csrf) {
        return Ok(r);
    }
    let survey = crate::web::survey::survey(state)?;
    let valid = match crate::intake::parse(survey, &pairs, Mode::Web) {
        Ok(v) => v,
        Err(errors) => {
            return render_page(
                state,
                staff,
                &unit,
                kind,
                Some(&errors),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    // No device cookie, address, invitation token or private link: the interview is the
    // interviewer's record, checked by who entered it (docs/integrity.md).
    let mut new = crate::intake::new_response(
        survey,
        &valid,
        &unit.code,
        Channel::Assisted,
        state.clock.now(),
    );
    new.interviewer_id = Some(staff.user.id);
    new.misconduct = crate::mail::alerts::misconduct(&state.config.mail, &new);
    new.alert_basis = Some(crate::mail::alerts::AlertBasis::of(
        &state.config.mail,
        &new,
    ));
    let outcome = state.writer.submit(new).await?;
    audit::record(
        state,
        Some(&staff.user),
        "interview.enter",
        &format!("response:{}", outcome.id),
        serde_json::json!({"ward": unit.code, "receipt": outcome.receipt}),
    )
    .await;
    let mut to = page_url(&unit.code, staff.lang);
    to.push(if to.contains('?') { '&' } else { '?' });
    to.push_str("saved=");
    to.push_str(&outcome.receipt);
    Ok(see_other(&to))
}
