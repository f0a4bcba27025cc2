//! What is kept only for a while (docs/privacy.md), purged by a background task of
//! `hailong serve` (hourly) or by `hailong privacy purge`:
//!
//! * contact e-mails: deleted `privacy.contact_retention_days` (default 90) after the response;
//! * free text (comment, issue): replaced by "[đã xoá theo yêu cầu]" in responses older than
//!   `privacy.text_retention_days` (default 730), and every stored message older than that
//!   emptied; the scores stay counted;
//! * sent mail: bodies emptied `mail.sent_retention_days` (default 30) after sending.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::entities::contact;

/// Deletes the contact e-mails left before `now - retention_days`; returns how many.
pub async fn purge_contacts(
    db: &DatabaseConnection,
    retention_days: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let res = contact::Entity::delete_many()
        .filter(contact::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// The retention periods, and the free-text questions of the instruments served.
#[derive(Debug, Clone)]
pub struct Retention {
    pub contact_days: u32,
    pub text_days: u32,
    pub sent_mail_days: u32,
    pub text_questions: Vec<String>,
}

impl Retention {
    pub fn of(config: &crate::config::Config, catalog: &crate::survey::Catalog) -> Retention {
        let mut text_questions = crate::store::privacy::text_questions(None);
        for s in catalog.iter() {
            for q in crate::store::privacy::text_questions(Some(s)) {
                if !text_questions.contains(&q) {
                    text_questions.push(q);
                }
            }
        }
        Retention {
            contact_days: config.privacy.contact_retention_days,
            text_days: config.privacy.text_retention_days,
            sent_mail_days: config.mail.sent_retention_days,
            text_questions,
        }
    }
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Contact e-mails deleted.
    pub contacts: u64,
    /// Responses whose free text was erased.
    pub texts: u64,
    /// Sent messages whose bodies were emptied.
    pub sent_mail: u64,
}

/// Runs the three purges once, at `now`.
pub async fn purge_all(
    db: &DatabaseConnection,
    r: &Retention,
    now: DateTime<Utc>,
) -> Result<Purged, DbErr> {
    Ok(Purged {
        contacts: purge_contacts(db, r.contact_days, now).await?,
        texts: crate::store::privacy::purge_old_text(db, &r.text_questions, r.text_days, now)
            .await?,
        sent_mail: crate::store::privacy::purge_sent_mail(db, r.sent_mail_days, now).await?,
    })
}

/// Runs [`purge_all`] at start and then every `every`, until the task is dropped.
pub async fn purge_loop(db: DatabaseConnection, r: Retention, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match purge_all(&db, &r, Utc::now()).await {
            Ok(p) if p == Purged::default() => {}
            Ok(p) => tracing::info!(
                contacts = p.contacts,
                texts = p.texts,
                sent_mail = p.sent_mail,
                "purged personal data past its retention"
            ),
            Err(e) => tracing::error!(error = %e, "cannot purge personal data past its retention"),
        }
    }
}
