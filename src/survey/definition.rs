//! The survey instrument as typed data (see `surveys/ward-police.toml`).
//!
//! A [`Survey`] only ever comes out of [`crate::survey::catalog`], which checks every rule
//! (kinds, dimensions, weights, translations, conditions) before building one, so the rest of
//! the program can rely on it: a likert5 question always has a known scale, a `shown_if` always
//! names an earlier question, every text has both languages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The placeholder replaced by the unit word of the ward's type.
pub const UNIT_PLACEHOLDER: &str = "{unit}";

/// A display language. Vietnamese is the default everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `"vi"` or `"en"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Parses `vi` / `en` (case-insensitive); anything else is `None`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of a `?lang=` query value, Vietnamese when absent or unknown.
    pub fn from_query(s: Option<&str>) -> Lang {
        s.and_then(Lang::parse).unwrap_or_default()
    }

    /// The other language (for the language switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }
}

/// The type of an administrative unit, which decides the wording ("Công an phường/xã/đặc khu").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnitKind {
    Phuong,
    Xa,
    DacKhu,
}

impl UnitKind {
    /// Maps the `ward_type` column of the unit list (`phường`, `xã`, `đặc khu`).
    pub fn from_db(s: &str) -> Option<UnitKind> {
        match s.trim().to_lowercase().as_str() {
            "phường" => Some(UnitKind::Phuong),
            "xã" => Some(UnitKind::Xa),
            "đặc khu" => Some(UnitKind::DacKhu),
            _ => None,
        }
    }

    /// The value stored in the database (`phường`, `xã`, `đặc khu`).
    pub fn as_db(self) -> &'static str {
        match self {
            UnitKind::Phuong => "phường",
            UnitKind::Xa => "xã",
            UnitKind::DacKhu => "đặc khu",
        }
    }

    /// The police unit of this type, as used inside sentences.
    pub fn unit_word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (UnitKind::Phuong, Lang::Vi) => "Công an phường",
            (UnitKind::Xa, Lang::Vi) => "Công an xã",
            (UnitKind::DacKhu, Lang::Vi) => "Công an đặc khu",
            (UnitKind::Phuong, Lang::En) => "the ward police",
            (UnitKind::Xa, Lang::En) => "the commune police",
            (UnitKind::DacKhu, Lang::En) => "the special zone police",
        }
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub vi: String,
    pub en: String,
}

impl Localized {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Localized {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The raw text in `lang` (placeholders untouched).
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }

    /// The text in `lang` with `{unit}` replaced by the unit word of `unit`.
    pub fn render(&self, lang: Lang, unit: UnitKind) -> String {
        self.get(lang)
            .replace(UNIT_PLACEHOLDER, unit.unit_word(lang))
    }
}

/// The kind of a question, which decides its control and its accepted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// Five points `1`..`5` of a named scale, plus `na` when the scale has one.
    #[serde(rename = "likert5")]
    Likert5,
    /// `0`..`10`.
    #[serde(rename = "scale0_10")]
    Scale0To10,
    /// One of the listed options.
    #[serde(rename = "single")]
    Single,
    /// Free text, trimmed, at most `max_length` characters.
    #[serde(rename = "text")]
    Text,
    /// An e-mail address for a reply, with its consent checkbox.
    #[serde(rename = "email")]
    Email,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Likert5,
        Kind::Scale0To10,
        Kind::Single,
        Kind::Text,
        Kind::Email,
    ];

    /// The name used in survey files and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Likert5 => "likert5",
            Kind::Scale0To10 => "scale0_10",
            Kind::Single => "single",
            Kind::Text => "text",
            Kind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A named answer scale: five labels for the values 1..5, and optionally a "don't know / not
/// applicable" choice (`na`). A scale without `na` does not accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    pub labels: Vec<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na: Option<Localized>,
}

impl Scale {
    pub fn allows_na(&self) -> bool {
        self.na.is_some()
    }
}

/// A dimension of the satisfaction index with its weight (weights sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    pub id: String,
    pub weight: f64,
    pub label: Localized,
}

/// One option of a `single` question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: Localized,
}

/// Show a question only when an earlier `single` question has a given value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownIf {
    pub question: String,
    pub equals: String,
}

/// The end labels of a 0..10 scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchors {
    pub low: Localized,
    pub high: Localized,
}

/// The consent checkbox that goes with an `email` question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The form field name, e.g. `contact_consent`; its checked value is `on`.
    pub field: String,
    pub label: Localized,
}

/// Default maximum length (in characters) of a `text` answer.
pub const DEFAULT_TEXT_MAX: usize = 2000;
/// Maximum length of an e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub kind: Kind,
    pub text: Localized,
    /// The dimension of a likert5 item counted in the index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// The scale name of a likert5 question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// The options of a `single` question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_if: Option<ShownIf>,
    /// A help text shown under the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Localized>,
    /// A heading that starts a new section of the form at this question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Localized>,
    /// Maximum characters of a `text` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// End labels of a `scale0_10` question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchors: Option<Anchors>,
    /// The consent checkbox of an `email` question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

impl Question {
    /// The maximum length of the answer in characters (text and email questions).
    pub fn max_chars(&self) -> usize {
        match self.kind {
            Kind::Email => EMAIL_MAX,
            _ => self.max_length.unwrap_or(DEFAULT_TEXT_MAX),
        }
    }

    pub fn option(&self, value: &str) -> Option<&Choice> {
        self.options.iter().find(|c| c.value == value)
    }
}

/// Which questions feed the summary figures of docs/method.md besides the dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// The likert5 item of the satisfied share (`overall`).
    pub overall: String,
    /// The 0..10 trust item, if the survey has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
}

/// A validated survey instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub id: String,
    pub version: u32,
    pub title: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<Localized>,
    pub measure: Measure,
    pub scales: BTreeMap<String, Scale>,
    pub dimensions: Vec<Dimension>,
    pub questions: Vec<Question>,
}

/// A dimension with its weight and the ids of its likert items, in survey order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionItems {
    pub id: String,
    pub weight: f64,
    pub items: Vec<String>,
}

impl Survey {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    pub fn dimension(&self, id: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.id == id)
    }

    /// The scale of a likert5 question.
    pub fn scale_of(&self, q: &Question) -> Option<&Scale> {
        q.scale.as_deref().and_then(|s| self.scales.get(s))
    }

    /// Every dimension, in file order, with its weight and likert item ids.
    pub fn scale_items(&self) -> Vec<DimensionItems> {
        self.dimensions
            .iter()
            .map(|d| DimensionItems {
                id: d.id.clone(),
                weight: d.weight,
                items: self
                    .questions
                    .iter()
                    .filter(|q| q.kind == Kind::Likert5 && q.dimension.as_deref() == Some(&d.id))
                    .map(|q| q.id.clone())
                    .collect(),
            })
            .collect()
    }

    /// The id of the `overall` item (satisfied share).
    pub fn overall_item(&self) -> &str {
        &self.measure.overall
    }

    /// The id of the 0..10 trust item.
    pub fn trust_item(&self) -> Option<&str> {
        self.measure.trust.as_deref()
    }

    /// The items of Cronbach's α: the likert items of every dimension none of whose questions
    /// has a `shown_if` condition (for ward-police: a1 … c2).
    pub fn alpha_items(&self) -> Vec<String> {
        self.alpha_items_of(&self.scale_items())
    }

    /// [`Survey::alpha_items`] from this survey's [`Survey::scale_items`], listed already.
    pub fn alpha_items_of(&self, scale_items: &[DimensionItems]) -> Vec<String> {
        scale_items
            .iter()
            .filter(|d| {
                d.items
                    .iter()
                    .all(|id| self.question(id).is_some_and(|q| q.shown_if.is_none()))
            })
            .flat_map(|d| d.items.iter().cloned())
            .collect()
    }

    /// Whether question `q` applies given the chosen values of earlier questions
    /// (`choice_of(id)` returns the submitted value of a `single` question).
    pub fn is_shown<'a>(&self, q: &Question, choice_of: impl Fn(&str) -> Option<&'a str>) -> bool {
        match &q.shown_if {
            None => true,
            Some(c) => choice_of(&c.question) == Some(c.equals.as_str()),
        }
    }
}
