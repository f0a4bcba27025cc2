//! The rollups in the database: one wide row per ward × month × sex-age cell, with an
//! (n, Σ, Σ²) column triple per metric slot (`n0, s0, q0` … `n63, s63, q63`), and the table
//! `rollup_slots` naming the metric of each slot. A response adds to one row; a ward's quarter
//! is at most 36 rows to read.
//!
//! Slots are assigned on first use, in the writing transaction, and never change. Writes are
//! additive upserts (`n3 = n3 + excluded.n3`), so several writers (server instances on one
//! PostgreSQL) never read-modify-write; batches are applied in key order, so two transactions
//! lock rows in the same order and cannot deadlock on them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::measure::{Acc, Cell, Rollup};

/// Metric slots per row (the migration creates the columns).
pub const SLOTS: usize = 64;

const TABLE: &str = "rollup_cells";

/// (ward code, month, cell key, metric).
pub type RollupKey = (String, String, String, String);

fn n_col(slot: usize) -> Alias {
    Alias::new(format!("n{slot}"))
}
fn s_col(slot: usize) -> Alias {
    Alias::new(format!("s{slot}"))
}
fn q_col(slot: usize) -> Alias {
    Alias::new(format!("q{slot}"))
}

/// The metric of each slot, as stored.
#[derive(Debug, Default, Clone)]
pub struct Slots {
    by_metric: HashMap<String, usize>,
    by_slot: BTreeMap<usize, String>,
}

impl Slots {
    pub async fn load(db: &impl ConnectionTrait) -> Result<Slots, DbErr> {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT metric, CAST(slot AS BIGINT) AS slot FROM rollup_slots",
            ))
            .await?;
        let mut out = Slots::default();
        for row in rows {
            let metric: String = row.try_get("", "metric")?;
            let slot: i64 = row.try_get("", "slot")?;
            let slot = usize::try_from(slot)
                .map_err(|_| DbErr::Custom(format!("rollup slot {slot} is negative")))?;
            out.by_metric.insert(metric.clone(), slot);
            out.by_slot.insert(slot, metric);
        }
        Ok(out)
    }

    /// Loads the slots and assigns one to every metric of `metrics` that has none.
    pub async fn ensure<'a>(
        db: &impl ConnectionTrait,
        metrics: impl IntoIterator<Item = &'a str>,
    ) -> Result<Slots, DbErr> {
        Ok(Slots::ensure_reporting(db, metrics).await?.0)
    }

    /// As [`Slots::ensure`], also telling whether a slot was assigned (in the caller's
    /// transaction: it is not committed yet).
    pub async fn ensure_reporting<'a>(
        db: &impl ConnectionTrait,
        metrics: impl IntoIterator<Item = &'a str>,
    ) -> Result<(Slots, bool), DbErr> {
        let mut slots = Slots::load(db).await?;
        let missing: BTreeSet<&str> = metrics
            .into_iter()
            .filter(|m| !slots.by_metric.contains_key(*m))
            .collect();
        let assigned = !missing.is_empty();
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO rollup_slots (metric, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            }
            _ => "INSERT INTO rollup_slots (metric, slot) VALUES (?, ?) ON CONFLICT DO NOTHING",
        };
        for metric in missing {
            // Another instance may take the same slot first: then look again.
            for _ in 0..SLOTS {
                if slots.by_metric.contains_key(metric) {
                    break;
                }
                let next = slots.by_slot.keys().next_back().map_or(0, |s| s + 1);
                if next >= SLOTS {
                    return Err(DbErr::Custom(format!(
                        "no rollup slot left for the metric `{metric}` (all {SLOTS} are used)"
                    )));
                }
                let slot_value = i32::try_from(next).expect("fewer than 2^31 slots");
                let inserted = db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        sql,
                        [Value::from(metric.to_string()), Value::from(slot_value)],
                    ))
                    .await?
                    .rows_affected();
                if inserted == 1 {
                    slots.by_metric.insert(metric.to_string(), next);
                    slots.by_slot.insert(next, metric.to_string());
                } else {
                    slots = Slots::load(db).await?;
                }
            }
            if !slots.by_metric.contains_key(metric) {
                return Err(DbErr::Custom(format!(
                    "could not assign a rollup slot to `{metric}`"
                )));
            }
        }
        Ok((slots, assigned))
    }

    pub fn slot(&self, metric: &str) -> Option<usize> {
        self.by_metric.get(metric).copied()
    }
}

/// Rollup changes gathered over a batch, applied as additive upserts: per (ward, month, cell)
/// row, the accumulator of each metric. Metric names are kept once per delta, and each row
/// holds its accumulators by the metric's place in that list, so that adding a response
/// allocates nothing per metric.
#[derive(Default, Debug)]
pub struct RollupDelta {
    metrics: Vec<String>,
    places: HashMap<String, usize>,
    rows: BTreeMap<(String, String, String), Vec<Acc>>,
}

/// The metric slots a writer has seen committed: they never change once assigned, so a batch
/// whose metrics all have a slot here needs no read of `rollup_slots`.
#[derive(Default)]
pub struct SlotCache(std::sync::Mutex<Option<Slots>>);

impl RollupDelta {
    /// Adds (`sign` = 1) or removes (`sign` = -1) one response's contributions.
    pub fn add(
        &mut self,
        ward: &str,
        month: &str,
        contributions: &[(Cell, String, Acc)],
        sign: i64,
    ) {
        // A response's contributions fall in one cell or a few: one row lookup per cell.
        let mut cells: Vec<Cell> = contributions.iter().map(|(c, _, _)| *c).collect();
        cells.sort();
        cells.dedup();
        for cell in cells {
            let row = self
                .rows
                .entry((ward.to_string(), month.to_string(), cell.key()))
                .or_default();
            // Every response lists its metrics in the same order, the order they were first
            // seen in: the place after the last one is nearly always the next one's.
            let mut next = 0;
            for (_, metric, acc) in contributions.iter().filter(|(c, _, _)| *c == cell) {
                let place = if self.metrics.get(next).is_some_and(|m| m == metric) {
                    next
                } else {
                    match self.places.get(metric.as_str()) {
                        Some(&p) => p,
                        None => {
                            self.metrics.push(metric.clone());
                            self.places.insert(metric.clone(), self.metrics.len() - 1);
                            self.metrics.len() - 1
                        }
                    }
                };
                next = place + 1;
                if row.len() <= place {
                    row.resize(place + 1, Acc::default());
                }
                if sign >= 0 {
                    row[place].add(acc);
                } else {
                    row[place].sub(acc);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub async fn apply(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        self.apply_cached(db, None).await
    }

    /// As [`RollupDelta::apply`], taking the slots from `cache` when it knows every metric.
    pub async fn apply_cached(
        self,
        db: &impl ConnectionTrait,
        cache: Option<&SlotCache>,
    ) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let metrics: BTreeSet<&str> = self.metrics.iter().map(String::as_str).collect();
        let cached = cache
            .and_then(|c| c.0.lock().ok().and_then(|g| g.clone()))
            .filter(|s| metrics.iter().all(|m| s.by_metric.contains_key(*m)));
        let slots = match cached {
            Some(s) => s,
            None => {
                let (slots, assigned) = Slots::ensure_reporting(db, metrics).await?;
                // Only slots already committed are cached: a slot assigned in this
                // transaction is gone if it rolls back.
                if !assigned
                    && let Some(c) = cache
                    && let Ok(mut g) = c.0.lock()
                {
                    *g = Some(slots.clone());
                }
                slots
            }
        };
        // Every slot in use so far, not only this batch's: the statement keeps one shape.
        let used: Vec<usize> = slots.by_slot.keys().copied().collect();
        let slot_of: Vec<usize> = self
            .metrics
            .iter()
            .map(|m| {
                slots
                    .slot(m)
                    .ok_or_else(|| DbErr::Custom(format!("no rollup slot for `{m}`")))
            })
            .collect::<Result<_, _>>()?;
        let per_row = 3 + 3 * used.len();
        let mut values: Vec<Value> = Vec::with_capacity(self.rows.len() * per_row);
        for ((ward, month, cell), accs) in self.rows {
            let mut wide = [Acc::default(); SLOTS];
            for (place, acc) in accs.iter().enumerate() {
                wide[slot_of[place]].add(acc);
            }
            values.extend([Value::from(ward), Value::from(month), Value::from(cell)]);
            for &s in &used {
                let a = &wide[s];
                values.extend([Value::from(a.n), Value::from(a.sum), Value::from(a.sumsq)]);
            }
        }
        let (head, tail) = upsert_parts(&used);
        super::execute_rows(db, &head, per_row, values, &tail, 64).await
    }
}

/// The head and the conflict clause of the additive upsert over the slots `used`, built once
/// per set of slots.
fn upsert_parts(used: &[usize]) -> (std::sync::Arc<str>, std::sync::Arc<str>) {
    use std::sync::{Arc, LazyLock, Mutex};
    type Parts = HashMap<Vec<usize>, (Arc<str>, Arc<str>)>;
    static CACHE: LazyLock<Mutex<Parts>> = LazyLock::new(Default::default);
    if let Ok(cache) = CACHE.lock()
        && let Some(parts) = cache.get(used)
    {
        return parts.clone();
    }
    let (head, tail) = build_upsert_parts(used);
    let parts: (Arc<str>, Arc<str>) = (head.into(), tail.into());
    if let Ok(mut cache) = CACHE.lock() {
        cache.insert(used.to_vec(), parts.clone());
    }
    parts
}

/// The head and the conflict clause of the additive upsert over the slots `used`.
fn build_upsert_parts(used: &[usize]) -> (String, String) {
    let mut cols = vec!["ward_code".to_string(), "month".into(), "cell".into()];
    for s in used {
        cols.extend([format!("n{s}"), format!("s{s}"), format!("q{s}")]);
    }
    let sets: Vec<String> = cols[3..]
        .iter()
        .map(|c| format!("{c} = {TABLE}.{c} + excluded.{c}"))
        .collect();
    (
        format!("INSERT INTO {TABLE} ({})", cols.join(", ")),
        format!(
            "ON CONFLICT (ward_code, month, cell) DO UPDATE SET {}",
            sets.join(", ")
        ),
    )
}

/// Which metrics a read sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metrics {
    /// What the satisfaction figures use: everything but the `alpha:*` accumulators, which
    /// are two thirds of the columns and only serve Cronbach's α.
    Figures,
    /// Only the `alpha:*` accumulators.
    Alpha,
}

impl Metrics {
    fn wants(self, metric: &str) -> bool {
        metric.starts_with("alpha:") == (self == Metrics::Alpha)
    }
}

/// The sums of the rollup rows of `months`, of the wards `wards` (every ward with `None`),
/// per ward (with `by_ward`; otherwise everything under the key `""`), of the metrics
/// `metrics`.
pub async fn read(
    db: &impl ConnectionTrait,
    wards: Option<&[String]>,
    months: &[String],
    by_ward: bool,
    metrics: Metrics,
) -> Result<HashMap<String, Rollup>, DbErr> {
    let mut out: HashMap<String, Rollup> = HashMap::new();
    if months.is_empty() || wards.is_some_and(|w| w.is_empty()) {
        return Ok(out);
    }
    let slots = Slots::load(db).await?;
    let slot_list: Vec<(usize, &String)> = slots
        .by_slot
        .iter()
        .filter(|(_, m)| metrics.wants(m))
        .map(|(s, m)| (*s, m))
        .collect();
    if slot_list.is_empty() {
        return Ok(out);
    }
    let base = || {
        let mut q = Query::select();
        q.from(Alias::new(TABLE));
        if by_ward {
            q.column(Alias::new("ward_code"));
        }
        q.column(Alias::new("cell"));
        for &(s, _) in &slot_list {
            // PostgreSQL sums a bigint as numeric, hence the cast.
            q.expr(Expr::col(n_col(s)).sum().cast_as(Alias::new("BIGINT")))
                .expr(Expr::col(s_col(s)).sum())
                .expr(Expr::col(q_col(s)).sum());
        }
        q.and_where(Expr::col(Alias::new("month")).is_in(months.to_vec()));
        if by_ward {
            q.group_by_col(Alias::new("ward_code"));
        }
        q.group_by_col(Alias::new("cell"));
        q
    };
    let mut queries: Vec<SelectStatement> = Vec::new();
    match wards {
        Some(wards) => {
            for chunk in wards.chunks(500) {
                let mut q = base();
                q.and_where(Expr::col(Alias::new("ward_code")).is_in(chunk.to_vec()));
                queries.push(q);
            }
        }
        None => queries.push(base()),
    }
    for q in queries {
        for row in db.query_all(&q).await? {
            let (ward, first) = if by_ward {
                (row.try_get_by_index::<String>(0)?, 1)
            } else {
                (String::new(), 0)
            };
            let cell: String = row.try_get_by_index(first)?;
            let Some(cell) = Cell::parse(&cell) else {
                continue;
            };
            let rollup = out.entry(ward).or_default();
            for (i, (_, metric)) in slot_list.iter().enumerate() {
                let at = first + 1 + 3 * i;
                let n: Option<i64> = row.try_get_by_index(at)?;
                let n = n.unwrap_or(0);
                if n == 0 {
                    continue;
                }
                let sum: Option<f64> = row.try_get_by_index(at + 1)?;
                let sumsq: Option<f64> = row.try_get_by_index(at + 2)?;
                rollup.add(
                    cell,
                    metric,
                    Acc {
                        n,
                        sum: sum.unwrap_or(0.0),
                        sumsq: sumsq.unwrap_or(0.0),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Every stored accumulator that is not zero, in the long form (for `index verify`).
pub async fn read_all(db: &impl ConnectionTrait) -> Result<BTreeMap<RollupKey, Acc>, DbErr> {
    let slots = Slots::load(db).await?;
    let mut out = BTreeMap::new();
    let mut q = Query::select();
    q.from(Alias::new(TABLE)).columns([
        Alias::new("ward_code"),
        Alias::new("month"),
        Alias::new("cell"),
    ]);
    for &s in slots.by_slot.keys() {
        q.columns([n_col(s), s_col(s), q_col(s)]);
    }
    for row in db.query_all(&q).await? {
        let ward: String = row.try_get_by_index(0)?;
        let month: String = row.try_get_by_index(1)?;
        let cell: String = row.try_get_by_index(2)?;
        for (i, metric) in slots.by_slot.values().enumerate() {
            let at = 3 + 3 * i;
            let acc = Acc {
                n: row.try_get_by_index(at)?,
                sum: row.try_get_by_index(at + 1)?,
                sumsq: row.try_get_by_index(at + 2)?,
            };
            // An accumulator emptied by exclusions may keep rounding residue in Σ and Σ²;
            // verify compares it with the tolerance it uses everywhere.
            if acc.n != 0 || acc.sum != 0.0 || acc.sumsq != 0.0 {
                out.insert(
                    (ward.clone(), month.clone(), cell.clone(), metric.clone()),
                    acc,
                );
            }
        }
    }
    Ok(out)
}
