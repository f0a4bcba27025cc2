//! The ward dashboard `GET /staff/wards/{ward_code}` (index, satisfied share, dimensions and
//! trust with intervals and status; the trend by month and quarter with interval bands and
//! change flags; the ward next to its province; the composite ward score), and the entry of
//! the other score criteria `POST /staff/wards/{ward_code}/criteria` (province and ministry).

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::svg::{self, Bar, TrendPoint as SvgPoint};
use super::{Staff, audit, render, see_other};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::measure::score::SATISFACTION;
use crate::measure::{ChangeFlag, WardFigures};
use crate::period::Period;
use crate::store::{feedback, figures};
use crate::web::reads::ConsoleReads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/wards/{ward_code}", get(dashboard))
        .route("/staff/wards/{ward_code}/criteria", post(save_criteria))
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    pub period: Option<String>,
}

/// The period asked for (default: the current quarter); a bad one is a clear 400.
pub fn period_of(q: &Option<String>) -> AppResult<Period> {
    match q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Period::current_quarter()),
        Some(p) => Period::parse(p).map_err(|e| AppError::BadRequest(e.to_string())),
    }
}

/// The figures as the templates show them (numbers rounded for display only).
pub fn figures_json(f: &WardFigures) -> serde_json::Value {
    let r1 = |v: f64| (v * 10.0).round() / 10.0;
    serde_json::json!({
        "n": f.n,
        "n_eff": r1(f.n_eff),
        "status": f.status,
        "weighting": f.weighting,
        "index": f.index.map(|i| serde_json::json!({"value": r1(i.value), "ci_low": r1(i.ci_low), "ci_high": r1(i.ci_high)})),
        "satisfied": f.satisfied_share.map(|(i, n)| serde_json::json!({
            "value": r1(i.value * 100.0), "ci_low": r1(i.ci_low * 100.0), "ci_high": r1(i.ci_high * 100.0), "n": n})),
        "trust": f.trust.0.map(r1),
        "trust_n": f.trust.1,
    })
}

pub fn change_str(c: Option<ChangeFlag>) -> Option<&'static str> {
    c.map(|c| match c {
        ChangeFlag::SignificantRise => "significant_rise",
        ChangeFlag::SignificantDrop => "significant_drop",
        ChangeFlag::None => "none",
    })
}

pub(super) fn svg_points(points: &[figures::TrendPoint]) -> Vec<SvgPoint> {
    points
        .iter()
        .map(|p| SvgPoint {
            label: p.period.to_string(),
            value: p
                .figures
                .index
                .filter(|_| p.figures.status != crate::measure::Status::InsufficientData)
                .map(|i| (i.value, i.ci_low, i.ci_high)),
            change: match p.change {
                Some(ChangeFlag::SignificantRise) => Some(true),
                Some(ChangeFlag::SignificantDrop) => Some(false),
                _ => None,
            },
        })
        .collect()
}

fn back(p: Period, n: usize) -> Period {
    (0..n).fold(p, |p, _| p.prev())
}

async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let ward = feedback::ward_in_scope(reads.db(), staff.scope(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let period = period_of(&q.period)?;
    let ctx_m = state.measure_ctx();
    let fig = figures::ward_figures(reads.db(), ctx_m, &ward.code, period).await?;
    let quarter = period.quarter();
    let last_month = match period {
        Period::Month { .. } => period,
        Period::Quarter { .. } => {
            let m = quarter.months().pop().unwrap_or_default();
            Period::parse(&m).map_err(|e| AppError::Internal(e.to_string()))?
        }
    };
    let quarters = figures::ward_trend(
        reads.db(),
        ctx_m,
        &ward.code,
        &ward.province_code,
        back(quarter, 5),
        quarter,
    )
    .await?;
    let months = figures::ward_trend(
        reads.db(),
        ctx_m,
        &ward.code,
        &ward.province_code,
        back(last_month, 11),
        last_month,
    )
    .await?;
    let lang_en = staff.lang == crate::web::Lang::En;
    let t = |vi: &str, en: &str| {
        if lang_en {
            en.to_string()
        } else {
            vi.to_string()
        }
    };
    let trend_q = svg::trend(
        &t(
            "Chỉ số hài lòng theo quý, khoảng tin cậy 95%",
            "Satisfaction index by quarter, 95% interval",
        ),
        &svg_points(&quarters),
    );
    let trend_m = svg::trend(
        &t(
            "Chỉ số hài lòng theo tháng, khoảng tin cậy 95%",
            "Satisfaction index by month, 95% interval",
        ),
        &svg_points(&months),
    );
    let dims: Vec<Bar> = state
        .spec
        .dimensions
        .iter()
        .map(|d| {
            let v = fig.dimensions.get(&d.id).and_then(|x| x.0);
            Bar {
                label: d.id.clone(),
                value: v,
                ci: None,
                highlight: false,
            }
        })
        .collect();
    let dim_svg = svg::bars(
        &t("Điểm theo khía cạnh (0–100)", "Score by dimension (0–100)"),
        &dims,
    );
    // The ward next to its province: every ward's index, this one highlighted.
    let ranking = state
        .province_ranking(&reads, &ward.province_code, period)
        .await?;
    let ranked = ranking.iter().filter(|r| r.rank.is_some()).count();
    let mine = ranking.iter().find(|r| r.ward_code == ward.code);
    let indices: Vec<f64> = ranking
        .iter()
        .filter(|r| r.rank.is_some())
        .filter_map(|r| r.figures.index.map(|i| i.value))
        .collect();
    let province_mean =
        (!indices.is_empty()).then(|| indices.iter().sum::<f64>() / indices.len() as f64);
    let mut next_to: Vec<Bar> = ranking
        .iter()
        .filter(|r| r.rank.is_some() || r.ward_code == ward.code)
        .take(30)
        .map(|r| Bar {
            label: format!(
                "{}{}",
                r.rank.map(|k| format!("{k}. ")).unwrap_or_default(),
                r.ward_name
            ),
            value: r.figures.index.map(|i| i.value),
            ci: r.figures.index.map(|i| (i.ci_low, i.ci_high)),
            highlight: r.ward_code == ward.code,
        })
        .collect();
    if !next_to.iter().any(|r| r.highlight) {
        next_to.push(Bar {
            label: ward.name.clone(),
            value: fig.index.map(|i| i.value),
            ci: fig.index.map(|i| (i.ci_low, i.ci_high)),
            highlight: true,
        });
    }
    let province_svg = svg::bars(
        &t(
            "So với các phường, xã trong tỉnh (xếp hạng)",
            "Next to the province's wards (ranked)",
        ),
        &next_to,
    );
    let score = figures::ward_score(reads.db(), ctx_m, &ward.code, quarter).await?;
    let parts: Vec<serde_json::Value> = score
        .parts
        .iter()
        .map(|p| serde_json::json!({
            "criterion": p.criterion, "weight": p.weight, "value": p.value.map(|v| (v * 10.0).round() / 10.0),
            "editable": p.criterion != SATISFACTION,
        }))
        .collect();
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    ctx.insert("period", &period.to_string());
    ctx.insert("quarter", &quarter.to_string());
    ctx.insert("fig", &figures_json(&fig));
    ctx.insert("dims", &fig.dimensions.iter().map(|(k, (v, n))| serde_json::json!({"id": k, "value": v.map(|v| (v * 10.0).round() / 10.0), "n": n})).collect::<Vec<_>>());
    ctx.insert("trend_q", &trend_q);
    ctx.insert("trend_m", &trend_m);
    ctx.insert("trend_rows", &quarters.iter().map(|p| serde_json::json!({
        "period": p.period.to_string(), "fig": figures_json(&p.figures), "change": change_str(p.change)})).collect::<Vec<_>>());
    ctx.insert("dim_svg", &dim_svg);
    ctx.insert("province_svg", &province_svg);
    ctx.insert("rank", &mine.and_then(|r| r.rank));
    ctx.insert("ranked", &ranked);
    ctx.insert(
        "province_mean",
        &province_mean.map(|v| (v * 10.0).round() / 10.0),
    );
    ctx.insert("score_status", &score.status);
    ctx.insert(
        "score_value",
        &score.value.map(|v| (v * 10.0).round() / 10.0),
    );
    ctx.insert("model_ward", &score.model_ward);
    ctx.insert("parts", &parts);
    ctx.insert("can_edit", &staff.scope().can_enter_criteria());
    ctx.insert("method_version", &crate::measure::METHOD_VERSION);
    ctx.insert("config_hash", &state.config_hash);
    ctx.insert("saved", &false);
    reads.mark(&mut ctx);
    super::actions::notes_context(&state, &staff, &ward, quarter, &mut ctx).await?;
    render(&state, "staff/ward.html", &ctx)
}

async fn save_criteria(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(r) = staff.check_csrf(&state, get("csrf")) {
        return Ok(r);
    }
    let ward = feedback::ward_in_scope(&state.db, staff.scope(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !staff.scope().can_enter_criteria() {
        return Err(AppError::NotFound);
    }
    let period = period_of(&get("period").map(str::to_string))?;
    // Check every value first: all are saved or none.
    let mut values = Vec::new();
    for c in state
        .config
        .score
        .criteria
        .iter()
        .filter(|c| c.id != SATISFACTION)
    {
        let Some(raw) = get(&format!("c_{}", c.id))
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let v: f64 = raw.replace(',', ".").parse().ok().filter(|v: &f64| v.is_finite() && (0.0..=100.0).contains(v)).ok_or_else(|| {
            AppError::BadRequest(format!(
                "Tiêu chí {}: giá trị phải là số từ 0 đến 100. / Criterion {}: the value must be a number from 0 to 100.",
                c.id, c.id
            ))
        })?;
        values.push((c.id.clone(), v));
    }
    for (id, v) in &values {
        figures::set_criterion(&state.db, &ward.code, period, id, *v).await?;
    }
    audit::record(
        &state,
        Some(&staff.user),
        "criteria_edit",
        &format!("ward:{}", ward.code),
        serde_json::json!({"period": period.to_string(), "values": values}),
    )
    .await;
    Ok(see_other(&format!(
        "/staff/wards/{}?period={period}",
        ward.code
    )))
}
