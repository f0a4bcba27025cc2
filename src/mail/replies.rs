//! Officers' replies to residents and the follow-up "was your issue resolved?".
//!
//! The officer writes the reply in the console; the resident's address is read from `contacts`
//! only here, inside the transaction that stores the reply and enqueues the message, and is
//! never shown to the officer. `mail.followup_days` later the worker enqueues the follow-up with
//! two signed one-click links (`/r/{token}/yes` and `/no`); the answer is shown on the item.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::{base, outbox, render, signed};
use crate::config::MailConfig;
use crate::entities::{contact, feedback_reply, response};
use crate::store::units::UnitInfo;

pub const FOLLOWUP_PURPOSE: &str = "followup";

/// Whether the resident of `response_id` left an address and agreed to a reply.
pub async fn can_reply(db: &impl ConnectionTrait, response_id: i64) -> Result<bool, DbErr> {
    Ok(consented_address(db, response_id).await?.is_some())
}

async fn consented_address(
    db: &impl ConnectionTrait,
    response_id: i64,
) -> Result<Option<String>, DbErr> {
    Ok(contact::Entity::find_by_id(response_id)
        .one(db)
        .await?
        .filter(|c| c.consent && !c.email.trim().is_empty())
        .map(|c| c.email))
}

fn vn_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y")
        .to_string()
}

#[derive(Serialize)]
struct ReplyCtx<'a> {
    unit_title: String,
    unit_en: &'a str,
    ward_name: &'a str,
    receipt: &'a str,
    submitted_on: String,
    body: &'a str,
}

/// Stores an officer's reply and enqueues it to the resident, in one transaction. `None` when
/// the resident left no address with consent (nothing is stored then).
pub async fn send_reply(
    db: &DatabaseConnection,
    tera: &tera::Tera,
    cfg: &MailConfig,
    ward: &UnitInfo,
    resp: &response::Model,
    author_id: i64,
    body: &str,
) -> Result<Option<i64>, DbErr> {
    let txn = crate::store::begin_write(db).await?;
    let Some(to) = consented_address(&txn, resp.id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let row = feedback_reply::ActiveModel {
        id: NotSet,
        response_id: Set(resp.id),
        author_id: Set(author_id),
        body: Set(body.to_string()),
        created_at: Set(now),
        followup_due_at: Set(now + chrono::Duration::days(i64::from(cfg.followup_days))),
        followup_enqueued_at: Set(None),
        resolved: Set(None),
        answered_at: Set(None),
    };
    let id = feedback_reply::Entity::insert(row)
        .exec(&txn)
        .await?
        .last_insert_id;
    let (_, unit_en) = super::alerts::unit_words(&ward.kind);
    let ctx = ReplyCtx {
        unit_title: crate::web::reach::unit_title(ward),
        unit_en,
        ward_name: &ward.name,
        receipt: &resp.receipt,
        submitted_on: vn_date(resp.submitted_at),
        body,
    };
    let mut msg = render(tera, "reply", &to, &ctx)
        .map_err(|e| DbErr::Custom(format!("cannot render the reply: {e}")))?;
    msg.ref_key = Some(format!("reply:{id}"));
    outbox::enqueue(&txn, msg).await?;
    txn.commit().await?;
    Ok(Some(id))
}

/// The replies to a response, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    response_id: i64,
) -> Result<Vec<feedback_reply::Model>, DbErr> {
    feedback_reply::Entity::find()
        .filter(feedback_reply::Column::ResponseId.eq(response_id))
        .order_by_asc(feedback_reply::Column::Id)
        .all(db)
        .await
}

#[derive(Serialize)]
struct FollowupCtx<'a> {
    unit_title: String,
    unit_en: &'a str,
    ward_name: &'a str,
    receipt: &'a str,
    replied_on: String,
    yes_url: String,
    no_url: String,
}

/// Enqueues the follow-ups that came due; each is taken by one instance only (the UPDATE that
/// sets `followup_enqueued_at` decides). A resident whose address was purged meanwhile gets none.
pub async fn enqueue_due_followups(
    db: &DatabaseConnection,
    tera: &tera::Tera,
    base_url: &str,
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let due: Vec<i64> = feedback_reply::Entity::find()
        .select_only()
        .column(feedback_reply::Column::Id)
        .filter(feedback_reply::Column::FollowupDueAt.lte(now))
        .filter(feedback_reply::Column::FollowupEnqueuedAt.is_null())
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
    let mut n = 0;
    for id in due {
        let txn = crate::store::begin_write(db).await?;
        let taken = feedback_reply::Entity::update_many()
            .col_expr(
                feedback_reply::Column::FollowupEnqueuedAt,
                Expr::value(Some(now)),
            )
            .filter(feedback_reply::Column::Id.eq(id))
            .filter(feedback_reply::Column::FollowupEnqueuedAt.is_null())
            .exec(&txn)
            .await?;
        if taken.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        let Some(reply) = feedback_reply::Entity::find_by_id(id).one(&txn).await? else {
            continue;
        };
        let resp = response::Entity::find_by_id(reply.response_id)
            .one(&txn)
            .await?;
        let to = consented_address(&txn, reply.response_id).await?;
        if let (Some(resp), Some(to)) = (resp, to) {
            let unit = crate::store::units::find_unit(&txn, &resp.ward_code).await?;
            let (name, kind, unit_title) = unit
                .map(|u| {
                    (
                        u.name.clone(),
                        u.kind.clone(),
                        crate::web::reach::unit_title(&u),
                    )
                })
                .unwrap_or_else(|| {
                    (
                        resp.ward_code.clone(),
                        String::new(),
                        resp.ward_code.clone(),
                    )
                });
            let (_, unit_en) = super::alerts::unit_words(&kind);
            let token = signed::sign(secret, FOLLOWUP_PURPOSE, &id.to_string());
            let ctx = FollowupCtx {
                unit_title,
                unit_en,
                ward_name: &name,
                receipt: &resp.receipt,
                replied_on: vn_date(reply.created_at),
                yes_url: format!("{}/r/{token}/yes", base(base_url)),
                no_url: format!("{}/r/{token}/no", base(base_url)),
            };
            let mut msg = render(tera, "followup", &to, &ctx)
                .map_err(|e| DbErr::Custom(format!("cannot render the follow-up: {e}")))?;
            msg.ref_key = Some(format!("reply:{id}"));
            msg.dedup_key = Some(format!("followup:{id}"));
            outbox::enqueue(&txn, msg).await?;
            n += 1;
        }
        txn.commit().await?;
    }
    Ok(n)
}

/// Records the resident's answer to the follow-up of reply `token`; `None` for a bad token.
/// The last click counts.
pub async fn record_answer(
    db: &impl ConnectionTrait,
    secret: &[u8],
    token: &str,
    answer: &str,
) -> Result<Option<&'static str>, DbErr> {
    let answer = match answer {
        "yes" => "yes",
        "no" => "no",
        _ => return Ok(None),
    };
    let Some(id) =
        signed::verify(secret, FOLLOWUP_PURPOSE, token).and_then(|p| p.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let res = feedback_reply::Entity::update_many()
        .col_expr(feedback_reply::Column::Resolved, Expr::value(Some(answer)))
        .col_expr(
            feedback_reply::Column::AnsweredAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(feedback_reply::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok((res.rows_affected == 1).then_some(answer))
}
