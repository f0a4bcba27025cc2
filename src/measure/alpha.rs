//! Step 10 of the method (docs/method.md): Cronbach's α per dimension and for the whole scale, from the
//! `alpha:*` rollups. Pool a province's quarter by merging the rollups of its wards and
//! months ([`super::Rollup::merge`]) and then computing α once.
//!
//! α = k/(k − 1)·(1 − Σ s²_i / s²_T), with s²_i the sample variance of item i and s²_T that of
//! the total T = Σ items, over the listwise-complete cases of the scale (unweighted).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ScaleSpec;
use super::rollup::{self, Rollup};

/// α of one scale and the number of complete cases it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alpha {
    /// `None` when fewer than 2 items or 2 complete cases, or zero total variance.
    pub value: Option<f64>,
    pub n: i64,
}

/// Cronbach's α of the scale `scale` (`"all"` or a dimension id) with the given items.
pub fn cronbach_alpha(rollup: &Rollup, scale: &str, items: &[String]) -> Alpha {
    let total = rollup.total(&rollup::alpha_key(scale, rollup::ALPHA_TOTAL));
    let n = total.n;
    let k = items.len();
    let value = (|| {
        if k < 2 {
            return None;
        }
        let var_t = total.sample_variance()?;
        // Zero total variance, allowing for rounding in Σ² − (Σ)²/n.
        let scale_t = total.sumsq / n as f64;
        if var_t <= 1e-12 * scale_t.max(1.0) {
            return None;
        }
        let mut var_items = 0.0;
        for item in items {
            let acc = rollup.total(&rollup::alpha_key(scale, item));
            if acc.n != n {
                return None; // inconsistent rollup: not the same complete cases
            }
            var_items += acc.sample_variance()?;
        }
        let k = k as f64;
        Some(k / (k - 1.0) * (1.0 - var_items / var_t))
    })();
    Alpha { value, n }
}

/// α for the whole scale (key `"all"`, items [`ScaleSpec::alpha_items`]) and every dimension
/// (key = dimension id).
pub fn alphas(spec: &ScaleSpec, rollup: &Rollup) -> BTreeMap<String, Alpha> {
    let mut out = BTreeMap::new();
    out.insert(
        rollup::ALPHA_ALL.to_string(),
        cronbach_alpha(rollup, rollup::ALPHA_ALL, &spec.alpha_items),
    );
    for d in &spec.dimensions {
        out.insert(d.id.clone(), cronbach_alpha(rollup, &d.id, &d.items));
    }
    out
}
