//! "Anh/chị nói, chúng tôi làm": a ward's notes on what it did about what residents raised,
//! per period. A ward writes one (`pending`); a province or ministry user approves or rejects
//! it, in one transaction with the audit entry; approved notes are public.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::entities::{action_note, unit};
use crate::period::Period;

/// The longest note, in characters.
pub const MAX_CHARS: usize = 500;

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

/// Why a note was refused, in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadNote {
    pub vi: String,
    pub en: String,
}

/// A note as entered: the period parsed, the text trimmed, non-empty and at most
/// [`MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    pub period: Period,
    pub text: String,
}

impl NewNote {
    pub fn parse(period: &str, text: &str) -> Result<NewNote, BadNote> {
        let period = Period::parse(period.trim()).map_err(|_| BadNote {
            vi: "Kỳ phải là một quý (ví dụ 2026-Q4) hoặc một tháng (ví dụ 2026-11).".into(),
            en: "The period must be a quarter (e.g. 2026-Q4) or a month (e.g. 2026-11).".into(),
        })?;
        let text = text.trim();
        if text.is_empty() {
            return Err(BadNote {
                vi: "Vui lòng viết nội dung việc đã làm.".into(),
                en: "Please write what was done.".into(),
            });
        }
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return Err(BadNote {
                vi: format!("Nội dung dài {chars} ký tự; tối đa {MAX_CHARS} ký tự."),
                en: format!("The text is {chars} characters long; at most {MAX_CHARS}."),
            });
        }
        Ok(NewNote {
            period,
            text: text.to_string(),
        })
    }
}

/// Stores a pending note of `ward_code` written by `author_id`, with its audit entry.
pub async fn create(
    db: &DatabaseConnection,
    ward_code: &str,
    note: &NewNote,
    author_id: i64,
    actor: &str,
) -> Result<i64, DbErr> {
    let txn = super::begin_write(db).await?;
    let saved = action_note::ActiveModel {
        id: NotSet,
        ward_code: Set(ward_code.to_string()),
        period: Set(note.period.to_string()),
        body: Set(note.text.clone()),
        state: Set(PENDING.to_string()),
        author_id: Set(author_id),
        created_at: Set(Utc::now()),
        reviewer_id: Set(None),
        reviewed_at: Set(None),
    }
    .insert(&txn)
    .await?;
    super::audit::record(
        &txn,
        actor,
        "action_note_add",
        &format!("ward:{ward_code}"),
        Some(serde_json::json!({"note": saved.id, "period": note.period.to_string()}).to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(saved.id)
}

/// Every note of a ward, newest first.
pub async fn of_ward(
    db: &impl ConnectionTrait,
    ward_code: &str,
) -> Result<Vec<action_note::Model>, DbErr> {
    action_note::Entity::find()
        .filter(action_note::Column::WardCode.eq(ward_code))
        .order_by_desc(action_note::Column::CreatedAt)
        .order_by_desc(action_note::Column::Id)
        .all(db)
        .await
}

/// The approved notes of a ward, newest period first: what its results page shows.
pub async fn approved_of_ward(
    db: &impl ConnectionTrait,
    ward_code: &str,
) -> Result<Vec<action_note::Model>, DbErr> {
    action_note::Entity::find()
        .filter(action_note::Column::WardCode.eq(ward_code))
        .filter(action_note::Column::State.eq(APPROVED))
        .order_by_desc(action_note::Column::Period)
        .order_by_desc(action_note::Column::Id)
        .all(db)
        .await
}

/// The pending notes of the wards of a province, oldest first (the review queue).
pub async fn pending_of_province(
    db: &impl ConnectionTrait,
    province_code: &str,
) -> Result<Vec<action_note::Model>, DbErr> {
    let wards: Vec<String> = unit::Entity::find()
        .filter(unit::Column::ProvinceCode.eq(province_code))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let mut out = Vec::new();
    for chunk in wards.chunks(500) {
        out.extend(
            action_note::Entity::find()
                .filter(action_note::Column::WardCode.is_in(chunk.to_vec()))
                .filter(action_note::Column::State.eq(PENDING))
                .all(db)
                .await?,
        );
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<action_note::Model>, DbErr> {
    action_note::Entity::find_by_id(id).one(db).await
}

/// Approves (`approve`) or rejects a pending note, with its audit entry, in one transaction.
/// Returns `false` (and changes nothing) when the note is no longer pending.
pub async fn decide(
    db: &DatabaseConnection,
    id: i64,
    approve: bool,
    reviewer_id: i64,
    actor: &str,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let Some(note) = action_note::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(false);
    };
    if note.state != PENDING {
        return Ok(false);
    }
    let ward = note.ward_code.clone();
    let mut m: action_note::ActiveModel = note.into();
    m.state = Set(if approve { APPROVED } else { REJECTED }.to_string());
    m.reviewer_id = Set(Some(reviewer_id));
    m.reviewed_at = Set(Some(Utc::now()));
    m.update(&txn).await?;
    super::audit::record(
        &txn,
        actor,
        if approve {
            "action_note_approve"
        } else {
            "action_note_reject"
        },
        &format!("ward:{ward}"),
        Some(serde_json::json!({"note": id}).to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_a_period_and_a_bounded_text() {
        let n = NewNote::parse(" 2026-Q4 ", "  Đã lắp đèn ở ngõ 12.  ").unwrap();
        assert_eq!(n.period.to_string(), "2026-Q4");
        assert_eq!(n.text, "Đã lắp đèn ở ngõ 12.");
        assert!(NewNote::parse("2026-11", "x").is_ok());
        assert!(NewNote::parse("Q4", "x").unwrap_err().vi.contains("Kỳ"));
        assert!(NewNote::parse("2026-Q4", "   ").is_err());
        // 500 characters (not bytes) pass, 501 do not.
        let ok: String = "ệ".repeat(MAX_CHARS);
        assert!(NewNote::parse("2026-Q4", &ok).is_ok());
        let long = format!("{ok}a");
        assert!(
            NewNote::parse("2026-Q4", &long)
                .unwrap_err()
                .vi
                .contains("501")
        );
    }
}
