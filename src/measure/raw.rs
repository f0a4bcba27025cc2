//! Steps 4–7 of the method (docs/method.md) computed directly from respondent rows: per-respondent weights and
//! plain loops, no rollups. This is the oracle that the rollup path ([`super::figures()`]) must
//! match (`hailong index verify`, property tests). It shares only steps 1–3
//! ([`super::score_respondent`]) and the interval formulas with the rollup path.

use std::collections::{BTreeMap, BTreeSet};

use super::figures::{Interval, WardFigures, snap_deviation, status, t_interval, wilson};
use super::respondent::{satisfied, score_respondent, trust_value};
use super::weights::{RAKING_MAX_ROUNDS, RAKING_TOLERANCE, Weighting, margins_usable};
use super::{Age, Cell, Margins, MethodConfig, Respondent, ScaleSpec, Sex};

/// Step 4, one weight per respondent (same order as `respondents`).
pub fn respondent_weights(
    respondents: &[Respondent],
    margins: Option<&Margins>,
    cfg: &MethodConfig,
) -> (Weighting, Vec<f64>) {
    let mut w = vec![1.0; respondents.len()];
    let known: Vec<(usize, Sex, Age)> = respondents
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.cell {
            Cell::Known(s, a) => Some((i, s, a)),
            Cell::Unknown => None,
        })
        .collect();
    let Some(margins) = margins else {
        return (Weighting::None, w);
    };
    let n_k = known.len() as f64;
    let mut n_h: BTreeMap<(Sex, Age), usize> = BTreeMap::new();
    for &(_, s, a) in &known {
        *n_h.entry((s, a)).or_default() += 1;
    }
    if known.is_empty() || !margins_usable(margins, n_h.keys()) {
        return (Weighting::None, w);
    }
    let cell_total = |w: &[f64], s: Sex, a: Age| -> f64 {
        known
            .iter()
            .filter(|k| k.1 == s && k.2 == a)
            .map(|k| w[k.0])
            .sum()
    };
    let weighting = if n_h.values().any(|&n| n < cfg.min_cell) {
        // Raking of the individual weights, starting from w = 1 (cell totals = counts).
        let sexes: BTreeSet<Sex> = known.iter().map(|k| k.1).collect();
        let ages: BTreeSet<Age> = known.iter().map(|k| k.2).collect();
        let sex_p: f64 = sexes.iter().map(|&s| margins.sex_share(s)).sum();
        let age_p: f64 = ages.iter().map(|&a| margins.age_share(a)).sum();
        for _ in 0..RAKING_MAX_ROUNDS {
            let before: Vec<f64> = n_h.keys().map(|&(s, a)| cell_total(&w, s, a)).collect();
            for &s in &sexes {
                let target = margins.sex_share(s) / sex_p * n_k;
                let current: f64 = known.iter().filter(|k| k.1 == s).map(|k| w[k.0]).sum();
                for k in known.iter().filter(|k| k.1 == s) {
                    w[k.0] *= target / current;
                }
            }
            for &a in &ages {
                let target = margins.age_share(a) / age_p * n_k;
                let current: f64 = known.iter().filter(|k| k.2 == a).map(|k| w[k.0]).sum();
                for k in known.iter().filter(|k| k.2 == a) {
                    w[k.0] *= target / current;
                }
            }
            let moved = n_h
                .keys()
                .zip(&before)
                .map(|(&(s, a), b)| (cell_total(&w, s, a) - b).abs())
                .fold(0.0, f64::max);
            if moved <= RAKING_TOLERANCE {
                break;
            }
        }
        Weighting::Raked
    } else {
        let p_present: f64 = n_h.keys().map(|&(s, a)| margins.share(s, a)).sum();
        for &(i, s, a) in &known {
            w[i] = margins.share(s, a) / p_present * n_k / n_h[&(s, a)] as f64;
        }
        Weighting::PostStratified
    };
    // Cap once at weight_cap × mean of the known weights, renormalise to sum n_K.
    let mean = known.iter().map(|k| w[k.0]).sum::<f64>() / n_k;
    for k in &known {
        w[k.0] = w[k.0].min(cfg.weight_cap * mean);
    }
    let sum: f64 = known.iter().map(|k| w[k.0]).sum();
    for k in &known {
        w[k.0] *= n_k / sum;
    }
    (weighting, w)
}

/// Weighted mean of `(w, x)` pairs, its n and its n_eff.
fn weighted(pairs: &[(f64, f64)]) -> (Option<f64>, i64, f64) {
    let sw: f64 = pairs.iter().map(|p| p.0).sum();
    let sw2: f64 = pairs.iter().map(|p| p.0 * p.0).sum();
    let swx: f64 = pairs.iter().map(|p| p.0 * p.1).sum();
    let n = pairs.len() as i64;
    let mean = (n > 0 && sw > 0.0).then(|| swx / sw);
    let n_eff = if n > 0 && sw2 > 0.0 {
        sw * sw / sw2
    } else {
        0.0
    };
    (mean, n, n_eff)
}

/// Steps 4–7 from respondent rows (the oracle of [`super::figures()`]).
pub fn figures(
    spec: &ScaleSpec,
    respondents: &[Respondent],
    margins: Option<&Margins>,
    cfg: &MethodConfig,
) -> WardFigures {
    let (weighting, w) = respondent_weights(respondents, margins, cfg);
    let scored: Vec<_> = respondents
        .iter()
        .map(|r| score_respondent(spec, r))
        .collect();

    // Step 5 over the counted respondents.
    let s_pairs: Vec<(f64, f64)> = scored
        .iter()
        .zip(&w)
        .filter_map(|(sc, &wi)| sc.score.map(|s| (wi, s)))
        .collect();
    let (i, n, n_eff) = weighted(&s_pairs);
    let (index, variance) = match i {
        Some(i) if n >= 2 => {
            let sw: f64 = s_pairs.iter().map(|p| p.0).sum();
            let dev: f64 = s_pairs
                .iter()
                .map(|(wi, s)| wi * wi * (s - i).powi(2))
                .sum();
            let sw2xx: f64 = s_pairs.iter().map(|(wi, s)| wi * wi * s * s).sum();
            let dev = snap_deviation(dev, sw2xx);
            let nf = n as f64;
            let v = nf / (nf - 1.0) * dev / (sw * sw);
            (Some(t_interval(i, v, n)), Some(v))
        }
        _ => (None, None),
    };

    // Step 6.
    let o_pairs: Vec<(f64, f64)> = respondents
        .iter()
        .zip(&w)
        .filter_map(|(r, &wi)| satisfied(r).map(|s| (wi, if s { 1.0 } else { 0.0 })))
        .collect();
    let (p, n_o, n_eff_o) = weighted(&o_pairs);
    let satisfied_share: Option<(Interval, i64)> =
        p.and_then(|p| wilson(p, n_eff_o)).map(|iv| (iv, n_o));

    let t_pairs: Vec<(f64, f64)> = respondents
        .iter()
        .zip(&w)
        .filter_map(|(r, &wi)| trust_value(r).map(|t| (wi, t)))
        .collect();
    let (trust, n_t, _) = weighted(&t_pairs);

    let dimensions = spec
        .dimensions
        .iter()
        .map(|d| {
            let pairs: Vec<(f64, f64)> = scored
                .iter()
                .zip(&w)
                .filter(|(sc, _)| sc.score.is_some())
                .filter_map(|(sc, &wi)| sc.dimensions.get(&d.id).map(|&x| (wi, x)))
                .collect();
            let (m, n, _) = weighted(&pairs);
            (d.id.clone(), (m, n))
        })
        .collect();

    let mut weights = BTreeMap::new();
    for (r, &wi) in respondents.iter().zip(&w) {
        weights.insert(r.cell, wi);
    }

    WardFigures {
        n,
        n_eff,
        weighting,
        status: status(n_eff, cfg),
        point: i,
        index,
        variance,
        satisfied_share,
        dimensions,
        trust: (trust, n_t),
        weights,
    }
}
