//! The survey: instrument files (`surveys/*.toml`), their validation, the parsing of answers
//! and the view model of the public form.
//!
//! - [`definition`]: the typed instrument ([`Survey`], [`Question`], [`UnitKind`], [`Lang`]).
//! - [`catalog`]: loads and strictly validates every survey file of a directory.
//! - [`answers`]: form fields or CSV cells → [`ValidatedResponse`] or [`FormErrors`].
//! - [`view`]: the serializable model of `templates/public/survey.html`.

pub mod answers;
pub mod catalog;
pub mod definition;
pub mod view;

#[cfg(test)]
mod tests;

pub use answers::{
    Age, Answer, Contact, FieldError, FormErrors, Mode, Sex, ValidatedResponse, parse_form,
};
pub use catalog::{Catalog, Problem};
pub use definition::{DimensionItems, Kind, Lang, Localized, Question, Survey, UnitKind};
pub use view::{SurveyForm, survey_form};
