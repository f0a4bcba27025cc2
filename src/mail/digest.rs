//! The weekly digest to province and ministry users: for each province in the user's scope,
//! the current quarter's wards with an index, and the wards whose index changed significantly
//! from the previous quarter (`store::figures::province_ranking`'s change flags), drops first.
//! Each digest carries a signed unsubscribe link and the `List-Unsubscribe` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` headers (RFC 8058).
//!
//! The worker enqueues it once per ISO week (Vietnam time, from Monday 07:00), with the enqueue-
//! once key `digest:YYYY-Www:USER`, so several instances send one digest per user and week;
//! `hailong mail digest` enqueues one now.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::{base, outbox, render, signed};
use crate::entities::{mail_optout, staff_user};
use crate::measure::change::ChangeFlag;
use crate::period::Period;
use crate::store::figures::MeasureCtx;

pub const UNSUBSCRIBE_PURPOSE: &str = "unsubscribe";

#[derive(Serialize, Clone)]
struct WardLine {
    code: String,
    name: String,
    index: Option<String>,
    url: String,
}

#[derive(Serialize, Clone)]
struct ProvinceBlock {
    code: String,
    name: String,
    wards: usize,
    with_index: usize,
    drops: Vec<WardLine>,
    rises: Vec<WardLine>,
}

#[derive(Serialize)]
struct DigestCtx<'a> {
    period: String,
    previous: String,
    provinces: &'a [ProvinceBlock],
    total_drops: usize,
    total_rises: usize,
    console_url: String,
    unsubscribe_url: String,
}

/// The ISO week of `now` in Vietnam time, e.g. `2026-W48`; `None` before Monday 07:00.
pub fn due_week(now: DateTime<Utc>) -> Option<String> {
    let local = now.with_timezone(&crate::period::vietnam());
    if local.weekday() == chrono::Weekday::Mon && local.hour() < 7 {
        return None;
    }
    let w = local.iso_week();
    Some(format!("{}-W{:02}", w.year(), w.week()))
}

async fn province_block(
    db: &impl ConnectionTrait,
    ctx: MeasureCtx<'_>,
    base_url: &str,
    code: &str,
    name: &str,
    period: Period,
) -> Result<ProvinceBlock, DbErr> {
    let rows = crate::store::figures::province_ranking(db, ctx, code, period).await?;
    let line = |r: &crate::store::figures::RankedRow| WardLine {
        code: r.ward_code.clone(),
        name: r.ward_name.clone(),
        index: r.figures.index.as_ref().map(|i| format!("{:.1}", i.value)),
        url: format!("{}/staff/wards/{}", base(base_url), r.ward_code),
    };
    Ok(ProvinceBlock {
        code: code.to_string(),
        name: name.to_string(),
        wards: rows.len(),
        with_index: rows.iter().filter(|r| r.figures.index.is_some()).count(),
        drops: rows
            .iter()
            .filter(|r| r.change == Some(ChangeFlag::SignificantDrop))
            .map(line)
            .collect(),
        rises: rows
            .iter()
            .filter(|r| r.change == Some(ChangeFlag::SignificantRise))
            .map(line)
            .collect(),
    })
}

/// Enqueues the digest for every active province and ministry user who did not unsubscribe;
/// with `week`, at most once per user and week. Returns how many were enqueued.
pub async fn enqueue_digests(
    db: &impl ConnectionTrait,
    tera: &tera::Tera,
    ctx: MeasureCtx<'_>,
    base_url: &str,
    secret: &[u8],
    now: DateTime<Utc>,
    week: Option<&str>,
) -> Result<usize, DbErr> {
    let users = staff_user::Entity::find()
        .filter(staff_user::Column::Active.eq(true))
        .filter(staff_user::Column::Role.is_in(["province", "ministry"]))
        .order_by_asc(staff_user::Column::Id)
        .all(db)
        .await?;
    let opted_out: Vec<i64> = mail_optout::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.user_id)
        .collect();
    let provinces = crate::store::units::provinces(db).await?;
    let period = Period::quarter_of(now);
    let mut blocks: HashMap<String, ProvinceBlock> = HashMap::new();
    let mut n = 0;
    for u in users.into_iter().filter(|u| !opted_out.contains(&u.id)) {
        let codes: Vec<(String, String)> = match (u.role.as_str(), &u.scope_code) {
            ("province", Some(code)) => provinces
                .iter()
                .filter(|p| &p.code == code)
                .map(|p| (p.code.clone(), p.name.clone()))
                .collect(),
            ("ministry", _) => provinces
                .iter()
                .map(|p| (p.code.clone(), p.name.clone()))
                .collect(),
            _ => continue,
        };
        let mut mine = Vec::with_capacity(codes.len());
        for (code, name) in codes {
            if !blocks.contains_key(&code) {
                let b = province_block(db, ctx, base_url, &code, &name, period).await?;
                blocks.insert(code.clone(), b);
            }
            mine.push(blocks[&code].clone());
        }
        // The ministry's digest lists only provinces with a significant change.
        if u.role == "ministry" {
            mine.retain(|b| !b.drops.is_empty() || !b.rises.is_empty());
        }
        let token = signed::sign(secret, UNSUBSCRIBE_PURPOSE, &u.id.to_string());
        let unsubscribe_url = format!("{}/mail/unsubscribe/{token}", base(base_url));
        let dctx = DigestCtx {
            period: period.to_string(),
            previous: period.prev().to_string(),
            total_drops: mine.iter().map(|b| b.drops.len()).sum(),
            total_rises: mine.iter().map(|b| b.rises.len()).sum(),
            provinces: &mine,
            console_url: format!("{}/staff", base(base_url)),
            unsubscribe_url: unsubscribe_url.clone(),
        };
        let mut msg = render(tera, "digest", &u.email, &dctx)
            .map_err(|e| DbErr::Custom(format!("cannot render the digest: {e}")))?;
        msg.headers = vec![
            ("List-Unsubscribe".into(), format!("<{unsubscribe_url}>")),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ];
        msg.ref_key = Some(format!("user:{}", u.id));
        msg.dedup_key = week.map(|w| format!("digest:{w}:{}", u.id));
        if outbox::enqueue(db, msg).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Unsubscribes the user of a signed token from the digest; `false` for a bad token.
pub async fn unsubscribe(
    db: &impl ConnectionTrait,
    secret: &[u8],
    token: &str,
) -> Result<bool, DbErr> {
    let Some(id) =
        signed::verify(secret, UNSUBSCRIBE_PURPOSE, token).and_then(|p| p.parse::<i64>().ok())
    else {
        return Ok(false);
    };
    if staff_user::Entity::find_by_id(id).one(db).await?.is_none() {
        return Ok(false);
    }
    let row = mail_optout::ActiveModel {
        user_id: sea_orm::Set(id),
        created_at: sea_orm::Set(Utc::now()),
    };
    let res = mail_optout::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(mail_optout::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match res {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(true),
        Err(e) => Err(e),
    }
}
