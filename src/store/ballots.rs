//! Paper ballots from CSV (`hailong responses import`), streamed (see docs/hardening.md,
//! "Imports"): a first pass reads the file record by record and validates every ballot,
//! listing every bad line; only when all are good does a second pass read it again and store
//! the ballots in batches, all in one transaction. Memory holds one batch, whatever the size
//! of the file.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};

use super::csvio::{CsvStream, LineErrors, Record, open_csv};
use super::responses::{BatchCaches, Channel, NewResponse};
use crate::survey::{Kind, Mode, Survey};

/// The columns every ballot file has before the question ids.
pub const FIXED: [&str; 4] = ["ward_code", "submitted_at", "sex", "age"];

/// Ballots stored per call of the store (all in the one transaction).
const BATCH: usize = 1000;

/// What the file's records are checked against.
pub struct BallotRules<'a> {
    pub survey: &'a Survey,
    pub known_wards: &'a HashSet<String>,
    /// Ballots dated after this are refused.
    pub latest: DateTime<Utc>,
}

impl<'a> BallotRules<'a> {
    pub fn new(survey: &'a Survey, known_wards: &'a HashSet<String>) -> Self {
        BallotRules {
            survey,
            known_wards,
            latest: Utc::now() + chrono::Duration::days(1),
        }
    }
}

/// Opens a ballot file and checks its header.
pub fn open_ballots<R: BufRead>(
    rules: &BallotRules<'_>,
    inner: R,
) -> Result<CsvStream<R>, LineErrors> {
    let stream = open_csv(inner, &FIXED)?;
    let survey = rules.survey;
    let mut errors = LineErrors::default();
    for col in &stream.header {
        if col == "contact_email" || col == "contact_consent" {
            errors.push2(
                1,
                format!("cột `{col}` không được nhập từ phiếu giấy"),
                format!("column `{col}` cannot be imported from paper ballots"),
            );
        } else if !FIXED.contains(&col.as_str()) && survey.question(col).is_none() {
            errors.push2(
                1,
                format!("cột `{col}` không phải câu hỏi của phiếu {}", survey.id),
                format!("column `{col}` is not a question of survey {}", survey.id),
            );
        }
    }
    errors.into_result(stream)
}

/// Shows a cell in a message: quoted, cut after 40 characters, line breaks visible.
fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(40).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    format!("\"{}\"", s.replace('\n', "\\n").replace('\r', "\\r"))
}

/// The values a paper ballot may give for a question, in Vietnamese and English.
fn allowed(q: &crate::survey::Question) -> (String, String) {
    let values = match q.kind {
        Kind::Likert5 => "1, 2, 3, 4, 5".to_string(),
        Kind::Scale0To10 => "0, 1, 2, …, 10".to_string(),
        Kind::Single => q
            .options
            .iter()
            .map(|c| c.value.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Kind::Text | Kind::Email => String::new(),
    };
    (format!("{values}, để trống"), format!("{values}, empty"))
}

/// Validates one record: the response to store, or `None` with every reason added to `errors`.
pub fn parse_record(
    rules: &BallotRules<'_>,
    header: &[String],
    rec: &Record,
    errors: &mut LineErrors,
) -> Option<NewResponse> {
    let survey = rules.survey;
    let line = rec.line;
    let mut ok = true;
    let ward = rec.get("ward_code").trim();
    if !rules.known_wards.contains(ward) {
        ok = false;
        errors.push2(
            line,
            format!("ward_code {} không có trong danh sách đơn vị", shown(ward)),
            format!("ward_code {} is not in the unit list", shown(ward)),
        );
    }
    let when = rec.get("submitted_at").trim();
    let submitted_at = crate::period::parse_instant(when);
    match submitted_at {
        None => {
            ok = false;
            errors.push2(
                line,
                format!(
                    "submitted_at {} không phải ngày hoặc ngày giờ ISO 8601 (ví dụ 2026-12-03, 2026-12-03T14:05 hoặc 2026-12-03T14:05+07:00)",
                    shown(when)
                ),
                format!(
                    "submitted_at {} is not an ISO 8601 date or date-time (e.g. 2026-12-03, 2026-12-03T14:05 or 2026-12-03T14:05+07:00)",
                    shown(when)
                ),
            );
        }
        Some(t) if t > rules.latest => {
            ok = false;
            errors.push2(
                line,
                format!("submitted_at {} là ngày trong tương lai", shown(when)),
                format!("submitted_at {} is in the future", shown(when)),
            );
        }
        Some(_) => {}
    }
    // Coded answers are read case-insensitively, as the margins file reads `sex` (`M`, `F`,
    // `NA`, `Yes`); free text is kept as written.
    let pairs: Vec<(String, String)> = header
        .iter()
        .filter(|c| !matches!(c.as_str(), "ward_code" | "submitted_at"))
        .map(|c| {
            let v = rec.get(c).trim();
            let coded = match survey.question(c) {
                Some(q) => !matches!(q.kind, Kind::Text | Kind::Email),
                None => matches!(c.as_str(), "sex" | "age"),
            };
            let v = if coded {
                v.to_ascii_lowercase()
            } else {
                v.to_string()
            };
            (c.clone(), v)
        })
        .collect();
    let valid = match crate::intake::parse(survey, &pairs, Mode::Paper) {
        Ok(v) => Some(v),
        Err(e) => {
            for fe in &e.errors {
                let given = rec.get(&fe.question).trim();
                match survey.question(&fe.question) {
                    Some(q) if !matches!(q.kind, Kind::Text | Kind::Email) => {
                        let (vi, en) = allowed(q);
                        errors.push2(
                            line,
                            format!(
                                "{} {} không hợp lệ — giá trị cho phép: {vi}",
                                fe.question,
                                shown(given)
                            ),
                            format!(
                                "{} {} is not valid — allowed: {en}",
                                fe.question,
                                shown(given)
                            ),
                        );
                    }
                    _ => errors.push2(
                        line,
                        format!("{}: {}", fe.question, fe.message.vi),
                        format!("{}: {}", fe.question, fe.message.en),
                    ),
                }
            }
            None
        }
    };
    let valid = valid?;
    let overall = survey.overall_item();
    if valid.answers.is_empty() {
        errors.push2(
            line,
            "phiếu không có câu trả lời nào",
            "the ballot has no answers",
        );
        return None;
    }
    if valid.likert(overall).is_none() {
        errors.push2(
            line,
            format!("thiếu câu {overall} (đánh giá chung) — giá trị cho phép: 1, 2, 3, 4, 5"),
            format!("{overall} (the overall rating) is missing — allowed: 1, 2, 3, 4, 5"),
        );
        return None;
    }
    if !ok {
        return None;
    }
    Some(crate::intake::new_response(
        survey,
        &valid,
        ward,
        Channel::Paper,
        submitted_at?,
    ))
}

/// Validates a whole ballot text held in memory (for tests and small files): the responses,
/// or every bad line.
pub fn parse_text(rules: &BallotRules<'_>, text: &str) -> Result<Vec<NewResponse>, LineErrors> {
    let mut stream = open_ballots(rules, text.as_bytes())?;
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    while let Some(rec) = stream.next_record(&mut errors) {
        if let Some(r) = parse_record(rules, &stream.header, &rec, &mut errors) {
            out.push(r);
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push2(1, "tệp không có phiếu nào", "the file has no ballots");
    }
    errors.into_result(out)
}

/// Why an import stored nothing.
#[derive(Debug)]
pub enum ImportError {
    /// Bad lines (or a file that cannot be read).
    Lines(LineErrors),
    Db(DbErr),
}

impl From<DbErr> for ImportError {
    fn from(e: DbErr) -> Self {
        ImportError::Db(e)
    }
}

fn open_file(path: &Path) -> Result<std::io::BufReader<std::fs::File>, ImportError> {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::with_capacity(1 << 16, f))
        .map_err(|e| {
            let mut errors = LineErrors::default();
            errors.push2(
                0,
                format!("không đọc được {}: {e}", path.display()),
                format!("cannot read {}: {e}", path.display()),
            );
            ImportError::Lines(errors)
        })
}

/// The first pass: every ballot of the file validated; the count of good ones, or every bad
/// line.
pub fn check_file(rules: &BallotRules<'_>, path: &Path) -> Result<usize, ImportError> {
    let mut stream = open_ballots(rules, open_file(path)?).map_err(ImportError::Lines)?;
    let mut errors = LineErrors::default();
    let mut n = 0usize;
    while let Some(rec) = stream.next_record(&mut errors) {
        if parse_record(rules, &stream.header, &rec, &mut errors).is_some() {
            n += 1;
        }
    }
    if n == 0 && errors.is_empty() {
        errors.push2(1, "tệp không có phiếu nào", "the file has no ballots");
    }
    errors.into_result(n).map_err(ImportError::Lines)
}

/// Imports a ballot file: checked in full first, then stored in one transaction, read again in
/// batches; the ward alerts the ballots cause are enqueued in the same transaction, one per
/// ward and officer. Returns the number of ballots stored.
pub async fn import_file(
    db: &DatabaseConnection,
    rules: &BallotRules<'_>,
    path: &Path,
    integrity: &crate::config::IntegrityConfig,
    mail: &crate::mail::alerts::MailCtx<'_>,
) -> Result<usize, ImportError> {
    let expected = check_file(rules, path)?;
    // Only ballots of wards with officers can alert: those are kept until the end.
    let staffed =
        crate::store::staff::wards_with_staff(db, rules.known_wards.iter().map(String::as_str))
            .await?;
    let mut stream = open_ballots(rules, open_file(path)?).map_err(ImportError::Lines)?;
    let txn = super::begin_write(db).await?;
    let caches = BatchCaches::default();
    let mut errors = LineErrors::default();
    let mut batch: Vec<NewResponse> = Vec::with_capacity(BATCH);
    let mut alerting: Vec<(i64, String, NewResponse)> = Vec::new();
    let mut stored = 0usize;
    loop {
        let rec = stream.next_record(&mut errors);
        if let Some(rec) = &rec
            && let Some(mut r) = parse_record(rules, &stream.header, rec, &mut errors)
        {
            r.misconduct = crate::mail::alerts::misconduct(mail.cfg, &r);
            batch.push(r);
        }
        if batch.len() >= BATCH || (rec.is_none() && !batch.is_empty()) {
            stored += store_batch(
                &txn,
                &batch,
                integrity,
                mail,
                &staffed,
                &caches,
                &mut alerting,
            )
            .await?;
            batch.clear();
        }
        if rec.is_none() {
            break;
        }
    }
    // The file changed between the passes: store nothing.
    if !errors.is_empty() || stored != expected {
        txn.rollback().await?;
        if errors.is_empty() {
            errors.push2(
                0,
                "tệp đã thay đổi trong khi nhập; hãy nhập lại",
                "the file changed during the import; import it again",
            );
        }
        return Err(ImportError::Lines(errors));
    }
    let alerts: Vec<crate::mail::alerts::Stored<'_>> = alerting
        .iter()
        .map(|(id, receipt, response)| crate::mail::alerts::Stored {
            id: *id,
            receipt,
            response,
            counted: true,
        })
        .collect();
    crate::mail::alerts::enqueue_alerts(&txn, mail, &alerts).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Stores one batch; keeps the ballots that alert a staffed ward (with their ids) in
/// `alerting`.
async fn store_batch(
    txn: &sea_orm::DatabaseTransaction,
    batch: &[NewResponse],
    integrity: &crate::config::IntegrityConfig,
    mail: &crate::mail::alerts::MailCtx<'_>,
    staffed: &HashSet<String>,
    caches: &BatchCaches,
    alerting: &mut Vec<(i64, String, NewResponse)>,
) -> Result<usize, DbErr> {
    let outcomes =
        super::responses::insert_batch_outcomes(txn, batch, integrity, None, Some(caches)).await?;
    let keep = (0..batch.len()).filter(|&i| {
        let withheld = !batch[i].misconduct.is_empty();
        outcomes[i].flag.is_none()
            && (withheld
                || (staffed.contains(&batch[i].ward_code)
                    && !crate::mail::alerts::reasons(mail.cfg, &batch[i]).is_empty()))
    });
    for i in keep {
        alerting.push((
            outcomes[i].id,
            outcomes[i].receipt.clone(),
            batch[i].clone(),
        ));
    }
    Ok(outcomes.len())
}
