//! Property test over the database: for random responses, margins and batch splits, every
//! figure read from the stored rollups equals a direct computation from the raw stored rows
//! (to 1e-9), and `index verify` finds no difference — after random inserts, exclusions and
//! inclusions.

use std::collections::BTreeMap;

use hailong::entities::response;
use hailong::measure::{self, Cell, MethodConfig, WardFigures};
use hailong::period::Period;
use hailong::store::responses::AnswerRow;
use hailong::store::{self, figures::MeasureCtx, responses::Channel, units::UnitRow};
use hailong::survey::{Catalog, Mode};
use proptest::prelude::*;
use sea_orm::EntityTrait;

use crate::helpers::repo_path;

#[derive(Debug, Clone)]
struct Ballot {
    ward: usize,
    month: u32,
    sex: &'static str,
    age: &'static str,
    likert: Vec<Option<u8>>, // a1..c2 (None = na)
    used: bool,
    p: [Option<u8>; 2],
    overall: Option<u8>,
    trust: Option<u8>,
}

const ITEMS: [&str; 8] = ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"];
const WARDS: [&str; 2] = ["00004", "00008"];

fn ballot() -> impl Strategy<Value = Ballot> {
    (
        0..2usize,
        1..=3u32,
        prop::sample::select(vec!["m", "f", "x"]),
        prop::sample::select(vec!["18-34", "35-54", "55+", "x"]),
        prop::collection::vec(prop::option::weighted(0.85, 1..=5u8), 8),
        any::<bool>(),
        [
            prop::option::weighted(0.8, 1..=5u8),
            prop::option::weighted(0.8, 1..=5u8),
        ],
        prop::option::weighted(0.9, 1..=5u8),
        prop::option::weighted(0.8, 0..=10u8),
    )
        .prop_map(
            |(ward, month, sex, age, likert, used, p, overall, trust)| Ballot {
                ward,
                month,
                sex,
                age,
                likert,
                used,
                p,
                overall,
                trust,
            },
        )
}

fn margins_strategy() -> impl Strategy<Value = Option<Vec<f64>>> {
    prop::option::of(prop::collection::vec(1..100u32, 6).prop_map(|v| {
        let s: u32 = v.iter().sum();
        v.into_iter().map(|x| f64::from(x) / f64::from(s)).collect()
    }))
}

fn pairs(b: &Ballot) -> Vec<(String, String)> {
    let v = |x: Option<u8>| x.map_or("na".to_string(), |x| x.to_string());
    let mut p: Vec<(String, String)> = ITEMS
        .iter()
        .zip(&b.likert)
        .map(|(id, x)| (id.to_string(), v(*x)))
        .collect();
    p.push((
        "used_procedures".into(),
        if b.used { "yes" } else { "no" }.into(),
    ));
    p.push(("p1".into(), v(b.p[0])));
    p.push(("p2".into(), v(b.p[1])));
    p.push((
        "overall".into(),
        b.overall.map(|x| x.to_string()).unwrap_or_default(),
    ));
    p.push((
        "trust".into(),
        b.trust.map(|x| x.to_string()).unwrap_or_default(),
    ));
    p.push(("sex".into(), b.sex.into()));
    p.push(("age".into(), b.age.into()));
    p
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn same(a: &WardFigures, b: &WardFigures) -> Result<(), String> {
    let opt = |x: Option<f64>, y: Option<f64>, what: &str| match (x, y) {
        (None, None) => Ok(()),
        (Some(x), Some(y)) if close(x, y) => Ok(()),
        _ => Err(format!("{what}: rollups {x:?} vs raw {y:?}")),
    };
    if a.n != b.n || a.status != b.status || a.weighting != b.weighting {
        return Err(format!("n/status/weighting differ: {a:?} vs {b:?}"));
    }
    opt(Some(a.n_eff), Some(b.n_eff), "n_eff")?;
    opt(a.index.map(|i| i.value), b.index.map(|i| i.value), "index")?;
    opt(
        a.index.map(|i| i.ci_low),
        b.index.map(|i| i.ci_low),
        "ci_low",
    )?;
    opt(
        a.index.map(|i| i.ci_high),
        b.index.map(|i| i.ci_high),
        "ci_high",
    )?;
    opt(a.variance, b.variance, "variance")?;
    opt(
        a.satisfied_share.map(|s| s.0.value),
        b.satisfied_share.map(|s| s.0.value),
        "share",
    )?;
    opt(
        a.satisfied_share.map(|s| s.0.ci_low),
        b.satisfied_share.map(|s| s.0.ci_low),
        "share low",
    )?;
    opt(a.trust.0, b.trust.0, "trust")?;
    for (id, (v, n)) in &a.dimensions {
        let (w, m) = b.dimensions[id];
        if *n != m {
            return Err(format!("dimension {id} n {n} vs {m}"));
        }
        opt(*v, w, id)?;
    }
    Ok(())
}

async fn check(
    ballots: Vec<Ballot>,
    margins: Option<Vec<f64>>,
    split: usize,
    min_cell: usize,
    ops: Vec<(usize, bool)>,
) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    let db = hailong::db::open(&url).await.map_err(|e| e.to_string())?;
    let units: Vec<UnitRow> = WARDS
        .iter()
        .map(|w| UnitRow {
            province_code: "01".into(),
            province_name: "Thành phố Hà Nội".into(),
            province_kind: "thành phố trung ương".into(),
            ward_code: w.to_string(),
            ward_name: format!("Phường {w}"),
            ward_kind: "phường".into(),
        })
        .collect();
    store::units::upsert_units(&db, &units)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(m) = &margins {
        let mut csv = String::from("ward_code,sex,age,share\n");
        for (i, (s, a)) in ["m", "f"]
            .iter()
            .flat_map(|s| ["18-34", "35-54", "55+"].map(move |a| (s, a)))
            .enumerate()
        {
            csv.push_str(&format!("00004,{s},{a},{}\n", m[i]));
        }
        let rows = store::units::parse_margins(&db, &csv)
            .await
            .map_err(|e| e.to_string())?;
        store::units::replace_margins(&db, rows)
            .await
            .map_err(|e| e.to_string())?;
    }
    let catalog = Catalog::load(repo_path("surveys")).map_err(|_| "catalog".to_string())?;
    let survey = catalog.get("ward-police").unwrap();
    let mut news = Vec::new();
    for b in &ballots {
        let v =
            hailong::intake::parse(survey, &pairs(b), Mode::Paper).map_err(|e| e.to_string())?;
        let at = hailong::period::parse_instant(&format!("2026-{:02}-15T10:00:00+07:00", b.month))
            .unwrap();
        news.push(hailong::intake::new_response(
            survey,
            &v,
            WARDS[b.ward],
            Channel::Paper,
            at,
        ));
    }
    let split = split.min(news.len());
    store::write_batch(&db, &news[..split])
        .await
        .map_err(|e| e.to_string())?;
    store::write_batch(&db, &news[split..])
        .await
        .map_err(|e| e.to_string())?;

    // Random exclusions and inclusions by a reviewer, each updating the rollups.
    let ids: Vec<i64> = response::Entity::find()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| r.id)
        .collect();
    for (i, exclude) in ops {
        let id = ids[i % ids.len()];
        let r = if exclude {
            store::flags::exclude(&db, &catalog, id, "reviewer@test.vn").await
        } else {
            store::flags::include(&db, &catalog, id, "reviewer@test.vn").await
        };
        r.map_err(|e| format!("{e:?}"))?;
    }

    let report = store::verify::verify(&db, &catalog)
        .await
        .map_err(|e| e.to_string())?;
    if !report.differences.is_empty() {
        return Err(format!("verify: {:?}", report.differences));
    }

    // Raw rows back from the database, grouped by ward.
    let spec = hailong::intake::scale_spec(survey);
    let method = MethodConfig {
        min_cell,
        ..MethodConfig::default()
    };
    let criteria = measure::default_criteria();
    let ctx = MeasureCtx {
        spec: &spec,
        method: &method,
        criteria: &criteria,
        config_hash: "",
    };
    let stored = response::Entity::find()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let mut raw: BTreeMap<(String, String), Vec<measure::Respondent>> = BTreeMap::new();
    for r in stored.iter().filter(|r| r.status == "counted") {
        let resp = hailong::intake::respondent_from_rows(
            survey,
            Cell::parse(&r.cell).unwrap(),
            &AnswerRow::from_json(&r.answers),
        );
        raw.entry((r.ward_code.clone(), r.month.clone()))
            .or_default()
            .push(resp);
    }
    let margins_model = store::units::margins_of(&db, "00004")
        .await
        .map_err(|e| e.to_string())?;
    let m = (!margins_model.is_empty()).then(|| {
        measure::Margins::new(
            margins_model
                .iter()
                .map(|x| {
                    (
                        (
                            measure::Sex::parse(&x.sex).unwrap(),
                            measure::Age::parse(&x.age).unwrap(),
                        ),
                        x.share,
                    )
                })
                .collect(),
        )
    });
    for ward in WARDS {
        for period in ["2026-Q1", "2026-01", "2026-02", "2026-03"] {
            let p = Period::parse(period).unwrap();
            let from_rollups = store::figures::ward_figures(&db, ctx, ward, p)
                .await
                .map_err(|e| e.to_string())?;
            let rows: Vec<measure::Respondent> = p
                .months()
                .iter()
                .flat_map(|mk| {
                    raw.get(&(ward.to_string(), mk.clone()))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            let margins = if ward == "00004" { m.as_ref() } else { None };
            let direct = measure::raw::figures(&spec, &rows, margins, &method);
            same(&from_rollups, &direct).map_err(|e| format!("{ward} {period}: {e}"))?;
        }
    }
    db.close().await.ok();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn stored_rollups_match_raw_rows(
        ballots in prop::collection::vec(ballot(), 1..60),
        margins in margins_strategy(),
        split in 0..60usize,
        min_cell in 1..4usize,
        ops in prop::collection::vec((0..60usize, any::<bool>()), 0..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = rt.block_on(check(ballots, margins, split, min_cell, ops));
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}
