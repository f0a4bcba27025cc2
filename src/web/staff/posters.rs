//! `GET /staff/provinces/{province_code}/posters`: the posters of every unit of a province in
//! one printable HTML document, one A4 page per unit, each exactly the single poster of
//! `GET /poster/{ward_code}` (same sheet template, same poster id, same QR code). For the
//! province's users and the ministry; anyone else gets `404`, as for the province page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::get;

use super::Staff;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::store::units::{self, UnitInfo};
use crate::web::Lang;
use crate::web::html;
use crate::web::reach::{poster_sheet, render_posters};

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/provinces/{province_code}/posters", get(posters))
}

async fn posters(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> AppResult<Response> {
    if !staff.scope().contains_province(&code) {
        return Err(AppError::NotFound);
    }
    let province = units::find_province(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let list: Vec<UnitInfo> = units::units_of_province(&state.db, &province.code)
        .await?
        .into_iter()
        .map(|u| UnitInfo {
            code: u.code,
            name: u.name,
            kind: u.kind,
            province_code: u.province_code,
            province_name: province.name.clone(),
        })
        .collect();
    let codes: Vec<String> = list.iter().map(|u| u.code.clone()).collect();
    // Poster ids are made on first use, as the single poster does: on the primary.
    let ids =
        crate::store::posters::current_many(&state.db, state.secrets.server(), &codes).await?;
    let back_href = format!(
        "/staff/provinces/{}{}",
        province.code,
        if staff.lang == Lang::En {
            "?lang=en"
        } else {
            ""
        }
    );
    // The QR codes and the page are CPU work (168 units in the largest province): off the
    // request threads.
    let worker = state.clone();
    let body = tokio::task::spawn_blocking(move || {
        let sheets = list
            .iter()
            .map(|u| {
                let id = ids.get(&u.code).map_or("", String::as_str);
                poster_sheet(&worker.config.base_url, u, id)
            })
            .collect::<Result<Vec<_>, _>>()?;
        render_posters(
            &worker.tera,
            &province.name,
            &sheets,
            "/static/poster.css",
            &back_href,
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let mut resp = html(body);
    // Personal to the signed-in user, like every console page.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}
