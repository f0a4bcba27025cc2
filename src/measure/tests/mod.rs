//! Tests of the measure: the reference vector of docs/method.md and rollup-versus-raw properties.

mod edge;
mod prop;
mod reference;

use std::collections::BTreeMap;

use super::{Age, Cell, Dimension, Margins, Respondent, ScaleSpec, Sex};

/// The ward-police instrument as the method sees it (surveys/ward-police.toml).
pub(super) fn ward_police() -> ScaleSpec {
    let dim = |id: &str, weight: f64, items: [&str; 2]| Dimension {
        id: id.to_string(),
        weight,
        items: items.iter().map(|s| s.to_string()).collect(),
    };
    ScaleSpec {
        dimensions: vec![
            dim("service", 0.25, ["a1", "a2"]),
            dim("response", 0.20, ["r1", "r2"]),
            dim("security", 0.25, ["s1", "s2"]),
            dim("civility", 0.15, ["c1", "c2"]),
            dim("procedures", 0.15, ["p1", "p2"]),
        ],
        overall_item: "overall".into(),
        trust_item: "trust".into(),
        alpha_items: ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        min_dimensions: 3,
    }
}

pub(super) const ITEMS: [&str; 10] = ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2", "p1", "p2"];

/// Builds a respondent from its cell and answers in the order of [`ITEMS`] (0 = `na`).
pub(super) fn respondent(
    cell: Cell,
    answers: [u8; 10],
    overall: Option<u8>,
    trust: Option<u8>,
) -> Respondent {
    let items: BTreeMap<String, u8> = ITEMS
        .iter()
        .zip(answers)
        .filter(|(_, x)| *x != 0)
        .map(|(i, x)| (i.to_string(), x))
        .collect();
    Respondent {
        cell,
        items,
        overall,
        trust,
    }
}

/// The reference margins: M/F × 18–34/35–54/55+ = .17 .17 .14 / .17 .18 .17.
pub(super) fn reference_margins() -> Margins {
    let mut m = BTreeMap::new();
    for (s, shares) in [(Sex::M, [0.17, 0.17, 0.14]), (Sex::F, [0.17, 0.18, 0.17])] {
        for (a, p) in Age::ALL.into_iter().zip(shares) {
            m.insert((s, a), p);
        }
    }
    Margins(m)
}
