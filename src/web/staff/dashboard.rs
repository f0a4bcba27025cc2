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

/// A dimension's name in the page's language, from the instrument.
fn dimension_label(state: &AppState, id: &str, lang: crate::web::Lang) -> String {
    state
        .catalog
        .get(crate::app::DEFAULT_SURVEY)
        .and_then(|s| s.dimensions.iter().find(|d| d.id == id))
        .map_or_else(|| id.to_string(), |d| d.label.get(lang).to_string())
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
            label: match p.period {
                Period::Quarter { year, quarter } => format!("Q{quarter}/{year}"),
                Period::Month { year, month } => format!("{month:02}/{year}"),
            },
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

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    pub period: Option<String>,
    /// `1` after the criteria were saved: the page confirms it.
    pub saved: Option<String>,
}

/// The criteria form as typed, with a message per bad field (a `422` shows them).
#[derive(Default)]
pub struct CriteriaForm {
    pub typed: std::collections::HashMap<String, String>,
    pub errors: std::collections::HashMap<String, String>,
}

async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
    Path(code): Path<String>,
    Query(q): Query<DashboardQuery>,
) -> AppResult<Response> {
    let ward = feedback::ward_in_scope(reads.db(), staff.scope(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let period = period_of(&q.period)?;
    let ctx = dashboard_context(&state, &staff, &reads, &ward, period, None).await?;
    let mut ctx = ctx;
    ctx.insert("saved", &q.saved.is_some());
    render(&state, "staff/ward.html", &ctx)
}

/// The periods a form offers, newest first, in words: the last eight quarters and twelve
/// months, and `also` when it is older.
pub fn period_options(lang: crate::web::Lang, also: Option<Period>) -> Vec<serde_json::Value> {
    let mut out: Vec<Period> = Vec::new();
    let mut p = Period::current_quarter();
    for _ in 0..8 {
        out.push(p);
        p = p.prev();
    }
    let mut p = Period::month_of(chrono::Utc::now());
    for _ in 0..12 {
        out.push(p);
        p = p.prev();
    }
    if let Some(a) = also
        && !out.contains(&a)
    {
        out.push(a);
    }
    out.into_iter()
        .map(|p| {
            serde_json::json!({
                "value": p.to_string(),
                "label": crate::web::results::format::period(p, lang),
            })
        })
        .collect()
}

/// The ward dashboard's context; with `form`, the criteria as typed and their errors.
async fn dashboard_context(
    state: &AppState,
    staff: &Staff,
    reads: &ConsoleReads,
    ward: &crate::store::units::UnitInfo,
    period: Period,
    form: Option<&CriteriaForm>,
) -> AppResult<tera::Context> {
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
                label: dimension_label(state, &d.id, staff.lang),
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
        .province_ranking(reads, &ward.province_code, period)
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
            "criterion": p.criterion, "weight": p.weight, "weight_pct": (p.weight * 1000.0).round() / 10.0, "value": p.value.map(|v| (v * 10.0).round() / 10.0),
            "editable": p.criterion != SATISFACTION,
        }))
        .collect();
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    ctx.insert("period", &period.to_string());
    ctx.insert("quarter", &quarter.to_string());
    ctx.insert(
        "period_words",
        &crate::web::results::format::period(period, staff.lang),
    );
    ctx.insert(
        "quarter_words",
        &crate::web::results::format::period(quarter, staff.lang),
    );
    ctx.insert("period_options", &period_options(staff.lang, Some(period)));
    ctx.insert("fig", &figures_json(&fig));
    ctx.insert("dims", &fig.dimensions.iter().map(|(k, (v, n))| serde_json::json!({"id": k, "label": dimension_label(state, k, staff.lang), "value": v.map(|v| (v * 10.0).round() / 10.0), "n": n})).collect::<Vec<_>>());
    ctx.insert("trend_q", &trend_q);
    ctx.insert("trend_m", &trend_m);
    ctx.insert("trend_rows", &quarters.iter().map(|p| serde_json::json!({
        "period": crate::web::results::format::period(p.period, staff.lang), "fig": figures_json(&p.figures), "change": change_str(p.change)})).collect::<Vec<_>>());
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
    let empty = CriteriaForm::default();
    let form = form.unwrap_or(&empty);
    ctx.insert("typed", &form.typed);
    ctx.insert("errors", &form.errors);
    reads.mark(&mut ctx);
    super::actions::notes_context(state, staff, ward, quarter, &mut ctx).await?;
    Ok(ctx)
}

async fn save_criteria(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
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
    // Check every value first: all are saved or none, and every bad one is named.
    let mut values = Vec::new();
    let mut typed = CriteriaForm::default();
    for c in state
        .config
        .score
        .criteria
        .iter()
        .filter(|c| c.id != SATISFACTION)
    {
        let raw = get(&format!("c_{}", c.id)).map(str::trim).unwrap_or("");
        typed.typed.insert(c.id.clone(), raw.to_string());
        if raw.is_empty() {
            continue;
        }
        match parse_score(raw) {
            Some(v) => values.push((c.id.clone(), v)),
            None => {
                typed.errors.insert(
                    c.id.clone(),
                    if staff.lang == crate::web::Lang::En {
                        format!("“{raw}” is not a number from 0 to 100 (for example 80 or 80.5).")
                    } else {
                        format!("“{raw}” không phải là số từ 0 đến 100 (ví dụ 80 hoặc 80,5).")
                    },
                );
            }
        }
    }
    if !typed.errors.is_empty() {
        let ctx = dashboard_context(&state, &staff, &reads, &ward, period, Some(&typed)).await?;
        let mut page = render(&state, "staff/ward.html", &ctx)?;
        *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        // The form with its errors is the answer, not the generic error page.
        page.extensions_mut().insert(crate::web::FinalPage);
        return Ok(page);
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
    let lang = if staff.lang == crate::web::Lang::En {
        "&lang=en"
    } else {
        ""
    };
    Ok(see_other(&format!(
        "/staff/wards/{}?period={period}&saved=1{lang}#h-score",
        ward.code
    )))
}

/// A criterion value as people write it: `80`, `80,5` or `80.5`, from 0 to 100.
fn parse_score(raw: &str) -> Option<f64> {
    let t = raw.trim().replace(' ', "");
    // One decimal separator, comma or point; no thousands separators in 0–100.
    if t.matches([',', '.']).count() > 1 {
        return None;
    }
    t.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_take_a_decimal_comma_or_point() {
        assert_eq!(super::parse_score("80,5"), Some(80.5));
        assert_eq!(super::parse_score(" 80.5 "), Some(80.5));
        assert_eq!(super::parse_score("100"), Some(100.0));
        assert_eq!(super::parse_score("0"), Some(0.0));
        assert_eq!(super::parse_score("100,1"), None);
        assert_eq!(super::parse_score("-1"), None);
        assert_eq!(super::parse_score("1.000,5"), None);
        assert_eq!(super::parse_score("abc"), None);
        assert_eq!(super::parse_score("NaN"), None);
    }
}
