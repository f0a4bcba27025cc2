//! Exact, additive per-cell rollups (docs/method.md, "Reading figures without reading responses").
//!
//! Every figure of steps 4–7 and 10 is a function of per-cell accumulators (count, Σx, Σx²),
//! because a respondent's weight depends only on its cell. Rollups are additive: a quarter is
//! the sum of its three months, and an excluded response is subtracted again with the same
//! [`contributions`] it added.
//!
//! Metric keys (stored in the database as strings):
//!
//! | key | covers | x |
//! |---|---|---|
//! | `resp` | every response (n_h of step 4) | 0 (Σ and Σ² are 0) |
//! | `score` | counted respondents (step 3) | S |
//! | `overall` | responses that answered `overall` | 1 if `overall` ∈ {4, 5}, else 0 |
//! | `trust` | responses that answered `trust` | trust × 10 |
//! | `dim:<id>` | counted respondents who answered dimension `<id>` | D |
//! | `alpha:<scale>:<item>` | responses that answered every item of the scale | rescaled item value |
//! | `alpha:<scale>:_total` | the same responses | T = Σ of the scale's rescaled items |
//!
//! `<scale>` is `all` (the items of [`ScaleSpec::alpha_items`]) or a dimension id.

use std::collections::BTreeMap;

use super::respondent::{item_value, satisfied, score_respondent, trust_value};
use super::{Cell, Respondent, ScaleSpec};

/// Metric key: every response.
pub const RESP: &str = "resp";
/// Metric key: counted respondents' S.
pub const SCORE: &str = "score";
/// Metric key: satisfied indicator among those who answered `overall`.
pub const OVERALL: &str = "overall";
/// Metric key: trust × 10 among those who answered `trust`.
pub const TRUST: &str = "trust";
/// Scale name of the whole-scale α.
pub const ALPHA_ALL: &str = "all";
/// Item name of a scale's total T in the α metrics.
pub const ALPHA_TOTAL: &str = "_total";

/// Metric key of a dimension's D: `dim:<id>`.
pub fn dim_key(id: &str) -> String {
    // Built by hand, not with `format!`: a response has some thirty metric keys, made for
    // every submission.
    let mut key = String::with_capacity(4 + id.len());
    key.push_str("dim:");
    key.push_str(id);
    key
}

/// Metric key of an α accumulator: `alpha:<scale>:<item>` (item may be [`ALPHA_TOTAL`]).
pub fn alpha_key(scale: &str, item: &str) -> String {
    let mut key = String::with_capacity(7 + scale.len() + item.len());
    key.push_str("alpha:");
    key.push_str(scale);
    key.push(':');
    key.push_str(item);
    key
}

/// One accumulator: count, sum, sum of squares.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Acc {
    pub n: i64,
    pub sum: f64,
    pub sumsq: f64,
}

impl Acc {
    /// The accumulator of one observation x.
    pub fn one(x: f64) -> Acc {
        Acc {
            n: 1,
            sum: x,
            sumsq: x * x,
        }
    }

    pub fn add(&mut self, other: &Acc) {
        self.n += other.n;
        self.sum += other.sum;
        self.sumsq += other.sumsq;
    }

    pub fn sub(&mut self, other: &Acc) {
        self.n -= other.n;
        self.sum -= other.sum;
        self.sumsq -= other.sumsq;
    }

    /// Sample variance (n − 1 denominator); `None` when n < 2. Never negative.
    pub fn sample_variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        Some(((self.sumsq - self.sum * self.sum / n) / (n - 1.0)).max(0.0))
    }
}

/// What one response adds to the rollup of its ward and period.
pub fn contributions(spec: &ScaleSpec, r: &Respondent) -> Vec<(Cell, String, Acc)> {
    let cell = r.cell;
    // resp, score, overall, trust, the dimensions, and each scale's items and total.
    let items: usize = spec.dimensions.iter().map(|d| d.items.len() + 2).sum();
    let mut out = Vec::with_capacity(5 + items + spec.alpha_items.len());
    out.push((
        cell,
        RESP.to_string(),
        Acc {
            n: 1,
            ..Acc::default()
        },
    ));
    let scored = score_respondent(spec, r);
    if let Some(s) = scored.score {
        out.push((cell, SCORE.to_string(), Acc::one(s)));
        // Step 6: dimension values are over counted respondents who answered the dimension.
        for (id, d) in &scored.dimensions {
            out.push((cell, dim_key(id), Acc::one(*d)));
        }
    }
    if let Some(sat) = satisfied(r) {
        let x = if sat { 1.0 } else { 0.0 };
        out.push((cell, OVERALL.to_string(), Acc::one(x)));
    }
    if let Some(t) = trust_value(r) {
        out.push((cell, TRUST.to_string(), Acc::one(t)));
    }
    // Step 10: listwise-complete cases of each scale.
    let scales = std::iter::once((ALPHA_ALL, &spec.alpha_items))
        .chain(spec.dimensions.iter().map(|d| (d.id.as_str(), &d.items)));
    for (scale, items) in scales {
        if items.is_empty() {
            continue;
        }
        let values: Option<Vec<f64>> = items.iter().map(|i| item_value(r, i)).collect();
        if let Some(values) = values {
            for (item, x) in items.iter().zip(&values) {
                out.push((cell, alpha_key(scale, item), Acc::one(*x)));
            }
            let total: f64 = values.iter().sum();
            out.push((cell, alpha_key(scale, ALPHA_TOTAL), Acc::one(total)));
        }
    }
    out
}

/// Per-cell accumulators of every metric of a ward and period (or of many, merged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub cells: BTreeMap<(Cell, String), Acc>,
}

impl Rollup {
    pub fn new() -> Rollup {
        Rollup::default()
    }

    /// Adds an accumulator to (cell, metric).
    pub fn add(&mut self, cell: Cell, metric: &str, acc: Acc) {
        self.cells
            .entry((cell, metric.to_string()))
            .or_default()
            .add(&acc);
    }

    /// Subtracts an accumulator from (cell, metric); an entry whose count reaches 0 is removed
    /// (its Σ and Σ² are then 0 up to rounding).
    pub fn sub(&mut self, cell: Cell, metric: &str, acc: Acc) {
        let key = (cell, metric.to_string());
        let entry = self.cells.entry(key.clone()).or_default();
        entry.sub(&acc);
        if entry.n == 0 {
            self.cells.remove(&key);
        }
    }

    /// Adds every entry of `other` (e.g. the three months of a quarter, or the wards of a
    /// province for pooled α).
    pub fn merge(&mut self, other: &Rollup) {
        for ((cell, metric), acc) in &other.cells {
            self.add(*cell, metric, *acc);
        }
    }

    /// Adds one response's [`contributions`].
    pub fn add_respondent(&mut self, spec: &ScaleSpec, r: &Respondent) {
        for (cell, metric, acc) in contributions(spec, r) {
            self.add(cell, &metric, acc);
        }
    }

    /// Removes one response's [`contributions`] again (exclusion by an integrity check).
    pub fn sub_respondent(&mut self, spec: &ScaleSpec, r: &Respondent) {
        for (cell, metric, acc) in contributions(spec, r) {
            self.sub(cell, &metric, acc);
        }
    }

    pub fn from_respondents(spec: &ScaleSpec, respondents: &[Respondent]) -> Rollup {
        let mut rollup = Rollup::new();
        for r in respondents {
            rollup.add_respondent(spec, r);
        }
        rollup
    }

    /// The accumulator of (cell, metric), if any.
    pub fn get(&self, cell: Cell, metric: &str) -> Option<&Acc> {
        self.cells.get(&(cell, metric.to_string()))
    }

    /// The per-cell accumulators of one metric.
    pub fn metric(&self, metric: &str) -> impl Iterator<Item = (Cell, &Acc)> {
        self.cells
            .iter()
            .filter(move |((_, m), _)| m == metric)
            .map(|((c, _), acc)| (*c, acc))
    }

    /// One metric summed over all cells (unweighted).
    pub fn total(&self, metric: &str) -> Acc {
        let mut acc = Acc::default();
        for (_, a) in self.metric(metric) {
            acc.add(a);
        }
        acc
    }

    /// n_h: the number of responses per cell (metric `resp`), cells with n_h > 0 only.
    pub fn cell_counts(&self) -> BTreeMap<Cell, i64> {
        self.metric(RESP)
            .filter(|(_, a)| a.n > 0)
            .map(|(c, a)| (c, a.n))
            .collect()
    }
}
