//! From submitted fields to a [`ValidatedResponse`]: "parse, don't validate".
//!
//! The web layer hands over the decoded `application/x-www-form-urlencoded` pairs (SPEC §3);
//! the paper import hands over the cells of a CSV row keyed by question id. Whatever comes out
//! of [`parse_form`] is valid for its survey, so the store and the measure never re-check it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::definition::{Kind, Lang, Localized, Question, Survey};

/// The id of the question whose answer becomes [`ValidatedResponse::sex`].
pub const SEX_QUESTION: &str = "sex";
/// The id of the question whose answer becomes [`ValidatedResponse::age`].
pub const AGE_QUESTION: &str = "age";
/// The value of a checked consent checkbox.
pub const CONSENT_ON: &str = "on";

/// Where the answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The public form: required questions must be answered.
    Web,
    /// A paper ballot typed in from CSV: nothing is required, an empty cell or `na` means not
    /// answered, but every given value must still be in range.
    Paper,
}

/// Sex and age classes are the measure's own (post-stratification cells).
pub use crate::measure::{Age, Sex};

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Answer {
    /// A likert5 value 1..=5.
    Likert(u8),
    /// "Don't know / not applicable" on a likert5 question (a missing value, never 3).
    Na,
    /// A 0..=10 value.
    Scale(u8),
    /// The value of a chosen option.
    Choice(String),
    /// Cleaned free text (never empty).
    Text(String),
}

impl Answer {
    /// The answer as a form / CSV value (`1`..`5`, `na`, `0`..`10`, option value, text).
    pub fn to_value(&self) -> String {
        match self {
            Answer::Likert(v) | Answer::Scale(v) => v.to_string(),
            Answer::Na => "na".into(),
            Answer::Choice(s) | Answer::Text(s) => s.clone(),
        }
    }
}

/// A contact e-mail for a reply; only ever built with consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub email: String,
    pub consent: bool,
}

/// A response that is valid for its survey.
///
/// `answers` holds the answered questions in survey order, one entry each, without the
/// demographics (`sex`, `age`, in their own fields) and without the e-mail (in `contact`).
/// Conditional questions whose condition does not hold (p1/p2 unless `used_procedures=yes`)
/// are never in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatedResponse {
    pub sex: Option<Sex>,
    pub age: Option<Age>,
    pub answers: Vec<(String, Answer)>,
    pub contact: Option<Contact>,
}

impl ValidatedResponse {
    pub fn answer(&self, id: &str) -> Option<&Answer> {
        self.answers.iter().find(|(q, _)| q == id).map(|(_, a)| a)
    }

    /// The 1..=5 value of a likert item (`None` when unanswered or `na`).
    pub fn likert(&self, id: &str) -> Option<u8> {
        match self.answer(id) {
            Some(Answer::Likert(v)) => Some(*v),
            _ => None,
        }
    }

    /// Whether a likert item was answered `na`.
    pub fn is_na(&self, id: &str) -> bool {
        matches!(self.answer(id), Some(Answer::Na))
    }

    /// The 0..=10 value of a scale item.
    pub fn scale(&self, id: &str) -> Option<u8> {
        match self.answer(id) {
            Some(Answer::Scale(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn choice(&self, id: &str) -> Option<&str> {
        match self.answer(id) {
            Some(Answer::Choice(v)) => Some(v),
            _ => None,
        }
    }

    pub fn text(&self, id: &str) -> Option<&str> {
        match self.answer(id) {
            Some(Answer::Text(v)) => Some(v),
            _ => None,
        }
    }
}

/// The error of one field, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The question id (the consent error is reported on the e-mail question).
    pub question: String,
    pub message: Localized,
}

/// Why a submission was refused, with what was submitted so the form can be shown again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FormErrors {
    /// In survey order, at most one per question.
    pub errors: Vec<FieldError>,
    /// The submitted values of the survey's own fields (question ids and consent fields),
    /// first occurrence of each.
    pub values: BTreeMap<String, String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn get(&self, question: &str) -> Option<&Localized> {
        self.errors
            .iter()
            .find(|e| e.question == question)
            .map(|e| &e.message)
    }

    /// The message for `question` in `lang`.
    pub fn message(&self, question: &str, lang: Lang) -> Option<&str> {
        self.get(question).map(|m| m.get(lang))
    }

    /// The kept value of a field.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }

    /// Every error as `id: message` in `lang`, one per line (for CLI / CSV import reports).
    pub fn summary(&self, lang: Lang) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.question, e.message.get(lang)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn add(&mut self, question: &str, message: Localized) {
        if self.get(question).is_none() {
            self.errors.push(FieldError {
                question: question.to_string(),
                message,
            });
        }
    }
}

impl std::fmt::Display for FormErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.question, e.message.en))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FormErrors {}

mod msg {
    use super::Localized;

    pub fn choose_rating() -> Localized {
        Localized::new("Vui lòng chọn một mức đánh giá.", "Please choose a rating.")
    }
    pub fn choose_answer() -> Localized {
        Localized::new("Vui lòng chọn một câu trả lời.", "Please choose an answer.")
    }
    pub fn invalid() -> Localized {
        Localized::new("Giá trị không hợp lệ.", "Invalid value.")
    }
    pub fn twice() -> Localized {
        Localized::new(
            "Câu này được gửi nhiều lần; vui lòng chỉ chọn một câu trả lời.",
            "This answer was sent more than once; please give one answer only.",
        )
    }
    pub fn too_long(max: usize) -> Localized {
        Localized::new(
            format!("Nội dung quá dài: tối đa {max} ký tự."),
            format!("Too long: at most {max} characters."),
        )
    }
    pub fn fill_in() -> Localized {
        Localized::new("Vui lòng trả lời câu này.", "Please answer this question.")
    }
    pub fn bad_email() -> Localized {
        Localized::new(
            "Địa chỉ e-mail không hợp lệ (ví dụ đúng: ten@example.com).",
            "This e-mail address is not valid (for example: name@example.com).",
        )
    }
    pub fn no_consent() -> Localized {
        Localized::new(
            "Vui lòng đánh dấu ô đồng ý để chúng tôi dùng e-mail này trả lời anh/chị, hoặc xoá địa chỉ e-mail.",
            "Please tick the consent box so that we may use this e-mail to reply, or remove the address.",
        )
    }
}

/// Removes control characters (keeping line breaks and tabs), normalises line breaks and trims.
pub fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    s.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .filter(|&c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        .collect::<String>()
        .trim()
        .to_string()
}

/// A plausible e-mail address: one `@`, a local part of at most 64 characters without spaces,
/// and a domain of at least two dot-separated labels of letters, digits and hyphens.
pub fn is_plausible_email(s: &str) -> bool {
    if s.len() > super::definition::EMAIL_MAX
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"'])
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic) && tld.chars().count() >= 2)
}

/// Parses submitted fields against `survey`.
///
/// Field names are question ids (plus the consent field of the e-mail question); other fields
/// (`t`, `p`, …) are ignored. A survey field given twice is an error.
pub fn parse_form(
    survey: &Survey,
    pairs: &[(String, String)],
    mode: Mode,
) -> Result<ValidatedResponse, FormErrors> {
    let mut errs = FormErrors::default();

    // Collect the survey's own fields, flagging repeats.
    let mut known: BTreeMap<&str, &Question> = BTreeMap::new();
    for q in &survey.questions {
        known.insert(q.id.as_str(), q);
        if let Some(c) = &q.consent {
            known.insert(c.field.as_str(), q);
        }
    }
    let mut twice: Vec<&str> = Vec::new();
    for (name, value) in pairs {
        if let Some((field, q)) = known.get_key_value(name.as_str()) {
            if errs.values.contains_key(*field) {
                twice.push(q.id.as_str());
            } else {
                errs.values.insert(field.to_string(), value.clone());
            }
        }
    }

    // Which conditional questions apply depends on the raw choice given; if that choice is
    // itself invalid, the condition does not hold (and the choice gets its own error).
    let raw = |id: &str| -> Option<&str> {
        let q = survey.question(id)?;
        let v = errs.values.get(id)?.trim();
        q.option(v).map(|c| c.value.as_str())
    };
    let shown: BTreeMap<&str, bool> = survey
        .questions
        .iter()
        .map(|q| (q.id.as_str(), survey.is_shown(q, raw)))
        .collect();

    let mut out = ValidatedResponse {
        sex: None,
        age: None,
        answers: Vec::new(),
        contact: None,
    };
    let mut new_errors: Vec<(String, Localized)> = Vec::new();
    for q in &survey.questions {
        if twice.contains(&q.id.as_str()) {
            new_errors.push((q.id.clone(), msg::twice()));
            continue;
        }
        if !shown.get(q.id.as_str()).copied().unwrap_or(true) {
            continue;
        }
        let given = errs.values.get(&q.id).map(String::as_str).unwrap_or("");
        match parse_one(survey, q, given, mode) {
            Ok(None) => {
                if mode == Mode::Web && q.required {
                    let m = match q.kind {
                        Kind::Likert5 | Kind::Scale0To10 => msg::choose_rating(),
                        Kind::Single => msg::choose_answer(),
                        Kind::Text | Kind::Email => msg::fill_in(),
                    };
                    new_errors.push((q.id.clone(), m));
                }
            }
            Ok(Some(a)) => match (q.kind, q.id.as_str(), a) {
                (Kind::Single, SEX_QUESTION, Answer::Choice(v)) => out.sex = Sex::parse(&v),
                (Kind::Single, AGE_QUESTION, Answer::Choice(v)) => out.age = Age::parse(&v),
                (Kind::Email, _, Answer::Text(email)) => {
                    let consent = q
                        .consent
                        .as_ref()
                        .and_then(|c| errs.values.get(&c.field))
                        .map(|v| v.trim());
                    match consent {
                        Some(CONSENT_ON) => {
                            out.contact = Some(Contact {
                                email,
                                consent: true,
                            })
                        }
                        Some("") | None => new_errors.push((q.id.clone(), msg::no_consent())),
                        Some(_) => new_errors.push((q.id.clone(), msg::invalid())),
                    }
                }
                (_, _, a) => out.answers.push((q.id.clone(), a)),
            },
            Err(m) => new_errors.push((q.id.clone(), m)),
        }
    }
    for (q, m) in new_errors {
        errs.add(&q, m);
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// One field: `Ok(None)` when not answered.
fn parse_one(
    survey: &Survey,
    q: &Question,
    given: &str,
    mode: Mode,
) -> Result<Option<Answer>, Localized> {
    let v = match q.kind {
        Kind::Text | Kind::Email => given,
        _ => given.trim(),
    };
    let is_na = v.eq_ignore_ascii_case("na");
    if v.is_empty() || (mode == Mode::Paper && is_na && q.kind != Kind::Text) {
        return Ok(None);
    }
    match q.kind {
        Kind::Likert5 => {
            if is_na {
                let allows = survey.scale_of(q).is_some_and(|s| s.allows_na());
                return if allows {
                    Ok(Some(Answer::Na))
                } else {
                    Err(msg::invalid())
                };
            }
            match v.parse::<u8>() {
                Ok(n @ 1..=5) if v.len() == 1 => Ok(Some(Answer::Likert(n))),
                _ => Err(msg::invalid()),
            }
        }
        Kind::Scale0To10 => match v.parse::<u8>() {
            Ok(n @ 0..=10) if v.len() <= 2 => Ok(Some(Answer::Scale(n))),
            _ => Err(msg::invalid()),
        },
        Kind::Single => match q.option(v) {
            Some(c) => Ok(Some(Answer::Choice(c.value.clone()))),
            None => Err(msg::invalid()),
        },
        Kind::Text => {
            let t = clean_text(v);
            if t.is_empty() || (mode == Mode::Paper && t.eq_ignore_ascii_case("na")) {
                Ok(None)
            } else if t.chars().count() > q.max_chars() {
                Err(msg::too_long(q.max_chars()))
            } else {
                Ok(Some(Answer::Text(t)))
            }
        }
        Kind::Email => {
            let t = clean_text(v);
            if t.is_empty() {
                Ok(None)
            } else if is_plausible_email(&t) {
                Ok(Some(Answer::Text(t)))
            } else {
                Err(msg::bad_email())
            }
        }
    }
}
