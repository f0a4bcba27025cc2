//! Calendar periods in Asia/Ho_Chi_Minh time (UTC+7 all year, no daylight saving).

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Vietnam's offset from UTC.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// A month `YYYY-MM` or a quarter `YYYY-Qn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("period `{0}` is not YYYY-MM or YYYY-Qn (for example 2026-04 or 2026-Q2)")]
pub struct BadPeriod(pub String);

impl Period {
    pub fn parse(s: &str) -> Result<Self, BadPeriod> {
        let bad = || BadPeriod(s.to_string());
        let (y, rest) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        if !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            match q {
                "1" | "2" | "3" | "4" => Ok(Period::Quarter {
                    year,
                    quarter: q.parse().map_err(|_| bad())?,
                }),
                _ => Err(bad()),
            }
        } else if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
            let month: u32 = rest.parse().map_err(|_| bad())?;
            if (1..=12).contains(&month) {
                Ok(Period::Month { year, month })
            } else {
                Err(bad())
            }
        } else {
            Err(bad())
        }
    }

    /// The month (Vietnam time) that an instant belongs to.
    pub fn month_of(t: DateTime<Utc>) -> Self {
        let local = t.with_timezone(&vietnam());
        Period::Month {
            year: local.year(),
            month: local.month(),
        }
    }

    /// The quarter (Vietnam time) that an instant belongs to.
    pub fn quarter_of(t: DateTime<Utc>) -> Self {
        Self::month_of(t).quarter()
    }

    pub fn quarter(self) -> Self {
        match self {
            Period::Month { year, month } => Period::Quarter {
                year,
                quarter: (month - 1) / 3 + 1,
            },
            q => q,
        }
    }

    pub fn is_quarter(self) -> bool {
        matches!(self, Period::Quarter { .. })
    }

    /// The `YYYY-MM` keys of the months this period covers.
    pub fn months(self) -> Vec<String> {
        match self {
            Period::Month { year, month } => vec![format!("{year:04}-{month:02}")],
            Period::Quarter { year, quarter } => (0..3)
                .map(|i| format!("{year:04}-{:02}", (quarter - 1) * 3 + 1 + i))
                .collect(),
        }
    }

    /// The instants the period spans, from its first day at midnight in Vietnam to the next
    /// period's (exclusive): the same responses as [`Period::months`], as a time range that an
    /// index on the submission time serves.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        fn start(p: Period) -> DateTime<Utc> {
            let (year, month) = match p {
                Period::Month { year, month } => (year, month),
                Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1),
            };
            vietnam()
                .with_ymd_and_hms(year, month, 1, 0, 0, 0)
                .single()
                .expect("the first of a month exists at midnight in Vietnam")
                .with_timezone(&Utc)
        }
        (start(self), start(self.next()))
    }

    /// The period just before this one, of the same granularity.
    pub fn prev(self) -> Self {
        match self {
            Period::Month { year, month: 1 } => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month - 1,
            },
            Period::Quarter { year, quarter: 1 } => Period::Quarter {
                year: year - 1,
                quarter: 4,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter - 1,
            },
        }
    }

    pub fn next(self) -> Self {
        match self {
            Period::Month { year, month: 12 } => Period::Month {
                year: year + 1,
                month: 1,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month + 1,
            },
            Period::Quarter { year, quarter: 4 } => Period::Quarter {
                year: year + 1,
                quarter: 1,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter + 1,
            },
        }
    }

    /// The quarter containing now, in Vietnam time.
    pub fn current_quarter() -> Self {
        Self::quarter_of(Utc::now())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

/// The month key `YYYY-MM` of an instant, in Vietnam time.
pub fn month_key(t: DateTime<Utc>) -> String {
    Period::month_of(t).to_string()
}

/// Parses an ISO 8601 date or date-time; without an offset it is Vietnam time. Seconds and
/// their fraction are optional, the separator is `T` or a space, and the offset is `Z`,
/// `±hh:mm`, `±hhmm` or `±hh` (`2026-03-31T23:00+07:00`, `2026-03-31 23:00:00Z`).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // `Z` is the offset +00:00; chrono's `%#z` takes the other forms.
    let zoned = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => std::borrow::Cow::Owned(format!("{rest}+00:00")),
        None => std::borrow::Cow::Borrowed(s),
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&zoned, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return vietnam()
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let naive = date.and_hms_opt(12, 0, 0)?;
    vietnam()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_in_every_iso_form_a_ballot_may_use() {
        let at = |s: &str| parse_instant(s).map(|t| t.to_rfc3339());
        let utc_16 = Some("2026-03-31T16:00:00+00:00".to_string());
        for s in [
            "2026-03-31T23:00+07:00",
            "2026-03-31T23:00:00+07:00",
            "2026-03-31T23:00:00.000+07:00",
            "2026-03-31 23:00+07:00",
            "2026-03-31T23:00+0700",
            "2026-03-31T23:00+07",
            "2026-03-31T16:00Z",
            "2026-03-31T16:00:00Z",
            "2026-03-31t16:00:00z",
            "2026-03-31T23:00",
            "2026-03-31T23:00:00",
            "2026-03-31 23:00",
            " 2026-03-31T23:00+07:00 ",
        ] {
            assert_eq!(at(s), utc_16, "{s}");
        }
        // A date alone is noon, Vietnam time.
        assert_eq!(
            at("2026-03-31"),
            Some("2026-03-31T05:00:00+00:00".to_string())
        );
        for bad in [
            "2026-03-31T25:00",
            "31/03/2026",
            "2026-03-31T23",
            "2026-03-31T23:00+25:00",
            "",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn bounds_hold_exactly_the_instants_of_the_periods_months() {
        for p in ["2026-04", "2026-Q2", "2026-12", "2026-Q4", "2027-01"] {
            let p = Period::parse(p).unwrap();
            let (from, to) = p.bounds();
            let months = p.months();
            // The first and last instants inside, and the ones just outside, by month key.
            assert!(months.contains(&month_key(from)), "{p}: {from}");
            assert!(!months.contains(&month_key(from - chrono::Duration::seconds(1))));
            assert!(months.contains(&month_key(to - chrono::Duration::seconds(1))));
            assert!(!months.contains(&month_key(to)), "{p}: {to}");
        }
        let (from, to) = Period::parse("2026-Q2").unwrap().bounds();
        assert_eq!(from, parse_instant("2026-03-31T17:00:00Z").unwrap());
        assert_eq!(to, parse_instant("2026-06-30T17:00:00Z").unwrap());
    }

    #[test]
    fn periods_follow_vietnam_time() {
        // 23:30 on 31 March in Vietnam is still Q1 …
        let t = parse_instant("2026-03-31T23:30:00+07:00").unwrap();
        assert_eq!(Period::quarter_of(t).to_string(), "2026-Q1");
        // … and 17:30 UTC that day is 00:30 on 1 April in Vietnam: Q2.
        let t = parse_instant("2026-03-31T17:30:00Z").unwrap();
        assert_eq!(Period::quarter_of(t).to_string(), "2026-Q2");
        assert_eq!(month_key(t), "2026-04");
        // Without an offset the time is Vietnam time.
        let t = parse_instant("2026-03-31 23:30").unwrap();
        assert_eq!(month_key(t), "2026-03");
    }

    #[test]
    fn parse_and_walk() {
        let q = Period::parse("2026-Q1").unwrap();
        assert_eq!(q.months(), vec!["2026-01", "2026-02", "2026-03"]);
        assert_eq!(q.prev().to_string(), "2025-Q4");
        assert_eq!(
            Period::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        for bad in [
            "2026", "2026-13", "2026-Q5", "26-01", "2026-1", "abcd-01", "2026-Q1x",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
