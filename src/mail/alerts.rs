//! Alerts to a ward's officers (users with the role `ward:CODE`) when a counted response has
//! `overall` ≤ `mail.alert_max_overall` or a comment or issue holds one of `mail.alert_keywords`.
//!
//! Enqueued by `store::responses::insert_batch_mailing` in the transaction that stores the
//! responses, one message per officer and ward per batch (a paper import of many bad ballots
//! gives one alert listing them, not hundreds). Flagged responses (duplicate device, burst,
//! invalid token) alert nobody: they are what an attacker would send to flood the officers.
//! Paper ballots alert like online ones. The alert never holds the resident's contact address,
//! and its comment excerpts are masked like in the console.

use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use super::{base, matching_keywords, outbox, render};
use crate::config::MailConfig;
use crate::store::responses::NewResponse;

/// What the alert hook needs besides the transaction.
pub struct MailCtx<'a> {
    pub tera: &'a tera::Tera,
    pub base_url: &'a str,
    pub cfg: &'a MailConfig,
}

/// Why a response alerts, if it does.
pub fn reasons(cfg: &MailConfig, r: &NewResponse) -> Vec<String> {
    let mut out = Vec::new();
    let overall = r
        .answers
        .iter()
        .find(|a| a.question_id == "overall")
        .and_then(|a| a.value_num);
    if let Some(o) = overall
        && o <= cfg.alert_max_overall
    {
        out.push(format!("overall={o}"));
    }
    for q in ["comment", "issue"] {
        if let Some(t) = r
            .answers
            .iter()
            .find(|a| a.question_id == q)
            .and_then(|a| a.value_text.as_deref())
        {
            for k in matching_keywords(&cfg.alert_keywords, t) {
                let k = format!("keyword={k}");
                if !out.contains(&k) {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// What an alert about one response says apart from where it is stored: why it alerts (see
/// [`reasons`]), its `overall`, and the masked excerpt of its comment or issue. Worked out
/// when the response is prepared, off the writer's path.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertBasis {
    reasons: Vec<String>,
    overall: Option<i32>,
    excerpt: Option<String>,
}

impl AlertBasis {
    pub fn of(cfg: &MailConfig, r: &NewResponse) -> AlertBasis {
        let reasons = reasons(cfg, r);
        let overall = r
            .answers
            .iter()
            .find(|a| a.question_id == "overall")
            .and_then(|a| a.value_num);
        if reasons.is_empty() {
            return AlertBasis {
                reasons,
                overall,
                excerpt: None,
            };
        }
        let text = |q: &str| {
            r.answers
                .iter()
                .find(|a| a.question_id == q)
                .and_then(|a| a.value_text.as_deref())
                .filter(|t| !t.trim().is_empty())
        };
        let excerpt = text("comment").or_else(|| text("issue")).map(|t| {
            let masked = crate::privacy::mask_text(t);
            let mut e: String = masked.chars().take(300).collect();
            if masked.chars().count() > 300 {
                e.push('…');
            }
            e
        });
        AlertBasis {
            reasons,
            overall,
            excerpt,
        }
    }
}

#[derive(Serialize)]
struct AlertItem {
    id: i64,
    receipt: String,
    submitted_at: String,
    channel: String,
    overall: Option<i32>,
    low_overall: bool,
    keywords: Vec<String>,
    excerpt: Option<String>,
    url: String,
}

#[derive(Serialize)]
struct AlertCtx<'a> {
    ward_code: &'a str,
    ward_name: &'a str,
    /// "Công an phường Ba Đình".
    unit_title: String,
    unit_en: &'static str,
    inbox_url: String,
    items: &'a [AlertItem],
    count: usize,
}

/// One stored response with its id and receipt, for [`enqueue_alerts`].
pub struct Stored<'a> {
    pub id: i64,
    pub receipt: &'a str,
    pub response: &'a NewResponse,
    pub counted: bool,
}

/// Enqueues the alerts of a batch in the caller's transaction.
pub async fn enqueue_alerts(
    db: &impl ConnectionTrait,
    mail: &MailCtx<'_>,
    stored: &[Stored<'_>],
) -> Result<usize, DbErr> {
    use std::collections::BTreeMap;
    let mut by_ward: BTreeMap<&str, Vec<AlertItem>> = BTreeMap::new();
    for s in stored.iter().filter(|s| s.counted) {
        let r = s.response;
        let worked_out;
        let basis = match &r.alert_basis {
            Some(b) => b,
            None => {
                worked_out = AlertBasis::of(mail.cfg, r);
                &worked_out
            }
        };
        if basis.reasons.is_empty() {
            continue;
        }
        let overall = basis.overall;
        by_ward.entry(&r.ward_code).or_default().push(AlertItem {
            id: s.id,
            receipt: s.receipt.to_string(),
            submitted_at: r
                .submitted_at
                .with_timezone(&crate::period::vietnam())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            channel: r.channel.as_str().to_string(),
            overall,
            low_overall: overall.is_some_and(|o| o <= mail.cfg.alert_max_overall),
            keywords: basis
                .reasons
                .iter()
                .filter_map(|w| w.strip_prefix("keyword=").map(str::to_string))
                .collect(),
            excerpt: basis.excerpt.clone(),
            url: format!(
                "{}/staff/wards/{}/feedback/{}",
                base(mail.base_url),
                r.ward_code,
                s.id
            ),
        });
    }
    let mut n = 0;
    if by_ward.is_empty() {
        return Ok(0);
    }
    // One query tells which of the wards have officers at all (most batches: none).
    let staffed = crate::store::staff::wards_with_staff(db, by_ward.keys().copied()).await?;
    for (ward_code, items) in by_ward {
        if !staffed.contains(ward_code) {
            continue;
        }
        let officers = crate::store::staff::ward_staff(db, ward_code).await?;
        if officers.is_empty() {
            continue;
        }
        let unit = crate::store::units::find_unit(db, ward_code).await?;
        let (name, kind, unit_title) = unit
            .map(|u| {
                (
                    u.name.clone(),
                    u.kind.clone(),
                    crate::web::reach::unit_title(&u),
                )
            })
            .unwrap_or_else(|| (ward_code.to_string(), String::new(), ward_code.to_string()));
        let (_, unit_en) = unit_words(&kind);
        let ctx = AlertCtx {
            ward_code,
            ward_name: &name,
            unit_title,
            unit_en,
            inbox_url: format!("{}/staff/wards/{ward_code}/feedback", base(mail.base_url)),
            items: &items,
            count: items.len(),
        };
        for o in officers {
            let mut msg = render(mail.tera, "ward_alert", &o.email, &ctx)
                .map_err(|e| DbErr::Custom(format!("cannot render the ward alert: {e}")))?;
            msg.ref_key = Some(format!("response:{}", items[0].id));
            if outbox::enqueue(db, msg).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The unit word in Vietnamese and English for a `ward_type` as stored.
pub fn unit_words(kind: &str) -> (&'static str, &'static str) {
    use crate::survey::{Lang, UnitKind};
    let k = UnitKind::from_db(kind).unwrap_or(UnitKind::Phuong);
    (k.unit_word(Lang::Vi), k.unit_word(Lang::En))
}
