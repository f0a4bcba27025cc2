//! Masking personal data in free text before any staff member reads it (see docs/hardening.md,
//! "Masking").
//!
//! Comments are stored as the resident wrote them and masked on every read for staff, so that
//! a better rule later applies to old comments too. Masked: Vietnamese phone numbers (mobiles,
//! the old 11-digit `01x` mobiles, landlines with their area codes; with `+84`, `0084`, `84` or
//! `0`), 12-digit citizen ID numbers, e-mail addresses (Unicode local parts and IDN domains
//! included) and licence plates. Kept: dates, times, amounts, house and alley numbers, years,
//! percentages and short numbers.
//!
//! Matching runs on the NFKC form of the text (full-width digits become ASCII digits, thin and
//! non-breaking spaces become spaces), one character with its combining marks at a time, so
//! that every match maps back to whole characters of the original: the output is the original
//! text with each match replaced by its label, never the normalised text.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

pub const PHONE: &str = "[số điện thoại đã ẩn]";
pub const CITIZEN_ID: &str = "[số CCCD đã ẩn]";
pub const EMAIL: &str = "[e-mail đã ẩn]";
pub const PLATE: &str = "[biển số xe đã ẩn]";

/// A local part of letters (any script, with their marks), digits and `._%+-`, and a domain of
/// such labels ending in a top-level domain of letters or an `xn--` (punycode) label.
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[\p{L}\p{M}\p{N}._%+\-]+@(?:[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}\-]*[\p{L}\p{M}\p{N}])?\.)+(?:xn--[A-Za-z0-9\-]*[A-Za-z0-9]|\p{L}[\p{L}\p{M}]+)",
    )
    .expect("valid e-mail pattern")
});

/// `29A-123.45`, `51F 12345`, `30E1-234.56`, `29-B1 123.45`, `51G-12345`, `29LD-123.45`:
/// a two-digit province code, a series (one letter, then a letter or digit), and four or five
/// digits (`123.45` or `12345`); any space or dash between the parts. The word boundaries are
/// ASCII ones, which the regex engine's fast automaton handles (Unicode ones make it fall back
/// to a slower engine on non-ASCII text, every Vietnamese comment).
static PLATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)[1-9][0-9][\s\-\x{2010}-\x{2015}\x{2212}]?[A-Za-z][A-Za-z0-9]?[\s\-\x{2010}-\x{2015}\x{2212}.]?(?:[0-9]{3}\.[0-9]{2}|[0-9]{4,5})(?-u:\b)",
    )
    .expect("valid plate pattern")
});

/// Dates (`03/12/2026`, `3-12-2026`, `03.12.2026`, `2026-12-03`): never masked, and never part
/// of a number run, so that two dates in a row are not read as one long number.
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-](?:19|20)[0-9]{2}|(?:19|20)[0-9]{2}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2})(?-u:\b)",
    )
    .expect("valid date pattern")
});

/// What a match is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Phone,
    CitizenId,
    Email,
    Plate,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Phone => PHONE,
            Kind::CitizenId => CITIZEN_ID,
            Kind::Email => EMAIL,
            Kind::Plate => PLATE,
        }
    }
}

/// A match: a byte span of the normalised text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Masks every phone number, citizen ID, e-mail address and licence plate in `text`.
pub fn mask_text(text: &str) -> String {
    let norm = Normalised::of(text);
    let spans = find(&norm.text);
    if spans.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0usize;
    for s in spans {
        let (start, end) = norm.original(s.start, s.end);
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(s.kind.label());
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The NFKC form of a text, with where each of its characters came from.
struct Normalised<'a> {
    text: Cow<'a, str>,
    /// `(normalised offset, original offset)` at the start of each original character with its
    /// combining marks, ending with both lengths; empty when the text was already in NFKC.
    map: Vec<(usize, usize)>,
}

impl<'a> Normalised<'a> {
    fn of(text: &'a str) -> Self {
        if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
            return Normalised {
                text: Cow::Borrowed(text),
                map: Vec::new(),
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, m)) = chars.peek() {
                if canonical_combining_class(m) == 0 {
                    break;
                }
                end = j + m.len_utf8();
                chars.next();
            }
            map.push((out.len(), i));
            out.extend(text[i..end].nfkc());
        }
        map.push((out.len(), text.len()));
        Normalised {
            text: Cow::Owned(out),
            map,
        }
    }

    /// The original span of whole characters that covers the normalised span `start..end`.
    fn original(&self, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() {
            return (start, end);
        }
        // The character holding `start`, and the first one starting at or after `end`.
        let a = self.map.partition_point(|&(n, _)| n <= start) - 1;
        let b = self.map.partition_point(|&(n, _)| n < end);
        (self.map[a].1, self.map[b.min(self.map.len() - 1)].1)
    }
}

/// Every match in `s` (normalised), in text order, none overlapping.
fn find(s: &str) -> Vec<Span> {
    let has_at = s.contains('@');
    let has_digit = s.bytes().any(|b| b.is_ascii_digit());
    let mut spans = Vec::new();
    if !has_at && !has_digit {
        return spans;
    }
    // Each finder sees the text with what earlier finders took (and the dates) blanked out.
    let mut work = Cow::Borrowed(s);
    if has_at {
        take(&mut work, &EMAIL_RE, Some(Kind::Email), &mut spans);
    }
    if has_digit {
        take(&mut work, &PLATE_RE, Some(Kind::Plate), &mut spans);
        take(&mut work, &DATE_RE, None, &mut spans);
        numbers(&work, &mut spans);
    }
    spans.sort_by_key(|s| s.start);
    spans
}

/// Adds the matches of `re` as `kind` (none: kept as they are) and blanks them out in `work`.
fn take(work: &mut Cow<'_, str>, re: &Regex, kind: Option<Kind>, spans: &mut Vec<Span>) {
    let found: Vec<(usize, usize)> = re
        .find_iter(work)
        .filter(|m| {
            kind != Some(Kind::Plate) || m.as_str().chars().any(|c| c.is_ascii_alphabetic())
        })
        .map(|m| (m.start(), m.end()))
        .collect();
    if found.is_empty() {
        return;
    }
    let mut bytes = std::mem::take(work).into_owned().into_bytes();
    for &(start, end) in &found {
        // Whole characters become `#` bytes: still UTF-8, and neither a digit nor a separator.
        bytes[start..end].fill(b'#');
        if let Some(kind) = kind {
            spans.push(Span { start, end, kind });
        }
    }
    *work = Cow::Owned(String::from_utf8(bytes).expect("ASCII filler keeps UTF-8"));
}

/// What may stand between the digit groups of one number: any space, a hyphen or dash, a dot,
/// a slash, an underscore, or brackets.
fn is_sep(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '-' | '/' | '_' | '(' | ')' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{2E3A}'
                    | '\u{2E3B}'
                    | '\u{FE58}'
                    | '\u{2044}'
                    | '\u{2215}'
                    | '\u{00B7}'
                    | '\u{3002}'
        )
}

/// At most this many separator characters between two groups (`" - "`, `") "`).
const MAX_GAP: usize = 3;
/// No phone number or citizen ID has more digits (with `0084`).
const MAX_DIGITS: usize = 14;

/// The national significant number (without the trunk `0` or the country code) of a phone:
/// 9 digits from 2 to 9 (mobiles 03/05/07/08/09, and the landlines before 2017: Hà Nội 04,
/// TP.HCM 08, provinces with a 2-digit area code), 10 digits starting with 2 (landlines since
/// 2017: `2` + area code + number), or an old 11-digit mobile (`12x`, `16x`, `18x`, `19x`).
fn is_national(d: &[u8]) -> bool {
    match (d.len(), d.first()) {
        (9, Some(b'2'..=b'9')) => true,
        (10, Some(b'2')) => true,
        (10, Some(b'1')) => matches!(d[1], b'2' | b'6' | b'8' | b'9'),
        _ => false,
    }
}

fn classify(digits: &[u8], plus: bool) -> Option<Kind> {
    let (digits, plus) = match digits.strip_prefix(b"00") {
        Some(rest) if rest.starts_with(b"84") => (rest, true),
        _ => (digits, plus),
    };
    // +84 / 84 then the national number, perhaps after a trunk 0 written anyway (`+84 (0) 9…`).
    if let Some(rest) = digits.strip_prefix(b"84") {
        let rest = rest.strip_prefix(b"0").unwrap_or(rest);
        if is_national(rest) {
            return Some(Kind::Phone);
        }
    }
    if plus {
        return None;
    }
    let rest = digits.strip_prefix(b"0")?;
    if is_national(rest) {
        return Some(Kind::Phone);
    }
    // Citizen ID: a 3-digit province code 001–096, then 9 digits.
    if digits.len() == 12 {
        let province = (digits[1] - b'0') * 10 + (digits[2] - b'0');
        if (1..=96).contains(&province) {
            return Some(Kind::CitizenId);
        }
    }
    None
}

/// One group of digits inside a number-like run.
struct Group {
    /// Byte span in the text (a leading `+` included).
    start: usize,
    end: usize,
    /// Its digits in the run's digit buffer.
    digits: std::ops::Range<usize>,
    plus: bool,
    /// The separator characters before it (empty for the first group).
    gap: std::ops::Range<usize>,
}

/// Finds phone numbers and citizen IDs among runs of digit groups joined by short gaps of
/// separators. Within a run, from the earliest group on, the longest span of whole groups that
/// is a phone or a citizen ID wins, so "số 12 0912 345 678" masks only the phone.
fn numbers(text: &str, spans: &mut Vec<Span>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let offset = |k: usize| chars.get(k).map_or(text.len(), |&(o, _)| o);
    let starts_group = |k: usize| match at(k) {
        Some(c) if c.is_ascii_digit() => true,
        Some('+') => at(k + 1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let mut digits: Vec<u8> = Vec::with_capacity(32);
    let mut groups: Vec<Group> = Vec::new();
    let mut i = 0usize;
    while i < chars.len() {
        // A run does not start inside a decimal (`0,5`).
        let after_comma = i >= 2 && chars[i - 1].1 == ',' && chars[i - 2].1.is_ascii_digit();
        if !starts_group(i) || after_comma {
            i += 1;
            continue;
        }
        digits.clear();
        groups.clear();
        let mut j = i;
        let mut gap = 0..0;
        loop {
            let gstart = offset(j);
            let plus = at(j) == Some('+');
            if plus {
                j += 1;
            }
            let from = digits.len();
            while let Some(c) = at(j).filter(char::is_ascii_digit) {
                digits.push(c as u8);
                j += 1;
            }
            groups.push(Group {
                start: gstart,
                end: offset(j),
                digits: from..digits.len(),
                plus,
                gap: gap.clone(),
            });
            let mut k = j;
            while k < chars.len() && k - j < MAX_GAP && is_sep(chars[k].1) {
                k += 1;
            }
            if k > j && starts_group(k) {
                gap = offset(j)..offset(k);
                j = k;
            } else {
                break;
            }
        }
        pick(text, &digits, &groups, spans);
        i = j.max(i + 1);
    }
}

/// The phones and citizen IDs of one run of groups.
fn pick(text: &str, digits: &[u8], groups: &[Group], spans: &mut Vec<Span>) {
    let mut g = 0usize;
    while g < groups.len() {
        let mut best: Option<(usize, Kind)> = None;
        for h in g..groups.len() {
            if h > g && groups[h].plus {
                break;
            }
            let d = &digits[groups[g].digits.start..groups[h].digits.end];
            if d.len() > MAX_DIGITS {
                break;
            }
            if let Some(kind) = classify(d, groups[g].plus)
                && !is_amount(text, digits, &groups[g..=h])
            {
                best = Some((h, kind));
            }
        }
        let Some((h, kind)) = best else {
            g += 1;
            continue;
        };
        // An opening bracket just before the number belongs to it, and so does the closing one.
        let mut start = groups[g].start;
        if text[..start].ends_with('(') {
            start -= 1;
        }
        let mut end = groups[h].end;
        let span = &text[start..end];
        if span.matches('(').count() > span.matches(')').count() && text[end..].starts_with(')') {
            end += 1;
        }
        spans.push(Span { start, end, kind });
        g = h + 1;
    }
}

/// Whether groups read as an amount with dots between thousands (`84.900.000.000`): no `+`,
/// no leading 0, one to three digits and then groups of three, each after a single dot.
fn is_amount(text: &str, digits: &[u8], groups: &[Group]) -> bool {
    let first = &groups[0];
    groups.len() > 1
        && !first.plus
        && digits[first.digits.start] != b'0'
        && first.digits.len() <= 3
        && groups[1..]
            .iter()
            .all(|g| g.digits.len() == 3 && &text[g.gap.clone()] == ".")
}

#[cfg(test)]
mod tests;
