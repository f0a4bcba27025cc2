//! The survey form: `GET /s/{ward_code}`, `POST /s/{ward_code}`, and the thank-you page.

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::{FinalPage, Lang, html};
use crate::app::{AppState, DEFAULT_SURVEY};
use crate::entities::response;
use crate::error::{AppError, AppResult, ErrorMessage};
use crate::ratelimit::{Client, DEVICE_COOKIE};
use crate::store::responses::Channel;
use crate::store::tokens::TokenStatus;
use crate::store::units::UnitInfo;
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
pub(crate) struct WardView {
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

pub(crate) fn ward_view(unit: &UnitInfo, kind: UnitKind, lang: Lang) -> WardView {
    WardView {
        code: unit.code.clone(),
        name: unit.name.clone(),
        unit_word: kind.unit_word(lang),
        province_name: unit.province_name.clone(),
    }
}

pub(crate) fn survey(state: &AppState) -> AppResult<&Survey> {
    state
        .catalog
        .get(DEFAULT_SURVEY)
        .ok_or_else(|| AppError::Internal(format!("survey {DEFAULT_SURVEY} missing")))
}

pub(crate) async fn unit_or_404(state: &AppState, code: &str) -> AppResult<(UnitInfo, UnitKind)> {
    let unit = state
        .units
        .get(&state.db, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = UnitKind::from_db(&unit.kind).ok_or_else(|| {
        AppError::Internal(format!("unit {} has unknown type {}", unit.code, unit.kind))
    })?;
    Ok((unit, kind))
}

/// The contact line under the issuer: the province's (or the general one) from `[public]`,
/// else a plain pointer to the ward's own office.
pub fn contact_line(state: &AppState, unit: &UnitInfo, kind: UnitKind, lang: Lang) -> String {
    match state.config.public.contact_of(&unit.province_code) {
        Some(c) => c.to_string(),
        None => match lang {
            Lang::Vi => format!(
                "Mọi thắc mắc về phiếu khảo sát, xin hỏi trực tiếp tại trụ sở {}.",
                kind.unit_word(lang)
            ),
            Lang::En => format!(
                "For any question about this survey, please ask at the office of {}.",
                kind.unit_word(lang)
            ),
        },
    }
}

#[expect(clippy::too_many_arguments)]
fn render_form(
    state: &AppState,
    unit: &UnitInfo,
    kind: UnitKind,
    lang: Lang,
    token: Option<String>,
    poster: Option<String>,
    submitted: Option<&FormErrors>,
    contact: &str,
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
    ctx.insert(
        "retention_days",
        &state.config.privacy.contact_retention_days,
    );
    ctx.insert(
        "text_retention_days",
        &state.config.privacy.text_retention_days,
    );
    ctx.insert("issuer", &state.config.public.issuer);
    ctx.insert("contact", contact);
    Ok(state.tera.render("public/survey.html", &ctx)?)
}

/// Stands in for a ward's own values when a page plan is rendered (a private-use character,
/// which tera does not escape and no unit name holds).
const MARK: char = '\u{E000}';

enum Part {
    Text(String),
    Code,
    Name,
    Province,
    Contact,
}

/// The plain survey page (no token, poster or errors) of one unit kind and language: the same
/// for every ward but for the ward's code, name, province and the province's contact line, so
/// it is rendered once with markers in their place and each request fills them in, escaped as
/// tera escapes them.
pub struct PagePlan(Vec<Part>);

impl PagePlan {
    fn render(&self, unit: &UnitInfo, contact: &str) -> String {
        let name = tera::escape_html(&unit.name);
        let province = tera::escape_html(&unit.province_name);
        let code = tera::escape_html(&unit.code);
        let contact = tera::escape_html(contact);
        let mut out = String::with_capacity(
            self.0
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.len(),
                    _ => 64,
                })
                .sum(),
        );
        for p in &self.0 {
            out.push_str(match p {
                Part::Text(t) => t,
                Part::Code => &code,
                Part::Name => &name,
                Part::Province => &province,
                Part::Contact => &contact,
            });
        }
        out
    }
}

/// The page plans, made on first use.
#[derive(Default)]
pub struct PageCache(
    std::sync::Mutex<std::collections::HashMap<(UnitKind, Lang), std::sync::Arc<PagePlan>>>,
);

fn page_plan(state: &AppState, kind: UnitKind, lang: Lang) -> AppResult<std::sync::Arc<PagePlan>> {
    if let Some(p) = state
        .pages
        .0
        .lock()
        .ok()
        .and_then(|m| m.get(&(kind, lang)).cloned())
    {
        return Ok(p);
    }
    let stand_in = UnitInfo {
        code: format!("{MARK}0{MARK}"),
        name: format!("{MARK}1{MARK}"),
        kind: String::new(),
        province_code: String::new(),
        province_name: format!("{MARK}2{MARK}"),
    };
    let contact = format!("{MARK}3{MARK}");
    let text = render_form(state, &stand_in, kind, lang, None, None, None, &contact)?;
    let mut parts = Vec::new();
    for (i, piece) in text.split(MARK).enumerate() {
        if i % 2 == 0 {
            parts.push(Part::Text(piece.to_string()));
        } else {
            parts.push(match piece {
                "0" => Part::Code,
                "1" => Part::Name,
                "2" => Part::Province,
                "3" => Part::Contact,
                other => {
                    return Err(AppError::Internal(format!(
                        "unexpected page plan marker {other:?}"
                    )));
                }
            });
        }
    }
    let plan = std::sync::Arc::new(PagePlan(parts));
    if let Ok(mut m) = state.pages.0.lock() {
        m.insert((kind, lang), plan.clone());
    }
    Ok(plan)
}

async fn show(
    State(state): State<AppState>,
    Extension(client): Extension<Client>,
    Path(code): Path<String>,
    Query(q): Query<SurveyQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let (unit, kind) = unit_or_404(&state, &code).await?;
    let token = q.t.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = token {
        let status =
            crate::store::tokens::status(&state.db, t, &unit.code, state.clock.now()).await?;
        if status != TokenStatus::Valid {
            return Ok(token_refused(status, lang));
        }
    }
    let poster = url_safe(q.p.as_deref());
    let contact = contact_line(&state, &unit, kind, lang);
    let body = if token.is_none() && poster.is_none() {
        page_plan(&state, kind, lang)?.render(&unit, &contact)
    } else {
        render_form(
            &state,
            &unit,
            kind,
            lang,
            url_safe(token),
            poster,
            None,
            &contact,
        )?
    };
    let mut resp = html(body);
    if client.device.is_none() {
        set_device_cookie(&state, &mut resp);
    }
    Ok(resp)
}

/// The device cookie: a random id signed by the server, HttpOnly, SameSite=Lax, two years.
fn set_device_cookie(state: &AppState, resp: &mut Response) {
    let secure = if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{DEVICE_COOKIE}={}; Path=/; Max-Age=63072000; HttpOnly; SameSite=Lax{secure}",
        state.secrets.new_device_cookie()
    );
    if let Ok(v) = header::HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A clear page for an invitation link that cannot be used: 403 for a link of another ward or
/// not ours, 410 for a used or expired one. Nothing is stored.
fn token_refused(status: TokenStatus, lang: Lang) -> Response {
    let (code, vi, en) = match status {
        TokenStatus::Used => (
            StatusCode::GONE,
            "Đường dẫn mời này đã được sử dụng. Mỗi đường dẫn chỉ dùng được một lần, nên câu trả lời lần này không được tính. Anh/chị vẫn có thể góp ý qua mã QR tại trụ sở Công an.",
            "This invitation link has already been used. Each link works once, so this answer is not counted. You can still give feedback through the QR code at the police office.",
        ),
        TokenStatus::Expired => (
            StatusCode::GONE,
            "Đường dẫn mời này đã hết hạn nên câu trả lời không được tính. Anh/chị vẫn có thể góp ý qua mã QR tại trụ sở Công an.",
            "This invitation link has expired, so the answer is not counted. You can still give feedback through the QR code at the police office.",
        ),
        TokenStatus::WrongWard | TokenStatus::Unknown | TokenStatus::Valid => (
            StatusCode::FORBIDDEN,
            "Đường dẫn mời này không hợp lệ cho đơn vị này. Vui lòng kiểm tra lại đường dẫn được gửi cho anh/chị.",
            "This invitation link is not valid for this unit. Please check the link you were sent.",
        ),
    };
    let message = match lang {
        Lang::Vi => vi,
        Lang::En => en,
    };
    let mut r = (code, message.to_string()).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

fn bad_request(message: &str) -> Response {
    let mut r = (StatusCode::BAD_REQUEST, message.to_string()).into_response();
    r.extensions_mut().insert(ErrorMessage(message.to_string()));
    r
}

/// Marks the answer to a submission the writer stored: `true` when it was flagged.
#[derive(Clone, Copy, Debug)]
struct Stored(bool);

/// A submission, counted in the metrics by what it came to.
async fn submit(
    state: State<AppState>,
    client: Extension<Client>,
    code: Path<String>,
    q: Query<SurveyQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    use crate::monitor::Submission;
    let metrics = state.metrics.clone();
    let answered = store_submission(state, client, code, q, headers, body).await;
    let status = match &answered {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    };
    let stored = answered
        .as_ref()
        .ok()
        .and_then(|r| r.extensions().get::<Stored>().copied());
    match stored {
        Some(Stored(false)) => metrics.submission(Submission::Counted),
        Some(Stored(true)) => metrics.submission(Submission::Flagged),
        None if status.is_client_error() => metrics.submission(Submission::Refused),
        None => {}
    }
    answered
}

async fn store_submission(
    State(state): State<AppState>,
    Extension(client): Extension<Client>,
    Path(code): Path<String>,
    Query(q): Query<SurveyQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let (unit, kind) = unit_or_404(&state, &code).await?;
    if let Err(wait) = state
        .limiters
        .check_submission(&client.key(), client.ip, &unit.code)
    {
        return Ok(wait.into_response());
    }
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
            let contact = contact_line(&state, &unit, kind, lang);
            let body = render_form(
                &state,
                &unit,
                kind,
                lang,
                token,
                poster,
                Some(&errors),
                &contact,
            )?;
            let mut resp =
                (StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(body)).into_response();
            resp.extensions_mut().insert(FinalPage);
            return Ok(resp);
        }
    };
    let now = state.clock.now();
    // A token that cannot be used is refused before anything is stored; a race between two
    // uses of one token is settled in the storing transaction (the loser is flagged).
    let mut channel = Channel::Web;
    let mut token_hash = None;
    if let Some(t) = field("t").or(q.t.as_deref()).filter(|t| !t.is_empty()) {
        let status = crate::store::tokens::status(&state.db, t, &unit.code, now).await?;
        if status != TokenStatus::Valid {
            return Ok(token_refused(status, lang));
        }
        channel = Channel::Token;
        token_hash = Some(crate::privacy::keys::sha256_hex(t));
    } else if let Some(p) = &poster
        && crate::store::posters::is_valid(&state.db, state.secrets.server(), p, &unit.code).await?
    {
        channel = Channel::Poster;
    }
    let mut new = crate::intake::new_response(survey, &valid, &unit.code, channel, now);
    new.token_hash = token_hash;
    new.device_hash = client
        .device
        .as_deref()
        .map(|d| state.secrets.device_hash(d));
    new.ip_hash = Some(state.secrets.ip_hash(&state.db, client.ip, now).await?);
    // The resident's private link: its hash is stored with the response, the secret itself
    // only reaches the resident's browser (see `privacy_cookie`).
    let (link_secret, link_hash) = crate::store::privacy::new_secret();
    new.privacy_hash = Some(link_hash);
    new.misconduct = crate::mail::alerts::misconduct(&state.config.mail, &new);
    new.alert_basis = Some(crate::mail::alerts::AlertBasis::of(
        &state.config.mail,
        &new,
    ));
    // The group-commit writer stores it, with the ward alert it may cause, and answers after
    // the commit: the redirect is sent only then.
    let outcome = state.writer.submit(new).await?;
    let receipt = outcome.receipt;
    let stored = Stored(outcome.flag.is_some());
    // Two uses of one token at the same moment: the loser is stored flagged (never dropped)
    // and told, like any second use, that its answer is not counted.
    if channel == Channel::Token
        && outcome.flag.as_deref() == Some(crate::store::integrity::TOKEN_INVALID)
    {
        let mut r = token_refused(TokenStatus::Used, lang);
        r.extensions_mut().insert(stored);
        return Ok(r);
    }
    let mut location = format!("/s/{}/thanks?r={receipt}", unit.code);
    if lang == Lang::En {
        location.push_str("&lang=en");
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    let link = crate::store::privacy::token(outcome.id, &link_secret);
    if let Some(cookie) = privacy_cookie(&state, &unit.code, &link) {
        r.headers_mut().append(header::SET_COOKIE, cookie);
    }
    r.extensions_mut().insert(stored);
    Ok(r)
}

/// The cookie that carries the private link from the submission to its thank-you page.
pub const PRIVACY_COOKIE: &str = "hl_link";

/// How long the thank-you page can show the link again (a reload, the back button).
const PRIVACY_COOKIE_SECS: u32 = 15 * 60;

/// The private link travels to the thank-you page in a cookie, not in its URL: a URL ends up
/// in access logs (ours, a reverse proxy's) and in the browser's history; this cookie is sent
/// only to this ward's thank-you page, only by this browser, for a quarter of an hour, and
/// never to scripts. Without cookies the thank-you page simply shows no link.
fn privacy_cookie(state: &AppState, ward: &str, link: &str) -> Option<header::HeaderValue> {
    let secure = if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    header::HeaderValue::from_str(&format!(
        "{PRIVACY_COOKIE}={link}; Path=/s/{ward}/thanks; Max-Age={PRIVACY_COOKIE_SECS}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
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
    headers: HeaderMap,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let (unit, kind) = unit_or_404(&state, &code).await?;
    let receipt = q.r.unwrap_or_default();
    let found = response::Entity::find()
        .filter(response::Column::Receipt.eq(receipt.clone()))
        .filter(response::Column::WardCode.eq(unit.code.clone()))
        .one(&state.db)
        .await?;
    let Some(found) = found else {
        return Err(AppError::NotFound);
    };
    // The link is shown only with the response it opens (a cookie left by another answer
    // from this browser shows nothing).
    let mut privacy_token = None;
    if let Some(link) = crate::ratelimit::cookie(&headers, PRIVACY_COOKIE)
        && crate::store::privacy::parse_token(link).is_some_and(|(id, _)| id == found.id)
        && crate::store::privacy::find(&state.db, link)
            .await?
            .is_some_and(|r| r.id == found.id)
    {
        privacy_token = Some(link.to_string());
    }
    let mut ctx = tera::Context::new();
    ctx.insert("privacy_token", &privacy_token);
    ctx.insert("privacy_base", state.config.base_url.trim_end_matches('/'));
    ctx.insert("lang", lang.as_str());
    ctx.insert("ward", &ward_view(&unit, kind, lang));
    ctx.insert("receipt", &receipt);
    ctx.insert("contact", &contact_line(&state, &unit, kind, lang));
    Ok(html(state.tera.render("public/thanks.html", &ctx)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan filled in gives exactly the page tera renders, for names that need escaping.
    #[tokio::test]
    async fn a_page_plan_renders_what_tera_renders() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config {
            database_url: format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
            listen: "127.0.0.1:0".into(),
            surveys_dir: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("surveys"),
            mail_dir: dir.path().join("mail"),
            ..Default::default()
        };
        let app = crate::app::App::build(config).await.unwrap();
        let state = app.state();
        for kind in [UnitKind::Phuong, UnitKind::Xa, UnitKind::DacKhu] {
            for lang in [Lang::Vi, Lang::En] {
                for name in ["Phường Ba Đình", "Xã <A & B> \"Q\" 'x' /y"] {
                    let unit = UnitInfo {
                        code: "00004".into(),
                        name: name.into(),
                        kind: String::new(),
                        province_code: "01".into(),
                        province_name: "Thành phố Hà Nội & <x>".into(),
                    };
                    let contact = "Liên hệ <Công an> & \"số\" 069";
                    let direct =
                        render_form(&state, &unit, kind, lang, None, None, None, contact).unwrap();
                    let planned = page_plan(&state, kind, lang)
                        .unwrap()
                        .render(&unit, contact);
                    assert_eq!(planned, direct);
                    assert!(planned.contains("Liên hệ &lt;Công an&gt;"));
                }
            }
        }
    }
}
