//! The public results (docs/open-data.md, and the method in plain words at
//! `/results/method`): `GET /results` (the country, provinces compared),
//! `GET /results/provinces/{code}` (its wards with their rank bands) and
//! `GET /results/wards/{code}` (the index with its interval, satisfied share, dimensions,
//! trend, and the ward's approved "Anh/chị nói, chúng tôi làm" notes), each with `period=`
//! and `lang=`. Only `published` and `low_reliability` figures are shown (the latter with a
//! caution); an `insufficient_data` ward-period shows "Chưa đủ ý kiến để công bố" and no
//! figure. Every figure comes from `store::figures`, as the JSON API's do.
//!
//! Rendered pages are kept for [`TTL`] per page key in a bounded [`PageCache`], and readers
//! who ask for a page being rendered wait for it, so a flood of readers costs the database one
//! render per page and minute; a province's figures by quarter are kept the same way and
//! shared by its wards' trends.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::app::{AppState, DEFAULT_SURVEY};
use crate::error::{AppError, AppResult};
use crate::measure::Status;
use crate::period::Period;
use crate::store::{actions, figures, units};
use crate::survey::UnitKind;
use crate::web::Lang;
use crate::web::reads::Reads;

pub mod format;
pub mod opendata;
pub mod svg;
pub mod view;

use format::{dec1, int};
use view::{FiguresView, change_words, figures_view};

/// How long a rendered page is served from memory.
pub const TTL: Duration = Duration::from_secs(60);
/// The most page keys kept at once.
pub const MAX_PAGES: usize = 2048;
/// Quarters the ward page's trend covers (the period's quarter and the ones before it).
const TREND_QUARTERS: usize = 5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/results", get(country))
        .route("/results/method", get(method))
        .route("/results/provinces/{code}", get(province))
        .route("/results/wards/{code}", get(ward))
        .merge(opendata::routes())
}

/// A rendered page: its content type and body.
pub struct Cached {
    pub content_type: &'static str,
    pub body: Bytes,
}

type Slot<V> = (Instant, Arc<OnceCell<Arc<V>>>);

/// Values by key, each kept for [`TTL`]; at most [`MAX_PAGES`] keys. Concurrent callers of
/// one key share one computation; a failed computation is not kept.
pub struct Memo<V>(Mutex<HashMap<String, Slot<V>>>);

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<V> Memo<V> {
    /// The value under `key`, computed by `make` when it is missing or older than [`TTL`].
    pub async fn get_or_make<F, Fut>(&self, key: String, make: F) -> AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        let cell = {
            let mut map = self
                .0
                .lock()
                .map_err(|_| AppError::Internal("results cache lock poisoned".into()))?;
            let now = Instant::now();
            match map.get(&key) {
                Some((at, cell)) if now.duration_since(*at) < TTL => cell.clone(),
                _ => {
                    if map.len() >= MAX_PAGES {
                        map.retain(|_, (at, _)| now.duration_since(*at) < TTL);
                    }
                    if map.len() >= MAX_PAGES
                        && let Some(oldest) = map
                            .iter()
                            .min_by_key(|(_, (at, _))| *at)
                            .map(|(k, _)| k.clone())
                    {
                        map.remove(&oldest);
                    }
                    let cell = Arc::new(OnceCell::new());
                    map.insert(key, (now, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_try_init(|| async { make().await.map(Arc::new) })
            .await
            .cloned()
    }

    pub fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The public results' memory: rendered pages by page key, and each province's figures and
/// change flags by quarter. Every ward page's trend needs its province's flags for five
/// quarters (Benjamini–Hochberg runs across the province), so a province's wards share them.
#[derive(Default)]
pub struct PageCache {
    pages: Memo<Cached>,
    provinces: Memo<figures::ProvinceChanges>,
}

impl PageCache {
    /// The page under `key`, rendered by `render` when it is missing or older than [`TTL`].
    pub async fn get_or_render<F, Fut>(&self, key: String, render: F) -> AppResult<Arc<Cached>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<Cached>>,
    {
        self.pages.get_or_make(key, render).await
    }

    /// `province_code`'s figures and change flags in `period`, computed at most once per
    /// [`TTL`].
    pub async fn province_changes(
        &self,
        reads: &Reads,
        ctx: figures::MeasureCtx<'_>,
        province_code: &str,
        period: Period,
    ) -> AppResult<Arc<figures::ProvinceChanges>> {
        let key = format!("{province_code}:{period}");
        self.provinces
            .get_or_make(key, || async {
                Ok(
                    figures::ProvinceChanges::of_province(reads.db(), ctx, province_code, period)
                        .await?,
                )
            })
            .await
    }

    /// Forgets every page and figure (after a change that shows on them, such as an approved
    /// note).
    pub fn clear(&self) {
        self.pages.clear();
        self.provinces.clear();
    }

    /// Pages kept.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

fn respond(page: &Cached) -> Response {
    (
        [
            (header::CONTENT_TYPE, page.content_type),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        page.body.clone(),
    )
        .into_response()
}

fn html_page(state: &AppState, template: &str, ctx: &tera::Context) -> AppResult<Cached> {
    Ok(Cached {
        content_type: "text/html; charset=utf-8",
        body: Bytes::from(state.tera.render(template, ctx)?),
    })
}

#[derive(Deserialize, Default)]
pub struct ResultsQuery {
    period: Option<String>,
    lang: Option<String>,
}

/// The period asked for (default: the current quarter); a bad one is a clear 400.
fn period_of(q: &ResultsQuery) -> AppResult<Period> {
    match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Period::current_quarter()),
        Some(s) => Period::parse(s).map_err(|_| {
            AppError::BadRequest(format!(
                "Kỳ “{s}” không hợp lệ: hãy dùng một quý như 2026-Q4 hoặc một tháng như 2026-11. / \
                 The period “{s}” is not valid: use a quarter such as 2026-Q4 or a month such as 2026-11."
            ))
        }),
    }
}

fn back(p: Period, n: usize) -> Period {
    (0..n).fold(p, |p, _| p.prev())
}

#[derive(Serialize)]
struct PeriodLink {
    label: String,
    href: String,
    current: bool,
}

/// Links to the last quarters (and to the period shown, when it is not one of them).
fn period_links(path: &str, shown: Period, lang: Lang) -> Vec<PeriodLink> {
    let now = Period::current_quarter();
    let suffix = if lang == Lang::En { "&lang=en" } else { "" };
    let mut list: Vec<Period> = (0..4).rev().map(|i| back(now, i)).collect();
    if !list.contains(&shown) {
        list.push(shown);
        list.sort();
    }
    list.into_iter()
        .map(|p| PeriodLink {
            label: format::period(p, lang),
            href: format!("{path}?period={p}{suffix}"),
            current: p == shown,
        })
        .collect()
}

/// The base context of every results page.
fn base_context(lang: Lang, period: Period, path: &str) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("en", &(lang == Lang::En));
    ctx.insert("period", &period.to_string());
    ctx.insert("period_label", &format::period(period, lang));
    ctx.insert("periods", &period_links(path, period, lang));
    ctx.insert(
        "switch_href",
        &format!(
            "{path}?period={period}&lang={}",
            if lang == Lang::En { "vi" } else { "en" }
        ),
    );
    ctx.insert("q", if lang == Lang::En { "&lang=en" } else { "" });
    ctx.insert("updated", &format::date_time(Utc::now()));
    ctx
}

/// The instrument's dimensions as (id, label in `lang`), in survey order.
fn dimension_labels(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    state
        .catalog
        .get(DEFAULT_SURVEY)
        .map(|s| {
            s.dimensions
                .iter()
                .map(|d| (d.id.clone(), d.label.get(lang).to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The status thresholds of the method, as the page writes numbers.
fn thresholds(state: &AppState, lang: Lang, ctx: &mut tera::Context) {
    let plain = |v: f64| {
        if v.fract() == 0.0 {
            int(v as i64, lang)
        } else {
            dec1(v, lang)
        }
    };
    ctx.insert("min_neff", &plain(state.config.method.insufficient_below));
    ctx.insert("published_neff", &plain(state.config.method.published_from));
}

async fn ward(
    State(state): State<AppState>,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let period = period_of(&q)?;
    let unit = state
        .units
        .get(reads.db(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = format!("ward:{}:{period}:{}", unit.code, lang.as_str());
    let page = state
        .results
        .get_or_render(key, || render_ward(&state, &reads, unit, period, lang))
        .await?;
    Ok(respond(&page))
}

#[derive(Serialize)]
struct TrendRow {
    label: String,
    /// `None` for a period that may not be shown.
    index: Option<view::IntervalView>,
    change_class: &'static str,
    change: &'static str,
}

async fn render_ward(
    state: &AppState,
    reads: &Reads,
    unit: units::UnitInfo,
    period: Period,
    lang: Lang,
) -> AppResult<Cached> {
    let m = state.measure_ctx();
    let f = figures::ward_figures(reads.db(), m, &unit.code, period).await?;
    let quarter = period.quarter();
    let mut trend = Vec::with_capacity(TREND_QUARTERS);
    let mut q = back(quarter, TREND_QUARTERS - 1);
    while q <= quarter {
        let changes = state
            .results
            .province_changes(reads, m, &unit.province_code, q)
            .await?;
        trend.push(changes.point(m, &unit.code, q));
        q = q.next();
    }
    let shown = |f: &crate::measure::WardFigures| {
        f.index
            .filter(|_| f.status != Status::InsufficientData)
            .map(|i| (i.value, i.ci_low, i.ci_high))
    };
    let points: Vec<svg::Point> = trend
        .iter()
        .map(|p| svg::Point {
            label: format::period(p.period, lang),
            value: shown(&p.figures),
        })
        .collect();
    let rows: Vec<TrendRow> = trend
        .iter()
        .map(|p| {
            let (class, words) = change_words(p.change, lang);
            TrendRow {
                label: format::period(p.period, lang),
                index: shown(&p.figures).map(|(v, lo, hi)| view::IntervalView {
                    value: dec1(v, lang),
                    low: dec1(lo, lang),
                    high: dec1(hi, lang),
                }),
                change_class: class,
                change: words,
            }
        })
        .collect();
    let any_shown = points.iter().any(|p| p.value.is_some());
    let trend_title = match lang {
        Lang::Vi => "Chỉ số hài lòng theo quý, với khoảng tin cậy 95%",
        Lang::En => "Satisfaction index by quarter, with its 95% interval",
    };
    let notes: Vec<serde_json::Value> = actions::approved_of_ward(reads.db(), &unit.code)
        .await?
        .into_iter()
        .filter_map(|n| {
            let p = Period::parse(&n.period).ok()?;
            Some(serde_json::json!({
                "period": format::period(p, lang),
                "body": n.body,
                "date": n.reviewed_at.map(format::date),
            }))
        })
        .collect();
    let kind = UnitKind::from_db(&unit.kind).unwrap_or(UnitKind::Phuong);
    let path = format!("/results/wards/{}", unit.code);
    let mut ctx = base_context(lang, period, &path);
    thresholds(state, lang, &mut ctx);
    ctx.insert("ward", &unit);
    ctx.insert("unit_word", kind.unit_word(lang));
    ctx.insert(
        "fig",
        &figures_view(&f, &dimension_labels(state, lang), lang),
    );
    ctx.insert(
        "trend_svg",
        &any_shown.then(|| svg::trend(trend_title, &points, lang)),
    );
    ctx.insert("trend", &rows);
    ctx.insert("notes", &notes);
    html_page(state, "public/results/ward.html", &ctx)
}

async fn province(
    State(state): State<AppState>,
    reads: Reads,
    Path(code): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let period = period_of(&q)?;
    let p = units::find_province(reads.db(), &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = format!("province:{}:{period}:{}", p.code, lang.as_str());
    let page = state
        .results
        .get_or_render(key, || {
            render_province(&state, &reads, p.code, p.name, period, lang)
        })
        .await?;
    Ok(respond(&page))
}

#[derive(Serialize)]
struct RankRow {
    code: String,
    name: String,
    band: String,
    fig: FiguresView,
}

/// "hạng 2–5", or "hạng 3" when the interval allows one rank only.
fn band_words(low: usize, high: usize, lang: Lang) -> String {
    let word = if lang == Lang::En { "rank" } else { "hạng" };
    if low == high {
        format!("{word} {low}")
    } else {
        format!("{word} {low}–{high}")
    }
}

async fn render_province(
    state: &AppState,
    reads: &Reads,
    code: String,
    name: String,
    period: Period,
    lang: Lang,
) -> AppResult<Cached> {
    let m = state.measure_ctx();
    let labels = dimension_labels(state, lang);
    let pooled = figures::province_pooled(reads.db(), m, &code, period).await?;
    let rows = state.province_ranking(reads, &code, period).await?;
    let mut ranked = Vec::new();
    let mut unranked_shown = Vec::new();
    let mut hidden = Vec::new();
    for r in &rows {
        match (figures_view(&r.figures, &labels, lang), r.band) {
            (Some(fig), Some(b)) => ranked.push(RankRow {
                code: r.ward_code.clone(),
                name: r.ward_name.clone(),
                band: band_words(b.rank_low, b.rank_high, lang),
                fig,
            }),
            (Some(fig), None) => unranked_shown.push(RankRow {
                code: r.ward_code.clone(),
                name: r.ward_name.clone(),
                band: String::new(),
                fig,
            }),
            (None, _) => hidden.push(serde_json::json!({"code": r.ward_code, "name": r.ward_name})),
        }
    }
    let path = format!("/results/provinces/{code}");
    let mut ctx = base_context(lang, period, &path);
    thresholds(state, lang, &mut ctx);
    ctx.insert("province", &serde_json::json!({"code": code, "name": name}));
    ctx.insert("pooled", &figures_view(&pooled, &labels, lang));
    ctx.insert("k", &ranked.len());
    ctx.insert("ranked", &ranked);
    ctx.insert("unranked", &unranked_shown);
    ctx.insert("hidden", &hidden);
    ctx.insert("hidden_count", &int(hidden.len() as i64, lang));
    html_page(state, "public/results/province.html", &ctx)
}

async fn country(
    State(state): State<AppState>,
    reads: Reads,
    Query(q): Query<ResultsQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let period = period_of(&q)?;
    let key = format!("country:{period}:{}", lang.as_str());
    let page = state
        .results
        .get_or_render(key, || render_country(&state, &reads, period, lang))
        .await?;
    Ok(respond(&page))
}

async fn render_country(
    state: &AppState,
    reads: &Reads,
    period: Period,
    lang: Lang,
) -> AppResult<Cached> {
    let m = state.measure_ctx();
    let labels = dimension_labels(state, lang);
    let national = figures::national_figures(reads.db(), m, period).await?;
    let all_units = units::all_units(reads.db()).await?;
    let province_of: HashMap<String, String> = all_units
        .iter()
        .map(|u| (u.code.clone(), u.province_code.clone()))
        .collect();
    let pooled =
        figures::province_figures(reads.db(), m, period, |w| province_of.get(w).cloned()).await?;
    let wards = figures::figures_with_data(reads.db(), m, period).await?;
    let mut shown_wards: HashMap<&str, i64> = HashMap::new();
    for (w, f) in &wards {
        if f.status != Status::InsufficientData
            && let Some(p) = province_of.get(w)
        {
            *shown_wards.entry(p.as_str()).or_default() += 1;
        }
    }
    let provinces: Vec<serde_json::Value> = units::provinces(reads.db())
        .await?
        .into_iter()
        .map(|p| {
            let fig = pooled
                .get(&p.code)
                .and_then(|f| figures_view(f, &labels, lang));
            serde_json::json!({
                "code": p.code,
                "name": p.name,
                "fig": fig,
                "wards_shown": int(shown_wards.get(p.code.as_str()).copied().unwrap_or(0), lang),
            })
        })
        .collect();
    let mut ctx = base_context(lang, period, "/results");
    thresholds(state, lang, &mut ctx);
    ctx.insert("national", &figures_view(&national, &labels, lang));
    ctx.insert("provinces", &provinces);
    html_page(state, "public/results/country.html", &ctx)
}

async fn method(
    State(state): State<AppState>,
    Query(q): Query<ResultsQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_query(q.lang.as_deref());
    let key = format!("method:{}", lang.as_str());
    let page = state
        .results
        .get_or_render(key, || async {
            let mut ctx = tera::Context::new();
            ctx.insert("lang", lang.as_str());
            ctx.insert("en", &(lang == Lang::En));
            ctx.insert("q", if lang == Lang::En { "?lang=en" } else { "" });
            thresholds(&state, lang, &mut ctx);
            ctx.insert("method_version", &crate::measure::METHOD_VERSION);
            ctx.insert("config_hash", &state.config_hash);
            let dims: Vec<serde_json::Value> = state
                .spec
                .dimensions
                .iter()
                .zip(dimension_labels(&state, lang))
                .map(|(d, (_, label))| {
                    serde_json::json!({"label": label, "weight": format!("{}%", dec1(d.weight * 100.0, lang).trim_end_matches(",0").trim_end_matches(".0"))})
                })
                .collect();
            ctx.insert("dims", &dims);
            html_page(&state, "public/results/method.html", &ctx)
        })
        .await?;
    Ok(respond(&page))
}
