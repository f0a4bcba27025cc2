//! The ward inbox: responses of a ward that carry a comment or an "issue" answer, their
//! workflow state (new → in progress → resolved | not actionable), assignee and internal notes.
//! Every function takes the caller's [`Scope`]; a ward outside it reads as absent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::responses::AnswerRow;
use crate::auth::Scope;
use crate::entities::{feedback_note, feedback_state, response, staff_user};
use crate::period::Period;
use crate::store::units::{self, UnitInfo};

/// The free-text questions whose answers make an inbox item.
pub const TEXT_QUESTIONS: [&str; 2] = ["comment", "issue"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    InProgress,
    Resolved,
    NotActionable,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::New,
        Status::InProgress,
        Status::Resolved,
        Status::NotActionable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::NotActionable => "not_actionable",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The allowed moves: new → in progress → resolved | not actionable (and back to in
    /// progress when a closed item needs more work; a new item may be closed directly).
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (New, InProgress)
                | (New, Resolved)
                | (New, NotActionable)
                | (InProgress, Resolved)
                | (InProgress, NotActionable)
                | (Resolved, InProgress)
                | (NotActionable, InProgress)
        )
    }
}

/// The `overall` answer's band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// 1–2: dissatisfied.
    Low,
    /// 3.
    Mid,
    /// 4–5: satisfied.
    High,
}

impl Band {
    pub fn parse(s: &str) -> Option<Band> {
        match s {
            "low" => Some(Band::Low),
            "mid" => Some(Band::Mid),
            "high" => Some(Band::High),
            _ => None,
        }
    }
    fn range(self) -> (i32, i32) {
        match self {
            Band::Low => (1, 2),
            Band::Mid => (3, 3),
            Band::High => (4, 5),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub period: Option<Period>,
    pub status: Option<Status>,
    pub band: Option<Band>,
    /// Only items with a comment (not only an "issue" answer).
    pub with_comment: bool,
    pub channel: Option<String>,
    /// Leaves out responses withheld from the ward (see `store::withheld`): set for ward users.
    pub hide_withheld: bool,
    /// Only items submitted before this time (the overdue ones, say).
    pub submitted_before: Option<DateTime<Utc>>,
    /// Only items whose comment or issue contains these words, accents and case ignored
    /// (see [`fold`]), or whose receipt is this.
    pub text: Option<String>,
}

/// Lower case and accents removed (`Đ` → `d`): "den duong" finds "Đèn đường".
pub fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

/// Whether `r` matches the folded search `needle`: every word of it in the comment or issue
/// (folded), or the receipt itself.
fn text_matches(r: &response::Model, needle: &str) -> bool {
    if r.receipt.eq_ignore_ascii_case(needle.trim()) {
        return true;
    }
    let text: String = TEXT_QUESTIONS
        .iter()
        .filter_map(|q| r.answers.get(*q).and_then(|v| v.as_str()))
        .map(fold)
        .collect::<Vec<_>>()
        .join(" ");
    needle.split_whitespace().all(|w| text.contains(w))
}

/// A ward of the caller's scope, or `None` (absent or outside: the same answer).
pub async fn ward_in_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ward_code: &str,
) -> Result<Option<UnitInfo>, DbErr> {
    Ok(units::find_unit(db, ward_code)
        .await?
        .filter(|u| scope.contains_ward(u)))
}

/// One answer of the response, read from its `answers` object; `question` is one of this
/// module's constant question ids, never input.
fn answer_sql(backend: DbBackend, question: &'static str) -> String {
    match backend {
        DbBackend::Postgres => format!("(answers ->> '{question}')"),
        _ => format!("json_extract(answers, '$.{question}')"),
    }
}

fn has_text(backend: DbBackend, question: &'static str) -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(format!(
        "COALESCE({}, '') <> ''",
        answer_sql(backend, question)
    ))
}

fn inbox_query(
    backend: DbBackend,
    ward: &UnitInfo,
    f: &InboxFilter,
) -> sea_orm::Select<response::Entity> {
    let mut q = response::Entity::find().filter(response::Column::WardCode.eq(&ward.code));
    q = if f.with_comment {
        q.filter(has_text(backend, "comment"))
    } else {
        q.filter(has_text(backend, "comment").or(has_text(backend, "issue")))
    };
    if let Some(p) = f.period {
        q = q.filter(super::in_period(p));
    }
    if let Some(c) = &f.channel {
        q = q.filter(response::Column::Channel.eq(c));
    }
    if f.hide_withheld {
        q = q.filter(super::withheld::not_withheld());
    }
    if let Some(t) = f.submitted_before {
        q = q.filter(response::Column::SubmittedAt.lt(t));
    }
    if let Some(b) = f.band {
        let (lo, hi) = b.range();
        let overall = match backend {
            DbBackend::Postgres => format!("{}::int", answer_sql(backend, "overall")),
            _ => answer_sql(backend, "overall"),
        };
        q = q.filter(Expr::cust(format!("{overall} BETWEEN {lo} AND {hi}")));
    }
    if let Some(s) = f.status {
        let sub = |cond: sea_orm::sea_query::SimpleExpr| {
            Query::select()
                .column(feedback_state::Column::ResponseId)
                .from(feedback_state::Entity)
                .and_where(cond)
                .to_owned()
        };
        q = if s == Status::New {
            q.filter(
                response::Column::Id
                    .not_in_subquery(sub(Expr::col(feedback_state::Column::Status).ne("new"))),
            )
        } else {
            q.filter(response::Column::Id.in_subquery(sub(
                Expr::col(feedback_state::Column::Status).eq(s.as_str()),
            )))
        };
    }
    q
}

/// Days after which a new item that nobody has taken up is overdue on the ward's home.
pub const OVERDUE_DAYS: i64 = 7;

/// What a ward's home counts: its inbox by status, the new items older than
/// [`OVERDUE_DAYS`], the low scores (overall 1–2) of the last seven days, and the replies
/// whose resident said the matter is not solved or has not answered yet.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WardCounts {
    pub by_status: Vec<(Status, u64)>,
    pub overdue: u64,
    pub low_this_week: u64,
    pub replies_not_solved: u64,
    pub replies_waiting: u64,
}

/// The ward's inbox items by status (the inbox's tabs and the ward home's table).
pub async fn status_counts(
    db: &impl ConnectionTrait,
    ward: &UnitInfo,
    hide_withheld: bool,
) -> Result<Vec<(Status, u64)>, DbErr> {
    let backend = db.get_database_backend();
    let mut out = Vec::with_capacity(Status::ALL.len());
    for s in Status::ALL {
        let f = InboxFilter {
            status: Some(s),
            hide_withheld,
            ..Default::default()
        };
        out.push((s, inbox_query(backend, ward, &f).count(db).await?));
    }
    Ok(out)
}

pub async fn ward_counts(
    db: &impl ConnectionTrait,
    ward: &UnitInfo,
    hide_withheld: bool,
    now: DateTime<Utc>,
) -> Result<WardCounts, DbErr> {
    use crate::entities::feedback_reply;
    let backend = db.get_database_backend();
    let base = InboxFilter {
        hide_withheld,
        ..Default::default()
    };
    let by_status = status_counts(db, ward, hide_withheld).await?;
    let overdue = InboxFilter {
        status: Some(Status::New),
        submitted_before: Some(now - chrono::Duration::days(OVERDUE_DAYS)),
        ..base.clone()
    };
    let overdue = inbox_query(backend, ward, &overdue).count(db).await?;
    let overall = match backend {
        DbBackend::Postgres => format!("{}::int", answer_sql(backend, "overall")),
        _ => answer_sql(backend, "overall"),
    };
    let low_this_week = response::Entity::find()
        .filter(response::Column::WardCode.eq(&ward.code))
        .filter(response::Column::SubmittedAt.gte(now - chrono::Duration::days(7)))
        .filter(response::Column::Status.eq("counted"))
        .filter(Expr::cust(format!("{overall} BETWEEN 1 AND 2")))
        .count(db)
        .await?;
    let of_ward = || {
        feedback_reply::Column::ResponseId.in_subquery(
            Query::select()
                .column(response::Column::Id)
                .from(response::Entity)
                .and_where(response::Column::WardCode.eq(&ward.code))
                .to_owned(),
        )
    };
    let replies_not_solved = feedback_reply::Entity::find()
        .filter(of_ward())
        .filter(feedback_reply::Column::Resolved.eq("no"))
        .count(db)
        .await?;
    let replies_waiting = feedback_reply::Entity::find()
        .filter(of_ward())
        .filter(feedback_reply::Column::AnsweredAt.is_null())
        .count(db)
        .await?;
    Ok(WardCounts {
        by_status,
        overdue,
        low_this_week,
        replies_not_solved,
        replies_waiting,
    })
}

/// The new items (status new, withheld ones included) of every ward of a province, by ward:
/// what waits in each inbox, for the province's home.
pub async fn new_items_by_ward(
    db: &impl ConnectionTrait,
    province_code: &str,
) -> Result<HashMap<String, u64>, DbErr> {
    let backend = db.get_database_backend();
    let rows: Vec<(String, i64)> = response::Entity::find()
        .select_only()
        .column(response::Column::WardCode)
        .column_as(response::Column::Id.count(), "n")
        .filter(
            response::Column::WardCode.in_subquery(
                Query::select()
                    .column(crate::entities::unit::Column::Code)
                    .from(crate::entities::unit::Entity)
                    .and_where(crate::entities::unit::Column::ProvinceCode.eq(province_code))
                    .to_owned(),
            ),
        )
        .filter(has_text(backend, "comment").or(has_text(backend, "issue")))
        .filter(
            response::Column::Id.not_in_subquery(
                Query::select()
                    .column(feedback_state::Column::ResponseId)
                    .from(feedback_state::Entity)
                    .and_where(Expr::col(feedback_state::Column::Status).ne("new"))
                    .to_owned(),
            ),
        )
        .group_by(response::Column::WardCode)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(w, n)| (w, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// One inbox item as the console shows it (free text still unmasked: the web layer masks).
#[derive(Debug, Clone)]
pub struct Item {
    pub response: response::Model,
    pub answers: Vec<AnswerRow>,
    pub status: Status,
    pub assignee: Option<(i64, String)>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Withheld from the ward and not yet released (only reviewers see such an item).
    pub withheld: bool,
}

pub const PAGE_SIZE: u64 = 50;

/// A page of the inbox, newest first, and the total count.
pub async fn inbox(
    db: &impl ConnectionTrait,
    ward: &UnitInfo,
    f: &InboxFilter,
    page: u64,
) -> Result<(Vec<Item>, u64), DbErr> {
    if let Some(needle) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        // Accents are optional, which SQL cannot compare portably: the ward's items that pass
        // the other filters are read and matched here (a ward holds thousands, not millions).
        let needle = fold(needle);
        let rows = inbox_query(db.get_database_backend(), ward, f)
            .order_by_desc(response::Column::SubmittedAt)
            .order_by_desc(response::Column::Id)
            .all(db)
            .await?;
        let matched: Vec<response::Model> = rows
            .into_iter()
            .filter(|r| text_matches(r, &needle))
            .collect();
        let total = matched.len() as u64;
        let page_rows = matched
            .into_iter()
            .skip((page * PAGE_SIZE) as usize)
            .take(PAGE_SIZE as usize)
            .collect();
        return Ok((complete(db, page_rows).await?, total));
    }
    let total = inbox_query(db.get_database_backend(), ward, f)
        .count(db)
        .await?;
    let rows = inbox_query(db.get_database_backend(), ward, f)
        .order_by_desc(response::Column::SubmittedAt)
        .order_by_desc(response::Column::Id)
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .all(db)
        .await?;
    Ok((complete(db, rows).await?, total))
}

async fn complete(
    db: &impl ConnectionTrait,
    rows: Vec<response::Model>,
) -> Result<Vec<Item>, DbErr> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let withheld = super::withheld::unreleased_among(db, &ids).await?;
    let states: HashMap<i64, feedback_state::Model> = feedback_state::Entity::find()
        .filter(feedback_state::Column::ResponseId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.response_id, s))
        .collect();
    let assignee_ids: Vec<i64> = states.values().filter_map(|s| s.assignee_id).collect();
    let emails: HashMap<i64, String> = if assignee_ids.is_empty() {
        HashMap::new()
    } else {
        staff_user::Entity::find()
            .filter(staff_user::Column::Id.is_in(assignee_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let st = states.get(&r.id);
            Item {
                answers: AnswerRow::from_json(&r.answers),
                status: st
                    .and_then(|s| Status::parse(&s.status))
                    .unwrap_or(Status::New),
                assignee: st
                    .and_then(|s| s.assignee_id)
                    .and_then(|id| emails.get(&id).map(|e| (id, e.clone()))),
                updated_at: st.map(|s| s.updated_at),
                withheld: withheld.contains(&r.id),
                response: r,
            }
        })
        .collect())
}

/// One item of a ward (absent when the response is not an inbox item of that ward, or, with
/// `hide_withheld`, when it is withheld from the ward).
pub async fn item(
    db: &impl ConnectionTrait,
    ward: &UnitInfo,
    id: i64,
    hide_withheld: bool,
) -> Result<Option<Item>, DbErr> {
    let filter = InboxFilter {
        hide_withheld,
        ..InboxFilter::default()
    };
    let r = inbox_query(db.get_database_backend(), ward, &filter)
        .filter(response::Column::Id.eq(id))
        .one(db)
        .await?;
    Ok(match r {
        Some(r) => complete(db, vec![r]).await?.pop(),
        None => None,
    })
}

async fn upsert_state(
    db: &impl ConnectionTrait,
    id: i64,
    status: Status,
    assignee: Option<i64>,
) -> Result<(), DbErr> {
    feedback_state::Entity::insert(feedback_state::ActiveModel {
        response_id: Set(id),
        status: Set(status.as_str().to_string()),
        assignee_id: Set(assignee),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(feedback_state::Column::ResponseId)
            .update_columns([
                feedback_state::Column::Status,
                feedback_state::Column::AssigneeId,
                feedback_state::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn set_status(db: &impl ConnectionTrait, item: &Item, to: Status) -> Result<(), DbErr> {
    upsert_state(
        db,
        item.response.id,
        to,
        item.assignee.as_ref().map(|a| a.0),
    )
    .await
}

pub async fn set_assignee(
    db: &impl ConnectionTrait,
    item: &Item,
    assignee: Option<i64>,
) -> Result<(), DbErr> {
    upsert_state(db, item.response.id, item.status, assignee).await
}

pub async fn add_note(
    db: &impl ConnectionTrait,
    response_id: i64,
    author_id: i64,
    body: &str,
) -> Result<(), DbErr> {
    feedback_note::Entity::insert(feedback_note::ActiveModel {
        id: NotSet,
        response_id: Set(response_id),
        author_id: Set(author_id),
        body: Set(body.to_string()),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Notes of an item, oldest first, with their authors' e-mails.
pub async fn notes(
    db: &impl ConnectionTrait,
    response_id: i64,
) -> Result<Vec<(feedback_note::Model, String)>, DbErr> {
    let notes = feedback_note::Entity::find()
        .filter(feedback_note::Column::ResponseId.eq(response_id))
        .order_by_asc(feedback_note::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = notes.iter().map(|n| n.author_id).collect();
    let emails: HashMap<i64, String> = staff_user::Entity::find()
        .filter(staff_user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(notes
        .into_iter()
        .map(|n| {
            let e = emails.get(&n.author_id).cloned().unwrap_or_default();
            (n, e)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Status::*;

    #[test]
    fn workflow_moves() {
        assert!(New.can_move_to(InProgress));
        assert!(InProgress.can_move_to(Resolved));
        assert!(InProgress.can_move_to(NotActionable));
        assert!(!Resolved.can_move_to(New));
        assert!(!New.can_move_to(New));
        assert!(Resolved.can_move_to(InProgress));
    }
}
