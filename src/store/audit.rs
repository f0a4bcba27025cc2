//! The append-only audit log of staff actions (docs/console.md). Rows are only ever inserted;
//! the console reads them newest first through an [`AuditFilter`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::entities::audit_log;

/// Appends one entry, in the caller's connection or transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: Option<String>,
) -> Result<(), DbErr> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        target: Set(target.to_string()),
        detail: Set(detail),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Which entries to read: each part that is set narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Actors whose stored name contains this text (lower case: e-mails are stored so),
    /// or that are named in `actors_exact`.
    pub actor_contains: Option<String>,
    /// Stored actor names matched as a whole (`resident`, `system`…, found from their words).
    pub actors_exact: Vec<String>,
    /// One action code.
    pub action: Option<String>,
}

impl AuditFilter {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(from) = self.from {
            c = c.add(audit_log::Column::At.gte(from));
        }
        if let Some(until) = self.until {
            c = c.add(audit_log::Column::At.lt(until));
        }
        if self.actor_contains.is_some() || !self.actors_exact.is_empty() {
            let mut any = Condition::any();
            if let Some(text) = &self.actor_contains {
                // `%`, `_` and `\` typed by the user are matched as themselves.
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                any = any.add(
                    Expr::col(audit_log::Column::Actor)
                        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
                );
            }
            if !self.actors_exact.is_empty() {
                any = any.add(audit_log::Column::Actor.is_in(self.actors_exact.clone()));
            }
            c = c.add(any);
        }
        if let Some(a) = &self.action {
            c = c.add(audit_log::Column::Action.eq(a.as_str()));
        }
        c
    }
}

/// How many entries the filter keeps.
pub async fn count(db: &impl ConnectionTrait, filter: &AuditFilter) -> Result<u64, DbErr> {
    audit_log::Entity::find()
        .filter(filter.condition())
        .count(db)
        .await
}

/// One page of the filtered entries, newest first.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    audit_log::Entity::find()
        .filter(filter.condition())
        .order_by_desc(audit_log::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
}

/// The filtered entries with an id below `before` (all when `None`), newest first, at most
/// `limit`: a file of any length is read page by page in bounded memory.
pub async fn before(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut c = filter.condition();
    if let Some(id) = before {
        c = c.add(audit_log::Column::Id.lt(id));
    }
    audit_log::Entity::find()
        .filter(c)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Whether any entry has an action starting with `prefix` (`pilot.`: the console has
/// changed the pilot group at least once).
pub async fn any_action_with_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> Result<bool, DbErr> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::Action.starts_with(prefix))
        .one(db)
        .await?
        .is_some())
}
