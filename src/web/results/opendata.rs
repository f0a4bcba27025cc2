//! Open data (docs/open-data.md): `GET /open-data/aggregates.csv` and `.json`, one row per
//! published or low-reliability ward-period (every month and quarter with data), with the
//! values the satisfaction API gives for that ward and period. Computed from the rollups
//! (`store::figures`, never the raw responses) and kept for a minute like the results pages.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};

use super::{Cached, respond};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::measure::{METHOD_VERSION, Status, WardFigures};
use crate::period::Period;
use crate::store::figures;
use crate::web::reads::Reads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open-data/aggregates.csv", get(csv_file))
        .route("/open-data/aggregates.json", get(json_file))
}

pub const LICENCE: &str = "CC BY 4.0";
pub const LICENCE_URL: &str = "https://creativecommons.org/licenses/by/4.0/";
pub const ATTRIBUTION_VI: &str = "Nguồn: Hài Lòng — khảo sát sự hài lòng của người dân với Công an phường, xã (tổng hợp theo phường, xã và kỳ).";
pub const ATTRIBUTION_EN: &str = "Source: Hài Lòng — residents' satisfaction survey of ward and commune police (aggregates per ward and period).";

/// One ward-period of the open data.
struct Row {
    ward_code: String,
    ward_name: String,
    province_code: String,
    province_name: String,
    period: Period,
    figures: WardFigures,
}

/// The fixed columns; each dimension adds `dim_<id>` and `dim_<id>_n` before the last two.
const COLUMNS: &[(&str, &str)] = &[
    (
        "ward_code",
        "Mã phường, xã (5 chữ số) / ward code (5 digits)",
    ),
    ("ward_name", "Tên phường, xã / ward name"),
    (
        "province_code",
        "Mã tỉnh, thành phố (2 chữ số) / province code (2 digits)",
    ),
    ("province_name", "Tên tỉnh, thành phố / province name"),
    (
        "period",
        "Kỳ: YYYY-MM (tháng) hoặc YYYY-Qn (quý), giờ Việt Nam / period: month or quarter, Vietnam time",
    ),
    ("n", "Số người trả lời được tính / counted respondents"),
    (
        "n_eff",
        "Cỡ mẫu hữu hiệu sau gia quyền / effective sample size after weighting",
    ),
    ("weighting", "none | post_stratified | raked"),
    (
        "status",
        "published | low_reliability (độ tin cậy thấp / low reliability)",
    ),
    ("index", "Chỉ số hài lòng 0–100 / satisfaction index 0–100"),
    (
        "index_ci_low",
        "Cận dưới khoảng tin cậy 95% / 95% interval, low",
    ),
    (
        "index_ci_high",
        "Cận trên khoảng tin cậy 95% / 95% interval, high",
    ),
    (
        "satisfied_share",
        "Tỷ lệ hài lòng, 0–1 / satisfied share, 0–1",
    ),
    (
        "satisfied_share_ci_low",
        "Cận dưới (Wilson 95%) / Wilson 95% interval, low",
    ),
    (
        "satisfied_share_ci_high",
        "Cận trên (Wilson 95%) / Wilson 95% interval, high",
    ),
    (
        "satisfied_share_n",
        "Số người trả lời câu đánh giá chung / respondents to the overall item",
    ),
    ("trust", "Mức tin tưởng 0–100 / trust 0–100"),
    (
        "trust_n",
        "Số người trả lời câu tin tưởng / respondents to the trust item",
    ),
];

fn columns(dims: &[String]) -> Vec<(String, String)> {
    let mut c: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for d in dims {
        c.push((
            format!("dim_{d}"),
            format!("Điểm khía cạnh {d}, 0–100 / dimension score {d}, 0–100"),
        ));
        c.push((
            format!("dim_{d}_n"),
            format!("Số người trả lời khía cạnh {d} / respondents to dimension {d}"),
        ));
    }
    c.push((
        "method_version".into(),
        "Phiên bản phương pháp / method version".into(),
    ));
    c.push((
        "config_hash".into(),
        "Mã cấu hình phương pháp đã dùng / hash of the method configuration used".into(),
    ));
    c
}

/// Every published or low-reliability ward-period, by period then ward code.
async fn rows(state: &AppState, reads: &Reads) -> AppResult<Vec<Row>> {
    let months = figures::months_with_data(reads.db()).await?;
    let mut periods: BTreeSet<Period> = BTreeSet::new();
    for m in &months {
        if let Ok(p) = Period::parse(m) {
            periods.insert(p);
            periods.insert(p.quarter());
        }
    }
    let mut out = Vec::new();
    for period in periods {
        let figs = figures::figures_with_data(reads.db(), state.measure_ctx(), period).await?;
        for (ward, f) in figs {
            if f.status == Status::InsufficientData {
                continue;
            }
            let Some(unit) = state.units.get(reads.db(), &ward).await? else {
                continue;
            };
            out.push(Row {
                ward_code: unit.code,
                ward_name: unit.name,
                province_code: unit.province_code,
                province_name: unit.province_name,
                period,
                figures: f,
            });
        }
    }
    Ok(out)
}

fn dimension_ids(state: &AppState) -> Vec<String> {
    state.spec.dimensions.iter().map(|d| d.id.clone()).collect()
}

/// A row as the satisfaction API shapes it (the same fields, the same numbers).
fn row_json(r: &Row, dims: &[String], config_hash: &str) -> Value {
    let f = &r.figures;
    let iv = |i: Option<crate::measure::Interval>| match i {
        Some(i) => json!({"value": i.value, "ci_low": i.ci_low, "ci_high": i.ci_high}),
        None => json!({"value": null, "ci_low": null, "ci_high": null}),
    };
    let share = match f.satisfied_share {
        Some((i, n)) => json!({"value": i.value, "ci_low": i.ci_low, "ci_high": i.ci_high, "n": n}),
        None => json!({"value": null, "ci_low": null, "ci_high": null, "n": null}),
    };
    let dimensions: serde_json::Map<String, Value> = dims
        .iter()
        .map(|d| {
            let (v, n) = f.dimensions.get(d).copied().unwrap_or((None, 0));
            (d.clone(), json!({"value": v, "n": n}))
        })
        .collect();
    json!({
        "ward_code": r.ward_code,
        "ward_name": r.ward_name,
        "province_code": r.province_code,
        "province_name": r.province_name,
        "period": r.period.to_string(),
        "n": f.n,
        "n_eff": f.n_eff,
        "weighting": f.weighting,
        "status": f.status,
        "index": iv(f.index),
        "satisfied_share": share,
        "trust": {"value": f.trust.0, "n": f.trust.1},
        "dimensions": dimensions,
        "method_version": METHOD_VERSION,
        "config_hash": config_hash,
    })
}

/// A text cell that a spreadsheet would read as a formula gets a leading `'`.
pub fn text_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_body(rows: &[Row], dims: &[String], config_hash: &str) -> AppResult<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let head: Vec<String> = columns(dims).into_iter().map(|(n, _)| n).collect();
        w.write_record(&head)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        for r in rows {
            let f = &r.figures;
            let json_str = |v: Value| v.as_str().unwrap_or_default().to_string();
            let mut rec = vec![
                text_cell(&r.ward_code),
                text_cell(&r.ward_name),
                text_cell(&r.province_code),
                text_cell(&r.province_name),
                r.period.to_string(),
                f.n.to_string(),
                f.n_eff.to_string(),
                json_str(json!(f.weighting)),
                json_str(json!(f.status)),
                num(f.index.map(|i| i.value)),
                num(f.index.map(|i| i.ci_low)),
                num(f.index.map(|i| i.ci_high)),
                num(f.satisfied_share.map(|s| s.0.value)),
                num(f.satisfied_share.map(|s| s.0.ci_low)),
                num(f.satisfied_share.map(|s| s.0.ci_high)),
                f.satisfied_share
                    .map(|s| s.1.to_string())
                    .unwrap_or_default(),
                num(f.trust.0),
                f.trust.1.to_string(),
            ];
            for d in dims {
                let (v, n) = f.dimensions.get(d).copied().unwrap_or((None, 0));
                rec.push(num(v));
                rec.push(n.to_string());
            }
            rec.push(METHOD_VERSION.to_string());
            rec.push(text_cell(config_hash));
            w.write_record(&rec)
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        w.flush().map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(out)
}

async fn csv_file(State(state): State<AppState>, reads: Reads) -> AppResult<Response> {
    let page = state
        .results
        .get_or_render("open-data.csv".into(), || async {
            let rows = rows(&state, &reads).await?;
            let body = csv_body(&rows, &dimension_ids(&state), &state.config_hash)?;
            Ok(Cached {
                content_type: "text/csv; charset=utf-8",
                body: Bytes::from(body),
            })
        })
        .await?;
    Ok(respond(&page))
}

async fn json_file(State(state): State<AppState>, reads: Reads) -> AppResult<Response> {
    let page = state
        .results
        .get_or_render("open-data.json".into(), || async {
            let rows = rows(&state, &reads).await?;
            let dims = dimension_ids(&state);
            let doc = json!({
                "title": "Hài Lòng — chỉ số hài lòng theo phường, xã và kỳ / satisfaction figures per ward and period",
                "licence": {
                    "name": LICENCE,
                    "url": LICENCE_URL,
                    "attribution": {"vi": ATTRIBUTION_VI, "en": ATTRIBUTION_EN},
                },
                "documentation": "/results/method",
                "generated_at": Utc::now().to_rfc3339(),
                "method_version": METHOD_VERSION,
                "config_hash": state.config_hash,
                "columns": columns(&dims).into_iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>(),
                "rows": rows.iter().map(|r| row_json(r, &dims, &state.config_hash)).collect::<Vec<_>>(),
            });
            Ok(Cached {
                content_type: "application/json",
                body: Bytes::from(serde_json::to_vec(&doc).map_err(|e| AppError::Internal(e.to_string()))?),
            })
        })
        .await?;
    Ok(respond(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_gets_a_leading_quote() {
        for s in ["=1+1", "+84", "-x", "@SUM", "\tx", "\rx"] {
            assert_eq!(text_cell(s), format!("'{s}"));
        }
        assert_eq!(text_cell("Phường Ba Đình"), "Phường Ba Đình");
        assert_eq!(text_cell(""), "");
    }
}
