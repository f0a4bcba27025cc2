//! Property tests: the rollup path equals the raw oracle, also after exclusions and merges.

use std::collections::BTreeMap;

use proptest::option::weighted;
use proptest::prelude::*;

use super::super::*;
use super::{ITEMS, ward_police};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn close_iv(a: &Interval, b: &Interval) -> bool {
    close(a.value, b.value) && close(a.ci_low, b.ci_low) && close(a.ci_high, b.ci_high)
}

/// Asserts that two sets of figures agree to 1e-9 (relative for large values).
fn assert_figures_close(a: &WardFigures, b: &WardFigures, cfg: &MethodConfig) {
    assert_eq!(a.n, b.n, "n");
    assert_eq!(a.weighting, b.weighting, "weighting");
    assert!(close(a.n_eff, b.n_eff), "n_eff {} vs {}", a.n_eff, b.n_eff);
    let near_threshold = [cfg.insufficient_below, cfg.published_from]
        .iter()
        .any(|t| (a.n_eff - t).abs() < 1e-6);
    if !near_threshold {
        assert_eq!(a.status, b.status, "status");
    }
    match (&a.index, &b.index) {
        (Some(x), Some(y)) => assert!(close_iv(x, y), "index {x:?} vs {y:?}"),
        (None, None) => {}
        _ => panic!("index {:?} vs {:?}", a.index, b.index),
    }
    assert!(
        close_opt(a.variance, b.variance),
        "variance {:?} vs {:?}",
        a.variance,
        b.variance
    );
    match (&a.satisfied_share, &b.satisfied_share) {
        (Some((x, nx)), Some((y, ny))) => {
            assert_eq!(nx, ny, "share n");
            assert!(close_iv(x, y), "share {x:?} vs {y:?}");
        }
        (None, None) => {}
        _ => panic!("share {:?} vs {:?}", a.satisfied_share, b.satisfied_share),
    }
    assert_eq!(a.dimensions.len(), b.dimensions.len());
    for (id, (va, na)) in &a.dimensions {
        let (vb, nb) = b.dimensions[id];
        assert_eq!(*na, nb, "{id} n");
        assert!(close_opt(*va, vb), "{id}: {va:?} vs {vb:?}");
    }
    assert_eq!(a.trust.1, b.trust.1, "trust n");
    assert!(
        close_opt(a.trust.0, b.trust.0),
        "trust {:?} vs {:?}",
        a.trust,
        b.trust
    );
    assert_eq!(
        a.weights.keys().collect::<Vec<_>>(),
        b.weights.keys().collect::<Vec<_>>()
    );
    for (cell, wa) in &a.weights {
        assert!(
            close(*wa, b.weights[cell]),
            "weight {cell}: {wa} vs {}",
            b.weights[cell]
        );
    }
    for f in [a, b] {
        assert!(f.n_eff.is_finite());
        if let Some(iv) = f.index {
            assert!(0.0 <= iv.ci_low && iv.ci_low <= iv.value + 1e-9);
            assert!(iv.value <= iv.ci_high + 1e-9 && iv.ci_high <= 100.0);
        }
    }
}

fn cell_strategy() -> impl Strategy<Value = Cell> {
    (0usize..8).prop_map(|i| Cell::known_cells().nth(i).unwrap_or(Cell::Unknown))
}

fn respondent_strategy() -> impl Strategy<Value = Respondent> {
    let answers = prop_oneof![
        prop::collection::vec(weighted(0.35, 1u8..=5), ITEMS.len()),
        prop::collection::vec(weighted(0.9, 1u8..=5), ITEMS.len()),
    ];
    (
        cell_strategy(),
        answers,
        weighted(0.85, 1u8..=5),
        weighted(0.8, 0u8..=10),
    )
        .prop_map(|(cell, answers, overall, trust)| Respondent {
            cell,
            items: ITEMS
                .iter()
                .zip(answers)
                .filter_map(|(i, x)| x.map(|x| (i.to_string(), x)))
                .collect::<BTreeMap<_, _>>(),
            overall,
            trust,
        })
}

fn margins_strategy() -> impl Strategy<Value = Option<Margins>> {
    weighted(
        0.75,
        prop::collection::vec(prop_oneof![9 => 0.01f64..1.0, 1 => Just(0.0)], 6).prop_map(
            |shares| {
                Margins(
                    Cell::known_cells()
                        .zip(shares)
                        .map(|(c, p)| match c {
                            Cell::Known(s, a) => ((s, a), p),
                            Cell::Unknown => unreachable!(),
                        })
                        .collect(),
                )
            },
        ),
    )
}

fn cfg_strategy() -> impl Strategy<Value = MethodConfig> {
    (1usize..6, prop_oneof![Just(5.0), 1.0f64..3.0]).prop_map(|(min_cell, weight_cap)| {
        MethodConfig {
            min_cell,
            weight_cap,
            ..MethodConfig::default()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn rollup_matches_raw(
        rs in prop::collection::vec(respondent_strategy(), 0..60),
        margins in margins_strategy(),
        cfg in cfg_strategy(),
    ) {
        let spec = ward_police();
        let rollup = Rollup::from_respondents(&spec, &rs);
        let a = figures(&spec, &rollup, margins.as_ref(), &cfg);
        let b = raw::figures(&spec, &rs, margins.as_ref(), &cfg);
        assert_figures_close(&a, &b, &cfg);
    }

    #[test]
    fn exclusion_matches_raw_on_remaining(
        rs_mask in prop::collection::vec((respondent_strategy(), any::<bool>()), 0..60),
        margins in margins_strategy(),
        cfg in cfg_strategy(),
    ) {
        let spec = ward_police();
        let all: Vec<Respondent> = rs_mask.iter().map(|(r, _)| r.clone()).collect();
        let mut rollup = Rollup::from_respondents(&spec, &all);
        for (r, excluded) in &rs_mask {
            if *excluded {
                rollup.sub_respondent(&spec, r);
            }
        }
        let kept: Vec<Respondent> =
            rs_mask.iter().filter(|(_, e)| !e).map(|(r, _)| r.clone()).collect();
        let a = figures(&spec, &rollup, margins.as_ref(), &cfg);
        let b = raw::figures(&spec, &kept, margins.as_ref(), &cfg);
        assert_figures_close(&a, &b, &cfg);
        // α from the rollup after exclusion equals α of the kept responses.
        let direct = Rollup::from_respondents(&spec, &kept);
        let (x, y) = (alphas(&spec, &rollup), alphas(&spec, &direct));
        for (scale, ax) in &x {
            let ay = y[scale];
            prop_assert_eq!(ax.n, ay.n);
            if let (Some(u), Some(v)) = (ax.value, ay.value) {
                // α is a ratio of variances; allow for cancellation in Σ² − (Σ)²/n.
                prop_assert!((u - v).abs() <= 1e-6 * u.abs().max(1.0), "{}: {} vs {}", scale, u, v);
            }
        }
    }

    #[test]
    fn merged_months_match_raw_quarter(
        rs in prop::collection::vec(respondent_strategy(), 0..60),
        cut1 in 0usize..60,
        cut2 in 0usize..60,
        margins in margins_strategy(),
        cfg in cfg_strategy(),
    ) {
        let spec = ward_police();
        let (c1, c2) = (cut1.min(cut2).min(rs.len()), cut1.max(cut2).min(rs.len()));
        let mut quarter = Rollup::from_respondents(&spec, &rs[..c1]);
        quarter.merge(&Rollup::from_respondents(&spec, &rs[c1..c2]));
        quarter.merge(&Rollup::from_respondents(&spec, &rs[c2..]));
        let a = figures(&spec, &quarter, margins.as_ref(), &cfg);
        let b = raw::figures(&spec, &rs, margins.as_ref(), &cfg);
        assert_figures_close(&a, &b, &cfg);
    }

    #[test]
    fn bh_q_values_are_monotone_and_bounded(p in prop::collection::vec(0.0f64..=1.0, 0..30)) {
        let q = benjamini_hochberg(&p);
        prop_assert_eq!(q.len(), p.len());
        for (pi, qi) in p.iter().zip(&q) {
            prop_assert!(*qi >= *pi - 1e-15 && *qi <= 1.0);
        }
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    prop_assert!(q[i] <= q[j] + 1e-15);
                }
            }
        }
    }
}
