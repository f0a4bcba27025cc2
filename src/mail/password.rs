//! Staff invitation and password-reset links: `/staff/reset/{token}`, the token being
//! `USER-EXPIRES-TAG.signature` signed with the server secret, where `TAG` is taken from the
//! user's current password hash. A link therefore expires at `EXPIRES` (Unix seconds) and stops
//! working as soon as the password is set (single use), and nobody can forge one.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;

use super::{base, outbox, render, signed};
use crate::entities::staff_user;

pub const PURPOSE: &str = "password";

fn tag(password_hash: &str) -> String {
    crate::privacy::keys::sha256_hex(password_hash)[..16].to_string()
}

pub fn token(secret: &[u8], user: &staff_user::Model, expires: DateTime<Utc>) -> String {
    let payload = format!(
        "{}-{}-{}",
        user.id,
        expires.timestamp(),
        tag(&user.password_hash)
    );
    signed::sign(secret, PURPOSE, &payload)
}

/// The active user a link is for, when it is genuine, not expired and not used yet.
pub async fn check(
    db: &impl ConnectionTrait,
    secret: &[u8],
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<staff_user::Model>, DbErr> {
    let Some(payload) = signed::verify(secret, PURPOSE, token) else {
        return Ok(None);
    };
    let mut parts = payload.splitn(3, '-');
    let (Some(id), Some(exp), Some(t)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (Ok(id), Ok(exp)) = (id.parse::<i64>(), exp.parse::<i64>()) else {
        return Ok(None);
    };
    if exp <= now.timestamp() {
        return Ok(None);
    }
    let user = staff_user::Entity::find_by_id(id).one(db).await?;
    Ok(user.filter(|u| u.active && crate::privacy::keys::same(&tag(&u.password_hash), t)))
}

#[derive(Serialize)]
struct LinkCtx<'a> {
    email: &'a str,
    role: String,
    url: String,
    expires_at: String,
    login_url: String,
}

/// Enqueues an `invite` or `password_reset` message with a fresh link valid for `valid`.
pub async fn enqueue_link(
    db: &impl ConnectionTrait,
    tera: &tera::Tera,
    base_url: &str,
    secret: &[u8],
    user: &staff_user::Model,
    kind: &'static str,
    valid: Duration,
) -> Result<(), DbErr> {
    let expires = Utc::now() + valid;
    let url = format!(
        "{}/staff/reset/{}",
        base(base_url),
        token(secret, user, expires)
    );
    let role = match &user.scope_code {
        Some(c) => format!("{}:{c}", user.role),
        None => user.role.clone(),
    };
    let ctx = LinkCtx {
        email: &user.email,
        role,
        url,
        expires_at: expires
            .with_timezone(&crate::period::vietnam())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        login_url: format!("{}/staff/login", base(base_url)),
    };
    let mut msg = render(tera, kind, &user.email, &ctx)
        .map_err(|e| DbErr::Custom(format!("cannot render the {kind} message: {e}")))?;
    msg.ref_key = Some(format!("user:{}", user.id));
    // At most one reset mail per user and 10 minutes, however often the form is sent (the
    // forgot-password form must not become a way to flood a colleague's mailbox).
    if kind == "password_reset" {
        msg.dedup_key = Some(format!(
            "password_reset:{}:{}",
            user.id,
            Utc::now().timestamp() / 600
        ));
    }
    outbox::enqueue(db, msg).await?;
    Ok(())
}
