//! The reviewers' side of withheld complaints and flagged responses, on the province's review
//! page (`GET /staff/provinces/{code}/review`, see `review`): the withheld complaints of the
//! province's wards with every answer shown, and its flagged responses, each listed with a
//! checkbox so that a reviewer acts on many at once:
//! `POST /staff/provinces/{code}/review/release` releases the ticked complaints to their wards,
//! `POST /staff/provinces/{code}/review/include` counts the ticked flagged responses and
//! `POST /staff/provinces/{code}/review/exclude` takes ticked complaints out of the index (a
//! fabricated complaint, say). Each takes
//! the session's CSRF token; every step is audited (`store::withheld`, `store::flags`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::{Staff, see_other};
use crate::app::AppState;
use crate::entities::response;
use crate::error::{AppError, AppResult};
use crate::store::responses::AnswerRow;
use crate::store::{flags, withheld};
use crate::survey::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/staff/provinces/{province_code}/review/release",
            post(release),
        )
        .route(
            "/staff/provinces/{province_code}/review/include",
            post(include),
        )
        .route(
            "/staff/provinces/{province_code}/review/exclude",
            post(exclude),
        )
}

/// The most flagged responses the review page lists (the newest; the ward queues hold all).
const FLAGGED_SHOWN: u64 = 200;

fn vietnam_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// Every answer of a response as (question, answer) in words: what the resident wrote first
/// (that is what a reviewer decides on), then the scores in the survey's order; free text
/// masked (left out without `with_text`, for a page that shows it already); contact answers
/// are never shown here.
pub(super) fn answers_in_words(
    state: &AppState,
    r: &response::Model,
    unit_kind: crate::survey::UnitKind,
    lang: Lang,
    with_text: bool,
) -> Vec<Value> {
    let rows = AnswerRow::from_json(&r.answers);
    let Some(survey) = state.catalog.get(&r.survey_id) else {
        return rows
            .iter()
            .map(|a| json!({"q": a.question_id, "a": a.value_text.clone().or(a.value_num.map(|n| n.to_string()))}))
            .collect();
    };
    let mut written = Vec::new();
    let mut out = Vec::new();
    for q in &survey.questions {
        if q.id.starts_with("contact_") || (!with_text && q.kind == crate::survey::Kind::Text) {
            continue;
        }
        let Some(a) = rows.iter().find(|a| a.question_id == q.id) else {
            continue;
        };
        let answer = match (&a.value_num, &a.value_text) {
            (Some(n), _) => match q.kind {
                crate::survey::Kind::Likert5 => format!("{n}/5"),
                _ => n.to_string(),
            },
            (None, Some(t)) => match q.options.iter().find(|c| &c.value == t) {
                Some(c) => c.label.get(lang).to_string(),
                None => super::feedback::masked(t),
            },
            (None, None) => match lang {
                Lang::En => "not applicable".to_string(),
                Lang::Vi => "không áp dụng".to_string(),
            },
        };
        let row = json!({"q": q.text.render(lang, unit_kind), "a": answer});
        if q.kind == crate::survey::Kind::Text {
            written.push(row);
        } else {
            out.push(row);
        }
    }
    written.extend(out);
    written
}

/// The two lists of the review page: withheld complaints and flagged responses of the
/// province's wards.
pub async fn review_lists(
    state: &AppState,
    province_code: &str,
    lang: Lang,
) -> AppResult<(Vec<Value>, Vec<Value>)> {
    use crate::survey::UnitKind;
    let mut names: std::collections::HashMap<String, (String, UnitKind)> =
        std::collections::HashMap::new();
    let mut name_of = async |code: &str| -> AppResult<(String, UnitKind)> {
        if let Some(n) = names.get(code) {
            return Ok(n.clone());
        }
        let n = match state.units.get(&state.db, code).await? {
            Some(u) => (
                crate::web::reach::unit_title(&u),
                UnitKind::from_db(&u.kind).unwrap_or(UnitKind::Phuong),
            ),
            None => (code.to_string(), UnitKind::Phuong),
        };
        names.insert(code.to_string(), n.clone());
        Ok(n)
    };
    let mut complaints = Vec::new();
    for p in withheld::pending_of_province(&state.db, province_code).await? {
        let r = &p.response;
        let (title, kind) = name_of(&r.ward_code).await?;
        complaints.push(json!({
            "id": r.id,
            "ward_code": r.ward_code,
            "ward_title": title,
            "receipt": r.receipt,
            "submitted_at": vietnam_time(r.submitted_at),
            "keywords": p.withheld.keywords,
            "answers": answers_in_words(state, r, kind, lang, true),
        }));
    }
    let rows = flags::flagged_of_province(&state.db, province_code, FLAGGED_SHOWN).await?;
    let mut flagged = Vec::new();
    for r in rows {
        let kind = name_of(&r.ward_code).await?.1;
        flagged.push(json!({
            "answers": answers_in_words(state, &r, kind, lang, true),
            "id": r.id,
            "ward_code": r.ward_code,
            "ward_title": name_of(&r.ward_code).await?.0,
            "receipt": r.receipt,
            "channel": r.channel,
            "submitted_at": vietnam_time(r.submitted_at),
            "reason": r.flag_reason,
        }));
    }
    Ok((complaints, flagged))
}

/// The CSRF token and the ticked ids of a bulk form (`ids` repeated, as browsers send
/// checkboxes); a value that is not an id is ignored.
fn bulk_form(body: &[u8]) -> (Option<String>, Vec<i64>) {
    let mut csrf = None;
    let mut ids = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        match &*k {
            "csrf" => csrf = Some(v.into_owned()),
            "ids" => {
                if let Ok(id) = v.trim().parse::<i64>()
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            _ => {}
        }
    }
    (csrf, ids)
}

/// The province, when the user reviews it; else 404.
fn reviewable_province(staff: &Staff, code: &str) -> AppResult<()> {
    if staff.scope().reviews_wards() && staff.scope().contains_province(code) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn back(code: &str, done: &str, n: usize, staff: &Staff) -> Response {
    let lang = if staff.lang == Lang::En {
        "&lang=en"
    } else {
        ""
    };
    see_other(&format!(
        "/staff/provinces/{code}/review?done={done}&n={n}{lang}"
    ))
}

async fn release(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let (csrf, ids) = bulk_form(&body);
    if let Some(r) = staff.check_csrf(&state, csrf.as_deref()) {
        return Ok(r);
    }
    reviewable_province(&staff, &code)?;
    if ids.is_empty() {
        return Ok(back(&code, "none", 0, &staff));
    }
    let n = withheld::release(&state.db, &ids, Some(&code), &staff.user.email).await?;
    Ok(back(&code, "released", n, &staff))
}

async fn include(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    set_counted(&state, &staff, &code, &body, true).await
}

async fn exclude(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    set_counted(&state, &staff, &code, &body, false).await
}

/// Counts (`include`) or takes out of the index the ticked responses of the province's wards;
/// ids of other provinces are ignored.
async fn set_counted(
    state: &AppState,
    staff: &Staff,
    code: &str,
    body: &[u8],
    include: bool,
) -> AppResult<Response> {
    let (csrf, ids) = bulk_form(body);
    if let Some(r) = staff.check_csrf(state, csrf.as_deref()) {
        return Ok(r);
    }
    reviewable_province(staff, code)?;
    if ids.is_empty() {
        return Ok(back(code, "none", 0, staff));
    }
    let mut n = 0;
    for id in ids {
        let Some(r) = response::Entity::find_by_id(id).one(&state.db).await? else {
            continue;
        };
        let in_province = state
            .units
            .get(&state.db, &r.ward_code)
            .await?
            .is_some_and(|u| u.province_code == code);
        if !in_province {
            continue;
        }
        let change = if include {
            flags::include(&state.db, &state.catalog, id, &staff.user.email).await
        } else {
            flags::exclude(&state.db, &state.catalog, id, &staff.user.email).await
        };
        match change {
            Ok(flags::Change::Done) => n += 1,
            Ok(flags::Change::AlreadyThere) => {}
            Err(e) => return Err(AppError::Internal(format!("{e:?}"))),
        }
    }
    Ok(back(
        code,
        if include { "included" } else { "excluded" },
        n,
        staff,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn bulk_forms_take_repeated_ids_and_ignore_the_rest() {
        let (csrf, ids) = super::bulk_form(b"csrf=abc&ids=3&ids=x&ids=5&ids=3&other=1");
        assert_eq!(csrf.as_deref(), Some("abc"));
        assert_eq!(ids, vec![3, 5]);
        assert_eq!(super::bulk_form(b"").1, Vec::<i64>::new());
    }
}
