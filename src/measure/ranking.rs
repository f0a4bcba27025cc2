//! Step 9 of the method (docs/method.md): ranking within a province and period by empirical-Bayes shrinkage
//! (DerSimonian–Laird τ²).
//!
//! The caller passes only wards that are not `insufficient_data`.

use serde::{Deserialize, Serialize};

/// One ward's input: y_j = I_j and v_j from step 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardEstimate {
    pub ward_code: String,
    pub index: f64,
    pub variance: f64,
}

/// One ward's shrunken estimate and rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedWard {
    pub ward_code: String,
    /// The raw index I_j (what is shown beside the rank, with its CI).
    pub index: f64,
    pub variance: f64,
    /// B_j = v_j/(v_j + τ²).
    pub shrinkage_factor: f64,
    /// θ_j = B_j·μ + (1 − B_j)·y_j.
    pub theta: f64,
    /// 1 = best; ranks are distinct.
    pub rank: usize,
}

/// Result of step 9.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shrinkage {
    /// Between-ward variance τ² (0 when k = 1).
    pub tau2: f64,
    /// μ = Σ(y_j/(v_j + τ²))/Σ(1/(v_j + τ²)); `None` when no ward could be ranked.
    pub mu: Option<f64>,
    /// The ranked wards, best first (θ descending; ties: higher raw index, then ward code
    /// ascending).
    pub wards: Vec<RankedWard>,
    /// Wards that cannot enter the model (non-finite index, or variance not finite and > 0);
    /// they are not ranked.
    pub excluded: Vec<String>,
}

/// Shrunken estimates this close to each other tie.
pub const THETA_TIE: f64 = 1e-9;

/// Step 9: with w_j = 1/v_j, ȳ_FE = Σw_j y_j/Σw_j, Q = Σw_j(y_j − ȳ_FE)²,
/// τ² = max(0, (Q − (k − 1))/(Σw − Σw²/Σw)) (0 when k = 1),
/// μ = Σ(y_j/(v_j + τ²))/Σ(1/(v_j + τ²)), B_j = v_j/(v_j + τ²),
/// θ_j = B_j·μ + (1 − B_j)·y_j; rank by θ descending, θ within [`THETA_TIE`] of each other
/// tying (ties: higher raw index, then ward code).
pub fn shrinkage(wards: &[WardEstimate]) -> Shrinkage {
    let (ok, bad): (Vec<&WardEstimate>, Vec<&WardEstimate>) = wards
        .iter()
        .partition(|w| w.index.is_finite() && w.variance.is_finite() && w.variance > 0.0);
    let excluded = bad.iter().map(|w| w.ward_code.clone()).collect();
    let k = ok.len();
    if k == 0 {
        return Shrinkage {
            tau2: 0.0,
            mu: None,
            wards: Vec::new(),
            excluded,
        };
    }
    let tau2 = if k == 1 {
        0.0
    } else {
        let w: Vec<f64> = ok.iter().map(|e| 1.0 / e.variance).collect();
        let sw: f64 = w.iter().sum();
        let sw2: f64 = w.iter().map(|x| x * x).sum();
        let y_fe = ok.iter().zip(&w).map(|(e, wj)| wj * e.index).sum::<f64>() / sw;
        let q: f64 = ok
            .iter()
            .zip(&w)
            .map(|(e, wj)| wj * (e.index - y_fe).powi(2))
            .sum();
        ((q - (k - 1) as f64) / (sw - sw2 / sw)).max(0.0)
    };
    let num: f64 = ok.iter().map(|e| e.index / (e.variance + tau2)).sum();
    let den: f64 = ok.iter().map(|e| 1.0 / (e.variance + tau2)).sum();
    let mu = num / den;
    let mut ranked: Vec<RankedWard> = ok
        .iter()
        .map(|e| {
            let b = e.variance / (e.variance + tau2);
            RankedWard {
                ward_code: e.ward_code.clone(),
                index: e.index,
                variance: e.variance,
                shrinkage_factor: b,
                theta: b * mu + (1.0 - b) * e.index,
                rank: 0,
            }
        })
        .collect();
    ranked.sort_by(|a, b| b.theta.total_cmp(&a.theta));
    // θ values within THETA_TIE of their neighbour tie (two wards with identical answers can
    // differ in the last bit); each run of ties is ordered by raw index, then ward code.
    let mut start = 0;
    while start < ranked.len() {
        let mut end = start + 1;
        while end < ranked.len() && ranked[end - 1].theta - ranked[end].theta <= THETA_TIE {
            end += 1;
        }
        ranked[start..end].sort_by(|a, b| {
            b.index
                .total_cmp(&a.index)
                .then_with(|| a.ward_code.cmp(&b.ward_code))
        });
        start = end;
    }
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Shrinkage {
        tau2,
        mu: Some(mu),
        wards: ranked,
        excluded,
    }
}
