//! Numbers, periods and dates as residents read them: Vietnamese pages write 66,4 and
//! 03/12/2026; English pages write 66.4 and 03/12/2026.

use chrono::{DateTime, Utc};

use crate::period::Period;
use crate::web::Lang;

/// One decimal: `66,4` (vi) or `66.4` (en). Rounded half away from zero, as `{:.1}` is not.
pub fn dec1(v: f64, lang: Lang) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let s = format!("{r:.1}");
    match lang {
        Lang::Vi => s.replace('.', ","),
        Lang::En => s,
    }
}

/// A share in [0, 1] as a percentage with one decimal: `66,7%`.
pub fn pct(share: f64, lang: Lang) -> String {
    format!("{}%", dec1(share * 100.0, lang))
}

/// A whole number with thousands separated: `1.234` (vi) or `1,234` (en).
pub fn int(n: i64, lang: Lang) -> String {
    let digits = n.unsigned_abs().to_string();
    let sep = match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `Quý 4/2026`, `Tháng 11/2026` (vi); `Q4 2026`, `11/2026` (en).
pub fn period(p: Period, lang: Lang) -> String {
    match (p, lang) {
        (Period::Quarter { year, quarter }, Lang::Vi) => format!("Quý {quarter}/{year}"),
        (Period::Quarter { year, quarter }, Lang::En) => format!("Q{quarter} {year}"),
        (Period::Month { year, month }, Lang::Vi) => format!("Tháng {month}/{year}"),
        (Period::Month { year, month }, Lang::En) => format!("{month:02}/{year}"),
    }
}

/// The day in Vietnam time: `03/12/2026`.
pub fn date(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y")
        .to_string()
}

/// The day and time in Vietnam time: `03/12/2026 14:05`.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_numbers_use_a_decimal_comma() {
        assert_eq!(dec1(66.412377, Lang::Vi), "66,4");
        assert_eq!(dec1(66.412377, Lang::En), "66.4");
        assert_eq!(dec1(52.567168, Lang::Vi), "52,6");
        assert_eq!(dec1(100.0, Lang::Vi), "100,0");
        assert_eq!(dec1(-0.01, Lang::Vi), "0,0");
        assert_eq!(pct(0.666667, Lang::Vi), "66,7%");
        assert_eq!(int(1234567, Lang::Vi), "1.234.567");
        assert_eq!(int(1234, Lang::En), "1,234");
        assert_eq!(int(999, Lang::Vi), "999");
    }

    #[test]
    fn periods_and_dates_read_as_residents_write_them() {
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!(period(q, Lang::Vi), "Quý 4/2026");
        assert_eq!(
            period(Period::parse("2026-03").unwrap(), Lang::Vi),
            "Tháng 3/2026"
        );
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-02T20:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // 03:30 on 3 December in Vietnam.
        assert_eq!(date(t), "03/12/2026");
        assert_eq!(date_time(t), "03/12/2026 03:30");
    }
}
