//! The audit trail of staff actions: recording (into `audit_log`) and the ministry's page
//! that reads it, `GET /staff/audit`, with its CSV file `GET /staff/audit.csv`. Both take the
//! same filters (`from`, `to`: days in Vietnam time, `dd/mm/yyyy` or `yyyy-mm-dd`; `actor`:
//! text; `action`: one code of [`words::ACTIONS`]) and show every entry in words.

pub mod words;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{Staff, render};
use crate::app::AppState;
use crate::csvout::CsvOut;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};
use crate::store::audit::AuditFilter;
use crate::store::staff::StaffUser;
use crate::web::Lang;
use crate::web::public::fold;
use crate::web::stream::channel_body;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/audit", get(page))
        .route("/staff/audit.csv", get(csv))
}

#[derive(Deserialize, Default, Debug)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    page: Option<String>,
}

const PAGE: u64 = 100;
/// Entries per database read of the CSV file.
const CSV_PAGE: u64 = 1000;
const MAX_ACTOR: usize = 200;

/// The filters as typed (trimmed), kept to fill the form again and to build the links.
#[derive(Debug, Default, serde::Serialize)]
struct Typed {
    from: String,
    to: String,
    actor: String,
    action: String,
}

/// A message beside each field that is not valid.
#[derive(Debug, Default, serde::Serialize)]
struct FieldErrors {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    action: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.from.is_some() || self.to.is_some() || self.actor.is_some() || self.action.is_some()
    }
}

/// A day typed as `dd/mm/yyyy` (or `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`) or `yyyy-mm-dd`.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().or_else(|| {
        ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
            .filter(|d| {
                // `%Y` takes "26" as the year 26: ask for four digits.
                s.rsplit(['/', '-', '.'])
                    .next()
                    .is_some_and(|y| y.len() == 4)
                    && d.format("%Y").to_string().len() == 4
            })
    })
}

/// The first instant of a Vietnam day.
fn day_start(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0)
        .and_then(|n| crate::period::vietnam().from_local_datetime(&n).single())
        .map(|t| t.with_timezone(&Utc))
}

fn msg(lang: Lang, vi: &str, en: &str) -> String {
    match lang {
        Lang::Vi => vi.to_string(),
        Lang::En => en.to_string(),
    }
}

/// Reads the filters: the store's filter, what was typed, and the message of each bad field.
fn parse(q: &AuditQuery, lang: Lang) -> (AuditFilter, Typed, FieldErrors) {
    let t = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
    let typed = Typed {
        from: t(&q.from),
        to: t(&q.to),
        actor: t(&q.actor),
        action: t(&q.action),
    };
    let mut errors = FieldErrors::default();
    let mut filter = AuditFilter::default();
    let bad_day = || {
        msg(
            lang,
            "Ngày không hợp lệ. Hãy viết theo dạng ngày/tháng/năm, ví dụ 03/12/2026 (hoặc 2026-12-03).",
            "Not a valid date. Write it as day/month/year, e.g. 03/12/2026 (or 2026-12-03).",
        )
    };
    let mut from_day = None;
    if !typed.from.is_empty() {
        match parse_day(&typed.from) {
            Some(d) => {
                from_day = Some(d);
                filter.from = day_start(d);
            }
            None => errors.from = Some(bad_day()),
        }
    }
    if !typed.to.is_empty() {
        match parse_day(&typed.to) {
            Some(d) if from_day.is_some_and(|f| d < f) => {
                errors.to = Some(msg(
                    lang,
                    "Ngày kết thúc phải cùng ngày hoặc sau ngày bắt đầu.",
                    "The end date must be on or after the start date.",
                ));
            }
            // Through the end of that day.
            Some(d) => filter.until = d.succ_opt().and_then(day_start),
            None => errors.to = Some(bad_day()),
        }
    }
    if typed.actor.chars().count() > MAX_ACTOR {
        errors.actor = Some(msg(
            lang,
            "Nội dung tìm quá dài (tối đa 200 ký tự).",
            "Too long (at most 200 characters).",
        ));
    } else if !typed.actor.is_empty() {
        filter.actor_contains = Some(typed.actor.to_lowercase());
        filter.actors_exact = words::actors_named(&fold(&typed.actor));
    }
    if !typed.action.is_empty() {
        match words::find(&typed.action) {
            Some(a) => filter.action = Some(a.code.to_string()),
            None => {
                errors.action = Some(msg(
                    lang,
                    "Thao tác này không có trong danh sách. Hãy chọn một thao tác trong danh sách.",
                    "This action is not in the list. Choose one from the list.",
                ));
            }
        }
    }
    (filter, typed, errors)
}

/// The filters as a query string (`from=…&to=…`), for the page links and the CSV link.
fn filter_query(typed: &Typed, lang: Lang) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("from", &typed.from),
        ("to", &typed.to),
        ("actor", &typed.actor),
        ("action", &typed.action),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    if lang == Lang::En {
        s.append_pair("lang", "en");
    }
    s.finish()
}

/// The action list of the filter, in groups, in words.
fn action_choices(lang: Lang) -> Vec<serde_json::Value> {
    words::Group::ALL
        .iter()
        .map(|g| {
            let actions: Vec<_> = words::ACTIONS
                .iter()
                .filter(|a| a.group == *g)
                .map(|a| serde_json::json!({"code": a.code, "words": words::action(a.code, lang)}))
                .collect();
            serde_json::json!({"words": g.words(lang), "actions": actions})
        })
        .collect()
}

async fn names(state: &AppState) -> AppResult<words::Names<'_>> {
    let provinces = crate::store::units::provinces(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.code, p.name))
        .collect();
    Ok(words::Names {
        units: &state.units,
        provinces,
    })
}

/// One entry in words: when (Vietnam time), who, what, on what, details.
fn entry_words(r: &audit_log::Model, lang: Lang, names: &words::Names<'_>) -> [String; 5] {
    [
        crate::web::results::format::date_time(r.at),
        words::actor(&r.actor, lang),
        words::action(&r.action, lang),
        words::target(&r.target, lang, names),
        words::detail(&r.action, &r.target, r.detail.as_deref(), lang, names),
    ]
}

/// The page: the form, and the entries unless the form has errors (then `422`).
async fn form_page(state: &AppState, staff: &Staff, q: &AuditQuery) -> AppResult<Response> {
    let lang = staff.lang;
    let (filter, typed, errors) = parse(q, lang);
    let mut ctx = staff.context();
    ctx.insert("choices", &action_choices(lang));
    ctx.insert("typed", &typed);
    ctx.insert("errors", &errors);
    ctx.insert("has_errors", &errors.any());
    let qs = filter_query(&typed, lang);
    ctx.insert("filter_qs", &qs);
    ctx.insert("filtered", &(filter != AuditFilter::default()));
    if errors.any() {
        ctx.insert("rows", &Vec::<serde_json::Value>::new());
        ctx.insert("total", &0);
        ctx.insert("page", &0);
        ctx.insert("has_next", &false);
        let mut resp = render(state, "staff/audit.html", &ctx)?;
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        resp.extensions_mut().insert(crate::web::FinalPage);
        return Ok(resp);
    }
    let total = crate::store::audit::count(&state.db, &filter).await?;
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .min(1_000_000);
    let names = names(state).await?;
    let rows: Vec<serde_json::Value> =
        crate::store::audit::page(&state.db, &filter, page * PAGE, PAGE)
            .await?
            .iter()
            .map(|r| {
                let [at, actor, action, target, detail] = entry_words(r, lang, &names);
                serde_json::json!({
                    "at": at, "actor": actor, "action": action, "target": target, "detail": detail,
                })
            })
            .collect();
    ctx.insert("rows", &rows);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("first", &(page * PAGE + 1));
    ctx.insert("last", &(page * PAGE + rows.len() as u64));
    ctx.insert("has_next", &((page + 1) * PAGE < total));
    render(state, "staff/audit.html", &ctx)
}

/// `GET /staff/audit` (ministry only, like every page that reads across the whole country):
/// newest first, 100 a page, filtered.
async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    if !staff.scope().is_ministry() {
        return Err(AppError::NotFound);
    }
    form_page(&state, &staff, &q).await
}

/// `GET /staff/audit.csv` (ministry only): the filtered log, newest first, as a CSV file with
/// a byte-order mark, Vietnam times and the columns in words; read and sent page by page.
/// Bad filters answer `422` with the page and its messages. Audited as an export.
async fn csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    if !staff.scope().is_ministry() {
        return Err(AppError::NotFound);
    }
    let lang = staff.lang;
    let (filter, typed, errors) = parse(&q, lang);
    if errors.any() {
        return form_page(&state, &staff, &q).await;
    }
    let iso = |s: &str| parse_day(s).map(|d| d.format("%Y-%m-%d").to_string());
    record(
        &state,
        Some(&staff.user),
        "export",
        "audit.csv",
        serde_json::json!({
            "from": iso(&typed.from), "to": iso(&typed.to),
            "actor": (!typed.actor.is_empty()).then_some(&typed.actor),
            "action": filter.action,
        }),
    )
    .await;
    let mut name = String::from("hailong-nhat-ky");
    for d in [iso(&typed.from), iso(&typed.to)].into_iter().flatten() {
        name.push('-');
        name.push_str(&d);
    }
    name.push_str(".csv");
    let header: [&str; 7] = match lang {
        Lang::Vi => [
            "Số thứ tự",
            "Thời điểm (giờ Việt Nam)",
            "Người thực hiện",
            "Thao tác",
            "Đối tượng",
            "Chi tiết",
            "Mã thao tác",
        ],
        Lang::En => [
            "No.",
            "When (Vietnam time)",
            "Who",
            "Action",
            "Target",
            "Detail",
            "Action code",
        ],
    };
    let (tx, body) = channel_body(2);
    tokio::spawn(async move {
        let fail = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "audit export: error mid-stream");
            Err(std::io::Error::other("cannot read the audit log"))
        };
        let names = match names(&state).await {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(fail(&e)).await;
                return;
            }
        };
        let started = CsvOut::new(Vec::with_capacity(64 * 1024)).and_then(|mut w| {
            w.text_row(&header)?;
            let bytes = w.take_bytes()?;
            Ok((w, bytes))
        });
        let Ok((mut w, first)) = started else { return };
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let mut before = None;
        loop {
            let rows = match crate::store::audit::before(&state.db, &filter, before, CSV_PAGE).await
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(fail(&e)).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { break };
            before = Some(last.id);
            let written: std::io::Result<Vec<u8>> = rows
                .iter()
                .try_for_each(|r| {
                    let [at, actor, action, target, detail] = entry_words(r, lang, &names);
                    w.text_row(&[
                        r.id.to_string(),
                        at,
                        actor,
                        action,
                        target,
                        detail,
                        r.action.clone(),
                    ])
                })
                .map_err(std::io::Error::from)
                .and_then(|()| w.take_bytes());
            // An error chunk cuts the download: a client never takes half a file for a whole.
            let chunk = written.map(Bytes::from);
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
            if (rows.len() as u64) < CSV_PAGE {
                break;
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Records one staff action in the append-only `audit_log`. The action it records has
/// already happened, so a failure to write does not undo it: it is logged as an error.
pub async fn record(
    state: &AppState,
    actor: Option<&StaffUser>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let actor = actor.map_or("-", |a| a.email.as_str());
    let detail = (!detail.as_object().is_some_and(|o| o.is_empty())).then(|| detail.to_string());
    if let Err(e) = crate::store::audit::record(&state.db, actor, action, target, detail).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_both_forms() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        for ok in [
            "03/12/2026",
            "3/12/2026",
            "2026-12-03",
            " 03-12-2026 ",
            "03.12.2026",
        ] {
            assert_eq!(parse_day(ok), Some(d), "{ok}");
        }
        for bad in [
            "",
            "32/12/2026",
            "03/13/2026",
            "03/12/26",
            "hôm qua",
            "2026-02-30",
            "12/2026",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        // A day starts at midnight in Vietnam: 17:00 UTC the day before.
        assert_eq!(
            day_start(d).unwrap().to_rfc3339(),
            "2026-12-02T17:00:00+00:00"
        );
    }

    #[test]
    fn filters_and_their_messages() {
        let q = |from: &str, to: &str, action: &str| AuditQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            actor: Some(" Người Dân ".into()),
            action: Some(action.into()),
            page: None,
        };
        let (f, typed, e) = parse(&q("01/12/2026", "2026-12-03", "login"), Lang::Vi);
        assert!(!e.any());
        assert_eq!(typed.actor, "Người Dân");
        assert_eq!(f.actor_contains.as_deref(), Some("người dân"));
        assert_eq!(f.actors_exact, vec!["resident".to_string()]);
        assert_eq!(f.from.unwrap().to_rfc3339(), "2026-11-30T17:00:00+00:00");
        assert_eq!(f.until.unwrap().to_rfc3339(), "2026-12-03T17:00:00+00:00");
        assert_eq!(f.action.as_deref(), Some("login"));
        let (_, _, e) = parse(&q("31/02/2026", "01/01/2026", "nope"), Lang::Vi);
        assert!(e.from.unwrap().starts_with("Ngày không hợp lệ"));
        assert!(e.to.is_none(), "no order to check without a start");
        assert!(e.action.is_some());
        let (_, _, e) = parse(&q("05/12/2026", "01/12/2026", ""), Lang::En);
        assert!(e.to.unwrap().starts_with("The end date"));
        let typed = Typed {
            from: "01/12/2026".into(),
            action: "response.exclude".into(),
            ..Default::default()
        };
        assert_eq!(
            filter_query(&typed, Lang::En),
            "from=01%2F12%2F2026&action=response.exclude&lang=en"
        );
    }
}
