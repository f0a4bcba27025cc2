//! Exports of aggregates: `GET /staff/exports/aggregates.csv` and `.xlsx` — one row per ward
//! of the user's scope with the figures of docs/method.md for a period (default: the current quarter),
//! its rank within the province and its change flag. Filters `ward=`, `province=`, `period=`;
//! a ward or province outside the scope is `404`, as one that does not exist.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::exports::ExportQuery;
use super::{Staff, audit};
use crate::app::AppState;
use crate::auth::Scope;
use crate::csvout::{Cell, CsvOut};
use crate::error::{AppError, AppResult};
use crate::measure::{METHOD_VERSION, WardFigures};
use crate::period::Period;
use crate::store::figures::RankedRow;
use crate::store::{feedback, units};
use crate::web::reads::Reads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/exports/aggregates.csv", get(aggregates_csv))
        .route("/staff/exports/aggregates.xlsx", get(aggregates_xlsx))
}

/// The rows of the export: every ward the filters and the scope allow, with its province.
async fn rows(
    state: &AppState,
    reads: &Reads,
    scope: &Scope,
    q: &ExportQuery,
) -> AppResult<(Period, Vec<(String, RankedRow)>)> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let period = match nonempty(&q.period) {
        Some(p) => Period::parse(&p).map_err(|e| AppError::BadRequest(e.to_string()))?,
        None => Period::current_quarter(),
    };
    let mut only_ward = None;
    let provinces: Vec<String> = if let Some(w) = nonempty(&q.ward) {
        let unit = feedback::ward_in_scope(reads.db(), scope, &w)
            .await?
            .ok_or(AppError::NotFound)?;
        only_ward = Some(unit.code.clone());
        vec![unit.province_code]
    } else if let Some(p) = nonempty(&q.province) {
        if units::find_province(reads.db(), &p).await?.is_none() || !scope.contains_province(&p) {
            return Err(AppError::NotFound);
        }
        vec![p]
    } else {
        match scope {
            Scope::Ministry => units::provinces(reads.db())
                .await?
                .into_iter()
                .map(|p| p.code)
                .collect(),
            Scope::Province(p) => vec![p.clone()],
            Scope::Interviewer(_) => return Err(AppError::NotFound),
            Scope::Ward(w) => {
                let unit = units::find_unit(reads.db(), w)
                    .await?
                    .ok_or(AppError::NotFound)?;
                only_ward = Some(unit.code.clone());
                vec![unit.province_code]
            }
        }
    };
    let mut out = Vec::new();
    for p in provinces {
        for row in state.province_ranking(reads, &p, period).await? {
            if only_ward.as_ref().is_none_or(|w| *w == row.ward_code) {
                out.push((p.clone(), row));
            }
        }
    }
    Ok((period, out))
}

/// Column names, then one row of cells per ward; numbers unrounded, empty where not computable.
fn table(
    state: &AppState,
    period: Period,
    rows: &[(String, RankedRow)],
) -> (Vec<String>, Vec<Vec<Cell>>) {
    let dims: Vec<String> = state.spec.dimensions.iter().map(|d| d.id.clone()).collect();
    let mut header: Vec<String> = [
        "province_code",
        "ward_code",
        "ward_name",
        "period",
        "n",
        "n_eff",
        "weighting",
        "status",
        "index",
        "ci_low",
        "ci_high",
        "satisfied_share",
        "satisfied_ci_low",
        "satisfied_ci_high",
        "satisfied_n",
        "trust",
        "trust_n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for d in &dims {
        header.push(format!("dim_{d}"));
        header.push(format!("dim_{d}_n"));
    }
    for h in ["rank", "shrunk", "change", "method_version", "config_hash"] {
        header.push(h.to_string());
    }
    let body = rows
        .iter()
        .map(|(province, r)| {
            let f: &WardFigures = &r.figures;
            let num = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Num);
            let int = |x: i64| Cell::Num(x as f64);
            let label =
                |v: serde_json::Value| Cell::Text(v.as_str().unwrap_or_default().to_string());
            let mut cells = vec![
                Cell::Text(province.clone()),
                Cell::Text(r.ward_code.clone()),
                Cell::Text(r.ward_name.clone()),
                Cell::Text(period.to_string()),
                int(f.n),
                Cell::Num(f.n_eff),
                label(serde_json::json!(f.weighting)),
                label(serde_json::json!(f.status)),
                num(f.index.map(|i| i.value)),
                num(f.index.map(|i| i.ci_low)),
                num(f.index.map(|i| i.ci_high)),
                num(f.satisfied_share.map(|s| s.0.value)),
                num(f.satisfied_share.map(|s| s.0.ci_low)),
                num(f.satisfied_share.map(|s| s.0.ci_high)),
                f.satisfied_share.map_or(Cell::Empty, |s| int(s.1)),
                num(f.trust.0),
                int(f.trust.1),
            ];
            for d in &dims {
                let (v, n) = f.dimensions.get(d).copied().unwrap_or((None, 0));
                cells.push(num(v));
                cells.push(int(n));
            }
            cells.push(r.rank.map_or(Cell::Empty, |x| Cell::Num(x as f64)));
            cells.push(num(r.shrunk));
            cells.push(
                r.change
                    .map_or(Cell::Empty, |c| label(serde_json::json!(c))),
            );
            cells.push(Cell::Num(f64::from(METHOD_VERSION)));
            cells.push(Cell::Text(state.config_hash.clone()));
            cells
        })
        .collect();
    (header, body)
}

async fn start(
    state: &AppState,
    reads: &Reads,
    staff: &Staff,
    q: &ExportQuery,
    format: &str,
) -> AppResult<(Vec<String>, Vec<Vec<Cell>>, String)> {
    let (period, rows) = rows(state, reads, staff.scope(), q).await?;
    audit::record(
        state,
        Some(&staff.user),
        "export",
        &format!("aggregates.{format}"),
        serde_json::json!({ "ward": q_str(&q.ward), "province": q_str(&q.province), "period": period.to_string() }),
    )
    .await;
    let (header, body) = table(state, period, &rows);
    Ok((
        header,
        body,
        format!("hailong-aggregates-{period}.{format}"),
    ))
}

fn q_str(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn aggregates_csv(
    State(state): State<AppState>,
    staff: Staff,
    reads: Reads,
    Query(q): Query<super::exports::ExportQuery>,
) -> AppResult<Response> {
    let (header, body, name) = start(&state, &reads, &staff, &q, "csv").await?;
    let fail = |e: std::io::Error| AppError::Internal(e.to_string());
    let mut w = CsvOut::new(Vec::new()).map_err(fail)?;
    w.text_row(&header).map_err(|e| fail(e.into()))?;
    for row in body {
        w.row(&row).map_err(|e| fail(e.into()))?;
    }
    let bytes = w.into_inner().map_err(fail)?;
    Ok(attachment("text/csv; charset=utf-8", &name, bytes))
}

async fn aggregates_xlsx(
    State(state): State<AppState>,
    staff: Staff,
    reads: Reads,
    Query(q): Query<super::exports::ExportQuery>,
) -> AppResult<Response> {
    let (header, body, name) = start(&state, &reads, &staff, &q, "xlsx").await?;
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("aggregates").map_err(fail)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, h).map_err(fail)?;
    }
    for (r, row) in body.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            cell.write_xlsx(ws, r as u32 + 1, c as u16).map_err(fail)?;
        }
    }
    let bytes = wb.save_to_buffer().map_err(fail)?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
        bytes,
    ))
}
