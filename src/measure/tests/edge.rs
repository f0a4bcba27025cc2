//! Edge cases: degenerate inputs never panic nor produce NaN; small unit checks.

use std::collections::BTreeMap;

use super::super::ranking::THETA_TIE;
use super::super::*;
use super::{reference_margins, respondent, ward_police};

fn full(cell: Cell, x: u8) -> Respondent {
    respondent(cell, [x; 10], Some(x), Some(x * 2))
}

#[test]
fn empty_and_single() {
    let spec = ward_police();
    let cfg = MethodConfig::default();
    let margins = reference_margins();
    for rs in [vec![], vec![full(Cell::Unknown, 4)]] {
        for m in [None, Some(&margins)] {
            let f = figures(&spec, &Rollup::from_respondents(&spec, &rs), m, &cfg);
            assert_eq!(f, raw::figures(&spec, &rs, m, &cfg));
            assert_eq!(f.index, None);
            assert_eq!(f.variance, None);
            assert_eq!(f.status, Status::InsufficientData);
            assert_eq!(f.weighting, Weighting::None);
            assert!(f.n_eff.is_finite());
        }
    }
    let one = figures(
        &spec,
        &Rollup::from_respondents(&spec, &[full(Cell::Unknown, 4)]),
        None,
        &cfg,
    );
    assert_eq!(one.n, 1);
    // I is defined from n = 1; v and the CI need n ≥ 2.
    assert_eq!(one.point, Some(75.0));
    assert_eq!((one.index, one.variance), (None, None));
    assert_eq!(one.trust, (Some(80.0), 1));
    assert_eq!(one.dimensions["service"], (Some(75.0), 1));
    assert_eq!(one.satisfied_share.unwrap().0.value, 1.0);
}

#[test]
fn uncounted_respondent_still_weighted_and_in_overall_and_trust() {
    let spec = ward_police();
    let cell = Cell::Known(Sex::F, Age::A35_54);
    // Two dimensions answered: not counted (step 3), but answered overall and trust.
    let partial = respondent(cell, [5, 5, 5, 5, 0, 0, 0, 0, 0, 0], Some(5), Some(10));
    let rs = vec![full(cell, 2), full(cell, 3), partial];
    let rollup = Rollup::from_respondents(&spec, &rs);
    let f = figures(&spec, &rollup, None, &MethodConfig::default());
    assert_eq!(f.n, 2);
    assert_eq!(f.dimensions["service"].1, 2);
    assert_eq!(f.satisfied_share.unwrap().1, 3);
    assert_eq!(f.trust.1, 3);
    assert_eq!(rollup.cell_counts()[&cell], 3);
}

#[test]
fn constant_scores_give_zero_variance() {
    let spec = ward_police();
    let rs: Vec<Respondent> = (0..5).map(|_| full(Cell::Unknown, 3)).collect();
    let f = figures(
        &spec,
        &Rollup::from_respondents(&spec, &rs),
        None,
        &MethodConfig::default(),
    );
    let iv = f.index.unwrap();
    assert_eq!(f.variance, Some(0.0));
    assert_eq!((iv.value, iv.ci_low, iv.ci_high), (50.0, 50.0, 50.0));
    assert_eq!(
        alphas(&spec, &Rollup::from_respondents(&spec, &rs))["all"].value,
        None
    );
}

#[test]
fn unusable_margins_fall_back_to_none() {
    let spec = ward_police();
    let rs = vec![
        full(Cell::Known(Sex::M, Age::A18_34), 4),
        full(Cell::Known(Sex::F, Age::A55p), 2),
    ];
    let rollup = Rollup::from_respondents(&spec, &rs);
    let cfg = MethodConfig::default();
    let mut m = reference_margins();
    m.0.insert((Sex::M, Age::A18_34), 0.0);
    assert_eq!(weights(&rollup, Some(&m), &cfg).0, Weighting::None);
    m.0.insert((Sex::M, Age::A18_34), f64::NAN);
    assert_eq!(weights(&rollup, Some(&m), &cfg).0, Weighting::None);
    // All respondents unknown: nothing to weight.
    let unknown =
        Rollup::from_respondents(&spec, &[full(Cell::Unknown, 4), full(Cell::Unknown, 2)]);
    let (w, map) = weights(&unknown, Some(&reference_margins()), &cfg);
    assert_eq!(w, Weighting::None);
    assert_eq!(map[&Cell::Unknown], 1.0);
}

#[test]
fn raking_with_an_absent_sex_class_and_unknowns() {
    let spec = ward_police();
    let mut rs = vec![full(Cell::Unknown, 5)];
    for (age, k) in [(Age::A18_34, 1), (Age::A35_54, 4), (Age::A55p, 2)] {
        for _ in 0..k {
            rs.push(full(Cell::Known(Sex::F, age), 3));
        }
    }
    let (w, map) = weights(
        &Rollup::from_respondents(&spec, &rs),
        Some(&reference_margins()),
        &MethodConfig::default(),
    );
    assert_eq!(w, Weighting::Raked);
    assert_eq!(map[&Cell::Unknown], 1.0);
    // Only F present: the age margins (.34 .35 .31) are matched exactly, Σ known w = n_K = 7.
    let f = |a| map[&Cell::Known(Sex::F, a)];
    assert!((f(Age::A18_34) * 1.0 - 0.34 * 7.0).abs() < 1e-9);
    assert!((f(Age::A35_54) * 4.0 - 0.35 * 7.0).abs() < 1e-9);
    assert!((f(Age::A55p) * 2.0 - 0.31 * 7.0).abs() < 1e-9);
}

#[test]
fn weight_cap_binds_once_and_renormalises() {
    let spec = ward_police();
    // One young man against many older women with equal population shares: a large weight.
    let mut rs = vec![full(Cell::Known(Sex::M, Age::A18_34), 5)];
    for _ in 0..20 {
        rs.push(full(Cell::Known(Sex::F, Age::A55p), 2));
    }
    let mut m = BTreeMap::new();
    m.insert((Sex::M, Age::A18_34), 0.5);
    m.insert((Sex::F, Age::A55p), 0.5);
    let cfg = MethodConfig {
        min_cell: 1,
        ..MethodConfig::default()
    };
    let (w, map) = weights(
        &Rollup::from_respondents(&spec, &rs),
        Some(&Margins(m)),
        &cfg,
    );
    assert_eq!(w, Weighting::PostStratified);
    let young = map[&Cell::Known(Sex::M, Age::A18_34)];
    let old = map[&Cell::Known(Sex::F, Age::A55p)];
    // Uncapped 10.5 and 0.525 (mean 1) → capped at 5, then renormalised to sum 21.
    assert!((young - 5.0 * 21.0 / 15.5).abs() < 1e-12);
    assert!((old - 0.525 * 21.0 / 15.5).abs() < 1e-12);
    assert!((young + 20.0 * old - 21.0).abs() < 1e-9);
}

#[test]
fn cell_keys_and_serde() {
    for cell in Cell::known_cells().chain([Cell::Unknown]) {
        assert_eq!(Cell::parse(&cell.key()), Some(cell));
    }
    assert_eq!(Cell::Known(Sex::M, Age::A55p).key(), "m:55+");
    assert_eq!(Cell::parse("x:18-34"), None);
    assert_eq!(
        Cell::from_parts(Sex::parse("x"), Age::parse("18-34")),
        Cell::Unknown
    );
    let spec = ward_police();
    let rs = vec![
        full(Cell::Known(Sex::F, Age::A18_34), 4),
        full(Cell::Unknown, 2),
    ];
    let f = figures(
        &spec,
        &Rollup::from_respondents(&spec, &rs),
        None,
        &MethodConfig::default(),
    );
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["weighting"], "none");
    assert_eq!(json["status"], "insufficient_data");
    assert_eq!(json["weights"]["f:18-34"], 1.0);
    let back: WardFigures = serde_json::from_value(json).unwrap();
    assert_eq!(back, f);
    assert_eq!(serde_json::to_value(Age::A55p).unwrap(), "55+");
    assert_eq!(serde_json::to_value(Sex::F).unwrap(), "f");
}

#[test]
fn status_thresholds() {
    let cfg = MethodConfig::default();
    assert_eq!(status(29.999, &cfg), Status::InsufficientData);
    assert_eq!(status(30.0, &cfg), Status::LowReliability);
    assert_eq!(status(49.999, &cfg), Status::LowReliability);
    assert_eq!(status(50.0, &cfg), Status::Published);
    assert_eq!(status(f64::NAN, &cfg), Status::InsufficientData);
    // Thresholds are compared with a tolerance of 1e-9.
    assert_eq!(status(29.9999999999, &cfg), Status::LowReliability);
    assert_eq!(status(29.99999999, &cfg), Status::InsufficientData);
    assert_eq!(status(49.9999999999, &cfg), Status::Published);
}

#[test]
fn welch_degenerate() {
    // No spread in either period: a difference is certain, no difference is none.
    let up = welch(50.0, 0.0, 10, 40.0, 0.0, 10).unwrap();
    assert_eq!((up.t, up.p), (f64::INFINITY, 0.0));
    let down = welch(25.0, 0.0, 10, 75.0, 0.0, 10).unwrap();
    assert_eq!((down.t, down.p), (f64::NEG_INFINITY, 0.0));
    let same = welch(40.0 + 1e-12, 0.0, 10, 40.0, 0.0, 10).unwrap();
    assert_eq!((same.t, same.p), (0.0, 1.0));
    assert_eq!(welch(50.0, 1.0, 1, 40.0, 1.0, 10), None);
    assert_eq!(welch(f64::NAN, 1.0, 5, 40.0, 1.0, 10), None);
    let w = welch(50.0, 4.0, 10, 50.0, 4.0, 10).unwrap();
    assert_eq!((w.t, w.p), (0.0, 1.0));
}

#[test]
fn bh_example() {
    let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
    let expected = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
    for (a, b) in q.iter().zip(expected) {
        assert!((a - b).abs() < 1e-15, "{q:?}");
    }
    assert!(benjamini_hochberg(&[]).is_empty());
}

#[test]
fn change_flags_rise_drop_and_untested() {
    let p = |index, variance, status| PeriodIndex {
        index,
        variance,
        n: 100,
        status,
    };
    let ok = Status::Published;
    let wards = vec![
        ChangeInput {
            ward_code: "up".into(),
            current: p(70.0, 1.0, ok),
            previous: Some(p(60.0, 1.0, ok)),
        },
        ChangeInput {
            ward_code: "down".into(),
            current: p(50.0, 1.0, ok),
            previous: Some(p(60.0, 1.0, ok)),
        },
        ChangeInput {
            ward_code: "flat".into(),
            current: p(60.5, 1.0, ok),
            previous: Some(p(60.0, 1.0, ok)),
        },
        ChangeInput {
            ward_code: "new".into(),
            current: p(60.0, 1.0, ok),
            previous: None,
        },
        ChangeInput {
            ward_code: "thin".into(),
            current: p(90.0, 1.0, Status::InsufficientData),
            previous: Some(p(10.0, 1.0, ok)),
        },
    ];
    let out = change_flags(&wards, 0.05);
    let flags: Vec<ChangeFlag> = out.iter().map(|c| c.flag).collect();
    assert_eq!(
        flags,
        [
            ChangeFlag::SignificantRise,
            ChangeFlag::SignificantDrop,
            ChangeFlag::None,
            ChangeFlag::None,
            ChangeFlag::None
        ]
    );
    assert!(out[2].q.unwrap() > 0.05);
    assert_eq!((out[3].q, out[4].welch), (None, None));
}

#[test]
fn a_certain_change_without_spread_is_flagged() {
    let p = |index| PeriodIndex {
        index,
        variance: 0.0,
        n: 40,
        status: Status::LowReliability,
    };
    let wards = [
        ChangeInput {
            ward_code: "drop".into(),
            current: p(25.0),
            previous: Some(p(75.0)),
        },
        ChangeInput {
            ward_code: "same".into(),
            current: p(75.0),
            previous: Some(p(75.0)),
        },
    ];
    let flags: Vec<ChangeFlag> = change_flags(&wards, 0.05).iter().map(|c| c.flag).collect();
    assert_eq!(flags, [ChangeFlag::SignificantDrop, ChangeFlag::None]);
}

#[test]
fn shrunken_estimates_within_the_tolerance_tie() {
    let e = |c: &str, y: f64, v| WardEstimate {
        ward_code: c.into(),
        index: y,
        variance: v,
    };
    // "b" and "a" have identical answers but θ differs in the last bit through the
    // order of additions; the tie goes by raw index, then ward code, so "a" comes first.
    let s = shrinkage(&[
        e("b", 60.000000000001, 4.0),
        e("a", 60.000000000001, 4.0 + 1e-8),
        e("c", 70.0, 4.0),
        e("d", 40.0, 4.0),
    ]);
    // μ < 60, so "a" (larger variance) is shrunk a little more: its θ is lower in the last
    // bits, and a strict order by θ would put "b" first.
    let theta = |c: &str| s.wards.iter().find(|w| w.ward_code == c).unwrap().theta;
    assert!(theta("a") < theta("b") && theta("b") - theta("a") <= THETA_TIE);
    let order: Vec<&str> = s.wards.iter().map(|w| w.ward_code.as_str()).collect();
    assert_eq!(order, ["c", "a", "b", "d"]);
    assert_eq!(
        s.wards.iter().map(|w| w.rank).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn ranking_single_ties_and_invalid() {
    let e = |c: &str, y, v| WardEstimate {
        ward_code: c.into(),
        index: y,
        variance: v,
    };
    let one = shrinkage(&[e("a", 61.0, 4.0)]);
    assert_eq!(one.tau2, 0.0);
    assert_eq!(one.mu, Some(61.0));
    assert_eq!(one.wards[0].theta, 61.0);
    // Identical estimates: τ² = 0, θ = μ for all; ties by raw index then ward code.
    let s = shrinkage(&[
        e("c", 60.0, 4.0),
        e("b", 60.0, 4.0),
        e("a", 60.0, 4.0),
        e("z", 60.0, 0.0),
    ]);
    assert_eq!(s.tau2, 0.0);
    let order: Vec<&str> = s.wards.iter().map(|w| w.ward_code.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(s.excluded, ["z"]);
    assert_eq!(shrinkage(&[]).mu, None);
}

#[test]
fn criteria_validation_and_incomplete_scores() {
    validate_criteria(&default_criteria()).unwrap();
    let mut c = default_criteria();
    c[0].weight = 0.5;
    assert!(validate_criteria(&c).is_err());
    let mut c = default_criteria();
    c[1].id = "satisfaction".into();
    assert!(validate_criteria(&c).is_err());
    assert!(validate_criteria(&[]).is_err());

    let sat = SatisfactionInput {
        index: Some(80.0),
        status: Status::Published,
        satisfied_share: Some(0.8),
    };
    let mut others: BTreeMap<String, f64> = [("security_order", 70.0), ("force_building", 85.0)]
        .iter()
        .map(|&(k, v)| (k.into(), v))
        .collect();
    let s = ward_score(&default_criteria(), &sat, &others, 0.8);
    assert_eq!(
        (s.status, s.value, s.model_ward),
        (ScoreStatus::Incomplete, None, false)
    );
    assert_eq!(s.missing, ["urban_civility"]);
    others.insert("urban_civility".into(), 60.0);
    let s = ward_score(&default_criteria(), &sat, &others, 0.8);
    assert_eq!(s.status, ScoreStatus::Complete);
    assert!(s.model_ward);
    assert!((s.value.unwrap() - (32.0 + 17.5 + 17.0 + 9.0)).abs() < 1e-12);
}
