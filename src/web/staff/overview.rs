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
use crate::store::{feedback, figures, units};
use crate::web::public::fold;
use crate::web::reads::ConsoleReads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(overview))
        .route("/staff/provinces/{province_code}", get(province))
}

async fn overview(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
    Query(hq): Query<super::home::HomeQuery>,
) -> AppResult<Response> {
    let mut ctx = staff.context();
    reads.mark(&mut ctx);
    match staff.scope() {
        // Not reached: the `Staff` extractor sends an interviewer to its interview page.
        Scope::Interviewer(w) => return Ok(super::see_other(&super::interview_path(w))),
        Scope::Ward(w) => {
            let ward = feedback::ward_in_scope(reads.db(), staff.scope(), w).await?;
            if let Some(ward) = &ward {
                super::home::ward(&state, &reads, &staff, ward, &mut ctx).await?;
            }
            ctx.insert("ward", &ward);
        }
        Scope::Province(p) => {
            let province = units::find_province(reads.db(), p).await?;
            if let Some(p) = &province {
                super::home::province(&state, &reads, &p.code, &hq, &mut ctx).await?;
            }
            ctx.insert(
                "province",
                &province.map(|p| serde_json::json!({"code": p.code, "name": p.name})),
            );
        }
        Scope::Ministry => {
            super::home::ministry(&state, &reads, &hq, &mut ctx).await?;
            let provinces: Vec<_> = units::provinces(reads.db())
                .await?
                .into_iter()
                .map(|p| serde_json::json!({"code": p.code, "name": p.name}))
                .collect();
            ctx.insert("provinces", &provinces);
            // The pilot group (edited at /staff/pilot) side by side: this quarter's figures
            // and ward score.
            let quarter = crate::period::Period::current_quarter();
            let ctx_m = state.measure_ctx();
            let mut pilot = Vec::new();
            for code in crate::store::pilot::codes(reads.db()).await? {
                if let Some(u) = units::find_unit(reads.db(), &code).await? {
                    let score = figures::ward_score(reads.db(), ctx_m, &u.code, quarter).await?;
                    pilot.push(serde_json::json!({
                        "code": u.code, "name": u.name, "province_name": u.province_name,
                        "fig": super::dashboard::figures_json(&score.figures),
                        "score": score.value.map(|v| (v * 10.0).round() / 10.0),
                        "model_ward": score.model_ward,
                    }));
                }
            }
            ctx.insert("pilot", &pilot);
            ctx.insert(
                "quarter",
                &crate::web::results::format::period(quarter, staff.lang),
            );
            // The national trend over the last eight quarters.
            let from = (0..7).fold(quarter, |p, _| p.prev());
            let national = state.national_trend(reads.db(), from, quarter).await?;
            let title = if staff.lang == crate::survey::Lang::En {
                "National satisfaction index by quarter (all wards pooled), 95% interval"
            } else {
                "Chỉ số hài lòng toàn quốc theo quý (gộp mọi phường, xã), khoảng tin cậy 95%"
            };
            ctx.insert(
                "national_svg",
                &super::svg::trend(title, &super::dashboard::svg_points(&national)),
            );
            let rows: Vec<_> = national
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "period": crate::web::results::format::period(p.period, staff.lang),
                        "fig": super::dashboard::figures_json(&p.figures),
                        "change": super::dashboard::change_str(p.change),
                    })
                })
                .collect();
            ctx.insert("national", &rows);
        }
    }
    render(&state, "staff/overview.html", &ctx)
}

#[derive(Deserialize, Default)]
pub struct ProvinceQuery {
    q: Option<String>,
    period: Option<String>,
    sort: Option<String>,
}

/// `GET /staff/provinces/{code}`: every ward with index, interval, status, change flag and
/// rank (docs/method.md step 9); sortable (`sort=rank|index|name|code|n`) and searchable (`q=`, accents
/// optional); Cronbach's α of the province for the quarter.
async fn province(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
    Path(code): Path<String>,
    Query(q): Query<ProvinceQuery>,
) -> AppResult<Response> {
    if !staff.scope().contains_province(&code) {
        return Err(AppError::NotFound);
    }
    let province = units::find_province(reads.db(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let period = super::dashboard::period_of(&q.period)?;
    let ctx_m = state.measure_ctx();
    let ranking = state
        .province_ranking(&reads, &province.code, period)
        .await?;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("");
    let folded = fold(needle);
    let mut rows: Vec<_> = ranking
        .into_iter()
        .filter(|r| {
            folded.is_empty() || fold(&r.ward_name).contains(&folded) || r.ward_code == needle
        })
        .collect();
    let sort = q.sort.as_deref().unwrap_or("rank");
    let idx = |r: &figures::RankedRow| r.figures.index.map(|i| i.value).unwrap_or(-1.0);
    match sort {
        "index" => rows.sort_by(|a, b| idx(b).total_cmp(&idx(a))),
        "name" => rows.sort_by_key(|a| fold(&a.ward_name)),
        "code" => rows.sort_by(|a, b| a.ward_code.cmp(&b.ward_code)),
        "n" => rows.sort_by_key(|b| std::cmp::Reverse(b.figures.n)),
        _ => {} // already ranked first by rank, then unranked
    }
    let view: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "code": r.ward_code, "name": r.ward_name, "rank": r.rank,
                "shrunk": r.shrunk.map(|v| (v * 10.0).round() / 10.0),
                "fig": super::dashboard::figures_json(&r.figures),
                "change": super::dashboard::change_str(r.change),
            })
        })
        .collect();
    let alpha =
        figures::province_alpha(reads.db(), ctx_m, &province.code, period.quarter()).await?;
    let alpha: Vec<serde_json::Value> = alpha
        .into_iter()
        .map(|(k, a)| serde_json::json!({"scale": k, "value": a.value.map(|v| (v * 1000.0).round() / 1000.0), "n": a.n}))
        .collect();
    let breakdown = crate::store::interviews::province_breakdown(
        reads.db(),
        &state.catalog,
        ctx_m.spec,
        ctx_m.method,
        &province.code,
        period,
    )
    .await?;
    let mut ctx = staff.context();
    ctx.insert(
        "province",
        &serde_json::json!({"code": province.code, "name": province.name}),
    );
    ctx.insert("wards", &view);
    insert_breakdown(&mut ctx, &breakdown, staff.lang);
    ctx.insert(
        "period_words",
        &crate::web::results::format::period(period, staff.lang),
    );
    ctx.insert("q", needle);
    ctx.insert("sort", sort);
    ctx.insert("period", &period.to_string());
    ctx.insert("quarter", &period.quarter().to_string());
    ctx.insert("alpha", &alpha);
    reads.mark(&mut ctx);
    render(&state, "staff/province.html", &ctx)
}

/// The province page's figures per channel and per interviewer (docs/integrity.md), with
/// numbers written as the page's language writes them.
fn insert_breakdown(
    ctx: &mut tera::Context,
    b: &crate::store::interviews::Breakdown,
    lang: crate::web::Lang,
) {
    use crate::store::interviews::GroupFigures;
    use crate::web::results::format::{dec1, int};
    let en = lang == crate::web::Lang::En;
    let group = |f: &GroupFigures| {
        serde_json::json!({
            "n": int(f.n, lang),
            "index": f.point.map(|v| dec1(v, lang)),
            "ci": f.index.map(|i| format!("{}–{}", dec1(i.ci_low, lang), dec1(i.ci_high, lang))),
        })
    };
    let channels: Vec<_> = b
        .channels
        .iter()
        .map(|c| serde_json::json!({"channel": c.channel, "fig": group(&c.figures)}))
        .collect();
    let interviewers: Vec<_> = b
        .interviewers
        .iter()
        .map(|i| {
            let p = i.p.map(|p| {
                let s = format!("{p:.3}");
                if en { s } else { s.replace('.', ",") }
            });
            serde_json::json!({
                "email": i.email,
                "ward_code": i.ward_code,
                "ward_name": i.ward_name,
                "fig": group(&i.figures),
                "rest": group(&i.rest),
                "difference": i.difference.map(|d| {
                    let s = dec1(d.abs(), lang);
                    if d > 0.0 && s != dec1(0.0, lang) {
                        format!("+{s}")
                    } else if d < 0.0 && s != dec1(0.0, lang) {
                        format!("−{s}")
                    } else {
                        s
                    }
                }),
                "p": p,
                "stands_out": i.stands_out(),
            })
        })
        .collect();
    ctx.insert("by_channel", &channels);
    ctx.insert("by_interviewer", &interviewers);
}
