//! `GET /staff` (the overview of the user's scope), `GET /staff/provinces/{province_code}`
//! (every ward of a province) and `GET /staff/wards/{ward_code}` (a ward's dashboard).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Staff, render};
use crate::app::AppState;
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::store::{feedback, units};
use crate::web::public::fold;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(overview))
        .route("/staff/provinces/{province_code}", get(province))
        .route("/staff/wards/{ward_code}", get(ward))
}

async fn overview(State(state): State<AppState>, staff: Staff) -> AppResult<Response> {
    let mut ctx = staff.context();
    match staff.scope() {
        Scope::Ward(w) => {
            let ward = feedback::ward_in_scope(&state.db, staff.scope(), w).await?;
            ctx.insert("ward", &ward);
        }
        Scope::Province(p) => {
            ctx.insert(
                "province",
                &units::find_province(&state.db, p)
                    .await?
                    .map(|p| serde_json::json!({"code": p.code, "name": p.name})),
            );
        }
        Scope::Ministry => {
            let provinces: Vec<_> = units::provinces(&state.db)
                .await?
                .into_iter()
                .map(|p| serde_json::json!({"code": p.code, "name": p.name}))
                .collect();
            ctx.insert("provinces", &provinces);
            let mut pilot = Vec::new();
            for code in &state.config.staff.pilot_wards {
                if let Some(u) = units::find_unit(&state.db, code).await? {
                    pilot.push(u);
                }
            }
            ctx.insert("pilot", &pilot);
        }
    }
    render(&state, "staff/overview.html", &ctx)
}

#[derive(Deserialize, Default)]
pub struct ProvinceQuery {
    q: Option<String>,
}

async fn province(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ProvinceQuery>,
) -> AppResult<Response> {
    if !staff.scope().contains_province(&code) {
        return Err(AppError::NotFound);
    }
    let province = units::find_province(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("");
    let folded = fold(needle);
    let wards: Vec<_> = units::units_of_province(&state.db, &province.code)
        .await?
        .into_iter()
        .filter(|u| folded.is_empty() || fold(&u.name).contains(&folded) || u.code == needle)
        .map(|u| serde_json::json!({"code": u.code, "name": u.name, "kind": u.kind}))
        .collect();
    let mut ctx = staff.context();
    ctx.insert(
        "province",
        &serde_json::json!({"code": province.code, "name": province.name}),
    );
    ctx.insert("wards", &wards);
    ctx.insert("q", needle);
    render(&state, "staff/province.html", &ctx)
}

async fn ward(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let ward = feedback::ward_in_scope(&state.db, staff.scope(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    render(&state, "staff/ward.html", &ctx)
}
