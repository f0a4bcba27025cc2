//! The ward inbox: `GET /staff/wards/{ward_code}/feedback` (filters: period, status, score
//! band, with comment, channel), one item at `…/feedback/{id}` with its status, assignee and
//! internal notes, each change audited.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Staff, audit, render, see_other};
use crate::app::{AppState, DEFAULT_SURVEY};
use crate::error::{AppError, AppResult};
use crate::intake;
use crate::measure::{Cell, respondent::score_respondent};
use crate::period::Period;
use crate::store::feedback::{self, Band, InboxFilter, Item, Status};
use crate::store::staff as staff_store;
use crate::store::units::UnitInfo;
use crate::web::reads::ConsoleReads;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/wards/{ward_code}/feedback", get(inbox))
        .route("/staff/wards/{ward_code}/feedback/{id}", get(show))
        .route(
            "/staff/wards/{ward_code}/feedback/{id}/status",
            post(change_status),
        )
        .route(
            "/staff/wards/{ward_code}/feedback/{id}/assign",
            post(assign),
        )
        .route(
            "/staff/wards/{ward_code}/feedback/{id}/notes",
            post(add_note),
        )
        .route(
            "/staff/wards/{ward_code}/feedback/{id}/reply",
            post(add_reply),
        )
}

/// Free text as staff may see it: phone numbers, ID numbers, e-mails and plates masked.
pub fn masked(text: &str) -> String {
    crate::privacy::mask::mask_text(text)
}

pub const CHANNELS: [&str; 6] = ["web", "poster", "token", "paper", "api", "assisted"];

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    period: Option<String>,
    status: Option<String>,
    band: Option<String>,
    with_comment: Option<String>,
    channel: Option<String>,
    /// `1`: only new items older than `feedback::OVERDUE_DAYS` (the ward home's link).
    overdue: Option<String>,
    /// Words of the comment or issue (accents optional), or a receipt.
    q: Option<String>,
    page: Option<u64>,
}

#[derive(Serialize)]
struct ItemView {
    id: i64,
    receipt: String,
    submitted_at: String,
    channel: String,
    status: &'static str,
    flagged: bool,
    /// Withheld from the ward (a complaint about officers), shown to reviewers only.
    withheld: bool,
    comment: Option<String>,
    issue: Option<String>,
    overall: Option<i32>,
    trust: Option<i32>,
    score: Option<String>,
    assignee: Option<String>,
    assignee_id: Option<i64>,
}

fn item_view(state: &AppState, item: &Item) -> ItemView {
    let text = |q: &str| {
        item.answers
            .iter()
            .find(|a| a.question_id == q)
            .and_then(|a| a.value_text.as_deref())
            .filter(|t| !t.is_empty())
            .map(masked)
    };
    let num = |q: &str| {
        item.answers
            .iter()
            .find(|a| a.question_id == q)
            .and_then(|a| a.value_num)
    };
    let score = state.catalog.get(DEFAULT_SURVEY).and_then(|survey| {
        let cell = Cell::parse(&item.response.cell).unwrap_or_else(|| Cell::from_parts(None, None));
        let r = intake::respondent_from_rows(survey, cell, &item.answers);
        score_respondent(&intake::scale_spec(survey), &r)
            .score
            .map(|s| format!("{s:.1}"))
    });
    ItemView {
        id: item.response.id,
        receipt: item.response.receipt.clone(),
        submitted_at: item
            .response
            .submitted_at
            .with_timezone(&crate::period::vietnam())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        channel: item.response.channel.clone(),
        status: item.status.as_str(),
        flagged: item.response.status == "flagged",
        withheld: item.withheld,
        comment: text("comment"),
        issue: text("issue"),
        overall: num("overall"),
        trust: num("trust"),
        score,
        assignee: item.assignee.as_ref().map(|a| a.1.clone()),
        assignee_id: item.assignee.as_ref().map(|a| a.0),
    }
}

async fn ward_or_404(state: &AppState, staff: &Staff, code: &str) -> AppResult<UnitInfo> {
    feedback::ward_in_scope(&state.db, staff.scope(), code)
        .await?
        .ok_or(AppError::NotFound)
}

fn some_nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_filter(q: &InboxQuery, staff: &Staff) -> Result<InboxFilter, AppError> {
    let bad = |m: &str| AppError::BadRequest(m.to_string());
    Ok(InboxFilter {
        period: some_nonempty(&q.period)
            .map(Period::parse)
            .transpose()
            .map_err(|e| AppError::BadRequest(e.to_string()))?,
        status: some_nonempty(&q.status)
            .map(|s| Status::parse(s).ok_or_else(|| bad("unknown status")))
            .transpose()?,
        band: some_nonempty(&q.band)
            .map(|s| Band::parse(s).ok_or_else(|| bad("unknown score band")))
            .transpose()?,
        with_comment: some_nonempty(&q.with_comment).is_some(),
        channel: some_nonempty(&q.channel)
            .map(|s| {
                CHANNELS
                    .contains(&s)
                    .then(|| s.to_string())
                    .ok_or_else(|| bad("unknown channel"))
            })
            .transpose()?,
        hide_withheld: !staff.scope().reviews_wards(),
        text: some_nonempty(&q.q).map(str::to_string),
        submitted_before: some_nonempty(&q.overdue)
            .map(|_| chrono::Utc::now() - chrono::Duration::days(feedback::OVERDUE_DAYS)),
    })
    .map(|mut f| {
        if f.submitted_before.is_some() {
            f.status = Some(Status::New);
        }
        f
    })
}

async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    reads: ConsoleReads,
    Path(ward_code): Path<String>,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let ward = feedback::ward_in_scope(reads.db(), staff.scope(), &ward_code)
        .await?
        .ok_or(AppError::NotFound)?;
    let filter = parse_filter(&q, &staff)?;
    let page = q.page.unwrap_or(0).min(100_000);
    let (items, total) = feedback::inbox(reads.db(), &ward, &filter, page).await?;
    let views: Vec<ItemView> = items.iter().map(|i| item_view(&state, i)).collect();
    let mut ctx = staff.context();
    reads.mark(&mut ctx);
    let by_status: Vec<serde_json::Value> =
        feedback::status_counts(reads.db(), &ward, filter.hide_withheld)
            .await?
            .iter()
            .map(|(s, n)| serde_json::json!({"status": s.as_str(), "n": n}))
            .collect();
    ctx.insert("by_status", &by_status);
    ctx.insert(
        "period_options",
        &super::dashboard::period_options(staff.lang, filter.period),
    );
    ctx.insert("ward", &ward);
    ctx.insert("items", &views);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("has_next", &((page + 1) * feedback::PAGE_SIZE < total));
    // The filters as given, to keep them in the form and the paging links.
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in [
        ("period", &q.period),
        ("status", &q.status),
        ("band", &q.band),
        ("with_comment", &q.with_comment),
        ("channel", &q.channel),
        ("overdue", &q.overdue),
        ("q", &q.q),
    ] {
        if let Some(v) = some_nonempty(v) {
            kept.push((k.to_string(), v.to_string()));
        }
    }
    if staff.lang == crate::web::Lang::En {
        kept.push(("lang".into(), "en".into()));
    }
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter())
        .finish();
    ctx.insert("qs", &qs);
    ctx.insert("f_period", &some_nonempty(&q.period));
    ctx.insert("f_status", &some_nonempty(&q.status));
    ctx.insert("f_band", &some_nonempty(&q.band));
    ctx.insert("f_with_comment", &some_nonempty(&q.with_comment).is_some());
    ctx.insert("f_channel", &some_nonempty(&q.channel));
    ctx.insert("f_overdue", &some_nonempty(&q.overdue).is_some());
    ctx.insert("f_q", &some_nonempty(&q.q));
    ctx.insert("overdue_days", &feedback::OVERDUE_DAYS);
    ctx.insert("channels", &CHANNELS);
    ctx.insert(
        "statuses",
        &Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    render(&state, "staff/inbox.html", &ctx)
}

async fn item_or_404(
    state: &AppState,
    staff: &Staff,
    ward_code: &str,
    id: &str,
) -> AppResult<(UnitInfo, Item)> {
    let ward = ward_or_404(state, staff, ward_code).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let item = feedback::item(&state.db, &ward, id, !staff.scope().reviews_wards())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((ward, item))
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Query(done): Query<DoneQuery>,
) -> AppResult<Response> {
    let (ward, item) = item_or_404(&state, &staff, &ward_code, &id).await?;
    let notes: Vec<serde_json::Value> = feedback::notes(&state.db, item.response.id)
        .await?
        .into_iter()
        .map(|(n, author)| {
            serde_json::json!({
                "author": author,
                "body": masked(&n.body),
                "at": n.created_at.with_timezone(&crate::period::vietnam()).format("%d/%m/%Y %H:%M").to_string(),
            })
        })
        .collect();
    let colleagues = staff_store::ward_staff(&state.db, &ward.code).await?;
    let moves: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| item.status.can_move_to(*s))
        .map(Status::as_str)
        .collect();
    let vn = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&crate::period::vietnam())
            .format("%d/%m/%Y %H:%M")
            .to_string()
    };
    let kind =
        crate::survey::UnitKind::from_db(&ward.kind).unwrap_or(crate::survey::UnitKind::Phuong);
    // Every answer but the free text, which the page shows above.
    let answers =
        super::withheld::answers_in_words(&state, &item.response, kind, staff.lang, false);
    let mut replies = Vec::new();
    for r in crate::mail::replies::list(&state.db, item.response.id).await? {
        let author = staff_store::find_user(&state.db, r.author_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        replies.push(serde_json::json!({
            "author": author,
            "body": masked(&r.body),
            "at": vn(r.created_at),
            "followup_due": vn(r.followup_due_at),
            "followup_sent": r.followup_enqueued_at.is_some(),
            "resolved": r.resolved,
            "answered_at": r.answered_at.map(vn),
        }));
    }
    let can_reply = crate::mail::replies::can_reply(&state.db, item.response.id).await?;
    let mut ctx = staff.context();
    ctx.insert("ward", &ward);
    ctx.insert("item", &item_view(&state, &item));
    ctx.insert("notes", &notes);
    ctx.insert("replies", &replies);
    ctx.insert("answers", &answers);
    ctx.insert("can_reply", &can_reply);
    ctx.insert("colleagues", &colleagues);
    ctx.insert("moves", &moves);
    ctx.insert(
        "done",
        &done
            .done
            .filter(|d| ["status", "assigned", "note", "reply"].contains(&d.as_str())),
    );
    render(&state, "staff/feedback_item.html", &ctx)
}

/// `done=status|assigned|note|reply` after an action: the page confirms it.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: Option<String>,
    status: Option<String>,
}

fn item_url(ward: &str, id: i64) -> String {
    format!("/staff/wards/{ward}/feedback/{id}")
}

/// The item's page after `done`, in the user's language, scrolled to the confirmation.
fn item_done(staff: &Staff, ward: &str, id: i64, done: &str) -> String {
    let lang = if staff.lang == crate::web::Lang::En {
        "&lang=en"
    } else {
        ""
    };
    format!("{}?done={done}{lang}#done", item_url(ward, id))
}

async fn change_status(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<StatusForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let (ward, item) = item_or_404(&state, &staff, &ward_code, &id).await?;
    let to =
        f.status.as_deref().and_then(Status::parse).ok_or_else(|| {
            AppError::BadRequest("Trạng thái không hợp lệ. / Unknown status.".into())
        })?;
    if !item.status.can_move_to(to) {
        return Err(AppError::BadRequest(format!(
            "Không thể chuyển từ «{}» sang «{}». / Cannot move from {} to {}.",
            item.status.as_str(),
            to.as_str(),
            item.status.as_str(),
            to.as_str()
        )));
    }
    feedback::set_status(&state.db, &item, to).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "feedback_status",
        &format!("response:{}", item.response.id),
        serde_json::json!({"ward": ward.code, "from": item.status.as_str(), "to": to.as_str()}),
    )
    .await;
    Ok(see_other(&item_done(
        &staff,
        &ward.code,
        item.response.id,
        "status",
    )))
}

#[derive(Deserialize)]
pub struct AssignForm {
    csrf: Option<String>,
    assignee: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<AssignForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let (ward, item) = item_or_404(&state, &staff, &ward_code, &id).await?;
    let assignee = match f
        .assignee
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(v) => {
            let id: i64 = v.parse().map_err(|_| {
                AppError::BadRequest("Người nhận không hợp lệ. / Unknown colleague.".into())
            })?;
            // Only a colleague of the same ward.
            let colleagues = staff_store::ward_staff(&state.db, &ward.code).await?;
            let c = colleagues.into_iter().find(|c| c.id == id).ok_or_else(|| {
                AppError::BadRequest(
                    "Chỉ giao được cho cán bộ của cùng phường, xã. / Only a colleague of the same ward can be assigned."
                        .into(),
                )
            })?;
            Some(c)
        }
    };
    feedback::set_assignee(&state.db, &item, assignee.as_ref().map(|c| c.id)).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "feedback_assign",
        &format!("response:{}", item.response.id),
        serde_json::json!({"ward": ward.code, "assignee": assignee.as_ref().map(|c| c.email.clone())}),
    )
    .await;
    Ok(see_other(&item_done(
        &staff,
        &ward.code,
        item.response.id,
        "assigned",
    )))
}

/// A note's or reply's text, trimmed: 1 to 4,000 characters, else 400 with `message`.
fn text_of<'a>(body: &'a str, message: &str) -> AppResult<&'a str> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(AppError::BadRequest(message.into()));
    }
    Ok(body)
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: Option<String>,
    #[serde(default)]
    body: String,
}

async fn add_note(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let (ward, item) = item_or_404(&state, &staff, &ward_code, &id).await?;
    let body = text_of(
        &f.body,
        "Ghi chú phải có từ 1 đến 4000 ký tự. / A note must have 1 to 4000 characters.",
    )?;
    feedback::add_note(&state.db, item.response.id, staff.user.id, body).await?;
    audit::record(
        &state,
        Some(&staff.user),
        "feedback_note",
        &format!("response:{}", item.response.id),
        serde_json::json!({"ward": ward.code}),
    )
    .await;
    Ok(see_other(&item_done(
        &staff,
        &ward.code,
        item.response.id,
        "note",
    )))
}

/// `POST …/feedback/{id}/reply`: the reply is stored and enqueued to the resident's address
/// in one transaction; the officer never sees the address.
async fn add_reply(
    State(state): State<AppState>,
    staff: Staff,
    Path((ward_code, id)): Path<(String, String)>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let (ward, item) = item_or_404(&state, &staff, &ward_code, &id).await?;
    let body = text_of(
        &f.body,
        "Thư trả lời phải có từ 1 đến 4000 ký tự. / A reply must have 1 to 4000 characters.",
    )?;
    let sent = crate::mail::replies::send_reply(
        &state.db,
        &state.tera,
        &state.config.mail,
        &ward,
        &item.response,
        staff.user.id,
        body,
    )
    .await?;
    let Some(reply_id) = sent else {
        return Err(AppError::BadRequest(
            "Người dân không để lại địa chỉ hoặc không đồng ý nhận trả lời. / The resident left no address or did not agree to a reply."
                .into(),
        ));
    };
    audit::record(
        &state,
        Some(&staff.user),
        "feedback_reply",
        &format!("response:{}", item.response.id),
        serde_json::json!({"ward": ward.code, "reply": reply_id}),
    )
    .await;
    Ok(see_other(&item_done(
        &staff,
        &ward.code,
        item.response.id,
        "reply",
    )))
}
