//! Step 4 of the method (docs/method.md): respondent weights, one per cell.
//!
//! Weights are computed once per ward and period over all non-excluded responses (n_h counts
//! every response in cell h, whether or not it counts for the index). Respondents with
//! unknown sex or age always get w = 1.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::rollup::Rollup;
use super::{Age, Cell, Margins, MethodConfig, Sex};

/// Raking stops when no cell total moves by more than this in a round (step 4).
pub const RAKING_TOLERANCE: f64 = 1e-9;
/// Raking stops after this many rounds at most (step 4).
pub const RAKING_MAX_ROUNDS: usize = 100;

/// How the weights of a ward and period were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// No (usable) margins: every w = 1.
    None,
    /// w_h = P_h·n_K/n_h.
    PostStratified,
    /// Raked on the sex and age margins because a present cell had fewer than `min_cell`.
    Raked,
}

/// Step 4 from a rollup: the weight of every cell present in the `resp` metric.
pub fn weights(
    rollup: &Rollup,
    margins: Option<&Margins>,
    cfg: &MethodConfig,
) -> (Weighting, BTreeMap<Cell, f64>) {
    weights_from_counts(&rollup.cell_counts(), margins, cfg)
}

/// Step 4 from the cell counts n_h (cells with n_h > 0).
pub fn weights_from_counts(
    counts: &BTreeMap<Cell, i64>,
    margins: Option<&Margins>,
    cfg: &MethodConfig,
) -> (Weighting, BTreeMap<Cell, f64>) {
    let unweighted = || -> BTreeMap<Cell, f64> { counts.keys().map(|&c| (c, 1.0)).collect() };
    // Known cells present, with their n_h.
    let known: BTreeMap<(Sex, Age), f64> = counts
        .iter()
        .filter_map(|(cell, &n)| match cell {
            Cell::Known(s, a) if n > 0 => Some(((*s, *a), n as f64)),
            _ => None,
        })
        .collect();
    let n_known: f64 = known.values().sum();
    let Some(margins) = margins else {
        return (Weighting::None, unweighted());
    };
    if known.is_empty() || !margins_usable(margins, known.keys()) {
        return (Weighting::None, unweighted());
    }

    let small_cell = known.values().any(|&n| n < cfg.min_cell as f64);
    // Cell totals Σ_{i∈h} w_i of the known cells.
    let (weighting, totals) = if small_cell {
        (Weighting::Raked, rake(&known, margins, n_known))
    } else {
        // Post-stratification: P renormalised over the cells present; total_h = P_h·n_K.
        let p_sum: f64 = known.keys().map(|&(s, a)| margins.share(s, a)).sum();
        let totals = known
            .keys()
            .map(|&(s, a)| ((s, a), margins.share(s, a) / p_sum * n_known))
            .collect();
        (Weighting::PostStratified, totals)
    };
    let mut w: BTreeMap<(Sex, Age), f64> =
        known.iter().map(|(k, &n)| (*k, totals[k] / n)).collect();

    // Once: cap at weight_cap × mean of the known respondents' weights, then renormalise
    // the known weights to sum n_K.
    let mean = known.iter().map(|(k, &n)| n * w[k]).sum::<f64>() / n_known;
    let cap = cfg.weight_cap * mean;
    for v in w.values_mut() {
        *v = v.min(cap);
    }
    let sum: f64 = known.iter().map(|(k, &n)| n * w[k]).sum();
    for v in w.values_mut() {
        *v *= n_known / sum;
    }

    let out = counts
        .keys()
        .map(|&cell| {
            let v = match cell {
                Cell::Known(s, a) => w[&(s, a)],
                Cell::Unknown => 1.0,
            };
            (cell, v)
        })
        .collect();
    (weighting, out)
}

/// Margins are usable when every share is finite and ≥ 0 and every present cell has a
/// positive share (a zero share for an observed cell means the margins do not describe the
/// respondents; they are then not used at all).
pub(crate) fn margins_usable<'a>(
    margins: &Margins,
    mut present: impl Iterator<Item = &'a (Sex, Age)>,
) -> bool {
    margins.0.values().all(|p| p.is_finite() && *p >= 0.0)
        && present.all(|&(s, a)| margins.share(s, a) > 0.0)
}

/// Raking (iterative proportional fitting) of the present known cells on the sex and age
/// margins. Returns the cell totals.
///
/// Targets: the margin of each sex (age) class present, renormalised over the classes
/// present, × n_K. Start from the cell counts; each round scales the sex rows to their
/// targets, then the age columns; stop after the first round in which no cell total moved
/// by more than [`RAKING_TOLERANCE`], or after [`RAKING_MAX_ROUNDS`] rounds.
fn rake(
    counts: &BTreeMap<(Sex, Age), f64>,
    margins: &Margins,
    n_known: f64,
) -> BTreeMap<(Sex, Age), f64> {
    let sexes: BTreeSet<Sex> = counts.keys().map(|&(s, _)| s).collect();
    let ages: BTreeSet<Age> = counts.keys().map(|&(_, a)| a).collect();
    let sex_sum: f64 = sexes.iter().map(|&s| margins.sex_share(s)).sum();
    let age_sum: f64 = ages.iter().map(|&a| margins.age_share(a)).sum();
    let sex_target: BTreeMap<Sex, f64> = sexes
        .iter()
        .map(|&s| (s, margins.sex_share(s) / sex_sum * n_known))
        .collect();
    let age_target: BTreeMap<Age, f64> = ages
        .iter()
        .map(|&a| (a, margins.age_share(a) / age_sum * n_known))
        .collect();

    let mut totals = counts.clone();
    for _ in 0..RAKING_MAX_ROUNDS {
        let before = totals.clone();
        for (&s, &target) in &sex_target {
            let row: f64 = totals
                .iter()
                .filter(|(k, _)| k.0 == s)
                .map(|(_, v)| v)
                .sum();
            let f = target / row;
            totals
                .iter_mut()
                .filter(|(k, _)| k.0 == s)
                .for_each(|(_, v)| *v *= f);
        }
        for (&a, &target) in &age_target {
            let col: f64 = totals
                .iter()
                .filter(|(k, _)| k.1 == a)
                .map(|(_, v)| v)
                .sum();
            let f = target / col;
            totals
                .iter_mut()
                .filter(|(k, _)| k.1 == a)
                .for_each(|(_, v)| *v *= f);
        }
        let moved = totals
            .iter()
            .map(|(k, v)| (v - before[k]).abs())
            .fold(0.0, f64::max);
        if moved <= RAKING_TOLERANCE {
            break;
        }
    }
    totals
}
