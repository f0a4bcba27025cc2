//! `hailong index verify`: recompute every rollup from the raw responses and compare.

use std::collections::BTreeMap;

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::responses::AnswerRow;
use super::rollups::RollupKey;
use crate::entities::response;
use crate::measure::{Acc, Cell};
use crate::survey::catalog::Catalog;

pub struct VerifyReport {
    pub responses: u64,
    pub rows_checked: usize,
    pub differences: Vec<String>,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Recomputes the rollups of every counted response, reading responses in pages.
pub async fn recompute(
    db: &DatabaseConnection,
    catalog: &Catalog,
) -> Result<(BTreeMap<RollupKey, Acc>, u64), DbErr> {
    let mut expected: BTreeMap<RollupKey, Acc> = BTreeMap::new();
    let mut last_id = 0i64;
    let mut count = 0u64;
    loop {
        let page = response::Entity::find()
            .filter(response::Column::Id.gt(last_id))
            .filter(response::Column::Status.eq("counted"))
            .order_by_asc(response::Column::Id)
            .limit(2000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        last_id = last.id;
        for r in &page {
            let Some(survey) = catalog.get(&r.survey_id) else {
                return Err(DbErr::Custom(format!(
                    "response {} answered survey `{}`, which is not in the catalog",
                    r.id, r.survey_id
                )));
            };
            let spec = crate::intake::scale_spec(survey);
            let cell = Cell::parse(&r.cell).unwrap_or(Cell::Unknown);
            let answers = AnswerRow::from_json(&r.answers);
            let respondent = crate::intake::respondent_from_rows(survey, cell, &answers);
            for (cell, metric, acc) in crate::measure::contributions(&spec, &respondent) {
                expected
                    .entry((r.ward_code.clone(), r.month.clone(), cell.key(), metric))
                    .or_default()
                    .add(&acc);
            }
            count += 1;
        }
    }
    Ok((expected, count))
}

pub async fn verify(db: &DatabaseConnection, catalog: &Catalog) -> Result<VerifyReport, DbErr> {
    let (expected, responses) = recompute(db, catalog).await?;
    let stored_map = super::rollups::read_all(db).await?;
    let mut differences = Vec::new();
    let mut seen = 0usize;
    let zero = Acc::default();
    let mut keys: Vec<&RollupKey> = expected.keys().chain(stored_map.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        seen += 1;
        let e = expected.get(key).unwrap_or(&zero);
        let s = stored_map.get(key).unwrap_or(&zero);
        if e.n != s.n || !close(e.sum, s.sum) || !close(e.sumsq, s.sumsq) {
            let (ward, month, cell, metric) = key;
            differences.push(format!(
                "ward {ward} month {month} cell {cell} metric {metric}: stored n={} Σ={} Σ²={}, recomputed n={} Σ={} Σ²={}",
                s.n, s.sum, s.sumsq, e.n, e.sum, e.sumsq
            ));
        }
    }
    Ok(VerifyReport {
        responses,
        rows_checked: seen,
        differences,
    })
}
