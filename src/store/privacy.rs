//! A resident's rights over their own answer (docs/privacy.md): the private link
//! `/privacy/{id}-{secret}` given on the thank-you page, and what it can do — withdraw the
//! consent to a reply, erase the contact address, erase the free text — plus the retention
//! purges of old free text and of the bodies of sent mail.
//!
//! The link's secret is 128 random bits kept only as their SHA-256 in `privacy_links`, written
//! in the response's own transaction (`store::responses`). The response id in front of it only
//! selects the row; the secret is compared in constant time.
//!
//! Erasing never touches what is counted: the scores, the cell and the rollups stay as they
//! are, so the ward's n, its figures and `index verify` do not change.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::entities::{contact, feedback_reply, outbox, privacy_link, response};
use crate::mail::outbox as mailbox;
use crate::privacy::keys;

/// What an erased free-text answer reads everywhere it was stored.
pub const ERASED: &str = "[đã xoá theo yêu cầu]";

/// Random bytes of a link's secret (128 bits).
pub const SECRET_BYTES: usize = 16;

/// The outbox status of a message that will not be sent because the resident withdrew their
/// consent or erased their address.
pub const CANCELLED: &str = "cancelled";

/// What an outbox row's recipient reads once a resident's address is gone.
const NO_RECIPIENT: &str = "(deleted)";

/// A new secret and what is stored of it: (secret, SHA-256 hex).
pub fn new_secret() -> (String, String) {
    let secret = keys::random_hex(SECRET_BYTES);
    let hash = keys::sha256_hex(&secret);
    (secret, hash)
}

/// The link's last path segment: `{response id}-{secret}`.
pub fn token(response_id: i64, secret: &str) -> String {
    format!("{response_id}-{secret}")
}

/// The response id and secret of a well-formed token; `None` for anything else.
pub fn parse_token(token: &str) -> Option<(i64, &str)> {
    let (id, secret) = token.split_once('-')?;
    let digits = !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit());
    let hex = secret.len() == SECRET_BYTES * 2
        && secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !digits || !hex || id.starts_with('0') {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

/// The response a token opens, or `None` when the token is malformed, unknown or altered.
pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<response::Model>, DbErr> {
    let Some((id, secret)) = parse_token(token) else {
        return Ok(None);
    };
    let Some(link) = privacy_link::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if !keys::same(&keys::sha256_hex(secret), &link.secret_hash) {
        return Ok(None);
    }
    response::Entity::find_by_id(id).one(db).await
}

/// The free-text questions of a survey: its `text` questions, and `comment` and `issue`
/// whatever the survey (so that an answer of an instrument no longer served is covered too).
pub fn text_questions(survey: Option<&crate::survey::Survey>) -> Vec<String> {
    let mut ids: Vec<String> = crate::store::feedback::TEXT_QUESTIONS
        .iter()
        .map(|q| q.to_string())
        .collect();
    if let Some(s) = survey {
        for q in &s.questions {
            if q.kind == crate::survey::Kind::Text && !ids.contains(&q.id) {
                ids.push(q.id.clone());
            }
        }
    }
    ids
}

/// The free-text answers still kept in `answers` (not empty, not erased): (question, text).
pub fn kept_texts(answers: &serde_json::Value, questions: &[String]) -> Vec<(String, String)> {
    questions
        .iter()
        .filter_map(|q| {
            let t = answers.get(q)?.as_str()?;
            (!t.trim().is_empty() && t != ERASED).then(|| (q.clone(), t.to_string()))
        })
        .collect()
}

/// Whether `answers` holds a free-text answer that was erased.
pub fn has_erased_text(answers: &serde_json::Value, questions: &[String]) -> bool {
    questions
        .iter()
        .any(|q| answers.get(q).and_then(|v| v.as_str()) == Some(ERASED))
}

/// What the resident asked for (any of the three).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    pub withdraw_consent: bool,
    pub erase_contact: bool,
    pub erase_text: bool,
}

impl Request {
    pub fn is_empty(&self) -> bool {
        !(self.withdraw_consent || self.erase_contact || self.erase_text)
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Done {
    /// The consent to a reply was withdrawn now (false: there was none left to withdraw).
    pub consent_withdrawn: bool,
    /// The contact address was erased now (false: none was kept).
    pub contact_erased: bool,
    /// Free-text answers erased now.
    pub texts_erased: usize,
    /// Messages to the resident that will not be sent any more.
    pub mails_cancelled: u64,
    /// Stored messages from which the address or the text was removed.
    pub mails_cleaned: u64,
}

/// Does what the resident asked for `resp`, in one transaction with its audit entries (actor
/// `resident`, the response as target; the link never appears).
pub async fn apply(
    db: &DatabaseConnection,
    resp: &response::Model,
    questions: &[String],
    req: Request,
) -> Result<Done, DbErr> {
    let txn = crate::store::begin_write(db).await?;
    let mut done = Done::default();
    let target = format!("response:{}", resp.id);
    let kept = contact::Entity::find_by_id(resp.id).one(&txn).await?;
    if req.withdraw_consent
        && let Some(c) = kept.as_ref().filter(|c| c.consent)
    {
        contact::Entity::update_many()
            .col_expr(contact::Column::Consent, Expr::value(false))
            .filter(contact::Column::ResponseId.eq(resp.id))
            .exec(&txn)
            .await?;
        let n = cancel_resident_mail(&txn, resp.id, Some(&c.email)).await?;
        done.consent_withdrawn = true;
        done.mails_cancelled += n;
        crate::store::audit::record(
            &txn,
            "resident",
            "privacy.withdraw_consent",
            &target,
            Some(serde_json::json!({"cancelled": n}).to_string()),
        )
        .await?;
    }
    if req.erase_contact
        && let Some(c) = &kept
    {
        contact::Entity::delete_by_id(resp.id).exec(&txn).await?;
        let cancelled = cancel_resident_mail(&txn, resp.id, Some(&c.email)).await?;
        let cleaned = clean_outbox(
            &txn,
            resp.submitted_at,
            &Replacements::address(&c.email),
            Some(&c.email),
        )
        .await?;
        done.contact_erased = true;
        done.mails_cancelled += cancelled;
        done.mails_cleaned += cleaned;
        crate::store::audit::record(
            &txn,
            "resident",
            "privacy.erase_contact",
            &target,
            Some(serde_json::json!({"cancelled": cancelled, "cleaned": cleaned}).to_string()),
        )
        .await?;
    }
    if req.erase_text {
        let texts = kept_texts(&resp.answers, questions);
        if !texts.is_empty() {
            erase_texts(&txn, resp.id, &resp.answers, &texts).await?;
            let cleaned = clean_outbox(
                &txn,
                resp.submitted_at,
                &Replacements::texts(texts.iter().map(|(_, t)| t.as_str())),
                None,
            )
            .await?;
            done.texts_erased = texts.len();
            done.mails_cleaned += cleaned;
            let which: Vec<&str> = texts.iter().map(|(q, _)| q.as_str()).collect();
            crate::store::audit::record(
                &txn,
                "resident",
                "privacy.erase_text",
                &target,
                Some(serde_json::json!({"fields": which, "cleaned": cleaned}).to_string()),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(done)
}

/// Replaces the free-text answers `texts` of response `id` by [`ERASED`].
async fn erase_texts(
    db: &impl ConnectionTrait,
    id: i64,
    answers: &serde_json::Value,
    texts: &[(String, String)],
) -> Result<(), DbErr> {
    let mut answers = answers.clone();
    if let Some(map) = answers.as_object_mut() {
        for (q, _) in texts {
            map.insert(q.clone(), serde_json::Value::from(ERASED));
        }
    }
    response::Entity::update_many()
        .col_expr(response::Column::Answers, Expr::value(answers))
        .filter(response::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Cancels the messages to the resident of response `id` that are still waiting: its replies
/// and follow-ups, and anything else addressed to `email`. Their address and bodies go.
async fn cancel_resident_mail(
    db: &impl ConnectionTrait,
    id: i64,
    email: Option<&str>,
) -> Result<u64, DbErr> {
    let replies: Vec<i64> = feedback_reply::Entity::find()
        .select_only()
        .column(feedback_reply::Column::Id)
        .filter(feedback_reply::Column::ResponseId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    let mut which = sea_orm::Condition::any();
    if !replies.is_empty() {
        which = which.add(
            outbox::Column::Kind
                .is_in(mailbox::RESIDENT_KINDS)
                .and(outbox::Column::RefKey.is_in(replies.iter().map(|r| format!("reply:{r}")))),
        );
    }
    if let Some(e) = email {
        which = which.add(outbox::Column::Recipient.eq(e));
    }
    if which.is_empty() {
        return Ok(0);
    }
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(CANCELLED))
        .col_expr(outbox::Column::Recipient, Expr::value(NO_RECIPIENT))
        .col_expr(outbox::Column::BodyText, Expr::value(""))
        .col_expr(outbox::Column::BodyHtml, Expr::value(""))
        .col_expr(outbox::Column::Headers, Expr::value("[]"))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Status.is_in([mailbox::PENDING, mailbox::FAILED]))
        .filter(which)
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// What is cut out of stored messages: (as it may appear, what replaces it), longest first.
struct Replacements(Vec<(String, String)>);

impl Replacements {
    /// A contact address, as typed and in lower case, plain and HTML-escaped.
    fn address(email: &str) -> Replacements {
        let mut pairs = Vec::new();
        for e in [email.to_string(), email.to_lowercase()] {
            pairs.push((tera::escape_html(&e), ERASED.to_string()));
            pairs.push((e, ERASED.to_string()));
        }
        Replacements::of(pairs)
    }

    /// Free texts as a message may quote them: the ward alert's masked excerpt in its quote
    /// marks (`«…»` in the text part, `<q>…</q>` in the HTML part), and the text itself, as
    /// written or masked, when it is long enough not to be taken for someone else's words.
    fn texts<'a>(texts: impl Iterator<Item = &'a str>) -> Replacements {
        let mut pairs = Vec::new();
        for t in texts {
            let excerpt = crate::mail::alerts::excerpt_of(t);
            pairs.push((format!("«{excerpt}»"), format!("«{ERASED}»")));
            pairs.push((
                format!("<q>{}</q>", tera::escape_html(&excerpt)),
                format!("<q>{}</q>", tera::escape_html(ERASED)),
            ));
            for whole in [t.trim().to_string(), crate::privacy::mask_text(t.trim())] {
                if whole.chars().count() >= 12 {
                    pairs.push((tera::escape_html(&whole), tera::escape_html(ERASED)));
                    pairs.push((whole, ERASED.to_string()));
                }
            }
        }
        Replacements::of(pairs)
    }

    fn of(mut pairs: Vec<(String, String)>) -> Replacements {
        pairs.retain(|(from, _)| !from.is_empty());
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Replacements(pairs)
    }

    /// `s` with every occurrence replaced; `None` when nothing occurs.
    fn apply(&self, s: &str) -> Option<String> {
        let mut out = None::<String>;
        for (from, to) in &self.0 {
            let cur = out.as_deref().unwrap_or(s);
            if cur.contains(from.as_str()) {
                out = Some(cur.replace(from.as_str(), to));
            }
        }
        out
    }
}

/// Removes `what` from the messages stored since shortly before `since` (a message about a
/// response is written with it or after it): subjects, bodies and headers. A message still
/// addressed to `recipient` loses the address too.
async fn clean_outbox(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    what: &Replacements,
    recipient: Option<&str>,
) -> Result<u64, DbErr> {
    if what.0.is_empty() {
        return Ok(0);
    }
    let from = since - chrono::Duration::hours(1);
    let mut after = 0i64;
    let mut cleaned = 0;
    loop {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::Id.gt(after))
            .filter(outbox::Column::CreatedAt.gte(from))
            .order_by_asc(outbox::Column::Id)
            .limit(200)
            .all(db)
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.id;
        for m in rows {
            let subject = what.apply(&m.subject);
            let text = what.apply(&m.body_text);
            let html = what.apply(&m.body_html);
            let headers = what.apply(&m.headers);
            let readdress = recipient.is_some_and(|r| m.recipient.eq_ignore_ascii_case(r));
            if subject.is_none()
                && text.is_none()
                && html.is_none()
                && headers.is_none()
                && !readdress
            {
                continue;
            }
            let mut q = outbox::Entity::update_many().filter(outbox::Column::Id.eq(m.id));
            if let Some(v) = subject {
                q = q.col_expr(outbox::Column::Subject, Expr::value(v));
            }
            if let Some(v) = text {
                q = q.col_expr(outbox::Column::BodyText, Expr::value(v));
            }
            if let Some(v) = html {
                q = q.col_expr(outbox::Column::BodyHtml, Expr::value(v));
            }
            if let Some(v) = headers {
                q = q.col_expr(outbox::Column::Headers, Expr::value(v));
            }
            if readdress {
                q = q.col_expr(outbox::Column::Recipient, Expr::value(NO_RECIPIENT));
            }
            q.exec(db).await?;
            cleaned += 1;
        }
    }
    Ok(cleaned)
}

/// The condition that a response still holds free text in one of `questions` (ids of
/// survey questions, which are `[a-z0-9_]`; any other id is left out).
fn holds_text_sql(backend: DbBackend, questions: &[String]) -> Option<String> {
    let parts: Vec<String> = questions
        .iter()
        .filter(|q| {
            !q.is_empty()
                && q.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(|q| {
            let value = match backend {
                DbBackend::Postgres => format!("(answers ->> '{q}')"),
                _ => format!("json_extract(answers, '$.{q}')"),
            };
            format!("COALESCE({value}, '') NOT IN ('', '{ERASED}')")
        })
        .collect();
    (!parts.is_empty()).then(|| format!("({})", parts.join(" OR ")))
}

/// Erases the free text of the responses submitted before `now - days`, and empties every
/// stored message written before then (none may quote a text that is gone). Returns how many
/// responses lost their text. Scores stay counted.
pub async fn purge_old_text(
    db: &DatabaseConnection,
    questions: &[String],
    days: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let Some(holds) = holds_text_sql(db.get_database_backend(), questions) else {
        return Ok(0);
    };
    let mut erased = 0;
    loop {
        let rows: Vec<(i64, serde_json::Value)> = response::Entity::find()
            .select_only()
            .column(response::Column::Id)
            .column(response::Column::Answers)
            .filter(response::Column::SubmittedAt.lt(cutoff))
            .filter(Expr::cust(holds.clone()))
            .order_by_asc(response::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        let txn = crate::store::begin_write(db).await?;
        for (id, answers) in &rows {
            let texts = kept_texts(answers, questions);
            if !texts.is_empty() {
                erase_texts(&txn, *id, answers, &texts).await?;
                erased += 1;
            }
        }
        txn.commit().await?;
        if rows.len() < 500 {
            break;
        }
    }
    let emptied = empty_bodies(db, None, outbox::Column::CreatedAt, cutoff).await?;
    if erased > 0 || emptied > 0 {
        crate::store::audit::record(
            db,
            "system",
            "privacy.purge_text",
            "responses",
            Some(
                serde_json::json!({"erased": erased, "days": days, "emptied": emptied}).to_string(),
            ),
        )
        .await?;
    }
    Ok(erased)
}

/// Empties the bodies (and extra headers) of messages sent before `now - days`, keeping
/// what the outbox needs to show and count them: kind, recipient, subject, status, times.
pub async fn purge_sent_mail(
    db: &DatabaseConnection,
    days: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let n = empty_bodies(db, Some(mailbox::SENT), outbox::Column::SentAt, cutoff).await?;
    if n > 0 {
        crate::store::audit::record(
            db,
            "system",
            "privacy.purge_mail",
            "outbox",
            Some(serde_json::json!({"emptied": n, "days": days}).to_string()),
        )
        .await?;
    }
    Ok(n)
}

async fn empty_bodies(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    time: outbox::Column,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut q = outbox::Entity::update_many()
        .col_expr(outbox::Column::BodyText, Expr::value(""))
        .col_expr(outbox::Column::BodyHtml, Expr::value(""))
        .col_expr(outbox::Column::Headers, Expr::value("[]"))
        .filter(time.lt(before))
        .filter(
            outbox::Column::BodyText
                .ne("")
                .or(outbox::Column::BodyHtml.ne(""))
                .or(outbox::Column::Headers.ne("[]")),
        );
    if let Some(s) = status {
        q = q.filter(outbox::Column::Status.eq(s));
    }
    Ok(q.exec(db).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_an_id_and_128_random_bits() {
        let (secret, hash) = new_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(hash, keys::sha256_hex(&secret));
        assert_ne!(new_secret().0, secret);
        let t = token(42, &secret);
        assert_eq!(parse_token(&t), Some((42, secret.as_str())));
        for bad in [
            "",
            "42",
            "42-",
            "-0123456789abcdef0123456789abcdef",
            "042-0123456789abcdef0123456789abcdef",
            "42-0123456789ABCDEF0123456789abcdef",
            "42-0123456789abcdef0123456789abcde",
            "42-0123456789abcdef0123456789abcdef0",
            "4x-0123456789abcdef0123456789abcdef",
            "99999999999999999999-0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn kept_texts_skip_empty_and_erased_answers() {
        let q = text_questions(None);
        let a = serde_json::json!({"comment": "Đèn hỏng", "issue": ERASED, "a1": 4});
        assert_eq!(
            kept_texts(&a, &q),
            vec![("comment".to_string(), "Đèn hỏng".to_string())]
        );
        assert!(has_erased_text(&a, &q));
        let blank = serde_json::json!({"comment": "  ", "issue": null});
        assert!(kept_texts(&blank, &q).is_empty());
        assert!(!has_erased_text(&blank, &q));
    }

    #[test]
    fn quoted_texts_are_replaced_and_other_words_kept() {
        let r = Replacements::texts(["Tốt"].into_iter());
        let body = "- Mã phiếu X\n  «Tốt»\n- Mã phiếu Y\n  «Tốt lắm, cán bộ nhiệt tình»\n";
        let out = r.apply(body).expect("the quote is replaced");
        assert!(out.contains(&format!("«{ERASED}»")));
        assert!(out.contains("«Tốt lắm, cán bộ nhiệt tình»"), "{out}");
        let long = "Cán bộ đòi tiền khi làm căn cước, gọi 0912345678";
        let r = Replacements::texts([long].into_iter());
        let html = format!(
            "<q>{}</q>",
            tera::escape_html(&crate::mail::alerts::excerpt_of(long))
        );
        assert_eq!(
            r.apply(&html).as_deref(),
            Some(format!("<q>{}</q>", tera::escape_html(ERASED)).as_str())
        );
        assert_eq!(r.apply("nothing to see"), None);
        let a = Replacements::address("Nguoi.Dan@Example.vn");
        assert_eq!(
            a.apply("to nguoi.dan@example.vn and Nguoi.Dan@Example.vn")
                .as_deref(),
            Some(format!("to {ERASED} and {ERASED}").as_str())
        );
    }

    #[test]
    fn the_text_condition_names_only_question_ids() {
        let q = vec!["comment".to_string(), "bad'id".to_string()];
        let sql = holds_text_sql(DbBackend::Sqlite, &q).unwrap();
        assert!(sql.contains("json_extract(answers, '$.comment')"), "{sql}");
        assert!(!sql.contains("bad"), "{sql}");
        let pg = holds_text_sql(DbBackend::Postgres, &q).unwrap();
        assert!(pg.contains("(answers ->> 'comment')"), "{pg}");
        assert_eq!(holds_text_sql(DbBackend::Sqlite, &["x-y".into()]), None);
    }
}
