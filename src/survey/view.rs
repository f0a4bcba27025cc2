//! The view model of the public survey page (`templates/public/survey.html`).
//!
//! Everything the template needs is computed here, in one language and for one unit type:
//! texts with `{unit}` replaced, the choices with their checked state, kept values and errors.

use serde::Serialize;

use super::answers::{CONSENT_ON, FormErrors};
use super::definition::{Kind, Lang, Survey, UnitKind};

/// The whole form.
#[derive(Debug, Clone, Serialize)]
pub struct SurveyForm {
    pub survey_id: String,
    pub survey_version: u32,
    pub lang: &'static str,
    pub title: String,
    pub intro: Option<String>,
    /// Questions grouped under their section headings, in survey order.
    pub sections: Vec<SectionView>,
    /// Errors in question order, for the summary at the top of the page.
    pub errors: Vec<ErrorLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    /// `None` for questions before the first heading.
    pub heading: Option<String>,
    pub questions: Vec<QuestionView>,
}

/// A link of the error summary to the first control of a question.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorLink {
    pub question: String,
    /// The HTML id of the control to link to (`#anchor`).
    pub anchor: String,
    pub text: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionView {
    pub id: String,
    /// `likert5`, `scale0_10`, `single`, `text` or `email`.
    pub kind: &'static str,
    pub text: String,
    pub hint: Option<String>,
    pub required: bool,
    /// Present on conditional questions: `{question, equals}`.
    pub shown_if: Option<ShownIfView>,
    /// Likert points (1..5, then `na` if the scale has it), 0..10, or the options.
    pub choices: Vec<ChoiceView>,
    /// Text of the low and high end of a 0..10 scale.
    pub anchor_low: Option<String>,
    pub anchor_high: Option<String>,
    /// The kept value of a text or e-mail field.
    pub value: String,
    pub max_length: Option<usize>,
    pub consent: Option<ConsentView>,
    /// The error message in the page language.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShownIfView {
    pub question: String,
    pub equals: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChoiceView {
    pub value: String,
    pub label: String,
    /// HTML id of the radio button, `f-<question>-<index>`.
    pub html_id: String,
    pub checked: bool,
    /// The "don't know / not applicable" choice (shown apart).
    pub na: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub field: String,
    pub label: String,
    pub checked: bool,
}

/// The HTML id of a question's first control, which error links and `<label for>` point to.
pub fn control_id(question: &str, index: usize) -> String {
    format!("f-{question}-{index}")
}

/// Builds the form in `lang` for a ward of type `unit`. With `submitted` (a refused
/// submission) the values are kept and every error is placed next to its question.
pub fn survey_form(
    survey: &Survey,
    lang: Lang,
    unit: UnitKind,
    submitted: Option<&FormErrors>,
) -> SurveyForm {
    let value = |field: &str| submitted.and_then(|s| s.value(field)).unwrap_or("");
    let mut sections: Vec<SectionView> = Vec::new();
    let mut errors = Vec::new();
    for q in &survey.questions {
        let kept = value(&q.id).trim();
        let choices: Vec<ChoiceView> = match q.kind {
            Kind::Likert5 => {
                let mut v: Vec<(String, String, bool)> = Vec::new();
                if let Some(scale) = survey.scale_of(q) {
                    for (i, l) in scale.labels.iter().enumerate() {
                        v.push(((i + 1).to_string(), l.render(lang, unit), false));
                    }
                    if let Some(na) = &scale.na {
                        v.push(("na".into(), na.render(lang, unit), true));
                    }
                }
                v.into_iter()
                    .enumerate()
                    .map(|(i, (value, label, na))| ChoiceView {
                        checked: kept.eq_ignore_ascii_case(&value),
                        html_id: control_id(&q.id, i),
                        value,
                        label,
                        na,
                    })
                    .collect()
            }
            Kind::Scale0To10 => (0..=10)
                .map(|n| ChoiceView {
                    value: n.to_string(),
                    label: n.to_string(),
                    html_id: control_id(&q.id, n),
                    checked: kept == n.to_string(),
                    na: false,
                })
                .collect(),
            Kind::Single => q
                .options
                .iter()
                .enumerate()
                .map(|(i, c)| ChoiceView {
                    value: c.value.clone(),
                    label: c.label.render(lang, unit),
                    html_id: control_id(&q.id, i),
                    checked: kept == c.value,
                    na: false,
                })
                .collect(),
            Kind::Text | Kind::Email => Vec::new(),
        };
        let text = q.text.render(lang, unit);
        let error = submitted
            .and_then(|s| s.message(&q.id, lang))
            .map(str::to_string);
        if let Some(message) = &error {
            errors.push(ErrorLink {
                question: q.id.clone(),
                anchor: control_id(&q.id, 0),
                text: text.clone(),
                message: message.clone(),
            });
        }
        let view = QuestionView {
            id: q.id.clone(),
            kind: q.kind.as_str(),
            hint: q.hint.as_ref().map(|h| h.render(lang, unit)),
            required: q.required,
            shown_if: q.shown_if.as_ref().map(|c| ShownIfView {
                question: c.question.clone(),
                equals: c.equals.clone(),
            }),
            choices,
            anchor_low: q.anchors.as_ref().map(|a| a.low.render(lang, unit)),
            anchor_high: q.anchors.as_ref().map(|a| a.high.render(lang, unit)),
            value: match q.kind {
                Kind::Text | Kind::Email => value(&q.id).to_string(),
                _ => String::new(),
            },
            max_length: match q.kind {
                Kind::Text | Kind::Email => Some(q.max_chars()),
                _ => None,
            },
            consent: q.consent.as_ref().map(|c| ConsentView {
                field: c.field.clone(),
                label: c.label.render(lang, unit),
                checked: value(&c.field).trim() == CONSENT_ON,
            }),
            text,
            error,
        };
        match (&q.section, sections.last_mut()) {
            (None, Some(last)) => last.questions.push(view),
            (heading, _) => sections.push(SectionView {
                heading: heading.as_ref().map(|h| h.render(lang, unit)),
                questions: vec![view],
            }),
        }
    }
    SurveyForm {
        survey_id: survey.id.clone(),
        survey_version: survey.version,
        lang: lang.as_str(),
        title: survey.title.render(lang, unit),
        intro: survey.intro.as_ref().map(|t| t.render(lang, unit)),
        sections,
        errors,
    }
}
