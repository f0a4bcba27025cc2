//! The satisfaction measure, method version 1 (docs/method.md).
//!
//! This module is pure: no I/O, no clocks, no database. It turns survey-neutral inputs
//! (a [`ScaleSpec`] describing the instrument, [`Respondent`]s, ward [`Margins`] and a
//! [`MethodConfig`]) into the published figures.
//!
//! Layout, following the steps of docs/method.md:
//!
//! | step | file |
//! |---|---|
//! | 1–3 rescaling, dimension scores D, respondent score S | [`respondent`] |
//! | per-cell additive rollups (count, Σ, Σ²) | [`rollup`] |
//! | 4 weights (post-stratification, raking, cap) | [`mod@weights`] |
//! | 5–7 index, CI, satisfied share, dimensions, trust, status | [`mod@figures`] |
//! | 8 change between periods (Welch + Benjamini–Hochberg) | [`change`] |
//! | 9 empirical-Bayes ranking | [`ranking`] |
//! | 10 Cronbach's α | [`alpha`] |
//! | 11 the composite ward score | [`score`] |
//!
//! [`raw`] recomputes steps 4–7 directly from respondent rows, without rollups; it is the
//! oracle behind `hailong index verify` and the property tests.
//!
//! ## Readings of the method where the text leaves room
//!
//! * **Who each figure covers.** Weights are computed once, over every non-excluded response
//!   of the ward and period (n_h counts all responses in cell h, counted or not). Then:
//!   the index I, its variance, CI, `n` and `n_eff` cover the *counted* respondents (step 3:
//!   at least `min_dimensions` dimensions answered); a dimension's value covers the counted
//!   respondents who answered that dimension (step 6 says so explicitly); the satisfied share
//!   covers *every* response that answered `overall`, and trust every response that answered
//!   `trust` (step 6 restricts only the dimension values to counted respondents; the
//!   reference vector cannot tell the two readings apart because all twelve rows are counted).
//! * **Raking.** The sex margin of class s is Σ_a P(s, a) over all age classes in the ward
//!   margins, renormalised over the sex classes present among known respondents (likewise for
//!   age). Targets are those shares × n_K. Raking starts from the observed cell counts n_h of
//!   the present cells (absent cells stay 0), and each round scales the rows to the sex
//!   targets, then the columns to the age targets. It stops after the first round in which no
//!   cell total moved by more than 1e-9, or after 100 rounds; then w_h = cell total / n_h.
//! * **Cap.** Applied once after post-stratification or raking: known weights are capped at
//!   `weight_cap` × (their mean over known respondents), then all known weights are rescaled
//!   so that they sum to n_K (a weight may exceed the cap again after this; "once").
//! * **Unusable margins.** Margins containing a negative or non-finite share, or giving a zero
//!   share to a cell where respondents were observed, are not used: weighting is `none`.
//!   Margins with no known respondents also give `none`.
//! * **Cronbach's α** is unweighted and uses every non-excluded response that answered all
//!   items of the scale (listwise), counted or not.
//! * **Rounding.** Rollups hold f64 sums, so Σw²(S − I)² = Σw²S² − 2IΣw²S + I²Σw² carries
//!   rounding noise; a value ≤ 1e-10·Σw²S² is taken as 0 in both the rollup path and the raw
//!   oracle ([`figures::DEVIATION_NOISE`]), so that a ward whose scores are all equal gets a
//!   zero-width CI after any sequence of additions and exclusions.
//! * **Not computable** figures are `None`, never NaN: the index and its variance need n ≥ 2
//!   counted respondents; a mean needs at least one respondent it covers.

pub mod alpha;
pub mod bands;
pub mod change;
pub mod figures;
pub mod ranking;
pub mod raw;
pub mod respondent;
pub mod rollup;
pub mod score;
pub mod weights;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use alpha::{Alpha, alphas, cronbach_alpha};
pub use bands::{RankBand, rank_bands};
pub use change::{
    ChangeFlag, ChangeInput, PeriodIndex, WardChange, Welch, benjamini_hochberg, change_flags,
    welch,
};
pub use figures::{Interval, Status, WardFigures, figures, status};
pub use ranking::{RankedWard, Shrinkage, WardEstimate, shrinkage};
pub use respondent::{Scored, rescale, score_respondent};
pub use rollup::{Acc, Rollup, contributions};
pub use score::{
    Criterion, SatisfactionInput, ScoreStatus, WardScore, default_criteria, validate_criteria,
    ward_score,
};
pub use weights::{Weighting, weights};

/// Version of the method implemented here; recorded with every published figure.
pub const METHOD_VERSION: u32 = 1;

/// Sex of a respondent, as used for post-stratification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    M,
    F,
}

impl Sex {
    /// All sex classes, in cell order.
    pub const ALL: [Sex; 2] = [Sex::M, Sex::F];

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "m",
            Sex::F => "f",
        }
    }

    /// Parses `"m"` or `"f"`; anything else (including `"x"`, "prefer not to say") is `None`.
    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "m" => Some(Sex::M),
            "f" => Some(Sex::F),
            _ => None,
        }
    }
}

/// Age class of a respondent, as used for post-stratification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Age {
    #[serde(rename = "18-34")]
    A18_34,
    #[serde(rename = "35-54")]
    A35_54,
    #[serde(rename = "55+")]
    A55p,
}

impl Age {
    /// All age classes, in cell order.
    pub const ALL: [Age; 3] = [Age::A18_34, Age::A35_54, Age::A55p];

    pub fn as_str(self) -> &'static str {
        match self {
            Age::A18_34 => "18-34",
            Age::A35_54 => "35-54",
            Age::A55p => "55+",
        }
    }

    /// Parses `"18-34"`, `"35-54"` or `"55+"`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Age> {
        match s {
            "18-34" => Some(Age::A18_34),
            "35-54" => Some(Age::A35_54),
            "55+" => Some(Age::A55p),
            _ => None,
        }
    }
}

/// A sex × age cell, or `Unknown` (sex not given or "prefer not to say", or age not given).
///
/// Key strings (stored in the database): `"m:18-34"` … `"f:55+"`, `"unknown"`.
/// Serialises as its key string, so it can be a JSON map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cell {
    Known(Sex, Age),
    Unknown,
}

impl Cell {
    /// The six known cells, in order.
    pub fn known_cells() -> impl Iterator<Item = Cell> {
        Sex::ALL
            .into_iter()
            .flat_map(|s| Age::ALL.into_iter().map(move |a| Cell::Known(s, a)))
    }

    /// The cell of a respondent from its (optional) sex and age; `Unknown` if either is missing.
    pub fn from_parts(sex: Option<Sex>, age: Option<Age>) -> Cell {
        match (sex, age) {
            (Some(s), Some(a)) => Cell::Known(s, a),
            _ => Cell::Unknown,
        }
    }

    pub fn key(&self) -> String {
        match self {
            Cell::Known(s, a) => {
                let (s, a) = (s.as_str(), a.as_str());
                let mut key = String::with_capacity(s.len() + 1 + a.len());
                key.push_str(s);
                key.push(':');
                key.push_str(a);
                key
            }
            Cell::Unknown => "unknown".to_string(),
        }
    }

    /// Inverse of [`Cell::key`].
    pub fn parse(s: &str) -> Option<Cell> {
        if s == "unknown" {
            return Some(Cell::Unknown);
        }
        let (sex, age) = s.split_once(':')?;
        Some(Cell::Known(Sex::parse(sex)?, Age::parse(age)?))
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Cell::Known(..))
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Cell::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown cell {s:?}")))
    }
}

/// A dimension of the instrument: its id, its weight w_d (step 3) and its likert5 items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    pub id: String,
    pub weight: f64,
    pub items: Vec<String>,
}

/// What the method needs to know about an instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleSpec {
    pub dimensions: Vec<Dimension>,
    /// The likert5 item whose answers 4 and 5 are "satisfied" (step 6).
    pub overall_item: String,
    /// The 0–10 trust item (step 6).
    pub trust_item: String,
    /// Items of the whole-scale Cronbach's α (for ward-police: a1 a2 r1 r2 s1 s2 c1 c2 — the
    /// items of dimensions whose questions are always shown).
    pub alpha_items: Vec<String>,
    /// A respondent counts when at least this many dimensions are answered (step 3; 3).
    pub min_dimensions: usize,
}

/// One respondent's answers: likert5 items as 1..=5 (absent = `na` or unanswered),
/// overall 1..=5, trust 0..=10. Out-of-range values are treated as missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Respondent {
    pub cell: Cell,
    pub items: BTreeMap<String, u8>,
    pub overall: Option<u8>,
    pub trust: Option<u8>,
}

/// Population shares per sex × age cell for a ward (step 4). Cells not listed have share 0.
/// The shares need not sum to 1: they are renormalised over the cells (or classes) present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Margins(pub BTreeMap<(Sex, Age), f64>);

impl Margins {
    pub fn new(shares: BTreeMap<(Sex, Age), f64>) -> Margins {
        Margins(shares)
    }

    /// The share of a cell (0 if not listed).
    pub fn share(&self, sex: Sex, age: Age) -> f64 {
        self.0.get(&(sex, age)).copied().unwrap_or(0.0)
    }

    /// Margin of a sex class: Σ over all age classes.
    pub fn sex_share(&self, sex: Sex) -> f64 {
        Age::ALL.iter().map(|&a| self.share(sex, a)).sum()
    }

    /// Margin of an age class: Σ over both sex classes.
    pub fn age_share(&self, age: Age) -> f64 {
        Sex::ALL.iter().map(|&s| self.share(s, age)).sum()
    }
}

/// The configurable constants of the method (defaults are docs/method.md's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MethodConfig {
    /// Step 4: a present cell with fewer respondents than this triggers raking (3).
    pub min_cell: usize,
    /// Step 4: known weights are capped at this multiple of their mean (5.0).
    pub weight_cap: f64,
    /// Step 7: n_eff below this is `insufficient_data` (30).
    pub insufficient_below: f64,
    /// Step 7: n_eff at or above this is `published` (50).
    pub published_from: f64,
    /// Step 8: Benjamini–Hochberg q below this flags a change (0.05).
    pub q_threshold: f64,
    /// Step 11: satisfied share at or above this makes a complete score a model ward (0.80).
    pub satisfied_model_ward: f64,
}

impl Default for MethodConfig {
    fn default() -> Self {
        MethodConfig {
            min_cell: 3,
            weight_cap: 5.0,
            insufficient_below: 30.0,
            published_from: 50.0,
            q_threshold: 0.05,
            satisfied_model_ward: 0.80,
        }
    }
}
