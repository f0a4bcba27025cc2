//! From submitted fields to a [`ValidatedResponse`]: "parse, don't validate".
//!
//! The web layer hands over the decoded `application/x-www-form-urlencoded` pairs (docs/api.md);
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
    // Most answers have nothing to remove: one copy of the trimmed text.
    if s.chars().all(is_kept) {
        return s.trim().to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            // `\r\n` and a lone `\r` are both one line break.
            out.push('\n');
            chars.next_if_eq(&'\n');
        } else if is_kept(c) {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out
}

/// Whether [`clean_text`] keeps a character as it is: not a control character (but for line
/// feeds and tabs) nor an invisible format character (zero-width, direction marks, BOM).
fn is_kept(c: char) -> bool {
    (c == '\n' || c == '\t' || !c.is_control())
        && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
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

/// The survey's own fields (question ids and consent fields) as submitted.
struct Submitted<'a> {
    /// One entry per field name: first the question ids, in survey order (entry `i` is
    /// question `i`'s), then the consent fields.
    fields: Vec<Field<'a>>,
    /// For each question, whether one of its fields was given more than once.
    twice: Vec<bool>,
}

struct Field<'a> {
    name: &'a str,
    /// The index of the question the field belongs to: of a name listed twice (a consent field
    /// that is also a question id), the later question in survey order.
    question: usize,
    /// The first value given.
    value: Option<&'a str>,
}

impl<'a> Submitted<'a> {
    fn new(survey: &'a Survey, pairs: &'a [(String, String)]) -> Self {
        let questions = &survey.questions;
        let mut fields: Vec<Field> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| Field {
                name: &q.id,
                question: i,
                value: None,
            })
            .collect();
        for (i, q) in questions.iter().enumerate() {
            let Some(c) = &q.consent else { continue };
            match fields.iter_mut().find(|f| f.name == c.field) {
                Some(f) => f.question = f.question.max(i),
                None => fields.push(Field {
                    name: &c.field,
                    question: i,
                    value: None,
                }),
            }
        }
        let mut twice = vec![false; questions.len()];
        // Forms list their fields in survey order: each search starts after the last match.
        let mut next = 0;
        for (name, value) in pairs {
            let Some(at) = (0..fields.len())
                .map(|k| (next + k) % fields.len())
                .find(|&at| fields[at].name == name)
            else {
                continue;
            };
            let f = &mut fields[at];
            if f.value.is_some() {
                twice[f.question] = true;
            } else {
                f.value = Some(value);
            }
            next = at + 1;
        }
        Submitted { fields, twice }
    }

    /// The value given for the id of question `i`.
    fn answer(&self, i: usize) -> Option<&'a str> {
        self.fields[i].value
    }

    /// The value given for a field.
    fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value)
    }

    /// The given fields as [`FormErrors::values`] keeps them.
    fn values(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter_map(|f| Some((f.name.to_string(), f.value?.to_string())))
            .collect()
    }
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
    let given = Submitted::new(survey, pairs);

    // Which conditional questions apply depends on the raw choice given; if that choice is
    // itself invalid, the condition does not hold (and the choice gets its own error).
    let raw = |id: &str| -> Option<&str> {
        let q = survey.question(id)?;
        let v = given.get(id)?.trim();
        q.option(v).map(|c| c.value.as_str())
    };

    let mut out = ValidatedResponse {
        sex: None,
        age: None,
        answers: Vec::with_capacity(survey.questions.len()),
        contact: None,
    };
    for (i, q) in survey.questions.iter().enumerate() {
        if given.twice[i] {
            errs.add(&q.id, msg::twice());
            continue;
        }
        if !survey.is_shown(q, raw) {
            continue;
        }
        match parse_one(survey, q, given.answer(i).unwrap_or(""), mode) {
            Ok(None) => {
                if mode == Mode::Web && q.required {
                    let m = match q.kind {
                        Kind::Likert5 | Kind::Scale0To10 => msg::choose_rating(),
                        Kind::Single => msg::choose_answer(),
                        Kind::Text | Kind::Email => msg::fill_in(),
                    };
                    errs.add(&q.id, m);
                }
            }
            Ok(Some(a)) => match (q.kind, q.id.as_str(), a) {
                (Kind::Single, SEX_QUESTION, Answer::Choice(v)) => out.sex = Sex::parse(&v),
                (Kind::Single, AGE_QUESTION, Answer::Choice(v)) => out.age = Age::parse(&v),
                (Kind::Email, _, Answer::Text(email)) => {
                    let consent = q
                        .consent
                        .as_ref()
                        .and_then(|c| given.get(&c.field))
                        .map(str::trim);
                    match consent {
                        Some(CONSENT_ON) => {
                            out.contact = Some(Contact {
                                email,
                                consent: true,
                            })
                        }
                        Some("") | None => errs.add(&q.id, msg::no_consent()),
                        Some(_) => errs.add(&q.id, msg::invalid()),
                    }
                }
                (_, _, a) => out.answers.push((q.id.clone(), a)),
            },
            Err(m) => errs.add(&q.id, m),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        errs.values = given.values();
        Err(errs)
    }
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
            } else if t.len() > q.max_chars() && t.chars().count() > q.max_chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ward_police() -> Survey {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/surveys/ward-police.toml");
        let src = std::fs::read_to_string(path).expect("read ward-police.toml");
        Survey::from_toml_str("ward-police.toml", &src).expect("valid survey")
    }

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn clean_text_normalises_line_breaks_and_drops_invisible_characters() {
        assert_eq!(clean_text("  Góp ý\t"), "Góp ý");
        assert_eq!(clean_text("a\r\nb\rc\n\r\r\nd"), "a\nb\nc\n\n\nd");
        assert_eq!(
            clean_text("\u{FEFF} a\u{200B}b\u{0}\u{7F}\tc \u{202E}"),
            "ab\tc"
        );
        assert_eq!(clean_text("\r\n \u{200B} \r"), "");
        assert_eq!(clean_text(""), "");
    }

    #[test]
    fn field_order_does_not_matter() {
        let s = ward_police();
        let mut form = pairs(&[
            ("a1", "3"),
            ("a2", "5"),
            ("r1", "1"),
            ("r2", "4"),
            ("s1", "2"),
            ("s2", "5"),
            ("c1", "3"),
            ("c2", "4"),
            ("used_procedures", "yes"),
            ("p1", "1"),
            ("p2", "2"),
            ("overall", "5"),
            ("trust", "7"),
            ("t", "x"),
            ("sex", "m"),
            ("age", "18-34"),
            ("issue", "Trộm cắp xe máy"),
            ("comment", "Góp ý"),
            ("contact_email", "a@b.vn"),
            ("contact_consent", "on"),
        ]);
        let in_order = parse_form(&s, &form, Mode::Web).expect("valid");
        assert_eq!(in_order.likert("p2"), Some(2));
        form.reverse();
        assert_eq!(parse_form(&s, &form, Mode::Web), Ok(in_order));
        // A repeat is found wherever it is.
        form.push(("r2".into(), "4".into()));
        let e = parse_form(&s, &form, Mode::Web).expect_err("twice");
        assert_eq!(e.errors.len(), 1);
        assert!(e.get("r2").is_some());
        assert_eq!(e.value("r2"), Some("4"));
        assert_eq!(e.value("contact_consent"), Some("on"));
        assert_eq!(e.value("t"), None);
    }
}
