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

use super::{base, fold, matching_folded, outbox, render};
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
    reasons_given(cfg, r, overall_of(r))
}

/// The `overall` answer of a response.
fn overall_of(r: &NewResponse) -> Option<i32> {
    r.answers
        .iter()
        .find(|a| a.question_id == "overall")
        .and_then(|a| a.value_num)
}

/// The text answer to question `q`.
fn text_of<'r>(r: &'r NewResponse, q: &str) -> Option<&'r str> {
    r.answers
        .iter()
        .find(|a| a.question_id == q)
        .and_then(|a| a.value_text.as_deref())
}

/// [`reasons`] with the response's `overall` answer already looked up.
fn reasons_given(cfg: &MailConfig, r: &NewResponse, overall: Option<i32>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = overall
        && o <= cfg.alert_max_overall
    {
        out.push(format!("overall={o}"));
    }
    let texts = ["comment", "issue"].map(|q| text_of(r, q));
    if cfg.alert_keywords.is_empty() || texts.iter().all(Option::is_none) {
        return out;
    }
    FOLDED_KEYWORDS.with_borrow_mut(|folded| {
        folded.update(&cfg.alert_keywords);
        for t in texts.into_iter().flatten() {
            for k in matching_folded(&cfg.alert_keywords, &folded.folded, &fold(t)) {
                let k = format!("keyword={k}");
                if !out.contains(&k) {
                    out.push(k);
                }
            }
        }
    });
    out
}

/// The misconduct keywords (`mail.misconduct_keywords`) that a response's comment or issue
/// holds, each once, in the configured order; empty when none (or no text).
pub fn misconduct(cfg: &MailConfig, r: &NewResponse) -> Vec<String> {
    let texts = ["comment", "issue"].map(|q| text_of(r, q));
    if cfg.misconduct_keywords.is_empty() || texts.iter().all(Option::is_none) {
        return Vec::new();
    }
    FOLDED_MISCONDUCT.with_borrow_mut(|folded| {
        folded.update(&cfg.misconduct_keywords);
        let mut out: Vec<String> = Vec::new();
        for t in texts.into_iter().flatten() {
            for k in matching_folded(&cfg.misconduct_keywords, &folded.folded, &fold(t)) {
                if !out.iter().any(|o| o == k) {
                    out.push(k.to_string());
                }
            }
        }
        out
    })
}

/// A keyword list with each keyword folded (see [`fold`]), for [`matching_folded`].
#[derive(Default)]
struct FoldedKeywords {
    keywords: Vec<String>,
    folded: Vec<String>,
}

impl FoldedKeywords {
    /// Makes this the folded form of `keywords` unless it already is.
    fn update(&mut self, keywords: &[String]) {
        if self.keywords != keywords {
            self.folded = keywords.iter().map(|k| fold(k)).collect();
            self.keywords = keywords.to_vec();
        }
    }
}

thread_local! {
    /// The configured keywords, folded once per thread rather than once per keyword and text.
    static FOLDED_KEYWORDS: std::cell::RefCell<FoldedKeywords> = Default::default();
    /// The same for the misconduct keywords.
    static FOLDED_MISCONDUCT: std::cell::RefCell<FoldedKeywords> = Default::default();
}

/// The longest comment excerpt of an alert, in characters (an ellipsis marks a longer one).
const EXCERPT_CHARS: usize = 300;

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
        let overall = overall_of(r);
        let reasons = reasons_given(cfg, r, overall);
        if reasons.is_empty() && r.misconduct.is_empty() {
            return AlertBasis {
                reasons,
                overall,
                excerpt: None,
            };
        }
        let text = |q: &str| text_of(r, q).filter(|t| !t.trim().is_empty());
        let excerpt = text("comment").or_else(|| text("issue")).map(excerpt_of);
        AlertBasis {
            reasons,
            overall,
            excerpt,
        }
    }
}

/// The excerpt of a free-text answer an alert quotes: masked, cut at [`EXCERPT_CHARS`].
pub fn excerpt_of(text: &str) -> String {
    let mut e = crate::privacy::mask_text(text);
    if let Some((cut, _)) = e.char_indices().nth(EXCERPT_CHARS) {
        e.truncate(cut);
        e.push('…');
    }
    e
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
    /// The first [`MAX_ITEMS`] items.
    items: &'a [AlertItem],
    /// How many responses alert, in Vietnamese and English digit grouping ("20.000", "20,000").
    count_vi: String,
    count_en: String,
    /// How many are not listed (0 when all are), likewise.
    more: usize,
    more_vi: String,
    more_en: String,
}

/// The most items an alert lists; the rest are counted and left to the inbox, so that an alert
/// about 20,000 low ballots stays a few kilobytes (it was 17 MB).
pub const MAX_ITEMS: usize = 20;

/// `n` with its digits grouped by three with `sep`: `grouped(19980, '.')` is "19.980".
fn grouped(n: usize, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(d);
    }
    out
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
    use std::borrow::Cow;
    use std::collections::BTreeMap;
    let mut by_ward: BTreeMap<&str, Vec<(&Stored<'_>, Cow<'_, AlertBasis>)>> = BTreeMap::new();
    // Withheld responses (their text names misconduct) alert the province, never the ward.
    let mut withheld: BTreeMap<&str, Vec<(&Stored<'_>, Cow<'_, AlertBasis>)>> = BTreeMap::new();
    for s in stored.iter().filter(|s| s.counted) {
        let r = s.response;
        let basis = match &r.alert_basis {
            Some(b) => Cow::Borrowed(b),
            None => Cow::Owned(AlertBasis::of(mail.cfg, r)),
        };
        if !r.misconduct.is_empty() {
            withheld.entry(&r.ward_code).or_default().push((s, basis));
            continue;
        }
        if basis.reasons.is_empty() {
            continue;
        }
        by_ward.entry(&r.ward_code).or_default().push((s, basis));
    }
    let mut n = if withheld.is_empty() {
        0
    } else {
        enqueue_province_alerts(db, mail, withheld).await?
    };
    if by_ward.is_empty() {
        return Ok(n);
    }
    // One query tells which of the wards have officers at all (most batches: none); the
    // alerts' items are made only for those.
    let staffed = crate::store::staff::wards_with_staff(db, by_ward.keys().copied()).await?;
    for (ward_code, alerting) in by_ward {
        if !staffed.contains(ward_code) {
            continue;
        }
        let officers = crate::store::staff::ward_staff(db, ward_code).await?;
        if officers.is_empty() {
            continue;
        }
        let items: Vec<AlertItem> = alerting
            .iter()
            .take(MAX_ITEMS)
            .map(|(s, basis)| alert_item(mail, s, basis))
            .collect();
        let count = alerting.len();
        let more = count - items.len();
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
            count_vi: grouped(count, '.'),
            count_en: grouped(count, ','),
            more,
            more_vi: grouped(more, '.'),
            more_en: grouped(more, ','),
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

#[derive(Serialize)]
struct ProvinceAlertItem {
    ward_code: String,
    ward_title: String,
    #[serde(flatten)]
    item: AlertItem,
}

#[derive(Serialize)]
struct ProvinceAlertCtx<'a> {
    province_code: &'a str,
    province_name: &'a str,
    review_url: String,
    items: &'a [ProvinceAlertItem],
    count_vi: String,
    count_en: String,
    more: usize,
    more_vi: String,
    more_en: String,
}

/// Alerts the users of each province (role `province:CODE`) about its wards' withheld
/// responses: one message per user and province per batch, pointing at the province's review
/// page, where the text can be read and released to the ward.
async fn enqueue_province_alerts(
    db: &impl ConnectionTrait,
    mail: &MailCtx<'_>,
    withheld: std::collections::BTreeMap<
        &str,
        Vec<(&Stored<'_>, std::borrow::Cow<'_, AlertBasis>)>,
    >,
) -> Result<usize, DbErr> {
    use std::collections::BTreeMap;
    let mut by_province: BTreeMap<String, (String, Vec<ProvinceAlertItem>)> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (ward_code, items) in withheld {
        let Some(unit) = crate::store::units::find_unit(db, ward_code).await? else {
            continue;
        };
        let title = crate::web::reach::unit_title(&unit);
        *counts.entry(unit.province_code.clone()).or_default() += items.len();
        let entry = by_province
            .entry(unit.province_code.clone())
            .or_insert_with(|| (unit.province_name.clone(), Vec::new()));
        for (s, basis) in items {
            if entry.1.len() >= MAX_ITEMS {
                break;
            }
            let mut item = alert_item(mail, s, &basis);
            item.keywords = s.response.misconduct.clone();
            item.url = format!(
                "{}/staff/provinces/{}/review#withheld-{}",
                base(mail.base_url),
                unit.province_code,
                s.id
            );
            entry.1.push(ProvinceAlertItem {
                ward_code: ward_code.to_string(),
                ward_title: title.clone(),
                item,
            });
        }
    }
    let mut n = 0;
    for (code, (name, items)) in &by_province {
        let users = crate::store::staff::province_staff(db, code).await?;
        if users.is_empty() || items.is_empty() {
            continue;
        }
        let count = counts.get(code).copied().unwrap_or(items.len());
        let more = count - items.len();
        let ctx = ProvinceAlertCtx {
            province_code: code,
            province_name: name,
            review_url: format!("{}/staff/provinces/{code}/review", base(mail.base_url)),
            items,
            count_vi: grouped(count, '.'),
            count_en: grouped(count, ','),
            more,
            more_vi: grouped(more, '.'),
            more_en: grouped(more, ','),
        };
        for u in users {
            let mut msg = render(mail.tera, "misconduct_alert", &u.email, &ctx)
                .map_err(|e| DbErr::Custom(format!("cannot render the misconduct alert: {e}")))?;
            msg.ref_key = Some(format!("response:{}", items[0].item.id));
            if outbox::enqueue(db, msg).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// What an alert says about one response.
fn alert_item(mail: &MailCtx<'_>, s: &Stored<'_>, basis: &AlertBasis) -> AlertItem {
    let r = s.response;
    let overall = basis.overall;
    AlertItem {
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
    }
}

/// The unit word in Vietnamese and English for a `ward_type` as stored.
pub fn unit_words(kind: &str) -> (&'static str, &'static str) {
    use crate::survey::{Lang, UnitKind};
    let k = UnitKind::from_db(kind).unwrap_or(UnitKind::Phuong);
    (k.unit_word(Lang::Vi), k.unit_word(Lang::En))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::responses::AnswerRow;

    fn response(answers: &[(&str, Option<i32>, Option<&str>)]) -> NewResponse {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/surveys/ward-police.toml");
        let src = std::fs::read_to_string(path).expect("read ward-police.toml");
        let survey = crate::survey::Survey::from_toml_str("ward-police.toml", &src).unwrap();
        let v = crate::survey::ValidatedResponse {
            sex: None,
            age: None,
            answers: Vec::new(),
            contact: None,
        };
        let mut r = crate::intake::new_response(
            &survey,
            &v,
            "00004",
            crate::store::responses::Channel::Web,
            chrono::Utc::now(),
        );
        r.answers = answers
            .iter()
            .map(|(q, num, text)| AnswerRow {
                question_id: q.to_string(),
                value_num: *num,
                value_text: text.map(str::to_string),
            })
            .collect();
        r
    }

    #[test]
    fn reasons_list_a_low_overall_then_each_keyword_once() {
        let cfg = MailConfig::default();
        let r = response(&[
            ("overall", Some(1), None),
            ("issue", None, Some("SÁCH NHIỄU, hoi lo")),
            ("comment", None, Some("Cán bộ đòi hối lộ")),
        ]);
        assert_eq!(
            reasons(&cfg, &r),
            ["overall=1", "keyword=hối lộ", "keyword=sách nhiễu"]
        );
        let calm = response(&[("overall", Some(4), None), ("comment", None, Some("Tốt"))]);
        assert!(reasons(&cfg, &calm).is_empty());
        assert_eq!(AlertBasis::of(&cfg, &calm).excerpt, None);
        // Another keyword list on the same thread is folded anew.
        let other = MailConfig {
            alert_keywords: vec!["TỐT".into(), " ".into()],
            ..MailConfig::default()
        };
        assert_eq!(reasons(&other, &calm), ["keyword=TỐT"]);
        assert_eq!(reasons(&other, &r), ["overall=1"]);
        assert_eq!(reasons(&cfg, &r).len(), 3);
    }

    #[test]
    fn misconduct_is_found_as_whole_words_with_or_without_accents() {
        let cfg = MailConfig::default();
        let r = response(&[
            ("comment", None, Some("Anh ấy DOI TIEN rồi còn đánh người")),
            ("issue", None, Some("đòi tiền")),
        ]);
        assert_eq!(misconduct(&cfg, &r), ["đòi tiền", "đánh người"]);
        // "bảo kê" is a whole word; "bảo kêu" is not it.
        let near = response(&[("comment", None, Some("Tôi bảo kêu cứu, tiêu cựcc"))]);
        assert!(misconduct(&cfg, &near).is_empty());
        let none = response(&[("overall", Some(1), None)]);
        assert!(misconduct(&cfg, &none).is_empty());
        // A withheld response carries its excerpt for the province even without alert reasons.
        let mut quiet = response(&[
            ("overall", Some(5), None),
            ("comment", None, Some("cán bộ bảo kê quán 0912345678")),
        ]);
        quiet.misconduct = misconduct(&cfg, &quiet);
        assert_eq!(quiet.misconduct, ["bảo kê"]);
        let basis = AlertBasis::of(&cfg, &quiet);
        assert!(basis.reasons.is_empty());
        let excerpt = basis.excerpt.expect("an excerpt");
        assert!(
            excerpt.contains("bảo kê") && !excerpt.contains("0912345678"),
            "{excerpt}"
        );
    }

    #[test]
    fn counts_are_grouped_by_three() {
        assert_eq!(grouped(0, '.'), "0");
        assert_eq!(grouped(999, '.'), "999");
        assert_eq!(grouped(1000, '.'), "1.000");
        assert_eq!(grouped(19_980, '.'), "19.980");
        assert_eq!(grouped(1_234_567, ','), "1,234,567");
    }

    #[test]
    fn the_excerpt_is_cut_after_300_characters() {
        let cfg = MailConfig::default();
        let exact = "ố".repeat(300);
        let r = response(&[("overall", Some(1), None), ("comment", None, Some(&exact))]);
        assert_eq!(
            AlertBasis::of(&cfg, &r).excerpt.as_deref(),
            Some(exact.as_str())
        );
        let long = "ố".repeat(301);
        let r = response(&[("overall", Some(2), None), ("comment", None, Some(&long))]);
        assert_eq!(AlertBasis::of(&cfg, &r).excerpt, Some(format!("{exact}…")));
        // A blank comment gives way to the issue.
        let r = response(&[
            ("overall", Some(2), None),
            ("comment", None, Some(" ")),
            ("issue", None, Some("Trộm cắp")),
        ]);
        assert_eq!(
            AlertBasis::of(&cfg, &r).excerpt.as_deref(),
            Some("Trộm cắp")
        );
    }
}
