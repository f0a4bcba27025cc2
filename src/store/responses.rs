//! Writing responses: the response row with its answers, the contact apart, and the rollup
//! updates — all in the caller's transaction, so that either everything is stored or nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::config::IntegrityConfig;
use crate::measure::{Acc, Cell};

/// How a response reached us (docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Poster,
    Token,
    Paper,
    Api,
    /// An assisted interview, entered by an interviewer (`interviewer:{ward}`) at
    /// `/staff/interview/{ward}`.
    Assisted,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Poster => "poster",
            Channel::Token => "token",
            Channel::Paper => "paper",
            Channel::Api => "api",
            Channel::Assisted => "assisted",
        }
    }

    /// Whether the online checks (invitation token, device, address, burst) apply. Paper
    /// ballots and assisted interviews are entered by a person accountable for them, from one
    /// office or one tablet: they are never flagged by those checks and never counted in a
    /// ward's burst window (docs/integrity.md).
    pub fn is_checked(self) -> bool {
        !matches!(self, Channel::Paper | Channel::Assisted)
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

impl AnswerRow {
    /// A response's answers as stored in `responses.answers`: one JSON object, question → a
    /// number, a text, or null (`na`).
    pub fn to_json(answers: &[AnswerRow]) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = answers
            .iter()
            .map(|a| {
                let v = match (&a.value_num, &a.value_text) {
                    (Some(n), _) => serde_json::Value::from(*n),
                    (None, Some(t)) => serde_json::Value::from(t.as_str()),
                    (None, None) => serde_json::Value::Null,
                };
                (a.question_id.clone(), v)
            })
            .collect();
        serde_json::Value::Object(map)
    }

    /// The answers stored in `responses.answers` (anything but an object of numbers, texts and
    /// nulls is skipped: it was not written by [`AnswerRow::to_json`]).
    pub fn from_json(stored: &serde_json::Value) -> Vec<AnswerRow> {
        let Some(map) = stored.as_object() else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(q, v)| {
                let (value_num, value_text) = match v {
                    serde_json::Value::Null => (None, None),
                    serde_json::Value::Number(n) => (Some(i32::try_from(n.as_i64()?).ok()?), None),
                    serde_json::Value::String(s) => (None, Some(s.clone())),
                    _ => return None,
                };
                Some(AnswerRow {
                    question_id: q.clone(),
                    value_num,
                    value_text,
                })
            })
            .collect()
    }
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
    /// SHA-256 of the random part of the resident's private link (`/privacy/{id}-{secret}`,
    /// see `store::privacy`), stored with the response; `None` gives it no link.
    pub privacy_hash: Option<String>,
    /// The client address as a keyed hash with the day's key, and that day (never the address).
    pub ip_hash: Option<(String, String)>,
    /// The staff user (role `interviewer:{ward}`) who entered this assisted interview; stored
    /// in `response_interviewers` in the response's transaction.
    pub interviewer_id: Option<i64>,
    /// What this response adds to its ward's rollups (`measure::contributions`).
    pub contributions: Vec<(Cell, String, Acc)>,
    /// Why it would alert the ward's officers, worked out by the request handler
    /// (`mail::alerts::AlertBasis::of`) so that the writer does not match keywords; `None`
    /// has the writer work it out.
    pub alert_basis: Option<crate::mail::alerts::AlertBasis>,
    /// The misconduct keywords its comment or issue holds (`mail::alerts::misconduct`): when
    /// any, it is stored withheld from its ward (`withheld_responses`) and alerts the
    /// province's users instead of the ward's officers.
    pub misconduct: Vec<String>,
}

const RECEIPT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A receipt code such as `7KQ3-M9XP-2B`: 10 symbols, no look-alike characters.
pub fn new_receipt() -> String {
    receipt_from(0, [0; 10])
}

/// The receipt whose first `fixed` symbols are those of `symbols` and the rest random.
fn receipt_from(fixed: usize, mut symbols: [u8; 10]) -> String {
    let mut rng = rand::thread_rng();
    for s in symbols.iter_mut().skip(fixed) {
        *s = RECEIPT_ALPHABET[rng.gen_range(0..RECEIPT_ALPHABET.len())];
    }
    let s = String::from_utf8_lossy(&symbols);
    format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..10])
}

/// Symbols of a receipt that [`receipt_for_id`] takes from the id.
const ID_SYMBOLS: u32 = 7;

/// A receipt in the same form as [`new_receipt`] whose first seven symbols are the response id
/// in base 31 and whose last three are random: receipts sort as their ids do (the alphabet is
/// in ASCII order), are distinct because the ids are, and cannot be told from the id alone.
/// Ids past 31⁷ (27 billion) get a random receipt.
pub fn receipt_for_id(id: i64) -> String {
    let base = RECEIPT_ALPHABET.len() as i64;
    if id < 0 || id >= base.pow(ID_SYMBOLS) {
        return new_receipt();
    }
    let mut symbols = [0u8; 10];
    let mut rest = id;
    for i in (0..ID_SYMBOLS as usize).rev() {
        symbols[i] = RECEIPT_ALPHABET[(rest % base) as usize];
        rest /= base;
    }
    receipt_from(ID_SYMBOLS as usize, symbols)
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
/// `duplicate_device`, also within one batch and across server instances; a response with a
/// valid token is exempt), an address past its day's allowance in a ward gets `same_address`
/// flags, and a ward far above its usual rate gets `burst` flags. Flagged responses are
/// stored, out of the rollups.
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

/// What storing one response gave: its id and receipt, and the flag it was stored with, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub id: i64,
    pub receipt: String,
    pub flag: Option<String>,
}

/// What a writer keeps between batches: the wards' usual rates and what it knows of their
/// recent windows, for burst detection, and the committed rollup slots.
#[derive(Default)]
pub struct BatchCaches {
    pub baseline: super::integrity::BaselineCache,
    pub recent: super::integrity::RecentCache,
    pub slots: super::rollups::SlotCache,
}

/// As [`insert_batch_mailing`], returning each response's [`Outcome`] in batch order; with
/// `caches`, what changes slowly is kept between batches.
pub async fn insert_batch_outcomes(
    db: &impl ConnectionTrait,
    batch: &[NewResponse],
    rules: &IntegrityConfig,
    mail: Option<&crate::mail::alerts::MailCtx<'_>>,
    caches: Option<&BatchCaches>,
) -> Result<Vec<Outcome>, DbErr> {
    let backend = db.get_database_backend();
    let mut receipts = Vec::with_capacity(batch.len());
    let mut flags = Vec::with_capacity(batch.len());
    let mut all_checks = Vec::with_capacity(batch.len());
    let mut bursts = super::integrity::BurstTracker::new(rules);
    bursts
        .prefetch(
            db,
            batch,
            caches.map(|c| &c.baseline),
            caches.map(|c| &c.recent),
        )
        .await?;
    // The checks run in batch order (a device's second response in one batch sees the first):
    // token and device per response, the addresses for the whole batch, then the burst rule,
    // which leaves out what the first two found to be repeats.
    for r in batch {
        all_checks.push(super::integrity::check(db, r).await?);
    }
    super::integrity::address_checks(db, rules, batch, &mut all_checks).await?;
    for (r, checks) in batch.iter().zip(all_checks.iter_mut()) {
        super::integrity::burst_check(db, r, checks, &mut bursts).await?;
        flags.push(r.flag_reason.clone().or(checks.flag.clone()));
    }
    // One statement per chunk. On SQLite the writer holds the write lock (`BEGIN IMMEDIATE`),
    // so it numbers the rows itself, after the highest id ever used (the table is
    // AUTOINCREMENT), and nothing comes back; on PostgreSQL the ids come back with the
    // receipts (RETURNING does not promise the order of the rows).
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(batch.len());
    let mut next_id = match backend {
        DbBackend::Sqlite => Some(last_response_id(db).await?),
        _ => None,
    };
    // Where the ids are known in advance (SQLite), a receipt starts with its response's id, so
    // that the receipts' unique index grows at its end: a batch adds to one leaf page of it
    // instead of one random page per response, each written to the WAL in full.
    for i in 0..batch.len() {
        receipts.push(match next_id {
            Some(last) => receipt_for_id(last + 1 + i as i64),
            None => new_receipt(),
        });
    }
    let rows: Vec<usize> = (0..batch.len()).collect();
    for chunk in super::exact_chunks(&rows, 64) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * (RESPONSE_COLS + 1));
        for &i in chunk {
            let (r, flag) = (&batch[i], &flags[i]);
            if let Some(last) = next_id.as_mut() {
                *last += 1;
                ids.insert(receipts[i].clone(), *last);
                values.push(Value::from(*last));
            }
            values.extend([
                Value::from(receipts[i].as_str()),
                Value::from(r.ward_code.as_str()),
                Value::from(r.survey_id.as_str()),
                Value::from(r.survey_version),
                Value::from(r.channel.as_str()),
                Value::from(r.submitted_at),
                Value::from(crate::period::month_key(r.submitted_at)),
                Value::from(r.cell.key()),
                Value::from(if flag.is_some() { "flagged" } else { "counted" }),
                Value::from(flag.clone()),
                Value::from(r.device_hash.clone()),
                Value::from(AnswerRow::to_json(&r.answers)),
            ]);
        }
        if next_id.is_some() {
            let sql = super::values_sql(
                backend,
                &format!("INSERT INTO responses (id, {RESPONSE_COLUMNS})"),
                RESPONSE_COLS + 1,
                chunk.len(),
                "",
            );
            db.execute_raw(Statement::from_sql_and_values(backend, &*sql, values))
                .await?;
            continue;
        }
        let sql = super::values_sql(
            backend,
            &format!("INSERT INTO responses ({RESPONSE_COLUMNS})"),
            RESPONSE_COLS,
            chunk.len(),
            "RETURNING id, receipt",
        );
        for row in db
            .query_all_raw(Statement::from_sql_and_values(backend, &*sql, values))
            .await?
        {
            ids.insert(row.try_get_by_index(1)?, row.try_get_by_index(0)?);
        }
    }
    let mut stored_ids: Vec<(i64, bool)> = Vec::with_capacity(batch.len());
    let mut contacts: Vec<Value> = Vec::new();
    let mut origins: Vec<Value> = Vec::new();
    let mut links: Vec<Value> = Vec::new();
    let mut interviewers: Vec<Value> = Vec::new();
    let mut withheld: Vec<Value> = Vec::new();
    let mut withheld_audit: Vec<Value> = Vec::new();
    let mut rollups = RollupDelta::default();
    for (((r, receipt), checks), flag) in batch.iter().zip(&receipts).zip(&all_checks).zip(&flags) {
        let id = *ids
            .get(receipt)
            .ok_or_else(|| DbErr::Custom(format!("response {receipt} was not stored")))?;
        super::integrity::link(db, r, checks, id).await?;
        stored_ids.push((id, flag.is_none()));
        if let Some((hash, day)) = &r.ip_hash {
            origins.extend([
                Value::from(id),
                Value::from(hash.as_str()),
                Value::from(day.as_str()),
            ]);
        }
        if let Some(hash) = &r.privacy_hash {
            links.extend([Value::from(id), Value::from(hash.as_str())]);
        }
        if let Some(interviewer) = r.interviewer_id {
            interviewers.extend([Value::from(id), Value::from(interviewer)]);
        }
        if !r.misconduct.is_empty() {
            let keywords = r.misconduct.join(", ");
            withheld.extend([
                Value::from(id),
                Value::from(r.ward_code.as_str()),
                Value::from(keywords.as_str()),
                Value::from(r.submitted_at),
            ]);
            withheld_audit.extend([
                Value::from(r.submitted_at),
                Value::from("system"),
                Value::from("response.withhold"),
                Value::from(format!("response:{id}")),
                Value::from(format!(
                    "giữ lại, không chuyển cho đơn vị {}; từ khoá: {keywords}",
                    r.ward_code
                )),
            ]);
        }
        if let Some((email, consent)) = &r.contact {
            contacts.extend([
                Value::from(id),
                Value::from(email.as_str()),
                Value::from(*consent),
                Value::from(r.submitted_at),
            ]);
        }
        if flag.is_none() {
            let month = crate::period::month_key(r.submitted_at);
            rollups.add(&r.ward_code, &month, &r.contributions, 1);
        }
    }
    super::execute_rows(
        db,
        "INSERT INTO contacts (response_id, email, consent, created_at)",
        4,
        contacts,
        "",
        256,
    )
    .await?;
    super::execute_rows(
        db,
        "INSERT INTO response_origins (response_id, ip_hash, day)",
        3,
        origins,
        "",
        256,
    )
    .await?;
    super::execute_rows(
        db,
        "INSERT INTO privacy_links (response_id, secret_hash)",
        2,
        links,
        "",
        256,
    )
    .await?;
    super::execute_rows(
        db,
        "INSERT INTO response_interviewers (response_id, interviewer_id)",
        2,
        interviewers,
        "",
        256,
    )
    .await?;
    if !withheld.is_empty() {
        super::execute_rows(
            db,
            "INSERT INTO withheld_responses (response_id, ward_code, keywords, withheld_at)",
            4,
            withheld,
            "",
            256,
        )
        .await?;
        super::execute_rows(
            db,
            "INSERT INTO audit_log (at, actor, action, target, detail)",
            5,
            withheld_audit,
            "",
            256,
        )
        .await?;
    }
    rollups.apply_cached(db, caches.map(|c| &c.slots)).await?;
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
        .zip(stored_ids)
        .map(|((receipt, flag), (id, _))| Outcome { id, receipt, flag })
        .collect())
}

pub use super::rollups::{RollupDelta, RollupKey};

const RESPONSE_COLUMNS: &str = "receipt, ward_code, survey_id, survey_version, channel, \
    submitted_at, month, cell, status, flag_reason, device_hash, answers";
const RESPONSE_COLS: usize = 12;

/// The highest response id SQLite has handed out (deleted rows included: `responses` is
/// AUTOINCREMENT, so an id is never used twice). Read under the write lock.
async fn last_response_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM responses), \
             (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'responses'))",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no last response id".into()))?;
    row.try_get_by_index(0)
}

#[cfg(test)]
mod tests {
    use super::AnswerRow;

    #[test]
    fn receipts_of_ids_sort_as_the_ids_and_keep_the_receipt_form() {
        let form = |r: &str| {
            let parts: Vec<&str> = r.split('-').collect();
            parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [4, 4, 2]
                && r.chars()
                    .filter(|c| *c != '-')
                    .all(|c| super::RECEIPT_ALPHABET.contains(&(c as u8)))
        };
        let ids = [
            0i64,
            1,
            2,
            30,
            31,
            32,
            961,
            123_456,
            999_999,
            27_512_614_110,
        ];
        let receipts: Vec<String> = ids.iter().map(|&i| super::receipt_for_id(i)).collect();
        for r in &receipts {
            assert!(form(r), "{r}");
        }
        for w in receipts.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        assert!(receipts[0].starts_with("2222-222"));
        assert!(receipts[4].starts_with("2222-232"), "{}", receipts[4]);
        // Past 31^7 the receipt is random, in the same form.
        assert!(form(&super::receipt_for_id(27_512_614_111)));
        assert!(form(&super::receipt_for_id(-1)));
        // Consecutive ids differ in the id part, whatever the random part.
        assert_ne!(
            &super::receipt_for_id(41)[..9],
            &super::receipt_for_id(42)[..9]
        );
    }

    #[test]
    fn answers_round_trip_through_their_json_object() {
        let rows = vec![
            AnswerRow {
                question_id: "a1".into(),
                value_num: Some(5),
                value_text: None,
            },
            AnswerRow {
                question_id: "p2".into(),
                value_num: None,
                value_text: None,
            },
            AnswerRow {
                question_id: "comment".into(),
                value_num: None,
                value_text: Some("Góp ý \"x\" <b>".into()),
            },
        ];
        let json = AnswerRow::to_json(&rows);
        assert_eq!(json["a1"], 5);
        assert!(json["p2"].is_null());
        let mut back = AnswerRow::from_json(&json);
        back.sort_by(|a, b| a.question_id.cmp(&b.question_id));
        let mut rows = rows;
        rows.sort_by(|a, b| a.question_id.cmp(&b.question_id));
        assert_eq!(back, rows);
        assert!(AnswerRow::from_json(&serde_json::json!([1, 2])).is_empty());
        assert!(AnswerRow::from_json(&serde_json::json!({"x": [1]})).is_empty());
    }
}
