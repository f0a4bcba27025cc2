//! The homes behind `GET /staff`, one per kind of user:
//! - a ward's: how are we doing (this quarter's index with its interval, status and change)
//!   and what needs me (inbox items by status, new ones nobody took up for a week, this week's
//!   low scores, replies the resident says did not solve the matter or has not answered);
//! - a province's: its wards compared (index, interval, status, change, items waiting);
//! - the ministry's: the 34 provinces compared (n, pooled index with interval, share of wards
//!   published, change), each row leading to the province.
//!
//! Tables sort by a column link (`sort=`, `dir=asc|desc`), without JavaScript.

use std::collections::HashMap;

use serde::Deserialize;

use super::Staff;
use super::dashboard::{change_str, figures_json};
use crate::app::AppState;
use crate::error::AppResult;
use crate::measure::{ChangeFlag, ChangeInput, Status};
use crate::period::Period;
use crate::store::feedback;
use crate::store::figures::{self, ProvinceChanges, period_index};
use crate::store::units::{self, UnitInfo};
use crate::web::public::fold;
use crate::web::reads::ConsoleReads;

#[derive(Deserialize, Default)]
pub struct HomeQuery {
    pub sort: Option<String>,
    pub dir: Option<String>,
}

/// The column and direction a table is sorted by, among `keys` (the first is the default).
fn sorting<'a>(q: &'a HomeQuery, keys: &[&'a str], default_dir: &'a str) -> (&'a str, &'a str) {
    let sort = q
        .sort
        .as_deref()
        .filter(|s| keys.contains(s))
        .unwrap_or(keys[0]);
    let dir = match q.dir.as_deref() {
        Some("asc") => "asc",
        Some("desc") => "desc",
        _ => default_dir,
    };
    (sort, dir)
}

/// Sorts `rows` by `key` (a number, missing last whichever the direction) in `dir`.
fn sort_rows<T>(rows: &mut [T], dir: &str, key: impl Fn(&T) -> Option<f64>) {
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) if dir == "asc" => x.total_cmp(&y),
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// The quarter a home shows, in words in both languages (the template picks one).
fn insert_quarter(ctx: &mut tera::Context, quarter: Period) {
    use crate::web::{Lang, results::format::period};
    ctx.insert("quarter_vi", &period(quarter, Lang::Vi));
    ctx.insert("quarter_en", &period(quarter, Lang::En));
}

/// Sorts `rows` by a name, accents ignored, in `dir`.
fn sort_by_name<T>(rows: &mut [T], dir: &str, name: impl Fn(&T) -> &str) {
    rows.sort_by_cached_key(|r| fold(name(r)));
    if dir == "desc" {
        rows.reverse();
    }
}

fn change_rank(c: Option<ChangeFlag>) -> Option<f64> {
    c.map(|c| match c {
        ChangeFlag::SignificantRise => 1.0,
        ChangeFlag::None => 0.0,
        ChangeFlag::SignificantDrop => -1.0,
    })
}

/// The ward home's figures and counts.
pub async fn ward(
    state: &AppState,
    reads: &ConsoleReads,
    staff: &Staff,
    ward: &UnitInfo,
    ctx: &mut tera::Context,
) -> AppResult<()> {
    let m = state.measure_ctx();
    let quarter = Period::current_quarter();
    let changes = ProvinceChanges::of_province(reads.db(), m, &ward.province_code, quarter).await?;
    let point = changes.point(m, &ward.code, quarter);
    let counts = feedback::ward_counts(
        reads.db(),
        ward,
        !staff.scope().reviews_wards(),
        chrono::Utc::now(),
    )
    .await?;
    let by_status: Vec<serde_json::Value> = counts
        .by_status
        .iter()
        .map(|(s, n)| serde_json::json!({"status": s.as_str(), "n": n}))
        .collect();
    insert_quarter(ctx, quarter);
    ctx.insert("fig", &figures_json(&point.figures));
    ctx.insert("change", &change_str(point.change));
    ctx.insert("by_status", &by_status);
    ctx.insert("counts", &counts);
    ctx.insert("overdue_days", &feedback::OVERDUE_DAYS);
    Ok(())
}

/// The province home: its wards this quarter, with the new items waiting in each inbox.
pub async fn province(
    state: &AppState,
    reads: &ConsoleReads,
    province_code: &str,
    q: &HomeQuery,
    ctx: &mut tera::Context,
) -> AppResult<()> {
    let quarter = Period::current_quarter();
    let ranking = state
        .province_ranking(reads, province_code, quarter)
        .await?;
    let waiting = feedback::new_items_by_ward(reads.db(), province_code).await?;
    let (sort, dir) = sorting(q, &["index", "name", "n", "change", "waiting"], "desc");
    let mut rows: Vec<&figures::RankedRow> = ranking.iter().collect();
    match sort {
        "name" => sort_by_name(&mut rows, dir, |r| &r.ward_name),
        "n" => sort_rows(&mut rows, dir, |r| Some(r.figures.n as f64)),
        "change" => sort_rows(&mut rows, dir, |r| change_rank(r.change)),
        "waiting" => sort_rows(&mut rows, dir, |r| {
            Some(waiting.get(&r.ward_code).copied().unwrap_or(0) as f64)
        }),
        _ => sort_rows(&mut rows, dir, |r| {
            r.figures
                .index
                .filter(|_| r.figures.status != Status::InsufficientData)
                .map(|i| i.value)
        }),
    }
    let view: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "code": r.ward_code, "name": r.ward_name,
                "fig": figures_json(&r.figures),
                "change": change_str(r.change),
                "waiting": waiting.get(&r.ward_code).copied().unwrap_or(0),
            })
        })
        .collect();
    ctx.insert("wards", &view);
    ctx.insert("sort", sort);
    ctx.insert("dir", dir);
    insert_quarter(ctx, quarter);
    Ok(())
}

/// The ministry home: every province this quarter, its wards pooled, against last quarter.
pub async fn ministry(
    state: &AppState,
    reads: &ConsoleReads,
    q: &HomeQuery,
    ctx: &mut tera::Context,
) -> AppResult<()> {
    let m = state.measure_ctx();
    let quarter = Period::current_quarter();
    let all = units::all_units(reads.db()).await?;
    let province_of: HashMap<String, String> = all
        .iter()
        .map(|u| (u.code.clone(), u.province_code.clone()))
        .collect();
    let mut wards_total: HashMap<&str, u64> = HashMap::new();
    for u in &all {
        *wards_total.entry(u.province_code.as_str()).or_default() += 1;
    }
    let of = |w: &str| province_of.get(w).cloned();
    let current = figures::province_figures(reads.db(), m, quarter, of).await?;
    let previous = figures::province_figures(reads.db(), m, quarter.prev(), of).await?;
    let mut published: HashMap<String, u64> = HashMap::new();
    for (w, f) in figures::figures_with_data(reads.db(), m, quarter).await? {
        if f.status == Status::Published
            && let Some(p) = province_of.get(&w)
        {
            *published.entry(p.clone()).or_default() += 1;
        }
    }
    // Step 8 across the provinces, as across a province's wards.
    let inputs: Vec<ChangeInput> = current
        .iter()
        .filter_map(|(p, f)| {
            let cur = period_index(f).filter(|c| c.status != Status::InsufficientData)?;
            let prev = previous
                .get(p)
                .and_then(period_index)
                .filter(|c| c.status != Status::InsufficientData)?;
            Some(ChangeInput {
                ward_code: p.clone(),
                current: cur,
                previous: Some(prev),
            })
        })
        .collect();
    let changes: HashMap<String, ChangeFlag> =
        crate::measure::change_flags(&inputs, m.method.q_threshold)
            .into_iter()
            .map(|c| (c.ward_code, c.flag))
            .collect();
    struct Row {
        code: String,
        name: String,
        fig: Option<crate::measure::WardFigures>,
        share: Option<f64>,
        published: u64,
        total: u64,
        change: Option<ChangeFlag>,
    }
    let mut rows: Vec<Row> = units::provinces(reads.db())
        .await?
        .into_iter()
        .map(|p| {
            let total = wards_total.get(p.code.as_str()).copied().unwrap_or(0);
            let n_pub = published.get(&p.code).copied().unwrap_or(0);
            Row {
                fig: current.get(&p.code).cloned(),
                share: (total > 0).then(|| n_pub as f64 / total as f64 * 100.0),
                published: n_pub,
                total,
                change: changes.get(&p.code).copied(),
                code: p.code,
                name: p.name,
            }
        })
        .collect();
    let (sort, dir) = sorting(q, &["index", "name", "n", "published", "change"], "desc");
    let shown_index = |f: &Option<crate::measure::WardFigures>| {
        f.as_ref()
            .filter(|f| f.status != Status::InsufficientData)
            .and_then(|f| f.index)
            .map(|i| i.value)
    };
    match sort {
        "name" => sort_by_name(&mut rows, dir, |r| &r.name),
        "n" => sort_rows(&mut rows, dir, |r| {
            Some(r.fig.as_ref().map_or(0.0, |f| f.n as f64))
        }),
        "published" => sort_rows(&mut rows, dir, |r| r.share),
        "change" => sort_rows(&mut rows, dir, |r| change_rank(r.change)),
        _ => sort_rows(&mut rows, dir, |r| shown_index(&r.fig)),
    }
    let view: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "code": r.code, "name": r.name,
                "fig": r.fig.as_ref().map(figures_json),
                "shown": shown_index(&r.fig).is_some(),
                "share": r.share,
                "published": r.published,
                "total": r.total,
                "change": change_str(r.change),
            })
        })
        .collect();
    ctx.insert("province_rows", &view);
    ctx.insert("sort", sort);
    ctx.insert("dir", dir);
    insert_quarter(ctx, quarter);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn missing_values_sort_last_both_ways() {
        let mut v = vec![Some(2.0), None, Some(5.0), Some(1.0)];
        super::sort_rows(&mut v, "desc", |x| *x);
        assert_eq!(v, vec![Some(5.0), Some(2.0), Some(1.0), None]);
        super::sort_rows(&mut v, "asc", |x| *x);
        assert_eq!(v, vec![Some(1.0), Some(2.0), Some(5.0), None]);
    }
}
