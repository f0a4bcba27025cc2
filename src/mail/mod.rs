//! E-mail that is never lost: messages are rendered from `templates/email/<name>/` and written
//! to the `outbox` table in the same transaction as the event that causes them
//! ([`outbox::enqueue`]); a background worker ([`worker`]) claims due messages with a lease,
//! sends them through lettre ([`transport`]) and retries with exponential backoff.
//!
//! Delivery is at-least-once: a message is marked `sent` only after the SMTP server accepted
//! it, so a crash between the two sends it again once its lease runs out.

pub mod alerts;
pub mod digest;
pub mod outbox;
pub mod password;
pub mod replies;
pub mod signed;
pub mod transport;
pub mod worker;

use serde::Serialize;

/// A message ready to be enqueued: rendered, with its recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `ward_alert`, `misconduct_alert`, `reply`, `followup`, `digest`, `invite` or `password_reset`.
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers (e.g. `List-Unsubscribe`).
    pub headers: Vec<(String, String)>,
    /// What caused the message, e.g. `response:42`.
    pub ref_key: Option<String>,
    /// Enqueue-once key: a second message with the same key is silently dropped.
    pub dedup_key: Option<String>,
}

/// Renders `templates/email/<name>/{subject.txt,text.txt,html.html}` into a [`Message`].
pub fn render(
    tera: &tera::Tera,
    kind: &'static str,
    to: &str,
    ctx: &impl Serialize,
) -> Result<Message, tera::Error> {
    let ctx = tera::Context::from_serialize(ctx)?;
    let subject = tera.render(&format!("email/{kind}/subject.txt"), &ctx)?;
    // A subject is one line, whatever the template's line breaks.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Message {
        kind,
        to: to.to_string(),
        subject,
        text: tera.render(&format!("email/{kind}/text.txt"), &ctx)?,
        html: tera.render(&format!("email/{kind}/html.html"), &ctx)?,
        headers: Vec::new(),
        ref_key: None,
        dedup_key: None,
    })
}

/// The base URL without a trailing slash.
pub fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// Lower case, accents removed (`đ` → `d`), every run of non-alphanumerics one space, padded
/// with spaces: the form keywords are matched in, as whole words.
pub fn fold(text: &str) -> String {
    let mut out = Folded {
        text: String::with_capacity(text.len() + 2),
        plain: true,
    };
    out.separate();
    if text.bytes().all(|b| b < 0x7F) {
        // Nothing to transliterate, nothing to lower-case but ASCII letters.
        text.bytes().for_each(|b| out.push_ascii(b));
    } else {
        for c in text.chars() {
            if c.is_ascii() {
                // `deunicode` keeps printable ASCII as it is, and `push_ascii` lower-cases.
                out.push(c);
            } else {
                // Lower-casing character by character differs from `str::to_lowercase` only
                // for a final sigma (`ς` instead of `σ`), and both transliterate to `s`.
                c.to_lowercase().for_each(|c| out.push(c));
            }
        }
    }
    out.separate();
    out.text
}

/// The text [`fold`] builds from the lower-cased text, transliterated to ASCII as
/// `deunicode::deunicode` does it: ASCII lower-case letters and digits, every run of anything
/// else one space.
struct Folded {
    text: String,
    /// Whether no character from DEL on came yet: `deunicode` keeps the text up to there as it
    /// is, and looks up every character after it in its table (which drops ASCII control
    /// characters).
    plain: bool,
}

impl Folded {
    fn push(&mut self, c: char) {
        if self.plain && c < '\u{7F}' {
            self.push_ascii(c as u8);
            return;
        }
        self.plain = false;
        match deunicode::deunicode_char(c) {
            Some(ascii) => ascii.bytes().for_each(|b| self.push_ascii(b)),
            // `deunicode` writes `[?]` for a character it does not know.
            None => self.separate(),
        }
    }

    fn push_ascii(&mut self, b: u8) {
        if b.is_ascii_alphanumeric() {
            self.text.push(char::from(b.to_ascii_lowercase()));
        } else {
            self.separate();
        }
    }

    /// Ends a word: one space, however many separators follow each other.
    fn separate(&mut self) {
        if !self.text.ends_with(' ') {
            self.text.push(' ');
        }
    }
}

/// The keywords found in a text, as whole words, with or without accents: `folded[i]` is
/// `keywords[i]` folded (see [`fold`]) and `hay` the text folded. The ward alerts fold the
/// configured keywords once (`alerts::reasons`). A keyword that folds to nothing (blank,
/// punctuation) matches nothing.
pub fn matching_folded<'k>(keywords: &'k [String], folded: &[String], hay: &str) -> Vec<&'k str> {
    keywords
        .iter()
        .zip(folded)
        .filter(|(_, needle)| !needle.trim().is_empty() && hay.contains(needle.as_str()))
        .map(|(k, _)| k.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keywords found in `text`, folding both here.
    fn matching_keywords<'a>(keywords: &'a [String], text: &str) -> Vec<&'a str> {
        let folded: Vec<String> = keywords.iter().map(|k| fold(k)).collect();
        matching_folded(keywords, &folded, &fold(text))
    }

    #[test]
    fn keywords_match_with_and_without_accents_as_words() {
        let k = vec!["hối lộ".to_string(), "sách nhiễu".to_string()];
        assert_eq!(matching_keywords(&k, "Cán bộ đòi HỐI LỘ!"), vec!["hối lộ"]);
        assert_eq!(matching_keywords(&k, "can bo doi hoi lo"), vec!["hối lộ"]);
        assert_eq!(
            matching_keywords(&k, "bị sach nhieu nhiều lần"),
            vec!["sách nhiễu"]
        );
        // Not inside another word.
        assert!(matching_keywords(&k, "tôi chơi lô tô").is_empty());
        assert!(matching_keywords(&k, "").is_empty());
        assert!(matching_keywords(&["  ".to_string()], "anything").is_empty());
    }

    #[test]
    fn fold_lower_cases_transliterates_and_keeps_words() {
        // Plain ASCII, with upper case.
        assert_eq!(fold("Can BO, doi-hoi...LO 123"), " can bo doi hoi lo 123 ");
        assert_eq!(fold(""), " ");
        assert_eq!(fold(" !? "), " ");
        // Vietnamese, with upper case.
        assert_eq!(fold("Cán bộ đòi HỐI LỘ!"), " can bo doi hoi lo ");
        assert_eq!(fold("ĐƯỜNG Trộm cắp"), " duong trom cap ");
        // Greek, with a final sigma; CJK; a character without transliteration.
        assert_eq!(fold("ΟΔΟΣ σας"), " odos sas ");
        assert_eq!(fold("中国"), " zhong guo ");
        assert_eq!(fold("a\u{E000}b"), " a b ");
        // Like `deunicode`, ASCII control characters separate words only before the first
        // character from DEL on, and are dropped after it.
        assert_eq!(fold("a\tb é\tc"), " a b ec ");
        assert_eq!(fold("x\u{7F}a\tb"), " xab ");
    }
}
