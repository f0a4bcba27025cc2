//! The charts of the public results pages, drawn on the server as SVG with the page's number
//! format: an index on its 0–100 scale with the 95% interval as a band, a small strip of the
//! same for table rows, and a trend over periods. Presentation attributes only (the CSP
//! forbids inline styles). A chart never carries a figure that the caller did not pass: the
//! caller leaves out what must not be shown (an `insufficient_data` period).

use std::fmt::Write;

use super::format::dec1;
use crate::web::Lang;

fn esc(s: &str) -> String {
    tera::escape_html(s)
}

/// x of a value on a 0–100 axis drawn from `left` over `width`.
fn at(v: f64, left: f64, width: f64) -> f64 {
    left + width * v.clamp(0.0, 100.0) / 100.0
}

/// The index and its interval on the 0–100 scale; `label` is the text alternative (it says
/// the same in words).
pub fn interval(value: f64, lo: f64, hi: f64, label: &str, lang: Lang) -> String {
    let (l, w) = (14.0, 292.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="iv" viewBox="0 0 320 64" role="img" aria-label="{l_}"><title>{l_}</title><line x1="{l}" x2="{r}" y1="26" y2="26" stroke="#6b6b66" stroke-width="2"/>"##,
        l_ = esc(label),
        r = l + w
    );
    for t in [0, 25, 50, 75, 100] {
        let x = at(f64::from(t), l, w);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="20" y2="32" stroke="#6b6b66"/><text x="{x:.1}" y="50" font-size="12" text-anchor="middle" fill="#333">{t}</text>"##
        );
    }
    let (x0, x1, xv) = (at(lo, l, w), at(hi, l, w), at(value, l, w));
    let _ = write!(
        s,
        r##"<rect x="{x0:.1}" y="16" width="{:.1}" height="20" rx="3" fill="#f2d4d4" stroke="#8e1010"/><circle cx="{xv:.1}" cy="26" r="6" fill="#8e1010"/><text x="{xv:.1}" y="11" font-size="12" font-weight="700" text-anchor="middle" fill="#1b1b1b">{}</text></svg>"##,
        (x1 - x0).max(1.0),
        dec1(value, lang)
    );
    s
}

/// A small interval strip for a table row; hidden from assistive technology because the row
/// says the same in text.
pub fn strip(value: f64, lo: f64, hi: f64) -> String {
    let (l, w) = (2.0, 116.0);
    let (x0, x1, xv) = (at(lo, l, w), at(hi, l, w), at(value, l, w));
    format!(
        r##"<svg class="strip" viewBox="0 0 120 16" aria-hidden="true" focusable="false"><line x1="{l}" x2="{}" y1="8" y2="8" stroke="#c8c8c4"/><rect x="{x0:.1}" y="3" width="{:.1}" height="10" fill="#f2d4d4" stroke="#8e1010" stroke-width=".8"/><circle cx="{xv:.1}" cy="8" r="3" fill="#8e1010"/></svg>"##,
        l + w,
        (x1 - x0).max(1.0)
    )
}

/// One point of a trend: its label, and `(value, low, high)` when it may be shown.
pub struct Point {
    pub label: String,
    pub value: Option<(f64, f64, f64)>,
}

/// The index over periods with its interval band; `title` is the accessible name (the table
/// beside the chart gives every number in words).
pub fn trend(title: &str, points: &[Point], lang: Lang) -> String {
    let (w, h, l, r, t, b) = (640.0, 220.0, 36.0, 12.0, 12.0, 34.0);
    let y = |v: f64| t + (h - t - b) * (1.0 - v.clamp(0.0, 100.0) / 100.0);
    let n = points.len().max(1);
    let step = (w - l - r) / n as f64;
    let x = |i: usize| l + step * (i as f64 + 0.5);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t_}"><title>{t_}</title>"##,
        t_ = esc(title)
    );
    for g in [0, 50, 100] {
        let gy = y(f64::from(g));
        let _ = write!(
            s,
            r##"<line x1="{l}" x2="{}" y1="{gy:.1}" y2="{gy:.1}" stroke="#c8c8c4"/><text x="{}" y="{:.1}" font-size="12" text-anchor="end" fill="#333">{g}</text>"##,
            w - r,
            l - 6.0,
            gy + 4.0
        );
    }
    let mut line = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            x(i),
            h - 12.0,
            esc(&p.label)
        );
        match p.value {
            Some((v, lo, hi)) => {
                let _ = write!(
                    s,
                    r##"<line x1="{xi:.1}" x2="{xi:.1}" y1="{:.1}" y2="{:.1}" stroke="#d9a3a3" stroke-width="10"/><circle cx="{xi:.1}" cy="{:.1}" r="5" fill="#8e1010"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1b1b">{}</text>"##,
                    y(hi),
                    y(lo),
                    y(v),
                    x(i) + 9.0,
                    y(v) + 4.0,
                    dec1(v, lang),
                    xi = x(i)
                );
                line.push(format!("{:.1},{:.1}", x(i), y(v)));
            }
            None => {
                // A gap: the line does not join across a period that is not shown.
                if line.len() > 1 {
                    let _ = write!(
                        s,
                        r##"<polyline points="{}" fill="none" stroke="#8e1010" stroke-width="2"/>"##,
                        line.join(" ")
                    );
                }
                line.clear();
            }
        }
    }
    if line.len() > 1 {
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#8e1010" stroke-width="2"/>"##,
            line.join(" ")
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_chart_names_itself_and_writes_vietnamese_numbers() {
        let s = interval(66.412377, 52.567168, 80.257587, "Chỉ số 66,4", Lang::Vi);
        assert!(s.contains(r#"role="img""#) && s.contains("<title>Chỉ số 66,4</title>"));
        assert!(s.contains(">66,4</text>"), "{s}");
        assert!(!s.contains("66.4"));
    }

    #[test]
    fn a_trend_shows_only_the_points_it_is_given() {
        let pts = [
            Point {
                label: "Q1".into(),
                value: Some((61.25, 50.0, 70.0)),
            },
            Point {
                label: "Q2".into(),
                value: None,
            },
        ];
        let s = trend("t", &pts, Lang::Vi);
        assert!(s.contains(">61,3</text>"), "{s}");
        assert_eq!(s.matches("<circle").count(), 1);
        assert!(!s.contains("<polyline"), "one point is no line");
    }
}
