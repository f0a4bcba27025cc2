//! Reach: `GET /qr/{ward_code}.svg|.png` (the survey link as a QR code) and
//! `GET /poster/{ward_code}` (the printable A4 poster with a signed poster id).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::html;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::store::units::UnitInfo;
use crate::survey::{Lang, UnitKind};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/qr/{file}", get(qr))
        .route("/poster/{ward_code}", get(poster))
}

/// The public survey link of a ward: `{base_url}/s/{ward}`.
pub fn survey_url(base_url: &str, ward: &str) -> String {
    format!("{}/s/{ward}", base_url.trim_end_matches('/'))
}

/// The link printed in a poster's QR code, carrying the poster id.
pub fn poster_url(base_url: &str, ward: &str, poster_id: &str) -> String {
    format!("{}?p={poster_id}", survey_url(base_url, ward))
}

async fn unit(state: &AppState, code: &str) -> AppResult<UnitInfo> {
    state
        .units
        .get(&state.db, code)
        .await?
        .ok_or(AppError::NotFound)
}

async fn qr(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let (code, ext) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let unit = unit(&state, code).await?;
    let url = survey_url(&state.config.base_url, &unit.code);
    let cache = (header::CACHE_CONTROL, "public, max-age=86400");
    match ext {
        "svg" => {
            let svg = crate::qr::svg(&url, 256).map_err(|e| AppError::Internal(e.to_string()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                    cache,
                ],
                svg,
            )
                .into_response())
        }
        "png" => {
            let png = crate::qr::png(&url, 8).map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(([(header::CONTENT_TYPE, "image/png"), cache], png).into_response())
        }
        _ => Err(AppError::NotFound),
    }
}

/// "Công an phường Ba Đình": the unit word of its type and its name without the type.
pub fn unit_title(unit: &UnitInfo) -> String {
    let kind = UnitKind::from_db(&unit.kind);
    let word = kind.map_or("Công an", |k| k.unit_word(Lang::Vi));
    let lower = unit.name.to_lowercase();
    let short = ["phường ", "xã ", "đặc khu "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(unit.name.as_str(), |p| &unit.name[p.len()..]);
    format!("{word} {short}")
}

/// One poster sheet: what `public/poster_sheet.html` shows for a unit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PosterSheet {
    pub unit_code: String,
    pub unit_title: String,
    pub province_name: String,
    /// The QR code of the poster's link: trusted SVG from the qrcode crate, inline.
    pub qr_svg: String,
    pub short_url: String,
    pub results_url: String,
    pub poster_id: String,
}

/// The sheet of `unit`'s poster `poster_id`.
pub fn poster_sheet(
    base_url: &str,
    unit: &UnitInfo,
    poster_id: &str,
) -> Result<PosterSheet, AppError> {
    let link = poster_url(base_url, &unit.code, poster_id);
    let svg = crate::qr::svg(&link, 400).map_err(|e| AppError::Internal(e.to_string()))?;
    // Only the <svg> element, without the XML declaration, goes inline.
    let svg = svg
        .find("<svg")
        .map_or(svg.as_str(), |i| &svg[i..])
        .to_string();
    Ok(PosterSheet {
        unit_code: unit.code.clone(),
        unit_title: unit_title(unit),
        province_name: unit.province_name.clone(),
        qr_svg: svg,
        short_url: survey_url(base_url, &unit.code),
        results_url: format!(
            "{}/results/wards/{}",
            base_url.trim_end_matches('/'),
            unit.code
        ),
        poster_id: poster_id.to_string(),
    })
}

/// Renders a unit's poster; `css_href` is `/static/poster.css` online, `poster.css` on disk.
pub fn render_poster(
    state_tera: &tera::Tera,
    base_url: &str,
    unit: &UnitInfo,
    poster_id: &str,
    css_href: &str,
) -> Result<String, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("p", &poster_sheet(base_url, unit, poster_id)?);
    ctx.insert("css_href", css_href);
    Ok(state_tera.render("public/poster.html", &ctx)?)
}

/// Renders many posters as one document, one A4 page each (`public/posters.html`).
pub fn render_posters(
    tera: &tera::Tera,
    province_name: &str,
    sheets: &[PosterSheet],
    css_href: &str,
    back_href: &str,
) -> Result<String, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("province_name", province_name);
    ctx.insert("sheets", sheets);
    ctx.insert("css_href", css_href);
    ctx.insert("back_href", back_href);
    Ok(tera.render("public/posters.html", &ctx)?)
}

async fn poster(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    let unit = unit(&state, &code).await?;
    let id = crate::store::posters::current(&state.db, state.secrets.server(), &unit.code).await?;
    let body = render_poster(
        &state.tera,
        &state.config.base_url,
        &unit,
        &id,
        "/static/poster.css",
    )?;
    Ok(html(body))
}
