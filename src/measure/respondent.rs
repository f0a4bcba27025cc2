//! Steps 1–3 of the method (docs/method.md): rescaling, dimension scores and the respondent score.

use std::collections::BTreeMap;

use super::{Respondent, ScaleSpec};

/// Step 1: rescale a likert5 answer x ∈ 1..=5 to r = (x − 1) × 25 ∈ [0, 100].
/// Anything else (`na` is stored as absent) is missing — never 3.
pub fn rescale(x: u8) -> Option<f64> {
    (1..=5).contains(&x).then(|| f64::from(x - 1) * 25.0)
}

/// A respondent's answer to an item, rescaled (step 1).
pub(crate) fn item_value(r: &Respondent, item: &str) -> Option<f64> {
    r.items.get(item).copied().and_then(rescale)
}

/// Whether the `overall` answer is "satisfied" (4 or 5); `None` when not answered (step 6).
pub(crate) fn satisfied(r: &Respondent) -> Option<bool> {
    r.overall.filter(|x| (1..=5).contains(x)).map(|x| x >= 4)
}

/// The trust answer × 10, on 0–100; `None` when not answered (step 6).
pub(crate) fn trust_value(r: &Respondent) -> Option<f64> {
    r.trust.filter(|&t| t <= 10).map(|t| f64::from(t) * 10.0)
}

/// What steps 1–3 make of one respondent.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Step 2: D_d for every answered dimension (mean of its answered, rescaled items).
    pub dimensions: BTreeMap<String, f64>,
    /// Step 3: S = Σ w_d·D_d / Σ w_d over answered dimensions, present only when the respondent
    /// counts (at least `min_dimensions` dimensions answered, and Σ w_d > 0).
    pub score: Option<f64>,
}

/// Steps 1–3 for one respondent.
pub fn score_respondent(spec: &ScaleSpec, r: &Respondent) -> Scored {
    let mut dimensions = BTreeMap::new();
    let (mut sum_wd, mut sum_w) = (0.0, 0.0);
    for dim in &spec.dimensions {
        let values: Vec<f64> = dim
            .items
            .iter()
            .filter_map(|item| item_value(r, item))
            .collect();
        if values.is_empty() {
            continue;
        }
        // Step 2: D = mean of the answered items of the dimension.
        let d = values.iter().sum::<f64>() / values.len() as f64;
        sum_wd += dim.weight * d;
        sum_w += dim.weight;
        dimensions.insert(dim.id.clone(), d);
    }
    // Step 3: the respondent counts only with enough answered dimensions.
    let score = (dimensions.len() >= spec.min_dimensions && sum_w > 0.0).then(|| sum_wd / sum_w);
    Scored { dimensions, score }
}
