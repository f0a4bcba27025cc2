//! Public pages: the ward finder, the survey form and its submission, the thank-you page.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::{Lang, html};
use crate::app::AppState;
use crate::error::AppResult;
use crate::store::units;
use crate::web::reads::Reads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .merge(super::survey::routes())
}

/// Lower-case, accents removed (`Đ` → `d`), so that "ba dinh" finds "Phường Ba Đình".
pub fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

#[derive(Deserialize, Default)]
pub struct IndexQuery {
    lang: Option<String>,
    q: Option<String>,
    province: Option<String>,
}

#[derive(Serialize)]
struct ProvinceItem {
    code: String,
    name: String,
}

#[derive(Serialize)]
struct UnitItem {
    code: String,
    name: String,
    kind: String,
    province_name: String,
    url: String,
    results_url: String,
}

const MAX_LISTED: usize = 200;

async fn index(
    State(state): State<AppState>,
    reads: Reads,
    Query(q): Query<IndexQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let provinces = units::provinces(reads.db()).await?;
    let selected = q
        .province
        .as_deref()
        .filter(|c| !c.is_empty())
        .and_then(|c| provinces.iter().find(|p| p.code == c));
    let text = q.q.as_deref().map(str::trim).unwrap_or("");
    let searched = selected.is_some() || !text.is_empty();
    let mut listed = Vec::new();
    let mut total = 0;
    if searched {
        let needle = fold(text);
        let all = match selected {
            Some(p) => units::units_of_province(reads.db(), &p.code).await?,
            None => units::all_units(reads.db()).await?,
        };
        for u in all {
            if !needle.is_empty() && !fold(&u.name).contains(&needle) && u.code != text {
                continue;
            }
            total += 1;
            if listed.len() < MAX_LISTED {
                let province_name = provinces
                    .iter()
                    .find(|p| p.code == u.province_code)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                let (url, results_url) = match lang {
                    Lang::Vi => (
                        format!("/s/{}", u.code),
                        format!("/results/wards/{}", u.code),
                    ),
                    Lang::En => (
                        format!("/s/{}?lang=en", u.code),
                        format!("/results/wards/{}?lang=en", u.code),
                    ),
                };
                listed.push(UnitItem {
                    code: u.code,
                    name: u.name,
                    kind: u.kind,
                    province_name,
                    url,
                    results_url,
                });
            }
        }
    }
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("q", text);
    ctx.insert(
        "province",
        &selected.map(|p| ProvinceItem {
            code: p.code.clone(),
            name: p.name.clone(),
        }),
    );
    ctx.insert(
        "provinces",
        &provinces
            .iter()
            .map(|p| ProvinceItem {
                code: p.code.clone(),
                name: p.name.clone(),
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("searched", &searched);
    ctx.insert("total", &total);
    ctx.insert("shown", &listed.len());
    ctx.insert("units", &listed);
    Ok(html(state.tera.render("public/index.html", &ctx)?))
}
