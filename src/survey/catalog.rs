//! Loading and strict validation of survey files.
//!
//! Every `*.toml` of a directory is read into lenient "raw" types, checked against every rule,
//! and only then turned into [`Survey`]s. All problems of all files are collected, so one run
//! of `hailong surveys check` shows everything to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::definition::{
    Anchors, Choice, Consent, Dimension, Kind, Localized, Measure, Question, Scale, ShownIf, Survey,
};

/// Allowed distance of the sum of dimension weights from 1.
pub const WEIGHT_TOLERANCE: f64 = 1e-9;

/// One problem of one survey file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as given, e.g. `surveys/x.toml`.
    pub file: String,
    /// The question at fault, if the problem belongs to one.
    pub question: Option<String>,
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.question {
            Some(q) => write!(f, "{}: question {}: {}", self.file, q, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for Problem {}

/// The validated surveys of a directory, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    surveys: BTreeMap<String, Survey>,
}

impl Catalog {
    /// Loads and validates every `*.toml` file of `dir` (not recursive). Fails with every
    /// problem found in every file; an empty directory is a problem too.
    pub fn load(dir: impl AsRef<Path>) -> Result<Catalog, Vec<Problem>> {
        let dir = dir.as_ref();
        let dir_name = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![Problem {
                file: dir_name.clone(),
                question: None,
                problem: format!("cannot read the directory: {e}"),
            }]
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(vec![Problem {
                file: dir_name,
                question: None,
                problem: "no *.toml survey file found".into(),
            }]);
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut problems = Vec::new();
        for path in paths {
            let file = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(src) => files.push((file, src)),
                Err(e) => problems.push(Problem {
                    file,
                    question: None,
                    problem: format!("cannot read the file: {e}"),
                }),
            }
        }
        match Catalog::from_sources(files.iter().map(|(f, s)| (f.as_str(), s.as_str()))) {
            Ok(c) if problems.is_empty() => Ok(c),
            Ok(_) => Err(problems),
            Err(mut more) => {
                problems.append(&mut more);
                Err(problems)
            }
        }
    }

    /// Validates surveys given as `(file name, TOML text)` pairs.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Catalog, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut surveys: BTreeMap<String, Survey> = BTreeMap::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (file, src) in files {
            match Survey::from_toml_str(file, src) {
                Ok(s) => {
                    if let Some(first) = seen.get(&s.id) {
                        problems.push(Problem {
                            file: file.to_string(),
                            question: None,
                            problem: format!("duplicate survey id \"{}\" (also in {first})", s.id),
                        });
                    } else {
                        seen.insert(s.id.clone(), file.to_string());
                        surveys.insert(s.id.clone(), s);
                    }
                }
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(Catalog { surveys })
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, id: &str) -> Option<&Survey> {
        self.surveys.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Survey> {
        self.surveys.values()
    }

    pub fn len(&self) -> usize {
        self.surveys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.surveys.is_empty()
    }
}

impl Survey {
    /// Parses and validates one survey file; `file` only names it in problems.
    pub fn from_toml_str(file: &str, src: &str) -> Result<Survey, Vec<Problem>> {
        let raw: RawSurvey = toml::from_str(src).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let before = &src[..s.start.min(src.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(" at line {line}, column {col}")
                })
                .unwrap_or_default();
            vec![Problem {
                file: file.to_string(),
                question: None,
                problem: format!("TOML error{at}: {}", e.message().trim()),
            }]
        })?;
        let mut v = Validator {
            file,
            problems: Vec::new(),
        };
        let survey = v.survey(raw);
        match survey {
            Some(s) if v.problems.is_empty() => Ok(s),
            _ => Err(v.problems),
        }
    }
}

// ---- raw, lenient types: everything optional so that validation can report all problems ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    vi: Option<String>,
    en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    id: Option<String>,
    version: Option<u32>,
    title: Option<RawText>,
    intro: Option<RawText>,
    measure: Option<RawMeasure>,
    #[serde(default)]
    scales: BTreeMap<String, RawScale>,
    #[serde(default)]
    dimensions: Vec<RawDimension>,
    #[serde(default)]
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    overall: Option<String>,
    trust: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    #[serde(default)]
    labels: Vec<RawText>,
    na: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    id: Option<String>,
    weight: Option<f64>,
    label: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    value: Option<String>,
    label: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShownIf {
    question: Option<String>,
    equals: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnchors {
    low: Option<RawText>,
    high: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    field: Option<String>,
    label: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Option<String>,
    kind: Option<String>,
    text: Option<RawText>,
    dimension: Option<String>,
    #[serde(default)]
    required: bool,
    scale: Option<String>,
    options: Option<Vec<RawChoice>>,
    shown_if: Option<RawShownIf>,
    hint: Option<RawText>,
    section: Option<RawText>,
    max_length: Option<usize>,
    anchors: Option<RawAnchors>,
    consent: Option<RawConsent>,
}

/// Values a `sex` / `age` question may offer (they map onto the response's demographics).
const SEX_VALUES: [&str; 3] = ["m", "f", "x"];
const AGE_VALUES: [&str; 4] = ["18-34", "35-54", "55+", "x"];

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

struct Validator<'f> {
    file: &'f str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn push(&mut self, question: Option<&str>, problem: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            question: question.map(str::to_string),
            problem: problem.into(),
        });
    }

    /// A text with both translations present and not blank; `what` names it in problems.
    fn text(&mut self, q: Option<&str>, what: &str, t: Option<RawText>) -> Option<Localized> {
        let Some(t) = t else {
            self.push(q, format!("missing {what}"));
            return None;
        };
        let mut ok = true;
        for (lang, val) in [("vi", &t.vi), ("en", &t.en)] {
            match val {
                None => {
                    self.push(q, format!("missing {lang} translation of {what}"));
                    ok = false;
                }
                Some(s) if s.trim().is_empty() => {
                    self.push(q, format!("empty {lang} translation of {what}"));
                    ok = false;
                }
                Some(_) => {}
            }
        }
        if ok {
            Some(Localized::new(
                t.vi.unwrap_or_default(),
                t.en.unwrap_or_default(),
            ))
        } else {
            None
        }
    }

    fn opt_text(&mut self, q: Option<&str>, what: &str, t: Option<RawText>) -> Option<Localized> {
        t.and_then(|t| self.text(q, what, Some(t)))
    }

    fn survey(&mut self, raw: RawSurvey) -> Option<Survey> {
        let id = match raw.id {
            Some(id) if is_ident(&id) => Some(id),
            Some(id) => {
                self.push(
                    None,
                    format!("invalid survey id \"{id}\" (use a-z, 0-9, - and _)"),
                );
                None
            }
            None => {
                self.push(None, "missing survey id");
                None
            }
        };
        let version = match raw.version {
            Some(v) if v >= 1 => Some(v),
            Some(_) => {
                self.push(None, "version must be at least 1");
                None
            }
            None => {
                self.push(None, "missing version");
                None
            }
        };
        let title = self.text(None, "title", raw.title);
        let intro = self.opt_text(None, "intro", raw.intro);

        let mut scales = BTreeMap::new();
        for (name, s) in raw.scales {
            let what = format!("scale {name}");
            if s.labels.len() != 5 {
                self.push(
                    None,
                    format!(
                        "{what} needs 5 labels (values 1 to 5), found {}",
                        s.labels.len()
                    ),
                );
            }
            let labels: Vec<_> = s
                .labels
                .into_iter()
                .enumerate()
                .filter_map(|(i, l)| self.text(None, &format!("{what} label {}", i + 1), Some(l)))
                .collect();
            let na = self.opt_text(None, &format!("{what} label na"), s.na);
            // On a label problem the file is refused anyway; keep the scale so that its
            // questions do not also report it as unknown.
            scales.insert(name, Scale { labels, na });
        }

        let mut dimensions: Vec<Dimension> = Vec::new();
        let mut weight_sum = 0.0;
        let mut weights_ok = true;
        for d in raw.dimensions {
            let Some(did) = d.id.filter(|i| is_ident(i)) else {
                self.push(None, "a dimension without a valid id");
                weights_ok = false;
                continue;
            };
            if dimensions.iter().any(|x| x.id == did) {
                self.push(None, format!("duplicate dimension id \"{did}\""));
            }
            let label = self.text(None, &format!("dimension {did} label"), d.label);
            let weight = match d.weight {
                Some(w) if w.is_finite() && w > 0.0 => w,
                Some(w) => {
                    self.push(None, format!("dimension {did}: weight {w} must be above 0"));
                    weights_ok = false;
                    continue;
                }
                None => {
                    self.push(None, format!("dimension {did}: missing weight"));
                    weights_ok = false;
                    continue;
                }
            };
            weight_sum += weight;
            // A missing label is already a problem; keep the dimension for the other checks.
            let label = label.unwrap_or_else(|| Localized::new("", ""));
            dimensions.push(Dimension {
                id: did,
                weight,
                label,
            });
        }
        if weights_ok && !dimensions.is_empty() && (weight_sum - 1.0).abs() > WEIGHT_TOLERANCE {
            self.push(
                None,
                format!("dimension weights sum to {weight_sum}, not 1"),
            );
        }

        let mut questions: Vec<Question> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        let mut ok = true;
        for rq in raw.questions {
            match self.question(rq, &ids, &questions, &scales, &dimensions) {
                Some((qid, Some(q))) => {
                    ids.push(qid);
                    questions.push(q);
                }
                Some((qid, None)) => {
                    ids.push(qid);
                    ok = false;
                }
                None => ok = false,
            }
        }
        if ids.is_empty() {
            self.push(None, "the survey has no questions");
        }
        let used: BTreeSet<&str> = questions
            .iter()
            .filter_map(|q| q.dimension.as_deref())
            .collect();
        for d in &dimensions {
            if ok && !used.contains(d.id.as_str()) {
                self.push(None, format!("dimension {} has no questions", d.id));
            }
        }
        if questions.iter().filter(|q| q.kind == Kind::Email).count() > 1 {
            self.push(None, "at most one email question is allowed");
        }

        let measure = self.measure(raw.measure, &ids, &questions);
        Some(Survey {
            id: id?,
            version: version?,
            title: title?,
            intro,
            measure: measure?,
            scales,
            dimensions,
            questions,
        })
    }

    fn measure(
        &mut self,
        raw: Option<RawMeasure>,
        ids: &[String],
        questions: &[Question],
    ) -> Option<Measure> {
        let Some(m) = raw else {
            self.push(None, "missing [measure] (overall = \"<question id>\")");
            return None;
        };
        let find = |id: &str| questions.iter().find(|q| q.id == id);
        let overall = match m.overall {
            None => {
                self.push(None, "measure: missing overall");
                None
            }
            Some(o) => match find(&o) {
                Some(q) if q.kind == Kind::Likert5 && q.dimension.is_none() => Some(o),
                Some(_) => {
                    self.push(
                        Some(&o),
                        "measure.overall must be a likert5 question outside every dimension",
                    );
                    None
                }
                None if ids.contains(&o) => None,
                None => {
                    self.push(
                        None,
                        format!("measure.overall names a missing question \"{o}\""),
                    );
                    None
                }
            },
        };
        let trust = match m.trust {
            None => Some(None),
            Some(t) => match find(&t) {
                Some(q) if q.kind == Kind::Scale0To10 => Some(Some(t)),
                Some(_) => {
                    self.push(Some(&t), "measure.trust must be a scale0_10 question");
                    None
                }
                None if ids.contains(&t) => None,
                None => {
                    self.push(
                        None,
                        format!("measure.trust names a missing question \"{t}\""),
                    );
                    None
                }
            },
        };
        Some(Measure {
            overall: overall?,
            trust: trust?,
        })
    }

    /// Checks one question. `None` when it has no usable id; `(id, None)` when it has problems.
    fn question(
        &mut self,
        rq: RawQuestion,
        earlier: &[String],
        earlier_q: &[Question],
        scales: &BTreeMap<String, Scale>,
        dimensions: &[Dimension],
    ) -> Option<(String, Option<Question>)> {
        let Some(id) = rq.id else {
            self.push(None, "a question without an id");
            return None;
        };
        let before = self.problems.len();
        let qid = Some(id.as_str());
        if !is_ident(&id) {
            self.push(qid, "invalid id (use a-z, 0-9, - and _)");
        }
        if earlier.contains(&id) {
            self.push(qid, "duplicate question id");
        }
        let kind = match rq.kind.as_deref() {
            None => {
                self.push(qid, "missing kind");
                None
            }
            Some(k) => {
                let kind = Kind::parse(k);
                if kind.is_none() {
                    self.push(qid, format!("unknown kind \"{k}\""));
                }
                kind
            }
        };
        let text = self.text(qid, "text", rq.text);
        let hint = self.opt_text(qid, "hint", rq.hint);
        let section = self.opt_text(qid, "section", rq.section);

        if let Some(d) = &rq.dimension {
            if !dimensions.iter().any(|x| &x.id == d) {
                self.push(qid, format!("unknown dimension \"{d}\""));
            } else if kind.is_some_and(|k| k != Kind::Likert5) {
                self.push(qid, "only likert5 questions can belong to a dimension");
            }
        }
        match (kind, &rq.scale) {
            (Some(Kind::Likert5), None) => self.push(qid, "likert5 question without a scale"),
            (Some(Kind::Likert5), Some(s)) if !scales.contains_key(s) => {
                self.push(qid, format!("unknown scale \"{s}\""))
            }
            (Some(k), Some(_)) if k != Kind::Likert5 => {
                self.push(qid, "only likert5 questions have a scale")
            }
            _ => {}
        }

        let mut options = Vec::new();
        match (kind, rq.options) {
            (Some(Kind::Single), None) => self.push(qid, "single question without options"),
            (Some(Kind::Single), Some(v)) if v.is_empty() => {
                self.push(qid, "single question without options")
            }
            (Some(Kind::Single), Some(v)) => {
                for (i, o) in v.into_iter().enumerate() {
                    let value = o.value.unwrap_or_default();
                    if value.trim().is_empty() || value.trim() != value {
                        self.push(qid, format!("option {} has no valid value", i + 1));
                        continue;
                    }
                    if options.iter().any(|c: &Choice| c.value == value) {
                        self.push(qid, format!("duplicate option \"{value}\""));
                    }
                    let what = format!("option {value} label");
                    if let Some(label) = self.text(qid, &what, o.label) {
                        options.push(Choice { value, label });
                    }
                }
            }
            (_, Some(_)) => self.push(qid, "only single questions have options"),
            (_, None) => {}
        }
        let allowed: Option<&[&str]> = match id.as_str() {
            "sex" => Some(&SEX_VALUES),
            "age" => Some(&AGE_VALUES),
            _ => None,
        };
        if let Some(allowed) = allowed {
            if kind.is_some_and(|k| k != Kind::Single) {
                self.push(qid, "must be a single question");
            }
            for o in &options {
                if !allowed.contains(&o.value.as_str()) {
                    self.push(
                        qid,
                        format!(
                            "option \"{}\" is not one of {}",
                            o.value,
                            allowed.join(", ")
                        ),
                    );
                }
            }
        }

        let shown_if = match rq.shown_if {
            None => None,
            Some(c) => match (c.question, c.equals) {
                (Some(target), Some(equals)) => {
                    if target == id {
                        self.push(qid, "shown_if names the question itself");
                    } else if let Some(t) = earlier_q.iter().find(|q| q.id == target) {
                        if t.kind != Kind::Single {
                            self.push(
                                qid,
                                format!(
                                    "shown_if must name a single question, \"{target}\" is {}",
                                    t.kind.as_str()
                                ),
                            );
                        } else if t.option(&equals).is_none() {
                            self.push(
                                qid,
                                format!("shown_if: \"{target}\" has no option \"{equals}\""),
                            );
                        }
                    } else if !earlier.contains(&target) {
                        self.push(
                            qid,
                            format!("shown_if names a missing or later question \"{target}\""),
                        );
                    }
                    Some(ShownIf {
                        question: target,
                        equals,
                    })
                }
                _ => {
                    self.push(qid, "shown_if needs question and equals");
                    None
                }
            },
        };

        if rq.max_length.is_some() && kind.is_some_and(|k| k != Kind::Text) {
            self.push(qid, "only text questions have max_length");
        }
        if rq.max_length == Some(0) {
            self.push(qid, "max_length must be above 0");
        }
        let anchors = match (kind, rq.anchors) {
            (Some(Kind::Scale0To10), Some(a)) => {
                let low = self.text(qid, "anchors.low", a.low);
                let high = self.text(qid, "anchors.high", a.high);
                low.zip(high).map(|(low, high)| Anchors { low, high })
            }
            (_, Some(_)) => {
                self.push(qid, "only scale0_10 questions have anchors");
                None
            }
            (_, None) => None,
        };
        let consent = match (kind, rq.consent) {
            (Some(Kind::Email), Some(c)) => {
                let label = self.text(qid, "consent label", c.label);
                match c.field {
                    Some(f) if is_ident(&f) && f != id => {
                        label.map(|label| Consent { field: f, label })
                    }
                    _ => {
                        self.push(qid, "consent needs a field name other than the question id");
                        None
                    }
                }
            }
            (Some(Kind::Email), None) => {
                self.push(qid, "email question without a consent checkbox");
                None
            }
            (_, Some(_)) => {
                self.push(qid, "only email questions have a consent checkbox");
                None
            }
            (_, None) => None,
        };

        if self.problems.len() > before {
            return Some((id, None));
        }
        let (Some(kind), Some(text)) = (kind, text) else {
            return Some((id, None));
        };
        Some((
            id.clone(),
            Some(Question {
                id,
                kind,
                text,
                dimension: rq.dimension,
                required: rq.required,
                scale: rq.scale,
                options,
                shown_if,
                hint,
                section,
                max_length: match kind {
                    Kind::Text => rq.max_length,
                    _ => None,
                },
                anchors,
                consent,
            }),
        ))
    }
}
