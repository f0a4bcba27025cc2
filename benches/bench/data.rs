//! The read benchmark's data: a million responses written straight through the store in big
//! batches, then the satisfaction and ranking reads timed against a naive recompute from raw
//! rows.

use std::time::{Duration, Instant};

use chrono::Utc;
use hailong::entities::{response, unit};
use hailong::measure::{self, Cell, MethodConfig, ScaleSpec, Status, WardEstimate, WardFigures};
use hailong::period::Period;
use hailong::store::figures::{self, MeasureCtx};
use hailong::store::responses::AnswerRow;
use hailong::store::responses::{Channel, NewResponse};
use hailong::survey::{Mode, Survey};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

/// Responses per transaction while loading.
const LOAD_BATCH: usize = 5000;

/// One random, complete and valid set of form fields.
pub fn random_form(rng: &mut StdRng, n: u64) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = Vec::with_capacity(17);
    for id in ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"] {
        // A few `na`, and answers leaning to agreement, as real ones do.
        let v = match rng.gen_range(0..20) {
            0 => "na".to_string(),
            x => (1 + (x % 5).max(rng.gen_range(0..5))).min(5).to_string(),
        };
        f.push((id.into(), v));
    }
    let used = rng.gen_bool(0.4);
    f.push((
        "used_procedures".into(),
        if used { "yes" } else { "no" }.into(),
    ));
    if used {
        f.push(("p1".into(), rng.gen_range(1..=5).to_string()));
        f.push(("p2".into(), rng.gen_range(1..=5).to_string()));
    }
    f.push(("overall".into(), rng.gen_range(1..=5).to_string()));
    f.push(("trust".into(), rng.gen_range(0..=10).to_string()));
    f.push(("sex".into(), ["m", "f", "x"][rng.gen_range(0..3)].into()));
    f.push((
        "age".into(),
        ["18-34", "35-54", "55+"][rng.gen_range(0..3)].into(),
    ));
    f.push(("issue".into(), "Trộm cắp xe máy".into()));
    f.push(("comment".into(), format!("Góp ý số {n}")));
    f
}

/// Loads `total` responses spread over `wards` and the last 180 days, straight through the
/// store (`insert_batch`, one transaction per [`LOAD_BATCH`]). Returns responses per second.
pub async fn load(
    db: &DatabaseConnection,
    survey: &Survey,
    wards: &[String],
    total: u64,
) -> Result<f64, String> {
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewResponse>>(2);
    let survey_owned = survey.clone();
    let wards_owned = wards.to_vec();
    // Responses are made on a thread of their own while the previous batch is written.
    let maker = std::thread::spawn(move || -> Result<(), String> {
        let mut rng = StdRng::seed_from_u64(7);
        let now = Utc::now();
        let mut made = 0u64;
        while made < total {
            let n = (total - made).min(LOAD_BATCH as u64);
            let mut batch = Vec::with_capacity(n as usize);
            for i in 0..n {
                let pairs = random_form(&mut rng, made + i);
                let valid = hailong::intake::parse(&survey_owned, &pairs, Mode::Web)
                    .map_err(|e| format!("generated form refused: {e:?}"))?;
                let ward = &wards_owned[rng.gen_range(0..wards_owned.len())];
                let at = now - chrono::Duration::seconds(rng.gen_range(0..180 * 86_400));
                batch.push(hailong::intake::new_response(
                    &survey_owned,
                    &valid,
                    ward,
                    Channel::Web,
                    at,
                ));
            }
            made += n;
            if tx.blocking_send(batch).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut stored = 0u64;
    while let Some(batch) = rx.recv().await {
        let txn = db.begin().await.map_err(|e| e.to_string())?;
        hailong::store::responses::insert_batch(&txn, &batch)
            .await
            .map_err(|e| e.to_string())?;
        txn.commit().await.map_err(|e| e.to_string())?;
        stored += batch.len() as u64;
        if stored.is_multiple_of(100_000) {
            eprintln!(
                "  {stored} responses stored ({:.0}/s)",
                stored as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    maker
        .join()
        .map_err(|_| "the generator thread panicked".to_string())??;
    Ok(stored as f64 / started.elapsed().as_secs_f64())
}

/// Median and p99 of some timings, in milliseconds.
pub fn median_p99(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort();
    if t.is_empty() {
        return (0.0, 0.0);
    }
    let at = |q: f64| {
        let i = ((t.len() as f64 - 1.0) * q).round() as usize;
        t[i].as_secs_f64() * 1e3
    };
    (at(0.5), at(0.99))
}

/// Times `runs` calls of `f` over the wards given (round robin).
pub async fn time_calls<F, Fut>(
    items: &[String],
    runs: usize,
    mut f: F,
) -> Result<Vec<Duration>, DbErr>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), DbErr>>,
{
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs {
        let item = items[i % items.len()].clone();
        let t = Instant::now();
        f(item).await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// The fast read: one ward's figures for a period, from the rollups.
pub async fn fast_ward(
    db: &DatabaseConnection,
    ctx: MeasureCtx<'_>,
    ward: &str,
    period: Period,
) -> Result<WardFigures, DbErr> {
    figures::ward_figures(db, ctx, ward, period).await
}

/// The naive read: every raw response and answer of the ward in the period, recomputed.
pub async fn naive_ward(
    db: &DatabaseConnection,
    survey: &Survey,
    spec: &ScaleSpec,
    method: &MethodConfig,
    ward: &str,
    period: Period,
) -> Result<WardFigures, DbErr> {
    let rows = response::Entity::find()
        .filter(response::Column::WardCode.eq(ward))
        .filter(response::Column::Month.is_in(period.months()))
        .filter(response::Column::Status.eq("counted"))
        .order_by_asc(response::Column::Id)
        .all(db)
        .await?;
    let respondents: Vec<_> = rows
        .iter()
        .map(|r| {
            let cell = Cell::parse(&r.cell).unwrap_or(Cell::Unknown);
            hailong::intake::respondent_from_rows(survey, cell, &AnswerRow::from_json(&r.answers))
        })
        .collect();
    let margins_rows = hailong::store::units::margins_of(db, ward).await?;
    let margins = to_margins(&margins_rows);
    Ok(measure::raw::figures(
        spec,
        &respondents,
        margins.as_ref(),
        method,
    ))
}

fn to_margins(rows: &[hailong::entities::margin::Model]) -> Option<measure::Margins> {
    let mut m = std::collections::BTreeMap::new();
    for r in rows {
        if let (Some(s), Some(a)) = (measure::Sex::parse(&r.sex), measure::Age::parse(&r.age)) {
            m.insert((s, a), r.share);
        }
    }
    (!m.is_empty()).then(|| measure::Margins::new(m))
}

/// The naive ranking: every ward of the province recomputed from raw rows, then step 9.
pub async fn naive_ranking(
    db: &DatabaseConnection,
    survey: &Survey,
    spec: &ScaleSpec,
    method: &MethodConfig,
    province: &str,
    period: Period,
) -> Result<usize, DbErr> {
    let wards: Vec<String> = unit::Entity::find()
        .filter(unit::Column::ProvinceCode.eq(province))
        .select_only()
        .column(unit::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let mut estimates = Vec::new();
    for w in &wards {
        let f = naive_ward(db, survey, spec, method, w, period).await?;
        if f.status == Status::InsufficientData {
            continue;
        }
        if let (Some(i), Some(v)) = (f.index, f.variance) {
            estimates.push(WardEstimate {
                ward_code: w.clone(),
                index: i.value,
                variance: v,
            });
        }
    }
    Ok(measure::shrinkage(&estimates).wards.len())
}
