//! The pilot group, edited by the ministry: `GET /staff/pilot` (the group, a form to add a
//! unit by code or by name, accents optional), `POST /staff/pilot` (field `ward`) and
//! `POST /staff/pilot/{ward_code}/remove`, both with CSRF. Each change is audited and
//! confirmed on the page it leads back to. Anyone else gets `404`, like every ministry page.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::audit::words;
use super::{Staff, render, see_other};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::store::pilot;
use crate::store::units::UnitInfo;
use crate::web::Lang;
use crate::web::public::fold;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/pilot", get(page).post(add))
        .route("/staff/pilot/{ward_code}/remove", post(remove))
}

/// At most this many units are offered when a name matches several.
const MAX_CHOICES: usize = 30;

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    added: Option<String>,
    removed: Option<String>,
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: Option<String>,
    #[serde(default)]
    ward: String,
}

fn ministry_only(staff: &Staff) -> AppResult<()> {
    if staff.scope().is_ministry() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn unit_json(u: &UnitInfo) -> serde_json::Value {
    serde_json::json!({"code": u.code, "name": u.name, "province_name": u.province_name})
}

/// The form's state when it is shown again: what was typed, the message beside it, and the
/// units to choose from when a name matched several.
#[derive(Default)]
struct AddState {
    typed: String,
    error: Option<String>,
    choices: Vec<UnitInfo>,
    more: usize,
}

async fn render_page(
    state: &AppState,
    staff: &Staff,
    done: Option<(&str, UnitInfo)>,
    form: AddState,
    status: StatusCode,
) -> AppResult<Response> {
    let lang = staff.lang;
    let members: Vec<serde_json::Value> = pilot::list(&state.db)
        .await?
        .into_iter()
        .map(|p| {
            let unit = state.units.cached(&p.ward_code);
            serde_json::json!({
                "code": p.ward_code,
                "name": unit.as_ref().map_or(p.ward_code.clone(), |u| u.name.clone()),
                "province_name": unit.as_ref().map(|u| u.province_name.clone()),
                "added_at": crate::web::results::format::date_time(p.added_at),
                "added_by": words::actor(&p.added_by, lang),
            })
        })
        .collect();
    let mut ctx = staff.context();
    ctx.insert("members", &members);
    ctx.insert(
        "done",
        &done.map(|(what, u)| serde_json::json!({"what": what, "unit": unit_json(&u)})),
    );
    ctx.insert("typed", &form.typed);
    ctx.insert("error", &form.error);
    ctx.insert(
        "choices",
        &form.choices.iter().map(unit_json).collect::<Vec<_>>(),
    );
    ctx.insert("more", &form.more);
    let mut resp = render(state, "staff/pilot.html", &ctx)?;
    *resp.status_mut() = status;
    // The form with its message is the page to show, not the generic error page.
    resp.extensions_mut().insert(crate::web::FinalPage);
    Ok(resp)
}

/// `GET /staff/pilot`: the group, with the confirmation of the change just made.
async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    ministry_only(&staff)?;
    let done = match (&q.added, &q.removed) {
        (Some(c), _) => state.units.cached(c).map(|u| ("added", u)),
        (None, Some(c)) => state.units.cached(c).map(|u| ("removed", u)),
        _ => None,
    };
    render_page(&state, &staff, done, AddState::default(), StatusCode::OK).await
}

/// The units a typed text names: a code (zero-padded to five digits), or the units whose name
/// and province hold the typed words, accents optional. A name that
/// matches one unit exactly is that unit, even if longer names also contain it.
fn resolve(all: &std::collections::HashMap<String, UnitInfo>, typed: &str) -> Vec<UnitInfo> {
    if !typed.is_empty() && typed.len() <= 5 && typed.bytes().all(|b| b.is_ascii_digit()) {
        let code = format!("{typed:0>5}");
        return all.get(&code).cloned().into_iter().collect();
    }
    let needle = fold(typed);
    let needle = needle.split_whitespace().collect::<Vec<_>>().join(" ");
    if needle.is_empty() {
        return Vec::new();
    }
    // Each typed word a whole word of the name or province ("an" is the word An, not every
    // "Thanh"); else each the start of one ("dinh mo" finds "Ba Đình Mới"); else any part.
    let words: Vec<&str> = needle.split(' ').collect();
    let matches = |tier: u8| -> Vec<UnitInfo> {
        all.values()
            .filter(|u| {
                let name = fold(&u.name);
                let text = format!("{name} {}", fold(&u.province_name));
                let theirs: Vec<&str> = text.split_whitespace().collect();
                match tier {
                    0 => words.iter().all(|w| name.split(' ').any(|t| t == *w)),
                    1 => words.iter().all(|w| theirs.contains(w)),
                    2 => words
                        .iter()
                        .all(|w| theirs.iter().any(|t| t.starts_with(w))),
                    _ => theirs.join(" ").contains(&needle),
                }
            })
            .cloned()
            .collect()
    };
    let mut found = (0..4)
        .map(matches)
        .find(|f| !f.is_empty())
        .unwrap_or_default();
    found.sort_by(|a, b| a.code.cmp(&b.code));
    // "phuong ngoc ha" or "ngoc ha" is the name of Phường Ngọc Hà, whatever else holds it.
    let bare = |name: &str| {
        let name = fold(name);
        ["phuong ", "xa ", "dac khu "]
            .iter()
            .find_map(|p| name.strip_prefix(p).map(str::to_string))
            .unwrap_or(name)
    };
    let exact: Vec<&UnitInfo> = found
        .iter()
        .filter(|u| fold(&u.name) == needle || bare(&u.name) == needle)
        .collect();
    if exact.len() == 1 && found.len() > 1 {
        return vec![exact[0].clone()];
    }
    found
}

fn message(lang: Lang, vi: String, en: String) -> String {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// `POST /staff/pilot`: adds the unit the field names. Nothing found, several found, or a
/// unit already in the group: `422` with the form again, the text kept, the message beside it
/// (and, for several, the units to choose from).
async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<AddForm>,
) -> AppResult<Response> {
    ministry_only(&staff)?;
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let lang = staff.lang;
    let typed = f.ward.trim().to_string();
    let unprocessable = |error: String, choices: Vec<UnitInfo>, more: usize| AddState {
        typed: typed.clone(),
        error: Some(error),
        choices,
        more,
    };
    let form = if typed.is_empty() {
        unprocessable(
            message(
                lang,
                "Hãy nhập mã (ví dụ 00004) hoặc tên phường, xã (ví dụ Ba Đình).".into(),
                "Type a code (e.g. 00004) or the name of a ward or commune (e.g. Ba Dinh).".into(),
            ),
            Vec::new(),
            0,
        )
    } else if typed.chars().count() > 100 {
        unprocessable(
            message(
                lang,
                "Nội dung quá dài (tối đa 100 ký tự).".into(),
                "Too long (at most 100 characters).".into(),
            ),
            Vec::new(),
            0,
        )
    } else {
        let mut found = resolve(&state.units.snapshot(), &typed);
        match found.len() {
            0 => unprocessable(
                message(
                    lang,
                    format!("Không tìm thấy phường, xã nào có mã hoặc tên “{typed}”."),
                    format!("No ward or commune has the code or name “{typed}”."),
                ),
                Vec::new(),
                0,
            ),
            1 => {
                let unit = found.remove(0);
                if pilot::add(&state.db, &unit.code, &staff.user.email).await? {
                    let mut to = format!("/staff/pilot?added={}", unit.code);
                    if lang == Lang::En {
                        to.push_str("&lang=en");
                    }
                    return Ok(see_other(&to));
                }
                unprocessable(
                    message(
                        lang,
                        format!("{} ({}) đã có trong nhóm thí điểm.", unit.name, unit.code),
                        format!(
                            "{} ({}) is already in the pilot group.",
                            unit.name, unit.code
                        ),
                    ),
                    Vec::new(),
                    0,
                )
            }
            n => {
                let more = n.saturating_sub(MAX_CHOICES);
                found.truncate(MAX_CHOICES);
                unprocessable(
                    message(
                        lang,
                        format!(
                            "Có {n} phường, xã khớp với “{typed}”. Hãy chọn một đơn vị dưới đây, hoặc nhập mã của đơn vị."
                        ),
                        format!("{n} units match “{typed}”. Choose one below, or type its code."),
                    ),
                    found,
                    more,
                )
            }
        }
    };
    render_page(&state, &staff, None, form, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `POST /staff/pilot/{ward_code}/remove`: takes the unit out of the group; `404` when it is
/// not in it.
async fn remove(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> AppResult<Response> {
    ministry_only(&staff)?;
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    if !pilot::remove(&state.db, &code, &staff.user.email).await? {
        return Err(AppError::NotFound);
    }
    let mut to = format!("/staff/pilot?removed={code}");
    if staff.lang == Lang::En {
        to.push_str("&lang=en");
    }
    Ok(see_other(&to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(code: &str, name: &str, province: &str) -> (String, UnitInfo) {
        (
            code.to_string(),
            UnitInfo {
                code: code.into(),
                name: name.into(),
                kind: "phường".into(),
                province_code: "01".into(),
                province_name: province.into(),
            },
        )
    }

    #[test]
    fn a_code_or_a_name_accents_optional() {
        let all: std::collections::HashMap<_, _> = [
            u("00004", "Phường Ba Đình", "Thành phố Hà Nội"),
            u("00008", "Phường Ngọc Hà", "Thành phố Hà Nội"),
            u("16000", "Xã Ba Đình Mới", "Tỉnh Thanh Hóa"),
            u("26734", "Phường Sài Gòn", "Thành phố Hồ Chí Minh"),
        ]
        .into();
        let codes = |t: &str| {
            resolve(&all, t)
                .into_iter()
                .map(|u| u.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("00004"), ["00004"]);
        assert_eq!(codes("4"), ["00004"]);
        assert!(codes("00005").is_empty());
        assert_eq!(codes("sai gon"), ["26734"]);
        assert_eq!(codes("  NGỌC   hà "), ["00008"]);
        assert_eq!(codes("ba"), ["00004", "16000"]);
        assert_eq!(
            codes("ba dinh"),
            ["00004"],
            "the unit named so, not Ba Đình Mới"
        );
        // The whole name of one unit is that unit.
        assert_eq!(codes("phuong ba dinh"), ["00004"]);
        assert_eq!(codes("ba dinh thanh hoa"), ["16000"]);
        assert!(codes("không có").is_empty());
        // A whole word of the name first: "ha" is Ngọc Hà, not Thanh Hóa nor all of Hà Nội.
        assert_eq!(codes("ha"), ["00008"]);
        assert_eq!(codes("ha noi"), ["00004", "00008"]);
        assert_eq!(codes("hoa"), ["16000"]);
        assert_eq!(codes("dinh mo"), ["16000"]);
        // Words of the name before words of the province; a bare name is its unit.
        assert_eq!(codes("ngoc ha"), ["00008"]);
        assert_eq!(codes("ba dinh moi"), ["16000"]);
    }
}
