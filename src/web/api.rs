//! The JSON API of docs/api.md: ward satisfaction, trend, province ranking and ward score.
//! Numbers are not rounded. Public callers get `null` for every figure of an
//! `insufficient_data` ward-period; ministry callers always get the values.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::measure::{ChangeFlag, METHOD_VERSION, Status, WardFigures};
use crate::period::Period;
use crate::store::figures::{self, Granularity};
use crate::store::units;
use crate::web::caller::Caller;
use crate::web::reads::Reads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/wards/{ward_code}/satisfaction", get(satisfaction))
        .route("/api/v1/wards/{ward_code}/trend", get(trend))
        .route("/api/v1/wards/{ward_code}/score", get(score))
        .route("/api/v1/provinces/{province_code}/ranking", get(ranking))
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

fn parse_period(p: Option<&str>) -> AppResult<Period> {
    match p.filter(|s| !s.is_empty()) {
        None => Ok(Period::current_quarter()),
        Some(s) => Period::parse(s).map_err(|e| AppError::BadRequest(e.to_string())),
    }
}

/// Whether values may be shown to this caller.
fn visible(caller: &Caller, status: Status) -> bool {
    caller.sees_all_values() || status != Status::InsufficientData
}

/// The index with its interval; a ward of one respondent has a value but no interval.
fn interval_json(f: &WardFigures, show: bool) -> Value {
    match (f.index, f.point) {
        _ if !show => json!({ "value": null, "ci_low": null, "ci_high": null }),
        (Some(i), _) => json!({ "value": i.value, "ci_low": i.ci_low, "ci_high": i.ci_high }),
        (None, point) => json!({ "value": point, "ci_low": null, "ci_high": null }),
    }
}

fn figures_json(f: &WardFigures, caller: &Caller) -> serde_json::Map<String, Value> {
    let show = visible(caller, f.status);
    let mut m = serde_json::Map::new();
    m.insert("n".into(), json!(f.n));
    m.insert("n_eff".into(), json!(f.n_eff));
    m.insert("weighting".into(), json!(f.weighting));
    m.insert("status".into(), json!(f.status));
    m.insert("index".into(), interval_json(f, show));
    let share = match f.satisfied_share.filter(|_| show) {
        Some((i, n)) => {
            json!({ "value": i.value, "ci_low": i.ci_low, "ci_high": i.ci_high, "n": n })
        }
        None => json!({ "value": null, "ci_low": null, "ci_high": null,
                        "n": if show { f.satisfied_share.map(|(_, n)| n) } else { None } }),
    };
    m.insert("satisfied_share".into(), share);
    let dims: serde_json::Map<String, Value> = f
        .dimensions
        .iter()
        .map(|(id, (v, n))| {
            let v = if show { *v } else { None };
            let n = if show { Some(*n) } else { None };
            (id.clone(), json!({ "value": v, "n": n }))
        })
        .collect();
    m.insert("dimensions".into(), Value::Object(dims));
    let (tv, tn) = f.trust;
    m.insert(
        "trust".into(),
        json!({ "value": if show { tv } else { None }, "n": if show { Some(tn) } else { None } }),
    );
    m
}

fn stamp(m: &mut serde_json::Map<String, Value>, state: &AppState) {
    m.insert("method_version".into(), json!(METHOD_VERSION));
    m.insert("config_hash".into(), json!(state.config_hash));
}

/// The ward, or 404 when it does not exist or lies outside a staff caller's scope.
async fn ward_or_404(
    state: &AppState,
    reads: &Reads,
    caller: &Caller,
    code: &str,
) -> AppResult<units::UnitInfo> {
    state
        .units
        .get(reads.db(), code)
        .await?
        .filter(|u| caller.allows_ward(u))
        .ok_or(AppError::NotFound)
}

async fn satisfaction(
    State(state): State<AppState>,
    caller: Caller,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Json<Value>> {
    let period = parse_period(q.period.as_deref())?;
    let unit = ward_or_404(&state, &reads, &caller, &code).await?;
    let f = figures::ward_figures(reads.db(), state.measure_ctx(), &unit.code, period).await?;
    let mut m = serde_json::Map::new();
    m.insert("ward_code".into(), json!(unit.code));
    m.insert("ward_name".into(), json!(unit.name));
    m.insert("period".into(), json!(period.to_string()));
    m.extend(figures_json(&f, &caller));
    stamp(&mut m, &state);
    Ok(Json(Value::Object(m)))
}

#[derive(Deserialize)]
pub struct TrendQuery {
    granularity: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The longest trend one request may ask for.
const MAX_TREND_POINTS: usize = 60;

fn change_json(c: Option<ChangeFlag>) -> Value {
    match c {
        Some(c) => json!(c),
        None => Value::Null,
    }
}

async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<TrendQuery>,
) -> AppResult<Json<Value>> {
    let granularity = match q.granularity.as_deref().unwrap_or("month") {
        "month" => Granularity::Month,
        "quarter" => Granularity::Quarter,
        other => {
            return Err(AppError::BadRequest(format!(
                "granularity `{other}` is not month or quarter"
            )));
        }
    };
    let fit = |p: Period| match granularity {
        Granularity::Month => p,
        Granularity::Quarter => p.quarter(),
    };
    let parse = |s: Option<&str>| -> AppResult<Option<Period>> {
        let Some(s) = s.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let p = Period::parse(s).map_err(|e| AppError::BadRequest(e.to_string()))?;
        if p.is_quarter() != (granularity == Granularity::Quarter) {
            return Err(AppError::BadRequest(format!(
                "period `{s}` does not match granularity {}",
                if granularity == Granularity::Quarter {
                    "quarter (YYYY-Qn)"
                } else {
                    "month (YYYY-MM)"
                }
            )));
        }
        Ok(Some(p))
    };
    let now = fit(Period::month_of(chrono::Utc::now()));
    let to = parse(q.to.as_deref())?.unwrap_or(now);
    let from = match parse(q.from.as_deref())? {
        Some(p) => p,
        None => {
            let back = if granularity == Granularity::Month {
                11
            } else {
                3
            };
            (0..back).fold(to, |p, _| p.prev())
        }
    };
    if from > to {
        return Err(AppError::BadRequest(format!(
            "from {from} is after to {to}"
        )));
    }
    let mut count = 1;
    let mut p = from;
    while p < to {
        p = p.next();
        count += 1;
        if count > MAX_TREND_POINTS {
            return Err(AppError::BadRequest(format!(
                "a trend covers at most {MAX_TREND_POINTS} periods"
            )));
        }
    }
    let unit = ward_or_404(&state, &reads, &caller, &code).await?;
    let points = figures::ward_trend(
        reads.db(),
        state.measure_ctx(),
        &unit.code,
        &unit.province_code,
        from,
        to,
    )
    .await?;
    let points: Vec<Value> = points
        .iter()
        .map(|pt| {
            let f = figures_json(&pt.figures, &caller);
            json!({
                "period": pt.period.to_string(),
                "n": f["n"],
                "n_eff": f["n_eff"],
                "status": f["status"],
                "index": f["index"],
                "change": change_json(pt.change),
            })
        })
        .collect();
    let mut m = serde_json::Map::new();
    m.insert("ward_code".into(), json!(unit.code));
    m.insert(
        "granularity".into(),
        json!(if granularity == Granularity::Month {
            "month"
        } else {
            "quarter"
        }),
    );
    m.insert("points".into(), Value::Array(points));
    stamp(&mut m, &state);
    Ok(Json(Value::Object(m)))
}

async fn ranking(
    State(state): State<AppState>,
    caller: Caller,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Json<Value>> {
    let period = parse_period(q.period.as_deref())?;
    let province = units::find_province(reads.db(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = state
        .province_ranking(&reads, &province.code, period)
        .await?;
    let wards: Vec<Value> = rows
        .iter()
        .map(|r| {
            let show = visible(&caller, r.figures.status);
            json!({
                "ward_code": r.ward_code,
                "ward_name": r.ward_name,
                "status": r.figures.status,
                "n": r.figures.n,
                "n_eff": r.figures.n_eff,
                "rank": r.rank,
                "rank_low": r.band.map(|b| b.rank_low),
                "rank_high": r.band.map(|b| b.rank_high),
                "shrunk": r.shrunk,
                "index": interval_json(&r.figures, show),
                "change": change_json(r.change),
            })
        })
        .collect();
    let mut m = serde_json::Map::new();
    m.insert("province_code".into(), json!(province.code));
    m.insert("period".into(), json!(period.to_string()));
    m.insert("wards".into(), Value::Array(wards));
    stamp(&mut m, &state);
    Ok(Json(Value::Object(m)))
}

async fn score(
    State(state): State<AppState>,
    caller: Caller,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Json<Value>> {
    let period = parse_period(q.period.as_deref())?;
    let unit = ward_or_404(&state, &reads, &caller, &code).await?;
    let s = figures::ward_score(reads.db(), state.measure_ctx(), &unit.code, period).await?;
    let mut m = serde_json::Map::new();
    m.insert("ward_code".into(), json!(unit.code));
    m.insert("period".into(), json!(period.to_string()));
    m.insert("status".into(), json!(s.status));
    m.insert("value".into(), json!(s.value));
    m.insert("model_ward".into(), json!(s.model_ward));
    m.insert("parts".into(), json!(s.parts));
    stamp(&mut m, &state);
    Ok(Json(Value::Object(m)))
}
