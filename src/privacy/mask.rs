//! Masking personal data in free text before any staff member reads it (SPEC §6).
//!
//! Comments are stored as the resident wrote them and masked on every read for staff, so that
//! a better rule later applies to old comments too. Masked: Vietnamese phone numbers (mobile and
//! landline, with `+84`, `84` or `0`, spaced, dotted, dashed or bracketed), 12-digit citizen ID
//! numbers, e-mail addresses and licence plates. Kept: dates, amounts, house and alley numbers.

use std::sync::LazyLock;

use regex::Regex;

pub const PHONE: &str = "[số điện thoại đã ẩn]";
pub const CITIZEN_ID: &str = "[số CCCD đã ẩn]";
pub const EMAIL: &str = "[e-mail đã ẩn]";
pub const PLATE: &str = "[biển số xe đã ẩn]";

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid e-mail pattern")
});

/// `29A-123.45`, `51F 12345`, `30E1-234.56`, `29-B1 123.45`, `51G-12345`, `29LD-123.45`:
/// a two-digit province code, a series (one letter, then a letter or digit), and four or five
/// digits (`123.45` or `12345`).
static PLATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[1-9]\d[ \-]?[A-Za-z][A-Za-z0-9]?[ \-.]?(?:\d{3}\.\d{2}|\d{4,5})\b")
        .expect("valid plate pattern")
});

/// Masks every phone number, citizen ID, e-mail address and licence plate in `text`.
pub fn mask_text(text: &str) -> String {
    let t = EMAIL_RE.replace_all(text, EMAIL);
    let t = PLATE_RE.replace_all(&t, |caps: &regex::Captures<'_>| {
        let m = &caps[0];
        // A plate has a letter after the province code; a bare digit run is not a plate.
        if m.chars().any(|c| c.is_ascii_alphabetic()) {
            PLATE.to_string()
        } else {
            m.to_string()
        }
    });
    mask_numbers(&t)
}

/// What a run of digit groups is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Phone,
    CitizenId,
}

fn classify(digits: &str, plus: bool) -> Option<Kind> {
    let b = digits.as_bytes();
    let n = b.len();
    // +84 / 84 then the national number without its leading 0.
    if let Some(rest) = digits.strip_prefix("84") {
        let r = rest.as_bytes();
        let ok = (r.len() == 9 && matches!(r[0], b'3' | b'5' | b'7' | b'8' | b'9'))
            || (r.len() == 10 && r[0] == b'2');
        if ok {
            return Some(Kind::Phone);
        }
    }
    if plus {
        return None;
    }
    if n >= 2 && b[0] == b'0' {
        if n == 10 && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9') {
            return Some(Kind::Phone);
        }
        if n == 11 && b[1] == b'2' {
            return Some(Kind::Phone);
        }
        // Citizen ID: 3-digit province code 001–096, then 9 digits.
        if n == 12 {
            return Some(Kind::CitizenId);
        }
    }
    None
}

/// One group of digits inside a number-like run, with its byte span in the text.
struct Group {
    start: usize,
    end: usize,
    digits: String,
    plus: bool,
}

fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}')
}

/// Finds phone numbers and citizen IDs among runs of digit groups joined by single separators
/// (space, dot, dash, brackets). Within a run, the longest classifiable span of whole groups
/// starting at the earliest group wins, so "số 12 0912 345 678" masks only the phone.
fn mask_numbers(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        let (_, c) = chars[i];
        let starts = c.is_ascii_digit() || (c == '+' && next_is_digit(&chars, i + 1));
        // A group must not continue a number (`12/0…`, `0,5`); glued to a word it may start
        // (`sđt0912345678`): only 10–12-digit runs starting with 0 or 84 are ever masked, which
        // no house number, amount or date is.
        let prev_ok = i == 0 || {
            let p = chars[i - 1].1;
            !(p.is_ascii_digit() || p == '/' || p == ',' || p == '+')
        };
        if !(starts && prev_ok) {
            i += 1;
            continue;
        }
        // Collect the run of groups.
        let mut groups: Vec<Group> = Vec::new();
        let mut j = i;
        loop {
            let (gstart, gc) = chars[j];
            let plus = gc == '+';
            if plus {
                j += 1;
            }
            let mut digits = String::new();
            while j < chars.len() && chars[j].1.is_ascii_digit() {
                digits.push(chars[j].1);
                j += 1;
            }
            let gend = if j < chars.len() {
                chars[j].0
            } else {
                text.len()
            };
            groups.push(Group {
                start: gstart,
                end: gend,
                digits,
                plus,
            });
            // Up to two separator characters (e.g. `) `), then another group.
            let mut k = j;
            let mut seps = 0;
            while k < chars.len() && is_sep(chars[k].1) && seps < 2 {
                k += 1;
                seps += 1;
            }
            if seps > 0
                && k < chars.len()
                && (chars[k].1.is_ascii_digit()
                    || (chars[k].1 == '+' && next_is_digit(&chars, k + 1)))
            {
                j = k;
            } else {
                break;
            }
        }
        // A number followed by a slash (`123/4`, `12/03`) is an address or a date part.
        let glued_after = j < chars.len() && chars[j].1 == '/';
        let mut g = 0usize;
        while g < groups.len() {
            let mut best: Option<(usize, Kind)> = None;
            let mut digits = String::new();
            for (h, grp) in groups.iter().enumerate().skip(g) {
                if grp.plus && h != g {
                    break;
                }
                digits.push_str(&grp.digits);
                if digits.len() > 14 {
                    break;
                }
                let last = h + 1 == groups.len();
                if last && glued_after {
                    continue;
                }
                if let Some(kind) = classify(&digits, groups[g].plus) {
                    best = Some((h, kind));
                }
            }
            match best {
                Some((h, kind)) => {
                    // An opening bracket just before the number belongs to it, and so
                    // does the closing one.
                    let mut start = groups[g].start;
                    if text[..start].ends_with('(') {
                        start -= 1;
                    }
                    let mut end = groups[h].end;
                    let span = &text[start..end];
                    if span.matches('(').count() > span.matches(')').count()
                        && text[end..].starts_with(')')
                    {
                        end += 1;
                    }
                    out.push_str(&text[copied..start]);
                    out.push_str(match kind {
                        Kind::Phone => PHONE,
                        Kind::CitizenId => CITIZEN_ID,
                    });
                    copied = end;
                    g = h + 1;
                }
                None => g += 1,
            }
        }
        i = j.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

fn next_is_digit(chars: &[(usize, char)], k: usize) -> bool {
    k < chars.len() && chars[k].1.is_ascii_digit()
}

#[cfg(test)]
mod tests;
