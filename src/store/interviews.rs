//! Assisted interviews: who entered them, and the province's figures per channel and per
//! interviewer (docs/integrity.md, "Assisted interviews").
//!
//! The breakdown is the measure's own index (`measure::figures`) computed per group, without
//! weights (a group is a slice of a province, not a ward with margins). Each group's rollup is
//! built from its counted responses of the period, scored under the survey they answered, as
//! `index verify` scores them. Online answers through the plain link (`web`) are most of a
//! province's responses: their rollup is the province's stored rollups less every other
//! channel's, so that only the other channels' responses are read.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;

use super::responses::AnswerRow;
use crate::entities::{response, response_interviewer, staff_user};
use crate::measure::{self, Cell, MethodConfig, Rollup, ScaleSpec, WardFigures};
use crate::period::Period;
use crate::survey::catalog::Catalog;

/// The interviews `interviewer_id` has entered for `ward`.
pub async fn count_entered(
    db: &impl ConnectionTrait,
    interviewer_id: i64,
    ward: &str,
) -> Result<u64, DbErr> {
    response_interviewer::Entity::find()
        .filter(response_interviewer::Column::InterviewerId.eq(interviewer_id))
        .filter(
            response_interviewer::Column::ResponseId.in_subquery(
                Query::select()
                    .column(response::Column::Id)
                    .from(response::Entity)
                    .and_where(Expr::col(response::Column::WardCode).eq(ward))
                    .to_owned(),
            ),
        )
        .count(db)
        .await
}

/// Whether `receipt` is an interview of `ward` that `interviewer_id` entered.
pub async fn entered_by(
    db: &impl ConnectionTrait,
    receipt: &str,
    ward: &str,
    interviewer_id: i64,
) -> Result<bool, DbErr> {
    let Some(r) = response::Entity::find()
        .filter(response::Column::Receipt.eq(receipt))
        .filter(response::Column::WardCode.eq(ward))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    Ok(response_interviewer::Entity::find_by_id(r.id)
        .one(db)
        .await?
        .is_some_and(|i| i.interviewer_id == interviewer_id))
}

/// One group's figures (unweighted), as the page shows them.
#[derive(Debug, Clone, Serialize)]
pub struct GroupFigures {
    pub n: i64,
    pub index: Option<measure::Interval>,
    /// I alone (from n = 1).
    pub point: Option<f64>,
    #[serde(skip)]
    pub variance: Option<f64>,
}

impl GroupFigures {
    fn of(f: &WardFigures) -> GroupFigures {
        GroupFigures {
            n: f.n,
            index: f.index,
            point: f.point,
            variance: f.variance,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelRow {
    /// `web`, `poster`, `token`, `paper`, `api` or `assisted`.
    pub channel: String,
    pub figures: GroupFigures,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterviewerRow {
    pub interviewer_id: i64,
    pub email: String,
    pub ward_code: String,
    pub ward_name: String,
    pub figures: GroupFigures,
    /// Every other counted response of the same ward and period.
    pub rest: GroupFigures,
    /// I of the interviewer's interviews − I of the rest of the ward.
    pub difference: Option<f64>,
    /// Welch's two-sided p of that difference (docs/method.md step 8, without the
    /// Benjamini–Hochberg step: the page flags, it does not publish).
    pub p: Option<f64>,
}

impl InterviewerRow {
    /// Whether the difference from the rest of the ward is significant at 5%.
    pub fn stands_out(&self) -> bool {
        self.p.is_some_and(|p| p < 0.05)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Breakdown {
    /// Channels with at least one counted response, in the order of `CHANNEL_ORDER`.
    pub channels: Vec<ChannelRow>,
    /// Interviewers with at least one counted interview, by ward then e-mail.
    pub interviewers: Vec<InterviewerRow>,
}

/// The order channels are listed in.
const CHANNEL_ORDER: [&str; 6] = ["web", "poster", "token", "paper", "api", "assisted"];

/// The province's counted responses of `period` per channel and, for assisted interviews, per
/// interviewer and ward, with the measure's unweighted index of each group.
pub async fn province_breakdown(
    db: &impl ConnectionTrait,
    catalog: &Catalog,
    spec: &ScaleSpec,
    method: &MethodConfig,
    province_code: &str,
    period: Period,
) -> Result<Breakdown, DbErr> {
    let units = super::units::units_of_province(db, province_code).await?;
    let wards: Vec<String> = units.iter().map(|u| u.code.clone()).collect();
    let names: HashMap<&str, &str> = units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let months = period.months();
    let by_ward = super::rollups::read(
        db,
        Some(&wards),
        &months,
        true,
        super::rollups::Metrics::Figures,
    )
    .await?;
    let mut total = Rollup::new();
    for r in by_ward.values() {
        total.merge(r);
    }
    // Every counted response of the period that did not come through the plain link.
    let mut channels: BTreeMap<String, Rollup> = BTreeMap::new();
    let mut interviews: BTreeMap<(i64, String), Rollup> = BTreeMap::new();
    let mut specs: HashMap<String, ScaleSpec> = HashMap::new();
    for chunk in wards.chunks(500) {
        let mut last_id = 0i64;
        loop {
            let page = response::Entity::find()
                .filter(response::Column::Id.gt(last_id))
                .filter(response::Column::WardCode.is_in(chunk.to_vec()))
                .filter(response::Column::Month.is_in(months.clone()))
                .filter(response::Column::Status.eq("counted"))
                .filter(response::Column::Channel.ne("web"))
                .order_by_asc(response::Column::Id)
                .limit(2000)
                .all(db)
                .await?;
            let Some(last) = page.last() else { break };
            last_id = last.id;
            let assisted: Vec<i64> = page
                .iter()
                .filter(|r| r.channel == "assisted")
                .map(|r| r.id)
                .collect();
            let who: HashMap<i64, i64> = if assisted.is_empty() {
                HashMap::new()
            } else {
                response_interviewer::Entity::find()
                    .filter(response_interviewer::Column::ResponseId.is_in(assisted))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| (m.response_id, m.interviewer_id))
                    .collect()
            };
            for r in &page {
                let Some(survey) = catalog.get(&r.survey_id) else {
                    return Err(DbErr::Custom(format!(
                        "response {} answered survey `{}`, which is not in the catalog",
                        r.id, r.survey_id
                    )));
                };
                let spec_r = specs
                    .entry(r.survey_id.clone())
                    .or_insert_with(|| crate::intake::scale_spec(survey));
                let cell = Cell::parse(&r.cell).unwrap_or(Cell::Unknown);
                let answers = AnswerRow::from_json(&r.answers);
                let respondent = crate::intake::respondent_from_rows(survey, cell, &answers);
                channels
                    .entry(r.channel.clone())
                    .or_default()
                    .add_respondent(spec_r, &respondent);
                if let Some(&interviewer) = who.get(&r.id) {
                    interviews
                        .entry((interviewer, r.ward_code.clone()))
                        .or_default()
                        .add_respondent(spec_r, &respondent);
                }
            }
        }
    }
    let mut web = total;
    for rollup in channels.values() {
        for ((cell, metric), acc) in &rollup.cells {
            web.sub(*cell, metric, *acc);
        }
    }
    channels.insert("web".into(), web);
    let figures_of = |r: &Rollup| measure::figures(spec, r, None, method);
    let mut out = Breakdown::default();
    for c in CHANNEL_ORDER {
        if let Some(r) = channels.get(c) {
            let f = figures_of(r);
            if f.n > 0 {
                out.channels.push(ChannelRow {
                    channel: c.to_string(),
                    figures: GroupFigures::of(&f),
                });
            }
        }
    }
    let ids: Vec<i64> = interviews.keys().map(|(id, _)| *id).collect();
    let emails: HashMap<i64, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        staff_user::Entity::find()
            .filter(staff_user::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    };
    let empty = Rollup::new();
    for ((id, ward), rollup) in &interviews {
        let mine = figures_of(rollup);
        if mine.n == 0 {
            continue;
        }
        let mut rest = by_ward.get(ward).unwrap_or(&empty).clone();
        for ((cell, metric), acc) in &rollup.cells {
            rest.sub(*cell, metric, *acc);
        }
        let rest = figures_of(&rest);
        let difference = match (mine.point, rest.point) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        };
        let p = match (mine.point, mine.variance, rest.point, rest.variance) {
            (Some(i1), Some(v1), Some(i0), Some(v0)) => {
                measure::welch(i1, v1, mine.n, i0, v0, rest.n).map(|w| w.p)
            }
            _ => None,
        };
        out.interviewers.push(InterviewerRow {
            interviewer_id: *id,
            email: emails.get(id).cloned().unwrap_or_default(),
            ward_code: ward.clone(),
            ward_name: names.get(ward.as_str()).copied().unwrap_or("").to_string(),
            figures: GroupFigures::of(&mine),
            rest: GroupFigures::of(&rest),
            difference,
            p,
        });
    }
    out.interviewers.sort_by(|a, b| {
        (a.ward_code.as_str(), a.email.as_str()).cmp(&(b.ward_code.as_str(), b.email.as_str()))
    });
    Ok(out)
}
