//! Reading the satisfaction measure: rollups → `measure` → figures. Nothing here scans raw
//! responses; every figure is derived from the per-cell rollups (docs/method.md, "Reading figures without reading responses").

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use super::rollups::Metrics;
use crate::entities::{criteria_value, margin, unit};
use crate::measure::score::{Criterion, SATISFACTION};
use crate::measure::{
    self, Alpha, ChangeFlag, ChangeInput, Margins, MethodConfig, PeriodIndex, Rollup, ScaleSpec,
    ScoreStatus, Status, WardEstimate, WardFigures,
};
use crate::period::Period;

/// What every figure needs besides the data: the instrument, the method settings, the
/// ward-score criteria and the hash of the configuration they came from.
#[derive(Clone, Copy)]
pub struct MeasureCtx<'a> {
    pub spec: &'a ScaleSpec,
    pub method: &'a MethodConfig,
    pub criteria: &'a [Criterion],
    pub config_hash: &'a str,
}

/// Month or quarter granularity of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Month,
    Quarter,
}

/// Rollups of several wards over several months, one `Rollup` per ward (months summed).
async fn rollups_of(
    db: &impl ConnectionTrait,
    wards: &[String],
    months: &[String],
    metrics: Metrics,
) -> Result<HashMap<String, Rollup>, DbErr> {
    super::rollups::read(db, Some(wards), months, true, metrics).await
}

fn to_margins(rows: &[margin::Model]) -> Option<Margins> {
    let mut m = BTreeMap::new();
    for r in rows {
        if let (Some(s), Some(a)) = (measure::Sex::parse(&r.sex), measure::Age::parse(&r.age)) {
            m.insert((s, a), r.share);
        }
    }
    (!m.is_empty()).then(|| Margins::new(m))
}

async fn margins_of(
    db: &impl ConnectionTrait,
    wards: &[String],
) -> Result<HashMap<String, Margins>, DbErr> {
    let mut by_ward: HashMap<String, Vec<margin::Model>> = HashMap::new();
    for chunk in wards.chunks(500) {
        for m in margin::Entity::find()
            .filter(margin::Column::WardCode.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            by_ward.entry(m.ward_code.clone()).or_default().push(m);
        }
    }
    Ok(by_ward
        .into_iter()
        .filter_map(|(w, rows)| to_margins(&rows).map(|m| (w, m)))
        .collect())
}

/// Figures of several wards for one period.
async fn figures_of(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    wards: &[String],
    period: Period,
) -> Result<HashMap<String, WardFigures>, DbErr> {
    let rollups = rollups_of(db, wards, &period.months(), Metrics::Figures).await?;
    let margins = margins_of(db, wards).await?;
    let empty = Rollup::new();
    Ok(wards
        .iter()
        .map(|w| {
            let r = rollups.get(w).unwrap_or(&empty);
            (
                w.clone(),
                measure::figures(ctx.spec, r, margins.get(w), ctx.method),
            )
        })
        .collect())
}

/// docs/method.md steps 4–7 for one ward and period.
pub async fn ward_figures(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    ward_code: &str,
    period: Period,
) -> Result<WardFigures, DbErr> {
    let wards = vec![ward_code.to_string()];
    let mut f = figures_of(db, ctx, &wards, period).await?;
    Ok(f.remove(ward_code).expect("one entry per ward"))
}

/// The inputs of a change test (step 8) of one period's figures; `None` without an index.
pub fn period_index(f: &WardFigures) -> Option<PeriodIndex> {
    Some(PeriodIndex {
        index: f.index?.value,
        variance: f.variance?,
        n: f.n,
        status: f.status,
    })
}

async fn province_wards(
    db: &impl ConnectionTrait,
    province: &str,
) -> Result<Vec<unit::Model>, DbErr> {
    unit::Entity::find()
        .filter(unit::Column::ProvinceCode.eq(province))
        .order_by_asc(unit::Column::Code)
        .all(db)
        .await
}

/// Step 8 for every ward of a province in one period (against the previous period), with
/// Benjamini–Hochberg across the province, and the period's current figures.
#[derive(Debug, Clone, Default)]
pub struct ProvinceChanges {
    pub current: HashMap<String, WardFigures>,
    pub flags: HashMap<String, Option<ChangeFlag>>,
}

impl ProvinceChanges {
    /// The figures and change flags of `wards` (a whole province) in `period`.
    pub async fn of(
        db: &impl ConnectionTrait,
        ctx: MeasureCtx<'_>,
        wards: &[String],
        period: Period,
    ) -> Result<Self, DbErr> {
        let current = figures_of(db, ctx, wards, period).await?;
        let previous = figures_of(db, ctx, wards, period.prev()).await?;
        let mut inputs = Vec::new();
        let mut flags: HashMap<String, Option<ChangeFlag>> = HashMap::new();
        for w in wards {
            let cur = current.get(w).and_then(period_index);
            let prev = previous.get(w).and_then(period_index);
            match (cur, prev) {
                (Some(c), Some(p))
                    if c.status != Status::InsufficientData
                        && p.status != Status::InsufficientData =>
                {
                    inputs.push(ChangeInput {
                        ward_code: w.clone(),
                        current: c,
                        previous: Some(p),
                    });
                }
                _ => {
                    flags.insert(w.clone(), None);
                }
            }
        }
        for ch in measure::change_flags(&inputs, ctx.method.q_threshold) {
            flags.insert(ch.ward_code, Some(ch.flag));
        }
        Ok(Self { current, flags })
    }

    /// The same for every ward of `province_code`.
    pub async fn of_province(
        db: &impl ConnectionTrait,
        ctx: MeasureCtx<'_>,
        province_code: &str,
        period: Period,
    ) -> Result<Self, DbErr> {
        let wards = province_ward_codes(db, province_code).await?;
        Self::of(db, ctx, &wards, period).await
    }

    /// `ward_code`'s point of a trend in `period` (the period these changes were computed for).
    pub fn point(&self, ctx: MeasureCtx<'_>, ward_code: &str, period: Period) -> TrendPoint {
        let figures = self
            .current
            .get(ward_code)
            .cloned()
            .unwrap_or_else(|| measure::figures(ctx.spec, &Rollup::new(), None, ctx.method));
        TrendPoint {
            period,
            figures,
            change: self.flags.get(ward_code).copied().flatten(),
        }
    }
}

async fn province_ward_codes(
    db: &impl ConnectionTrait,
    province: &str,
) -> Result<Vec<String>, DbErr> {
    Ok(province_wards(db, province)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect())
}

/// One point of a ward's trend.
#[derive(Debug, Clone)]
pub struct TrendPoint {
    pub period: Period,
    pub figures: WardFigures,
    /// `None` where there is no previous period to compare (either is `insufficient_data`).
    pub change: Option<ChangeFlag>,
}

/// The ward's figures for every period from `from` to `to` (inclusive), with change flags
/// computed across the ward's province (Benjamini–Hochberg per period).
pub async fn ward_trend(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    ward_code: &str,
    province_code: &str,
    from: Period,
    to: Period,
) -> Result<Vec<TrendPoint>, DbErr> {
    let wards = province_ward_codes(db, province_code).await?;
    let mut points = Vec::new();
    let mut p = from;
    while p <= to {
        points.push(
            ProvinceChanges::of(db, ctx, &wards, p)
                .await?
                .point(ctx, ward_code, p),
        );
        p = p.next();
    }
    Ok(points)
}

/// A ward in a province ranking.
#[derive(Debug, Clone)]
pub struct RankedRow {
    pub ward_code: String,
    pub ward_name: String,
    pub figures: WardFigures,
    pub rank: Option<usize>,
    pub shrunk: Option<f64>,
    /// The band of ranks the ward's interval allows (`measure::bands`); `None` when unranked.
    pub band: Option<measure::RankBand>,
    pub change: Option<ChangeFlag>,
}

/// Step 9 over the wards of a province: ranked wards first by rank, then the unranked ones
/// (`insufficient_data`, or no index) by ward code.
pub async fn province_ranking(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    province_code: &str,
    period: Period,
) -> Result<Vec<RankedRow>, DbErr> {
    let units = province_wards(db, province_code).await?;
    let codes: Vec<String> = units.iter().map(|u| u.code.clone()).collect();
    let ProvinceChanges {
        current: mut figures,
        flags: changes,
    } = ProvinceChanges::of(db, ctx, &codes, period).await?;
    let estimates: Vec<WardEstimate> = codes
        .iter()
        .filter_map(|c| {
            let f = figures.get(c)?;
            if f.status == Status::InsufficientData {
                return None;
            }
            Some(WardEstimate {
                ward_code: c.clone(),
                index: f.index?.value,
                variance: f.variance?,
            })
        })
        .collect();
    let shrink = measure::shrinkage(&estimates);
    let names: HashMap<String, String> = units.into_iter().map(|u| (u.code, u.name)).collect();
    let intervals: Vec<(f64, f64)> = shrink
        .wards
        .iter()
        .map(|r| {
            figures
                .get(&r.ward_code)
                .and_then(|f| f.index)
                .map_or((r.index, r.index), |i| (i.ci_low, i.ci_high))
        })
        .collect();
    let bands = measure::rank_bands(&intervals);
    let mut rows = Vec::with_capacity(codes.len());
    let mut ranked = std::collections::HashSet::new();
    for (r, band) in shrink.wards.iter().zip(bands) {
        ranked.insert(r.ward_code.clone());
        rows.push(RankedRow {
            ward_code: r.ward_code.clone(),
            ward_name: names.get(&r.ward_code).cloned().unwrap_or_default(),
            figures: figures
                .remove(&r.ward_code)
                .expect("ranked ward has figures"),
            rank: Some(r.rank),
            shrunk: Some(r.theta),
            band: Some(band),
            change: changes.get(&r.ward_code).copied().flatten(),
        });
    }
    for c in &codes {
        if ranked.contains(c) {
            continue;
        }
        rows.push(RankedRow {
            ward_code: c.clone(),
            ward_name: names.get(c).cloned().unwrap_or_default(),
            figures: figures.remove(c).expect("every ward has figures"),
            rank: None,
            shrunk: None,
            band: None,
            change: changes.get(c).copied().flatten(),
        });
    }
    Ok(rows)
}

/// One criterion of a ward score.
#[derive(Debug, Clone, Serialize)]
pub struct ScorePart {
    pub criterion: String,
    pub weight: f64,
    pub value: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ScoreView {
    pub status: ScoreStatus,
    pub value: Option<f64>,
    pub model_ward: bool,
    pub parts: Vec<ScorePart>,
    pub figures: WardFigures,
}

/// Step 11 for a ward and period.
pub async fn ward_score(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    ward_code: &str,
    period: Period,
) -> Result<ScoreView, DbErr> {
    let figures = ward_figures(db, ctx, ward_code, period).await?;
    let others: BTreeMap<String, f64> = criteria_value::Entity::find()
        .filter(criteria_value::Column::WardCode.eq(ward_code))
        .filter(criteria_value::Column::Period.eq(period.to_string()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.criterion, c.value))
        .collect();
    let sat = measure::SatisfactionInput::from_figures(&figures);
    let score = measure::ward_score(ctx.criteria, &sat, &others, ctx.method.satisfied_model_ward);
    let parts = ctx
        .criteria
        .iter()
        .map(|c| ScorePart {
            criterion: c.id.clone(),
            weight: c.weight,
            value: if c.id == SATISFACTION {
                sat.index.filter(|_| sat.status != Status::InsufficientData)
            } else {
                others.get(&c.id).copied()
            },
        })
        .collect();
    Ok(ScoreView {
        status: score.status,
        value: score.value,
        model_ward: score.model_ward,
        parts,
        figures,
    })
}

/// Step 10: Cronbach's α per dimension and for the whole scale, pooled over the wards of a
/// province in a quarter.
pub async fn province_alpha(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    province_code: &str,
    quarter: Period,
) -> Result<BTreeMap<String, Alpha>, DbErr> {
    let codes: Vec<String> = province_wards(db, province_code)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let rollups = rollups_of(db, &codes, &quarter.quarter().months(), Metrics::Alpha).await?;
    let mut pooled = Rollup::new();
    for r in rollups.values() {
        pooled.merge(r);
    }
    Ok(measure::alphas(ctx.spec, &pooled))
}

/// Stores (inserts or replaces) a criterion value; the caller checks the range and the id.
pub async fn set_criterion(
    db: &impl ConnectionTrait,
    ward_code: &str,
    period: Period,
    criterion: &str,
    value: f64,
) -> Result<(), DbErr> {
    let model = criteria_value::ActiveModel {
        ward_code: Set(ward_code.to_string()),
        period: Set(period.to_string()),
        criterion: Set(criterion.to_string()),
        value: Set(value),
        updated_at: Set(Utc::now()),
    };
    criteria_value::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                criteria_value::Column::WardCode,
                criteria_value::Column::Period,
                criteria_value::Column::Criterion,
            ])
            .value(
                criteria_value::Column::Value,
                Expr::col((Alias::new("excluded"), criteria_value::Column::Value)),
            )
            .value(
                criteria_value::Column::UpdatedAt,
                Expr::col((Alias::new("excluded"), criteria_value::Column::UpdatedAt)),
            )
            .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The national figures of a period: every ward's counted responses pooled, unweighted (the
/// wards' population margins differ, so no post-stratification applies to the pool).
pub async fn national_figures(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    period: Period,
) -> Result<WardFigures, DbErr> {
    let pooled = super::rollups::read(db, None, &period.months(), false, Metrics::Figures)
        .await?
        .remove("")
        .unwrap_or_default();
    Ok(measure::figures(ctx.spec, &pooled, None, ctx.method))
}

/// The national trend from `from` to `to`, each point with the Welch test against the period
/// before it (one test per period, so no multiple-testing correction applies).
pub async fn national_trend(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    from: Period,
    to: Period,
) -> Result<Vec<TrendPoint>, DbErr> {
    let mut points = Vec::new();
    let mut previous = national_figures(db, ctx, from.prev()).await?;
    let mut p = from;
    while p <= to {
        let figures = national_figures(db, ctx, p).await?;
        let change = match (period_index(&figures), period_index(&previous)) {
            (Some(c), Some(pr))
                if c.status != Status::InsufficientData
                    && pr.status != Status::InsufficientData =>
            {
                let input = ChangeInput {
                    ward_code: String::new(),
                    current: c,
                    previous: Some(pr),
                };
                measure::change_flags(&[input], ctx.method.q_threshold)
                    .first()
                    .map(|w| w.flag)
            }
            _ => None,
        };
        previous = figures.clone();
        points.push(TrendPoint {
            period: p,
            figures,
            change,
        });
        p = p.next();
    }
    Ok(points)
}

/// The months (`YYYY-MM`) that hold any rollup row, oldest first: the periods the public
/// results and the open data cover.
pub async fn months_with_data(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let q = sea_orm::sea_query::Query::select()
        .distinct()
        .column(Alias::new("month"))
        .from(Alias::new("rollup_cells"))
        .order_by(Alias::new("month"), sea_orm::sea_query::Order::Asc)
        .to_owned();
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect()
}

/// The wards that hold any rollup row in `period`.
pub async fn wards_with_data(
    db: &impl ConnectionTrait,
    period: Period,
) -> Result<Vec<String>, DbErr> {
    let q = sea_orm::sea_query::Query::select()
        .distinct()
        .column(Alias::new("ward_code"))
        .from(Alias::new("rollup_cells"))
        .and_where(sea_orm::sea_query::ExprTrait::is_in(
            Expr::col(Alias::new("month")),
            period.months(),
        ))
        .order_by(Alias::new("ward_code"), sea_orm::sea_query::Order::Asc)
        .to_owned();
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect()
}

/// The figures of every ward with data in `period`, computed exactly as [`ward_figures`]
/// computes one ward's (the same rollup read and margins, many wards at once).
pub async fn figures_with_data(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    period: Period,
) -> Result<BTreeMap<String, WardFigures>, DbErr> {
    let wards = wards_with_data(db, period).await?;
    Ok(figures_of(db, ctx, &wards, period)
        .await?
        .into_iter()
        .collect())
}

/// Each province's figures of `period`: its wards' counted responses pooled, unweighted, as
/// [`national_figures`] pools the country's. `province_of` maps a ward code to its province.
pub async fn province_figures(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    period: Period,
    province_of: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, WardFigures>, DbErr> {
    let by_ward = super::rollups::read(db, None, &period.months(), true, Metrics::Figures).await?;
    let mut pooled: BTreeMap<String, Rollup> = BTreeMap::new();
    for (ward, r) in &by_ward {
        if let Some(p) = province_of(ward) {
            pooled.entry(p).or_default().merge(r);
        }
    }
    Ok(pooled
        .into_iter()
        .map(|(p, r)| (p, measure::figures(ctx.spec, &r, None, ctx.method)))
        .collect())
}

/// One province's figures of `period`: its wards' counted responses pooled, unweighted (as
/// in [`province_figures`]).
pub async fn province_pooled(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    province_code: &str,
    period: Period,
) -> Result<WardFigures, DbErr> {
    let wards: Vec<String> = province_wards(db, province_code)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let pooled = super::rollups::read(db, Some(&wards), &period.months(), false, Metrics::Figures)
        .await?
        .remove("")
        .unwrap_or_default();
    Ok(measure::figures(ctx.spec, &pooled, None, ctx.method))
}
