//! Step 8 of the method (docs/method.md): change between consecutive periods of a ward.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::figures::Status;

/// A Welch t-test result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Welch {
    pub t: f64,
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// With no spread in either period, index differences up to this are taken as none.
pub const CERTAIN_DIFFERENCE: f64 = 1e-9;

/// Step 8: Welch t-test between the current period (I₁, v₁, n₁) and the previous one
/// (I₀, v₀, n₀), where v is the variance of the index from step 5 (already divided by n):
/// t = (I₁ − I₀)/√(v₁ + v₀), df = (v₁ + v₀)²/(v₁²/(n₁ − 1) + v₀²/(n₀ − 1)),
/// p = 2·P(T_df > |t|).
///
/// When v₁ + v₀ = 0 (no spread in either period) the difference is certain: a difference
/// larger than [`CERTAIN_DIFFERENCE`] has t = ±∞ and p = 0, none has t = 0 and p = 1 (df is
/// then infinite).
///
/// `None` when it cannot be computed: n₁ < 2 or n₀ < 2, a non-finite input or a negative
/// variance.
pub fn welch(i1: f64, v1: f64, n1: i64, i0: f64, v0: f64, n0: i64) -> Option<Welch> {
    let finite = [i1, v1, i0, v0].iter().all(|x| x.is_finite());
    if !finite || n1 < 2 || n0 < 2 || v1 < 0.0 || v0 < 0.0 {
        return None;
    }
    if v1 + v0 == 0.0 {
        let d = i1 - i0;
        let (t, p) = if d.abs() > CERTAIN_DIFFERENCE {
            (d.signum() * f64::INFINITY, 0.0)
        } else {
            (0.0, 1.0)
        };
        return Some(Welch {
            t,
            df: f64::INFINITY,
            p,
        });
    }
    let t = (i1 - i0) / (v1 + v0).sqrt();
    let df = (v1 + v0).powi(2) / (v1 * v1 / (n1 - 1) as f64 + v0 * v0 / (n0 - 1) as f64);
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    Some(Welch { t, df, p })
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`:
/// q_(i) = min_{j ≥ i} min(1, m·p_(j)/j) over the p-values sorted ascending.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adj = (p[i] * m as f64 / (rank + 1) as f64).min(1.0);
        running = running.min(adj);
        q[i] = running;
    }
    q
}

/// The index of a ward in one period, as needed for step 8.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeriodIndex {
    pub index: f64,
    pub variance: f64,
    pub n: i64,
    pub status: Status,
}

/// One ward of a province: its current period and (if any) the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeInput {
    pub ward_code: String,
    pub current: PeriodIndex,
    pub previous: Option<PeriodIndex>,
}

/// The change flag of step 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFlag {
    SignificantRise,
    SignificantDrop,
    None,
}

/// Step 8 result for one ward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardChange {
    pub ward_code: String,
    /// `None` when the ward is not tested (no previous period, either period
    /// `insufficient_data`, or the test cannot be computed).
    pub welch: Option<Welch>,
    /// Benjamini–Hochberg q-value across the tested wards of the province.
    pub q: Option<f64>,
    pub flag: ChangeFlag,
}

/// Step 8 across the wards of a province in one period: a Welch test per ward whose two
/// periods are both not `insufficient_data`, Benjamini–Hochberg over the tested wards, and
/// `significant_rise` / `significant_drop` when q < `q_threshold` (else `none`).
/// The output is in the order of `wards`.
pub fn change_flags(wards: &[ChangeInput], q_threshold: f64) -> Vec<WardChange> {
    let tests: Vec<Option<Welch>> = wards
        .iter()
        .map(|w| {
            let prev = w.previous?;
            let cur = w.current;
            if cur.status == Status::InsufficientData || prev.status == Status::InsufficientData {
                return None;
            }
            welch(
                cur.index,
                cur.variance,
                cur.n,
                prev.index,
                prev.variance,
                prev.n,
            )
        })
        .collect();
    let p: Vec<f64> = tests.iter().flatten().map(|t| t.p).collect();
    let mut q = benjamini_hochberg(&p).into_iter();
    wards
        .iter()
        .zip(tests)
        .map(|(w, test)| {
            let q = test.map(|_| q.next().expect("one q per test"));
            let flag = match (test, q) {
                (Some(t), Some(q)) if q < q_threshold && t.t > 0.0 => ChangeFlag::SignificantRise,
                (Some(t), Some(q)) if q < q_threshold && t.t < 0.0 => ChangeFlag::SignificantDrop,
                _ => ChangeFlag::None,
            };
            WardChange {
                ward_code: w.ward_code.clone(),
                welch: test,
                q,
                flag,
            }
        })
        .collect()
}
