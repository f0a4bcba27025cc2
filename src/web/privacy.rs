//! The resident's private page about their own answer: `GET /privacy/{token}` says what is
//! kept, for how long and who sees it; `POST /privacy/{token}` withdraws the consent to a
//! reply, erases the contact address and/or erases the free text (docs/privacy.md).
//!
//! The token (`{response id}-{128 random bits}`) is never logged (the request span shows
//! `/privacy/{token}`), never sent on in a Referer (`Referrer-Policy: no-referrer`, set with
//! `Cache-Control: no-store` for every `/privacy/` answer by `web::security_headers`) and
//! never stored: only the SHA-256 of its random part is.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};

use super::{FinalPage, Lang};
use crate::app::AppState;
use crate::entities::{contact, response};
use crate::error::{AppError, AppResult, ErrorMessage};
use crate::store::privacy::{self as rights, Done, Request};
use crate::survey::{Kind, Survey, UnitKind};

pub fn routes() -> Router<AppState> {
    Router::new().route("/privacy/{token}", get(show).post(act))
}

/// The path the request span shows for a `/privacy/` request: without the token.
pub const LOGGED_PATH: &str = "/privacy/{token}";

#[derive(Deserialize, Default)]
pub struct PrivacyQuery {
    lang: Option<String>,
}

/// A 404 page that says the link is wrong, in the page's language.
fn not_found(lang: Lang) -> Response {
    let message = match lang {
        Lang::Vi => {
            "Đường dẫn riêng này không đúng. Anh/chị vui lòng mở lại đúng đường dẫn đã nhận trên trang cảm ơn, không thêm hay bớt ký tự nào."
        }
        Lang::En => {
            "This private link is not right. Please open exactly the link you were given on the thank-you page, without adding or removing any character."
        }
    };
    let mut r = (StatusCode::NOT_FOUND, message).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

/// The hidden field of the form, bound to the link (a form posted from elsewhere needs it).
fn form_token(state: &AppState, token: &str) -> String {
    let mac = crate::privacy::keys::hmac_hex(state.secrets.server(), "privacy-form", token);
    mac[..32].to_string()
}

fn vn_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y")
        .to_string()
}

/// An address shown to its owner without writing it out: `n•••@example.vn`.
fn hint_of(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

#[derive(Serialize)]
struct AnswerView {
    question: String,
    answer: String,
}

/// The answers that are not free text, as the resident chose them, in the survey's order.
fn answer_views(
    survey: Option<&Survey>,
    answers: &serde_json::Value,
    lang: Lang,
    kind: UnitKind,
) -> Vec<AnswerView> {
    let Some(survey) = survey else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for q in &survey.questions {
        let Some(v) = answers.get(&q.id) else {
            continue;
        };
        let answer = match q.kind {
            Kind::Text | Kind::Email => continue,
            Kind::Likert5 => {
                let scale = survey.scale_of(q);
                match v.as_i64() {
                    Some(x) => scale
                        .and_then(|s| s.labels.get(usize::try_from(x - 1).ok()?))
                        .map(|l| format!("{x} – {}", l.get(lang)))
                        .unwrap_or_else(|| x.to_string()),
                    None => scale
                        .and_then(|s| s.na.as_ref())
                        .map(|l| l.get(lang).to_string())
                        .unwrap_or_else(|| "–".into()),
                }
            }
            Kind::Scale0To10 => match v.as_i64() {
                Some(x) => format!("{x}/10"),
                None => continue,
            },
            _ => match v.as_str() {
                Some(s) => q
                    .option(s)
                    .map(|c| c.label.get(lang).to_string())
                    .unwrap_or_else(|| s.to_string()),
                None => continue,
            },
        };
        out.push(AnswerView {
            question: q.text.render(lang, kind),
            answer,
        });
    }
    out
}

#[derive(Serialize)]
struct TextView {
    question: String,
    /// As officers see it (masked).
    text: String,
}

/// Everything the page says about one answer.
struct Page {
    resp: response::Model,
    unit: crate::store::units::UnitInfo,
    kind: UnitKind,
    contact: Option<contact::Model>,
    questions: Vec<String>,
}

async fn load(state: &AppState, token: &str) -> AppResult<Option<Page>> {
    let Some(resp) = rights::find(&state.db, token).await? else {
        return Ok(None);
    };
    let Some(unit) = state.units.get(&state.db, &resp.ward_code).await? else {
        return Ok(None);
    };
    let kind = UnitKind::from_db(&unit.kind).unwrap_or(UnitKind::Phuong);
    let contact = contact::Entity::find_by_id(resp.id).one(&state.db).await?;
    let questions = rights::text_questions(state.catalog.get(&resp.survey_id));
    Ok(Some(Page {
        resp,
        unit,
        kind,
        contact,
        questions,
    }))
}

fn context(state: &AppState, page: &Page, token: &str, lang: Lang) -> tera::Context {
    let survey = state.catalog.get(&page.resp.survey_id);
    let cfg = &state.config.privacy;
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("token", token);
    ctx.insert("form_token", &form_token(state, token));
    ctx.insert("receipt", &page.resp.receipt);
    ctx.insert("submitted_on", &vn_date(page.resp.submitted_at));
    ctx.insert("ward_name", &page.unit.name);
    ctx.insert("province_name", &page.unit.province_name);
    ctx.insert("unit_word", page.kind.unit_word(lang));
    ctx.insert(
        "answers",
        &answer_views(survey, &page.resp.answers, lang, page.kind),
    );
    let texts: Vec<TextView> = rights::kept_texts(&page.resp.answers, &page.questions)
        .into_iter()
        .map(|(q, t)| TextView {
            question: survey
                .and_then(|s| s.question(&q))
                .map(|x| x.text.render(lang, page.kind))
                .unwrap_or(q),
            text: crate::privacy::mask_text(&t),
        })
        .collect();
    ctx.insert("texts", &texts);
    ctx.insert(
        "text_erased",
        &rights::has_erased_text(&page.resp.answers, &page.questions),
    );
    ctx.insert(
        "text_until",
        &vn_date(
            page.resp.submitted_at + chrono::Duration::days(i64::from(cfg.text_retention_days)),
        ),
    );
    ctx.insert("text_retention_days", &cfg.text_retention_days);
    ctx.insert("contact_retention_days", &cfg.contact_retention_days);
    ctx.insert("has_contact", &page.contact.is_some());
    ctx.insert("consent", &page.contact.as_ref().is_some_and(|c| c.consent));
    if let Some(c) = &page.contact {
        ctx.insert("contact_hint", &hint_of(&c.email));
        ctx.insert(
            "contact_until",
            &vn_date(c.created_at + chrono::Duration::days(i64::from(cfg.contact_retention_days))),
        );
    }
    ctx.insert(
        "can_withdraw",
        &page.contact.as_ref().is_some_and(|c| c.consent),
    );
    ctx.insert("can_erase_contact", &page.contact.is_some());
    ctx.insert("can_erase_text", &!texts.is_empty());
    ctx.insert("error", &false);
    ctx
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<PrivacyQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let Some(page) = load(&state, &token).await? else {
        return Ok(not_found(lang));
    };
    let ctx = context(&state, &page, &token, lang);
    Ok(Html(state.tera.render("public/privacy.html", &ctx)?).into_response())
}

async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<PrivacyQuery>,
    body: Bytes,
) -> AppResult<Response> {
    let pairs = super::form::decode(&body).map_err(|_| {
        AppError::BadRequest(
            "Dữ liệu gửi lên không hợp lệ. / The form data is not valid.".to_string(),
        )
    })?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = Lang::from_query(field("lang").or(q.lang.as_deref()));
    let Some(page) = load(&state, &token).await? else {
        return Ok(not_found(lang));
    };
    let expected = form_token(&state, &token);
    if !field("form_token").is_some_and(|t| crate::privacy::keys::same(t, &expected)) {
        let message = match lang {
            Lang::Vi => {
                "Biểu mẫu này không gửi từ trang của anh/chị. Vui lòng mở lại đường dẫn riêng và gửi lại."
            }
            Lang::En => {
                "This form was not sent from your page. Please open your private link again and send it from there."
            }
        };
        let mut r = (StatusCode::FORBIDDEN, message).into_response();
        r.extensions_mut().insert(ErrorMessage(message.to_string()));
        return Ok(r);
    }
    let on = |name: &str| field(name) == Some("on");
    let req = Request {
        withdraw_consent: on("withdraw_consent"),
        erase_contact: on("erase_contact"),
        erase_text: on("erase_text"),
    };
    if req.is_empty() {
        let mut ctx = context(&state, &page, &token, lang);
        ctx.insert("error", &true);
        let body = state.tera.render("public/privacy.html", &ctx)?;
        let mut r = (StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response();
        r.extensions_mut().insert(FinalPage);
        return Ok(r);
    }
    let done = rights::apply(&state.db, &page.resp, &page.questions, req).await?;
    tracing::info!(
        response = page.resp.id,
        consent_withdrawn = done.consent_withdrawn,
        contact_erased = done.contact_erased,
        texts_erased = done.texts_erased,
        "a resident used their private link"
    );
    Ok(Html(confirmation(&state, &page, &token, lang, req, &done)?).into_response())
}

fn confirmation(
    state: &AppState,
    page: &Page,
    token: &str,
    lang: Lang,
    req: Request,
    done: &Done,
) -> AppResult<String> {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("token", token);
    ctx.insert("receipt", &page.resp.receipt);
    ctx.insert("ward_name", &page.unit.name);
    ctx.insert("unit_word", page.kind.unit_word(lang));
    ctx.insert("asked_withdraw", &req.withdraw_consent);
    ctx.insert("asked_contact", &req.erase_contact);
    ctx.insert("asked_text", &req.erase_text);
    ctx.insert(
        "contact_hint",
        &page.contact.as_ref().map(|c| hint_of(&c.email)),
    );
    ctx.insert("done", done);
    Ok(state.tera.render("public/privacy_done.html", &ctx)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_hinted_not_written_out() {
        assert_eq!(super::hint_of("nguoidan@example.vn"), "n•••@example.vn");
        assert_eq!(super::hint_of("x"), "•••");
    }
}
