//! The outbox table: enqueue in the caller's transaction, claim with a lease, mark the outcome.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::Message;
use crate::entities::outbox;

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// Writes `msg` to the outbox in the connection given (the transaction of the event that causes
/// it), due now. A message whose `dedup_key` is already in the outbox is dropped; returns whether
/// it was written.
pub async fn enqueue(txn: &impl ConnectionTrait, msg: Message) -> Result<bool, DbErr> {
    enqueue_at(txn, msg, Utc::now()).await
}

/// As [`enqueue`], due at `due`.
pub async fn enqueue_at(
    txn: &impl ConnectionTrait,
    msg: Message,
    due: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let headers = serde_json::to_string(&msg.headers).unwrap_or_else(|_| "[]".into());
    let row = outbox::ActiveModel {
        id: NotSet,
        kind: Set(msg.kind.to_string()),
        recipient: Set(msg.to),
        subject: Set(msg.subject),
        body_text: Set(msg.text),
        body_html: Set(msg.html),
        headers: Set(headers),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(due),
        claimed_until: Set(None),
        last_error: Set(None),
        dedup_key: Set(msg.dedup_key),
        ref_key: Set(msg.ref_key),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
    };
    let res = outbox::Entity::insert(row)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await;
    match res {
        Ok(n) => Ok(n > 0),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Ids of messages due at `now` and not leased by anybody, oldest first.
pub async fn due_ids(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(free_at(now))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

fn free_at(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(outbox::Column::ClaimedUntil.is_null())
        .add(outbox::Column::ClaimedUntil.lt(now))
}

/// Claims message `id` for `lease`: succeeds for exactly one caller among several workers (the
/// UPDATE's own WHERE decides, guarded by the affected-row count). Returns the message when this
/// caller owns it now.
pub async fn claim(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Option<outbox::Model>, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(PENDING))
        .filter(free_at(now))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    outbox::Entity::find_by_id(id).one(db).await
}

/// Kinds of message that go to residents: their address is dropped once sent, and shown masked
/// while it waits.
pub const RESIDENT_KINDS: [&str; 2] = ["reply", "followup"];

/// The SMTP server accepted message `id`. A resident's address is not kept past that point.
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(SENT))
        .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Recipient, Expr::value("(deleted)"))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Kind.is_in(RESIDENT_KINDS))
        .exec(db)
        .await?;
    Ok(())
}

/// The wait after the `attempts`-th failed try: `base × 2^(attempts−1)`, at most `max`.
pub fn backoff(attempts: u32, base_secs: u64, max_secs: u64) -> Duration {
    let exp = Ord::min(attempts.saturating_sub(1), 30);
    let secs = Ord::min(base_secs.saturating_mul(1u64 << exp), max_secs);
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

/// A try failed: retry later with backoff, or mark the message `failed` after `max_attempts`.
pub async fn mark_attempt_failed(
    db: &impl ConnectionTrait,
    msg: &outbox::Model,
    error: &str,
    now: DateTime<Utc>,
    cfg: &crate::config::MailConfig,
) -> Result<(), DbErr> {
    let attempts = u32::try_from(msg.attempts).unwrap_or(0) + 1;
    let failed = attempts >= cfg.max_attempts;
    let error: String = error.chars().take(1000).collect();
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(if failed { FAILED } else { PENDING }),
        )
        .col_expr(outbox::Column::Attempts, Expr::value(attempts as i32))
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(now + backoff(attempts, cfg.backoff_base_secs, cfg.backoff_max_secs)),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::LastError, Expr::value(Some(error)))
        .filter(outbox::Column::Id.eq(msg.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages in `status`, newest first (the ministry's `/staff/mail` page).
pub async fn list(
    db: &impl ConnectionTrait,
    status: &str,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::Status.eq(status))
        .order_by_desc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub async fn count(db: &impl ConnectionTrait, status: &str) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::Status.eq(status))
        .count(db)
        .await
}

/// Puts a failed message back in the queue, due now (the ministry's retry button).
pub async fn retry(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(PENDING))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(FAILED))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1, 60, 3600), Duration::seconds(60));
        assert_eq!(backoff(2, 60, 3600), Duration::seconds(120));
        assert_eq!(backoff(4, 60, 3600), Duration::seconds(480));
        assert_eq!(backoff(10, 60, 3600), Duration::seconds(3600));
        assert_eq!(backoff(200, 60, 3600), Duration::seconds(3600));
    }
}
