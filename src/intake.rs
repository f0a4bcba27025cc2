//! From a validated survey answer to what the store writes: answer rows, the respondent the
//! measure sees, and its rollup contributions. Shared by the web form, paper imports and
//! `index verify`, so that all three compute contributions the same way.

use chrono::{DateTime, Utc};

use crate::measure::{self, Cell, Respondent, ScaleSpec};
use crate::store::responses::{AnswerRow, Channel, NewResponse};
use crate::survey::{Answer, FormErrors, Kind, Mode, Survey, ValidatedResponse};

/// What the statistics module needs to know about a survey.
pub fn scale_spec(survey: &Survey) -> ScaleSpec {
    // Listed once for both (a spec is made for every submission).
    let items = survey.scale_items();
    let alpha_items = survey.alpha_items_of(&items);
    ScaleSpec {
        dimensions: items
            .into_iter()
            .map(|d| measure::Dimension {
                id: d.id,
                weight: d.weight,
                items: d.items,
            })
            .collect(),
        overall_item: survey.overall_item().to_string(),
        trust_item: survey.trust_item().unwrap_or_default().to_string(),
        alpha_items,
        min_dimensions: 3,
    }
}

/// Parses form fields or CSV cells for `survey`.
pub fn parse(
    survey: &Survey,
    pairs: &[(String, String)],
    mode: Mode,
) -> Result<ValidatedResponse, FormErrors> {
    crate::survey::parse_form(survey, pairs, mode)
}

fn cell_of(v: &ValidatedResponse) -> Cell {
    Cell::from_parts(v.sex, v.age)
}

/// Whether a question's answers feed the measure's Likert items (dimension items and overall).
fn is_measured_likert(survey: &Survey, id: &str) -> bool {
    survey.question(id).is_some_and(|q| q.kind == Kind::Likert5)
}

/// The respondent as the measure sees it.
pub fn respondent(survey: &Survey, v: &ValidatedResponse) -> Respondent {
    let mut r = Respondent {
        cell: cell_of(v),
        items: Default::default(),
        overall: None,
        trust: None,
    };
    let overall = survey.overall_item();
    let trust = survey.trust_item();
    for (id, a) in &v.answers {
        match a {
            Answer::Likert(x) if id == overall => r.overall = Some(*x),
            Answer::Likert(x) if is_measured_likert(survey, id) => {
                r.items.insert(id.clone(), *x);
            }
            Answer::Scale(x) if Some(id.as_str()) == trust => r.trust = Some(*x),
            _ => {}
        }
    }
    r
}

/// The respondent rebuilt from stored answer rows (for `index verify` and exclusions).
pub fn respondent_from_rows(survey: &Survey, cell: Cell, rows: &[AnswerRow]) -> Respondent {
    let mut r = Respondent {
        cell,
        items: Default::default(),
        overall: None,
        trust: None,
    };
    let overall = survey.overall_item();
    let trust = survey.trust_item();
    for a in rows {
        let Some(x) = a.value_num.and_then(|x| u8::try_from(x).ok()) else {
            continue;
        };
        if a.question_id == overall {
            r.overall = Some(x);
        } else if Some(a.question_id.as_str()) == trust {
            r.trust = Some(x);
        } else if is_measured_likert(survey, &a.question_id) {
            r.items.insert(a.question_id.clone(), x);
        }
    }
    r
}

/// A validated answer set made ready to store.
pub fn new_response(
    survey: &Survey,
    v: &ValidatedResponse,
    ward_code: &str,
    channel: Channel,
    submitted_at: DateTime<Utc>,
) -> NewResponse {
    let mut answers: Vec<AnswerRow> = v
        .answers
        .iter()
        .map(|(id, a)| {
            let (value_num, value_text) = match a {
                Answer::Likert(x) | Answer::Scale(x) => (Some(i32::from(*x)), None),
                Answer::Na => (None, None),
                Answer::Choice(s) | Answer::Text(s) => (None, Some(s.clone())),
            };
            AnswerRow {
                question_id: id.clone(),
                value_num,
                value_text,
            }
        })
        .collect();
    // Demographics are answers too (one row each), besides the cell kept on the response.
    if let Some(s) = v.sex {
        answers.push(AnswerRow {
            question_id: "sex".into(),
            value_num: None,
            value_text: Some(s.as_str().into()),
        });
    }
    if let Some(a) = v.age {
        answers.push(AnswerRow {
            question_id: "age".into(),
            value_num: None,
            value_text: Some(a.as_str().into()),
        });
    }
    let respondent = respondent(survey, v);
    let contributions = measure::contributions(&scale_spec(survey), &respondent);
    NewResponse {
        ward_code: ward_code.to_string(),
        survey_id: survey.id.clone(),
        survey_version: i32::try_from(survey.version).unwrap_or(i32::MAX),
        channel,
        submitted_at,
        cell: respondent.cell,
        answers,
        contact: v
            .contact
            .as_ref()
            .filter(|c| c.consent)
            .map(|c| (c.email.clone(), c.consent)),
        flag_reason: None,
        device_hash: None,
        token_hash: None,
        privacy_hash: None,
        interviewer_id: None,
        ip_hash: None,
        alert_basis: None,
        misconduct: Vec::new(),
        contributions,
    }
}
