//! Writing responses: the response row, one row per answer, the contact apart, and the rollup
//! updates — all in the caller's transaction, so that either everything is stored or nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{ActiveValue::NotSet, ConnectionTrait, DbErr, EntityTrait, Set};

use crate::config::IntegrityConfig;
use crate::entities::{answer, contact, response, response_origin};
use crate::measure::{Acc, Cell};

/// How a response reached us (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Poster,
    Token,
    Paper,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Poster => "poster",
            Channel::Token => "token",
            Channel::Paper => "paper",
            Channel::Api => "api",
        }
    }
}

/// One stored answer: a number (Likert 1–5, scale 0–10), a text (choices, free text), or
/// neither (`na`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub question_id: String,
    pub value_num: Option<i32>,
    pub value_text: Option<String>,
}

/// A response ready to store: validated, with its rollup contributions computed.
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub ward_code: String,
    pub survey_id: String,
    pub survey_version: i32,
    pub channel: Channel,
    pub submitted_at: DateTime<Utc>,
    pub cell: Cell,
    pub answers: Vec<AnswerRow>,
    pub contact: Option<(String, bool)>,
    /// `Some(reason)` stores the response as flagged: kept, but out of the rollups.
    pub flag_reason: Option<String>,
    pub device_hash: Option<String>,
    /// SHA-256 of the invitation token it came with: claimed in the same transaction (a token
    /// already used, expired or for another ward flags the response `token_invalid`).
    pub token_hash: Option<String>,
    /// The client address as a keyed hash with the day's key, and that day (never the address).
    pub ip_hash: Option<(String, String)>,
    /// What this response adds to its ward's rollups (`measure::contributions`).
    pub contributions: Vec<(Cell, String, Acc)>,
}

const RECEIPT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A receipt code such as `7KQ3-M9XP-2B`: 10 symbols, no look-alike characters.
pub fn new_receipt() -> String {
    let mut rng = rand::thread_rng();
    let s: String = (0..10)
        .map(|_| RECEIPT_ALPHABET[rng.gen_range(0..RECEIPT_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..10])
}

/// Inserts a batch of responses with their answers, contacts and rollup updates, in the
/// connection given (a transaction), with the default integrity rules. Returns the receipts.
pub async fn insert_batch(
    db: &impl ConnectionTrait,
    batch: &[NewResponse],
) -> Result<Vec<String>, DbErr> {
    insert_batch_with(db, batch, &IntegrityConfig::default()).await
}

/// As [`insert_batch`], with the configured burst rule. Online responses (every channel but
/// `paper`) are checked here, inside the caller's transaction: the invitation token is claimed,
/// the device's first response per ward and quarter is registered (a second one is flagged
/// `duplicate_device`, also within one batch and across server instances), and a ward far above
/// its usual rate gets `burst` flags. Flagged responses are stored, out of the rollups.
pub async fn insert_batch_with(
    db: &impl ConnectionTrait,
    batch: &[NewResponse],
    rules: &IntegrityConfig,
) -> Result<Vec<String>, DbErr> {
    insert_batch_mailing(db, batch, rules, None).await
}

/// As [`insert_batch_with`]; with `mail`, the alerts to the ward's officers that the batch
/// causes are enqueued in the same transaction (see `crate::mail::alerts`).
pub async fn insert_batch_mailing(
    db: &impl ConnectionTrait,
    batch: &[NewResponse],
    rules: &IntegrityConfig,
    mail: Option<&crate::mail::alerts::MailCtx<'_>>,
) -> Result<Vec<String>, DbErr> {
    Ok(insert_batch_outcomes(db, batch, rules, mail, None)
        .await?
        .into_iter()
        .map(|o| o.receipt)
        .collect())
}

/// What storing one response gave: its receipt, and the flag it was stored with, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub receipt: String,
    pub flag: Option<String>,
}

/// As [`insert_batch_mailing`], returning each response's [`Outcome`] in batch order; with
/// `baseline`, the wards' usual rates for burst detection are kept between batches.
pub async fn insert_batch_outcomes(
    db: &impl ConnectionTrait,
    batch: &[NewResponse],
    rules: &IntegrityConfig,
    mail: Option<&crate::mail::alerts::MailCtx<'_>>,
    baseline: Option<&super::integrity::BaselineCache>,
) -> Result<Vec<Outcome>, DbErr> {
    let mut receipts = Vec::with_capacity(batch.len());
    let mut flags = Vec::with_capacity(batch.len());
    let mut all_checks = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut bursts = super::integrity::BurstTracker::new(rules);
    bursts.prefetch(db, batch, baseline).await?;
    // The checks run in batch order (a device's second response in one batch sees the first).
    for r in batch {
        let receipt = new_receipt();
        let checks = super::integrity::check(db, r, &mut bursts).await?;
        let flag_reason = r.flag_reason.clone().or(checks.flag.clone());
        rows.push(response::ActiveModel {
            id: NotSet,
            receipt: Set(receipt.clone()),
            ward_code: Set(r.ward_code.clone()),
            survey_id: Set(r.survey_id.clone()),
            survey_version: Set(r.survey_version),
            channel: Set(r.channel.as_str().to_string()),
            submitted_at: Set(r.submitted_at),
            month: Set(crate::period::month_key(r.submitted_at)),
            cell: Set(r.cell.key()),
            status: Set(if flag_reason.is_some() {
                "flagged"
            } else {
                "counted"
            }
            .to_string()),
            flag_reason: Set(flag_reason.clone()),
            device_hash: Set(r.device_hash.clone()),
        });
        all_checks.push(checks);
        receipts.push(receipt);
        flags.push(flag_reason);
    }
    // One statement per chunk; the ids come back with the receipts (RETURNING does not promise
    // the order of the rows).
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(batch.len());
    for chunk in super::shaped_chunks(&rows, 64) {
        for m in response::Entity::insert_many(chunk.to_vec())
            .exec_with_returning(db)
            .await?
        {
            ids.insert(m.receipt, m.id);
        }
    }
    let mut stored_ids: Vec<(i64, bool)> = Vec::with_capacity(batch.len());
    let mut answers = Vec::new();
    let mut contacts = Vec::new();
    let mut origins = Vec::new();
    let mut rollups = RollupDelta::default();
    for (((r, receipt), checks), flag) in batch.iter().zip(&receipts).zip(&all_checks).zip(&flags) {
        let id = *ids
            .get(receipt)
            .ok_or_else(|| DbErr::Custom(format!("response {receipt} was not stored")))?;
        super::integrity::link(db, r, checks, id).await?;
        stored_ids.push((id, flag.is_none()));
        if let Some((hash, day)) = &r.ip_hash {
            origins.push(response_origin::ActiveModel {
                response_id: Set(id),
                ip_hash: Set(hash.clone()),
                day: Set(day.clone()),
            });
        }
        for a in &r.answers {
            answers.push(answer::ActiveModel {
                response_id: Set(id),
                question_id: Set(a.question_id.clone()),
                value_num: Set(a.value_num),
                value_text: Set(a.value_text.clone()),
            });
        }
        if let Some((email, consent)) = &r.contact {
            contacts.push(contact::ActiveModel {
                response_id: Set(id),
                email: Set(email.clone()),
                consent: Set(*consent),
                created_at: Set(r.submitted_at),
            });
        }
        if flag.is_none() {
            let month = crate::period::month_key(r.submitted_at);
            rollups.add(&r.ward_code, &month, &r.contributions, 1);
        }
    }
    for chunk in super::shaped_chunks(&answers, 256) {
        answer::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    for chunk in super::shaped_chunks(&contacts, 256) {
        contact::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    for chunk in super::shaped_chunks(&origins, 256) {
        response_origin::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    rollups.apply(db).await?;
    if let Some(mail) = mail {
        let stored: Vec<crate::mail::alerts::Stored<'_>> = batch
            .iter()
            .zip(&receipts)
            .zip(&stored_ids)
            .map(
                |((r, receipt), (id, counted))| crate::mail::alerts::Stored {
                    id: *id,
                    receipt,
                    response: r,
                    counted: *counted,
                },
            )
            .collect();
        crate::mail::alerts::enqueue_alerts(db, mail, &stored).await?;
    }
    Ok(receipts
        .into_iter()
        .zip(flags)
        .map(|(receipt, flag)| Outcome { receipt, flag })
        .collect())
}

pub use super::rollups::{RollupDelta, RollupKey};
