//! The survey form: `GET /s/{ward_code}`, `POST /s/{ward_code}`, and the thank-you page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::{FinalPage, Lang, html};
use crate::app::{AppState, DEFAULT_SURVEY};
use crate::entities::response;
use crate::error::{AppError, AppResult, ErrorMessage};
use crate::store::responses::Channel;
use crate::store::units::{self, UnitInfo};
use crate::survey::{FormErrors, Mode, Survey, UnitKind, survey_form};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{ward_code}", get(show).post(submit))
        .route("/s/{ward_code}/thanks", get(thanks))
}

#[derive(Deserialize, Default)]
pub struct SurveyQuery {
    lang: Option<String>,
    t: Option<String>,
    p: Option<String>,
}

#[derive(Serialize)]
struct WardView {
    code: String,
    name: String,
    unit_word: &'static str,
    province_name: String,
}

#[derive(Serialize)]
struct Hidden {
    name: &'static str,
    value: String,
}

/// Tokens and poster ids are URL-safe by construction; anything else is dropped.
fn url_safe(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.is_empty() && s.len() <= 128)
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_string)
}

fn ward_view(unit: &UnitInfo, kind: UnitKind, lang: Lang) -> WardView {
    WardView {
        code: unit.code.clone(),
        name: unit.name.clone(),
        unit_word: kind.unit_word(lang),
        province_name: unit.province_name.clone(),
    }
}

fn survey(state: &AppState) -> AppResult<&Survey> {
    state
        .catalog
        .get(DEFAULT_SURVEY)
        .ok_or_else(|| AppError::Internal(format!("survey {DEFAULT_SURVEY} missing")))
}

async fn unit_or_404(state: &AppState, code: &str) -> AppResult<(UnitInfo, UnitKind)> {
    let unit = units::find_unit(&state.db, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = UnitKind::from_db(&unit.kind).ok_or_else(|| {
        AppError::Internal(format!("unit {} has unknown type {}", unit.code, unit.kind))
    })?;
    Ok((unit, kind))
}

fn render_form(
    state: &AppState,
    unit: &UnitInfo,
    kind: UnitKind,
    lang: Lang,
    token: Option<String>,
    poster: Option<String>,
    submitted: Option<&FormErrors>,
) -> AppResult<String> {
    let survey = survey(state)?;
    let form = survey_form(survey, lang, kind, submitted);
    let mut hidden = Vec::new();
    if lang == Lang::En {
        hidden.push(Hidden {
            name: "lang",
            value: "en".into(),
        });
    }
    if let Some(t) = token {
        hidden.push(Hidden {
            name: "t",
            value: t,
        });
    }
    if let Some(p) = poster {
        hidden.push(Hidden {
            name: "p",
            value: p,
        });
    }
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("ward", &ward_view(unit, kind, lang));
    ctx.insert("action", &format!("/s/{}", unit.code));
    ctx.insert("hidden", &hidden);
    let error_count = submitted.map_or(0, FormErrors::len);
    ctx.insert("has_errors", &(error_count > 0));
    ctx.insert("error_count", &error_count);
    ctx.insert("form", &form);
    Ok(state.tera.render("public/survey.html", &ctx)?)
}

async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SurveyQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let (unit, kind) = unit_or_404(&state, &code).await?;
    let body = render_form(
        &state,
        &unit,
        kind,
        lang,
        url_safe(q.t.as_deref()),
        url_safe(q.p.as_deref()),
        None,
    )?;
    Ok(html(body))
}

fn bad_request(message: &str) -> Response {
    let mut r = (StatusCode::BAD_REQUEST, message.to_string()).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

async fn submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SurveyQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let (unit, kind) = unit_or_404(&state, &code).await?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Ok(super::empty(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let pairs = match super::form::decode(&body) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(ward = %unit.code, error = %e, "refused a submission");
            return Ok(bad_request(match e {
                super::form::FormDecodeError::InvalidUtf8 => {
                    "Dữ liệu gửi lên không phải UTF-8 hợp lệ. / The form data is not valid UTF-8."
                }
                super::form::FormDecodeError::TooManyFields => {
                    "Biểu mẫu có quá nhiều trường. / The form has too many fields."
                }
            }));
        }
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = Lang::from_query(field("lang").or(q.lang.as_deref()));
    let token = url_safe(field("t").or(q.t.as_deref()));
    let poster = url_safe(field("p").or(q.p.as_deref()));
    let survey = survey(&state)?;
    let valid = match crate::intake::parse(survey, &pairs, Mode::Web) {
        Ok(v) => v,
        Err(errors) => {
            let body = render_form(&state, &unit, kind, lang, token, poster, Some(&errors))?;
            let mut resp =
                (StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(body)).into_response();
            resp.extensions_mut().insert(FinalPage);
            return Ok(resp);
        }
    };
    let new = crate::intake::new_response(survey, &valid, &unit.code, Channel::Web, Utc::now());
    // The redirect is sent only after the commit.
    let receipts = crate::store::write_batch(&state.db, std::slice::from_ref(&new)).await?;
    let receipt = receipts
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("no receipt".into()))?;
    let mut location = format!("/s/{}/thanks?r={receipt}", unit.code);
    if lang == Lang::En {
        location.push_str("&lang=en");
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

#[derive(Deserialize)]
pub struct ThanksQuery {
    r: Option<String>,
    lang: Option<String>,
}

async fn thanks(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<ThanksQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let (unit, kind) = unit_or_404(&state, &code).await?;
    let receipt = q.r.unwrap_or_default();
    let found = response::Entity::find()
        .filter(response::Column::Receipt.eq(receipt.clone()))
        .filter(response::Column::WardCode.eq(unit.code.clone()))
        .one(&state.db)
        .await?;
    if found.is_none() {
        return Err(AppError::NotFound);
    }
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("ward", &ward_view(&unit, kind, lang));
    ctx.insert("receipt", &receipt);
    Ok(html(state.tera.render("public/thanks.html", &ctx)?))
}
