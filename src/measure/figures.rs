//! Steps 5–7 of the method (docs/method.md), computed from rollups only (no raw responses are read).
//!
//! Because a weight depends only on the cell, every weighted sum is a sum over cells:
//! Σ_i w_i x_i = Σ_h w_h Σx_h, Σ_i w_i² = Σ_h w_h² n_h, and
//! Σ_i w_i²(x_i − I)² = Σ_h w_h² (Σx²_h − 2I Σx_h + n_h I²).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::rollup::{self, Rollup};
use super::weights::{Weighting, weights};
use super::{Cell, Margins, MethodConfig, ScaleSpec};

/// Publication status of a ward and period (step 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Published,
    LowReliability,
    InsufficientData,
}

/// Tolerance of the status thresholds: an n_eff within this of a threshold counts as reaching
/// it (n_eff is a ratio of float sums, so 30 identical weights can give 29.999999999999996).
pub const STATUS_TOLERANCE: f64 = 1e-9;

/// Step 7: status from the index's n_eff. n_eff < `insufficient_below` (30) is
/// `insufficient_data`, n_eff < `published_from` (50) `low_reliability`, else `published`,
/// each compared with a tolerance of [`STATUS_TOLERANCE`]. A non-finite n_eff is
/// `insufficient_data`.
pub fn status(n_eff: f64, cfg: &MethodConfig) -> Status {
    if !n_eff.is_finite() || n_eff < cfg.insufficient_below - STATUS_TOLERANCE {
        Status::InsufficientData
    } else if n_eff < cfg.published_from - STATUS_TOLERANCE {
        Status::LowReliability
    } else {
        Status::Published
    }
}

/// A point estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Everything steps 4–7 produce for one ward and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardFigures {
    /// Number of counted respondents (step 3).
    pub n: i64,
    /// n_eff = (Σw)²/Σw² over the counted respondents (0 when there are none).
    pub n_eff: f64,
    pub weighting: Weighting,
    /// Step 7, from `n_eff`.
    pub status: Status,
    /// Step 5: I alone, defined from n = 1; `None` when nobody is counted or Σw = 0.
    pub point: Option<f64>,
    /// Step 5: I with its t interval clamped to [0, 100]; `None` when n < 2 or Σw = 0.
    pub index: Option<Interval>,
    /// Step 5: v = n/(n−1)·Σw²(S − I)²/(Σw)²; `None` with `index`.
    pub variance: Option<f64>,
    /// Step 6: weighted share of `overall` ∈ {4, 5} with its Wilson interval, and the number of
    /// responses that answered `overall`; `None` when nobody answered (or Σw = 0).
    pub satisfied_share: Option<(Interval, i64)>,
    /// Step 6: per dimension id, the weighted mean of D over counted respondents who answered
    /// it, and their number. Every dimension of the spec is listed.
    pub dimensions: BTreeMap<String, (Option<f64>, i64)>,
    /// Step 6: weighted mean of trust × 10 among those who answered it, and their number.
    pub trust: (Option<f64>, i64),
    /// Step 4: the weight of every cell present.
    pub weights: BTreeMap<Cell, f64>,
}

/// Weighted sums of one metric.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    /// Number of respondents covered.
    pub n: i64,
    /// Σw.
    pub sw: f64,
    /// Σw².
    pub sw2: f64,
    /// Σw·x.
    pub swx: f64,
    /// Σw²·x.
    pub sw2x: f64,
    /// Σw²·x².
    pub sw2xx: f64,
}

impl Moments {
    /// Weighted mean Σwx/Σw; `None` when nobody is covered or Σw = 0.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0 && self.sw > 0.0).then(|| self.swx / self.sw)
    }

    /// n_eff = (Σw)²/Σw²; 0 when nobody is covered.
    pub fn n_eff(&self) -> f64 {
        if self.n > 0 && self.sw2 > 0.0 {
            self.sw * self.sw / self.sw2
        } else {
            0.0
        }
    }

    /// Σw²(x − m)² = Σw²x² − 2mΣw²x + m²Σw², with rounding noise removed
    /// (see [`snap_deviation`]).
    pub fn sw2_dev2(&self, m: f64) -> f64 {
        snap_deviation(
            self.sw2xx - 2.0 * m * self.sw2x + m * m * self.sw2,
            self.sw2xx,
        )
    }
}

/// Relative size (to Σw²S²) below which Σw²(S − I)² is rounding noise and taken as 0.
pub const DEVIATION_NOISE: f64 = 1e-10;

/// Σw²(S − I)² from rollups is a difference of large sums; when every S is equal it should be
/// 0 but comes out as rounding noise of order 1e-15·Σw²S² (larger after many additions and
/// subtractions), and √v would turn that noise into a visible CI width. Both the rollup path
/// and the raw oracle therefore take a value ≤ [`DEVIATION_NOISE`]·Σw²S² (and any negative
/// value) as exactly 0. A genuine deviation that small means all S agree to within about
/// 1e-5·S, so the CI width is unaffected in any reported digit.
pub(crate) fn snap_deviation(dev: f64, sw2xx: f64) -> f64 {
    if dev <= DEVIATION_NOISE * sw2xx {
        0.0
    } else {
        dev
    }
}

fn moments(rollup: &Rollup, metric: &str, w: &BTreeMap<Cell, f64>) -> Moments {
    let mut m = Moments::default();
    for (cell, acc) in rollup.metric(metric) {
        // Every cell of a consistent rollup is in `resp`; 1 is only a fallback.
        let wh = w.get(&cell).copied().unwrap_or(1.0);
        let n = acc.n as f64;
        m.n += acc.n;
        m.sw += wh * n;
        m.sw2 += wh * wh * n;
        m.swx += wh * acc.sum;
        m.sw2x += wh * wh * acc.sum;
        m.sw2xx += wh * wh * acc.sumsq;
    }
    m
}

/// Step 5 from the weighted sums of S over the counted respondents: I, v and the CI
/// I ± t(0.975, n−1)·√v clamped to [0, 100]. `None` when n < 2 or Σw = 0.
pub(crate) fn index_interval(m: &Moments) -> Option<(Interval, f64)> {
    if m.n < 2 {
        return None;
    }
    let i = m.mean()?;
    let n = m.n as f64;
    let v = n / (n - 1.0) * m.sw2_dev2(i) / (m.sw * m.sw);
    Some((t_interval(i, v, m.n), v))
}

/// I ± t(0.975, n − 1)·√v, clamped to [0, 100] (step 5). Requires n ≥ 2.
pub(crate) fn t_interval(i: f64, v: f64, n: i64) -> Interval {
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("n >= 2 gives positive degrees of freedom")
        .inverse_cdf(0.975);
    let half = t * v.sqrt();
    Interval {
        value: i,
        ci_low: (i - half).clamp(0.0, 100.0),
        ci_high: (i + half).clamp(0.0, 100.0),
    }
}

/// Wilson 95% interval for a proportion p with effective sample size n (step 6).
/// `None` when n ≤ 0.
pub(crate) fn wilson(p: f64, n: f64) -> Option<Interval> {
    if n.is_nan() || n <= 0.0 {
        return None;
    }
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(0.975);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt();
    Some(Interval {
        value: p,
        ci_low: (centre - half).max(0.0),
        ci_high: (centre + half).min(1.0),
    })
}

/// Step 6: satisfied share with Wilson interval from the weighted sums of the `overall`
/// indicator (n_eff of those who answered `overall`).
pub(crate) fn share_interval(m: &Moments) -> Option<(Interval, i64)> {
    let p = m.mean()?;
    wilson(p, m.n_eff()).map(|iv| (iv, m.n))
}

/// Steps 4–7 for one ward and period, from its rollup.
pub fn figures(
    spec: &ScaleSpec,
    rollup: &Rollup,
    margins: Option<&Margins>,
    cfg: &MethodConfig,
) -> WardFigures {
    let (weighting, w) = weights(rollup, margins, cfg);
    let score = moments(rollup, rollup::SCORE, &w);
    let index = index_interval(&score);
    let n_eff = score.n_eff();
    let dimensions = spec
        .dimensions
        .iter()
        .map(|d| {
            let m = moments(rollup, &rollup::dim_key(&d.id), &w);
            (d.id.clone(), (m.mean(), m.n))
        })
        .collect();
    let trust = moments(rollup, rollup::TRUST, &w);
    WardFigures {
        n: score.n,
        n_eff,
        weighting,
        status: status(n_eff, cfg),
        point: score.mean(),
        index: index.map(|(iv, _)| iv),
        variance: index.map(|(_, v)| v),
        satisfied_share: share_interval(&moments(rollup, rollup::OVERALL, &w)),
        dimensions,
        trust: (trust.mean(), trust.n),
        weights: w,
    }
}
