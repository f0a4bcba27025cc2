//! Step 11 of the method (docs/method.md): the composite ward score C = Σ ω_k·c_k that the measure feeds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::figures::{Status, WardFigures};

/// Id of the criterion filled from the satisfaction index I.
pub const SATISFACTION: &str = "satisfaction";

/// A configured criterion: id and weight ω_k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: String,
    pub weight: f64,
}

/// The default criteria: satisfaction 0.40, security_order 0.25, force_building 0.20,
/// urban_civility 0.15.
pub fn default_criteria() -> Vec<Criterion> {
    [
        (SATISFACTION, 0.40),
        ("security_order", 0.25),
        ("force_building", 0.20),
        ("urban_civility", 0.15),
    ]
    .into_iter()
    .map(|(id, weight)| Criterion {
        id: id.to_string(),
        weight,
    })
    .collect()
}

/// Checks a criteria configuration: non-empty, unique ids, one `satisfaction` criterion,
/// every weight finite and ≥ 0, weights summing to 1 within 1e-9.
pub fn validate_criteria(criteria: &[Criterion]) -> Result<(), String> {
    if criteria.is_empty() {
        return Err("no criteria configured".into());
    }
    let mut seen = BTreeSet::new();
    for c in criteria {
        if !seen.insert(c.id.as_str()) {
            return Err(format!("criterion {:?} configured twice", c.id));
        }
        if !c.weight.is_finite() || c.weight < 0.0 {
            return Err(format!(
                "criterion {:?} has invalid weight {}",
                c.id, c.weight
            ));
        }
    }
    if !seen.contains(SATISFACTION) {
        return Err(format!("the {SATISFACTION:?} criterion is missing"));
    }
    let sum: f64 = criteria.iter().map(|c| c.weight).sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(format!("criterion weights sum to {sum}, not 1"));
    }
    Ok(())
}

/// What step 11 needs from the satisfaction figures of a ward and period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionInput {
    /// I (step 5).
    pub index: Option<f64>,
    pub status: Status,
    /// Satisfied share (step 6), for the model-ward rule.
    pub satisfied_share: Option<f64>,
}

impl SatisfactionInput {
    pub fn from_figures(f: &WardFigures) -> SatisfactionInput {
        SatisfactionInput {
            index: f.index.map(|i| i.value),
            status: f.status,
            satisfied_share: f.satisfied_share.map(|(iv, _)| iv.value),
        }
    }
}

/// Whether every criterion had a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    Complete,
    Incomplete,
}

/// The composite score of a ward and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardScore {
    /// C; `None` when `incomplete`.
    pub value: Option<f64>,
    pub status: ScoreStatus,
    pub model_ward: bool,
    /// Ids of the criteria that had no value.
    pub missing: Vec<String>,
}

/// Step 11: C = Σ ω_k·c_k. The `satisfaction` criterion is I; the others come from `others`
/// (id → value on 0–100, entered by province or ministry staff). The score is `incomplete`
/// (value `None`) when satisfaction is `insufficient_data` or has no index, or any criterion
/// has no value (a non-finite value or one outside 0–100 counts as none). `model_ward` is true
/// only for a complete score whose satisfied share is ≥ `satisfied_model_ward`.
pub fn ward_score(
    criteria: &[Criterion],
    sat: &SatisfactionInput,
    others: &BTreeMap<String, f64>,
    satisfied_model_ward: f64,
) -> WardScore {
    let valid = |x: f64| x.is_finite() && (0.0..=100.0).contains(&x);
    let mut missing = Vec::new();
    let mut total = 0.0;
    for c in criteria {
        let value = if c.id == SATISFACTION {
            sat.index
                .filter(|_| sat.status != Status::InsufficientData)
                .filter(|&x| valid(x))
        } else {
            others.get(&c.id).copied().filter(|&x| valid(x))
        };
        match value {
            Some(x) => total += c.weight * x,
            None => missing.push(c.id.clone()),
        }
    }
    if missing.is_empty() {
        let model_ward = sat
            .satisfied_share
            .is_some_and(|s| s >= satisfied_model_ward);
        WardScore {
            value: Some(total),
            status: ScoreStatus::Complete,
            model_ward,
            missing,
        }
    } else {
        WardScore {
            value: None,
            status: ScoreStatus::Incomplete,
            model_ward: false,
            missing,
        }
    }
}
