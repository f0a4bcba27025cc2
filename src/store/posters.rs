//! Posters and their signed ids (docs/console.md). A poster id is `{ward}-{serial}-{signature}` with
//! `signature = HMAC-SHA256(server secret, "poster:{ward}-{serial}")` (first 16 hex digits). A
//! submission carrying a valid id of an unrevoked poster of its ward gets channel `poster`;
//! anything else is ignored (channel `web`).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::entities::poster;
use crate::privacy::keys::{hmac_hex, random_hex, same};

fn signature(secret: &[u8], ward: &str, serial: &str) -> String {
    hmac_hex(secret, "poster", &format!("{ward}-{serial}"))[..16].to_string()
}

/// A new signed id for `ward` (not stored).
pub fn sign(secret: &[u8], ward: &str) -> String {
    let serial = random_hex(4);
    format!("{ward}-{serial}-{}", signature(secret, ward, &serial))
}

/// The ward of a well-signed id, or `None` for a forged or malformed one.
pub fn verify_signature(secret: &[u8], id: &str) -> Option<String> {
    let mut parts = id.split('-');
    let (ward, serial, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || ward.is_empty()
        || ward.len() > 8
        || !ward.bytes().all(|b| b.is_ascii_digit())
        || serial.len() != 8
        || !serial.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    same(&signature(secret, ward, serial), sig).then(|| ward.to_string())
}

/// The ward's current poster id: its newest unrevoked poster, or a new one.
pub async fn current(
    db: &impl ConnectionTrait,
    secret: &[u8],
    ward: &str,
) -> Result<String, DbErr> {
    if let Some(p) = poster::Entity::find()
        .filter(poster::Column::WardCode.eq(ward))
        .filter(poster::Column::RevokedAt.is_null())
        .order_by_desc(poster::Column::CreatedAt)
        .one(db)
        .await?
    {
        return Ok(p.id);
    }
    let id = sign(secret, ward);
    poster::Entity::insert(poster::ActiveModel {
        id: Set(id.clone()),
        ward_code: Set(ward.to_string()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// The current poster id of each of `wards` (as [`current`], in two statements whatever
/// their number): their newest unrevoked posters, and new ones for the wards without.
pub async fn current_many(
    db: &impl ConnectionTrait,
    secret: &[u8],
    wards: &[String],
) -> Result<HashMap<String, String>, DbErr> {
    let mut ids: HashMap<String, String> = HashMap::new();
    for chunk in wards.chunks(500) {
        // Oldest first, so that the newest of a ward is the one kept.
        for p in poster::Entity::find()
            .filter(poster::Column::WardCode.is_in(chunk.iter().cloned()))
            .filter(poster::Column::RevokedAt.is_null())
            .order_by_asc(poster::Column::CreatedAt)
            .all(db)
            .await?
        {
            ids.insert(p.ward_code, p.id);
        }
    }
    let now = Utc::now();
    let mut new = Vec::new();
    for w in wards {
        if ids.contains_key(w) {
            continue;
        }
        let id = sign(secret, w);
        ids.insert(w.clone(), id.clone());
        new.push(poster::ActiveModel {
            id: Set(id),
            ward_code: Set(w.clone()),
            created_at: Set(now),
            revoked_at: Set(None),
        });
    }
    for chunk in new.chunks(500) {
        poster::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(ids)
}

/// Whether `id` is a valid, unrevoked poster of `ward`.
pub async fn is_valid(
    db: &impl ConnectionTrait,
    secret: &[u8],
    id: &str,
    ward: &str,
) -> Result<bool, DbErr> {
    if verify_signature(secret, id).as_deref() != Some(ward) {
        return Ok(false);
    }
    Ok(poster::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .is_some_and(|p| p.revoked_at.is_none() && p.ward_code == ward))
}

/// Revokes a poster; `Ok(false)` when there is no such poster or it was already revoked.
pub async fn revoke(db: &impl ConnectionTrait, id: &str, actor: &str) -> Result<bool, DbErr> {
    let n = poster::Entity::update_many()
        .col_expr(poster::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(poster::Column::Id.eq(id))
        .filter(poster::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if n == 1 {
        super::audit::record(db, actor, "poster.revoke", &format!("poster:{id}"), None).await?;
    }
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let k = [3u8; 32];
        let id = sign(&k, "00004");
        assert_eq!(verify_signature(&k, &id).as_deref(), Some("00004"));
        assert!(verify_signature(&[4u8; 32], &id).is_none());
        let forged = id.replacen("00004", "00007", 1);
        assert!(verify_signature(&k, &forged).is_none());
        for bad in [
            "",
            "-",
            "00004--",
            "00004-zzzzzzzz-0000000000000000",
            "a-b-c-d",
        ] {
            assert!(verify_signature(&k, bad).is_none(), "{bad}");
        }
    }
}
