//! API tokens for the ministry's integrations: shown once at creation, stored as a SHA-256
//! hash, revocable.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use crate::auth::{random_token, sha256_hex};
use crate::entities::api_token;

/// The prefix of every token, so that a leaked one is easy to recognise and scan for.
pub const PREFIX: &str = "hl_";

/// Creates a token; returns its id and the token itself (never stored, shown once).
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    created_by: i64,
) -> Result<(i64, String), DbErr> {
    let token = format!("{PREFIX}{}", random_token());
    let id = api_token::Entity::insert(api_token::ActiveModel {
        id: NotSet,
        name: Set(name.to_string()),
        token_hash: Set(sha256_hex(&token)),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
    })
    .exec(db)
    .await?
    .last_insert_id;
    Ok((id, token))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
}

/// Revokes a live token; `false` when there is no such live token.
pub async fn revoke(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let r = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// The live token a bearer value names, if any (and notes its use).
pub async fn verify(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<api_token::Model>, DbErr> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    if let Some(t) = &found {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(Utc::now()))
            .filter(api_token::Column::Id.eq(t.id))
            .exec(db)
            .await?;
    }
    Ok(found)
}
