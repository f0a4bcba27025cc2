//! Charts drawn on the server as SVG: a trend line with its 95% interval band, and horizontal
//! bars with interval whiskers. No script, no style attribute (the CSP forbids inline styles):
//! presentation attributes only, black-and-white friendly for print.

use std::fmt::Write;

/// One point of a trend: label, and (value, low, high) when there is an index.
pub struct TrendPoint {
    pub label: String,
    pub value: Option<(f64, f64, f64)>,
    /// `Some(true)` significant rise, `Some(false)` significant drop.
    pub change: Option<bool>,
}

/// One bar: label, value, optional 95% interval, and whether it is the highlighted one.
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub highlight: bool,
}

/// Consecutive points with a value: (position, (value, low, high)).
type Run = Vec<(usize, (f64, f64, f64))>;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 640.0;
const H: f64 = 260.0;
const L: f64 = 40.0;
const R: f64 = 12.0;
const T: f64 = 12.0;
const B: f64 = 40.0;

fn y(v: f64) -> f64 {
    T + (H - T - B) * (1.0 - v.clamp(0.0, 100.0) / 100.0)
}

/// A trend chart on a 0–100 axis; `title` is the accessible name.
pub fn trend(title: &str, points: &[TrendPoint]) -> String {
    let n = points.len().max(1);
    let step = (W - L - R) / n as f64;
    let x = |i: usize| L + step * (i as f64 + 0.5);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"##,
        esc(title),
        esc(title)
    );
    for g in [0, 25, 50, 75, 100] {
        let gy = y(f64::from(g));
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{}" y1="{gy:.1}" y2="{gy:.1}" stroke="#c8c8c4" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#333">{g}</text>"##,
            W - R,
            L - 6.0,
            gy + 4.0
        );
    }
    // The interval band: one polygon per run of consecutive points with a value.
    let mut runs: Vec<Run> = vec![Vec::new()];
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => runs.last_mut().expect("a run").push((i, v)),
            None => runs.push(Vec::new()),
        }
    }
    for run in runs.iter().filter(|r| !r.is_empty()) {
        let mut poly: Vec<String> = run
            .iter()
            .map(|(i, (_, _, hi))| format!("{:.1},{:.1}", x(*i), y(*hi)))
            .collect();
        poly.extend(
            run.iter()
                .rev()
                .map(|(i, (_, lo, _))| format!("{:.1},{:.1}", x(*i), y(*lo))),
        );
        if run.len() == 1 {
            let (i, (_, lo, hi)) = run[0];
            let _ = write!(
                s,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#d9a3a3" stroke-width="8"/>"##,
                x(i),
                x(i),
                y(hi),
                y(lo)
            );
        } else {
            let _ = write!(
                s,
                r##"<polygon points="{}" fill="#f2d4d4" stroke="#d9a3a3" stroke-width="1"/>"##,
                poly.join(" ")
            );
        }
        let line: Vec<String> = run
            .iter()
            .map(|(i, (v, _, _))| format!("{:.1},{:.1}", x(*i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#8e1010" stroke-width="2.5"/>"##,
            line.join(" ")
        );
    }
    for (i, p) in points.iter().enumerate() {
        if let Some((v, lo, hi)) = p.value {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#8e1010"><title>{}: {v:.1} [{lo:.1}–{hi:.1}]</title></circle>"##,
                x(i),
                y(v),
                esc(&p.label)
            );
            match p.change {
                Some(true) => {
                    let _ = write!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle" fill="#1d6b2f">▲</text>"##,
                        x(i),
                        y(hi) - 4.0
                    );
                }
                Some(false) => {
                    let _ = write!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle" fill="#a4000f">▼</text>"##,
                        x(i),
                        y(lo) + 14.0
                    );
                }
                None => {}
            }
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#333">{}</text>"##,
            x(i),
            H - B + 16.0,
            esc(&p.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars on a 0–100 axis with optional interval whiskers.
pub fn bars(title: &str, rows: &[Bar]) -> String {
    let row_h = 26.0;
    let label_w = 190.0;
    let h = T + row_h * rows.len() as f64 + 24.0;
    let scale = |v: f64| label_w + (W - label_w - R - 40.0) * v.clamp(0.0, 100.0) / 100.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"##,
        esc(title),
        esc(title)
    );
    for (
        k,
        Bar {
            label,
            value,
            ci,
            highlight,
        },
    ) in rows.iter().enumerate()
    {
        let ty = T + row_h * k as f64;
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#1b1b1b"{}>{}</text>"##,
            label_w - 8.0,
            ty + 16.0,
            if *highlight {
                r#" font-weight="700""#
            } else {
                ""
            },
            esc(label)
        );
        match value {
            Some(v) => {
                let fill = if *highlight { "#8e1010" } else { "#6b6b66" };
                let _ = write!(
                    s,
                    r##"<rect x="{label_w}" y="{:.1}" width="{:.1}" height="16" fill="{fill}"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1b1b">{v:.1}</text>"##,
                    ty + 4.0,
                    scale(*v) - label_w,
                    scale(*v) + 4.0,
                    ty + 16.0
                );
                if let Some((lo, hi)) = ci {
                    let _ = write!(
                        s,
                        r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#1b1b1b" stroke-width="1.5"/>"##,
                        scale(*lo),
                        scale(*hi),
                        ty + 12.0,
                        ty + 12.0
                    );
                }
            }
            None => {
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#4a4a4a">–</text>"##,
                    label_w + 4.0,
                    ty + 16.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_has_band_line_and_escaped_labels() {
        let pts = vec![
            TrendPoint {
                label: "2026-Q1".into(),
                value: Some((60.0, 50.0, 70.0)),
                change: None,
            },
            TrendPoint {
                label: "2026-Q2".into(),
                value: Some((70.0, 62.0, 78.0)),
                change: Some(true),
            },
            TrendPoint {
                label: "<x>".into(),
                value: None,
                change: None,
            },
        ];
        let svg = trend("Xu hướng", &pts);
        assert!(svg.contains("<polygon") && svg.contains("<polyline") && svg.contains("▲"));
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
        assert!(!svg.contains("style="), "no inline style under the CSP");
        let b = bars(
            "Dims",
            &[
                Bar {
                    label: "a".into(),
                    value: Some(50.0),
                    ci: Some((40.0, 60.0)),
                    highlight: true,
                },
                Bar {
                    label: "b".into(),
                    value: None,
                    ci: None,
                    highlight: false,
                },
            ],
        );
        assert!(b.contains("<rect") && b.contains("–"));
    }
}
