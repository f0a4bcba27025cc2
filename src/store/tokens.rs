//! Single-use invitation tokens (`/s/{ward}?t=…`). Only the SHA-256 of a token is stored; a
//! token is claimed by the transaction that stores its response (see `store::integrity`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set, TransactionTrait};

use crate::entities::invitation_token;
use crate::privacy::keys::{random_hex, sha256_hex};

/// Why a token cannot be used (or that it can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    /// Not a token we issued.
    Unknown,
    /// Issued for another ward.
    WrongWard,
    Used,
    Expired,
}

/// Makes `count` tokens for `ward`, stored hashed in one transaction; returns them in clear.
pub async fn issue(
    db: &DatabaseConnection,
    ward: &str,
    count: usize,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Vec<String>, DbErr> {
    let now = Utc::now();
    let tokens: Vec<String> = (0..count).map(|_| random_hex(16)).collect();
    let txn = db.begin().await?;
    for chunk in tokens.chunks(500) {
        let rows: Vec<invitation_token::ActiveModel> = chunk
            .iter()
            .map(|t| invitation_token::ActiveModel {
                token_hash: Set(sha256_hex(t)),
                ward_code: Set(ward.to_string()),
                created_at: Set(now),
                expires_at: Set(expires_at),
                used_at: Set(None),
                response_id: Set(None),
            })
            .collect();
        invitation_token::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(tokens)
}

/// What `token` is worth for `ward` at `now` (read only; the claim happens on storing).
pub async fn status(
    db: &impl ConnectionTrait,
    token: &str,
    ward: &str,
    now: DateTime<Utc>,
) -> Result<TokenStatus, DbErr> {
    let Some(row) = invitation_token::Entity::find_by_id(sha256_hex(token))
        .one(db)
        .await?
    else {
        return Ok(TokenStatus::Unknown);
    };
    Ok(if row.ward_code != ward {
        TokenStatus::WrongWard
    } else if row.used_at.is_some() {
        TokenStatus::Used
    } else if row.expires_at.is_some_and(|e| e <= now) {
        TokenStatus::Expired
    } else {
        TokenStatus::Valid
    })
}
