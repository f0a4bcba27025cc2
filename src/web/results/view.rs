//! What the results templates show of a ward's (or a province's) figures, formatted. An
//! `insufficient_data` figure set gives no view at all: nothing of it can reach a page.

use serde::Serialize;

use super::format::{dec1, int, pct};
use super::svg;
use crate::measure::{ChangeFlag, Status, WardFigures, Weighting};
use crate::web::Lang;

/// An interval as text: the value and its 95% bounds.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalView {
    pub value: String,
    pub low: String,
    pub high: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DimensionView {
    pub label: String,
    pub value: String,
    /// The value drawn as a strip (no interval: the bar runs from 0).
    pub bar: String,
}

/// The figures of a published or low-reliability ward-period, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct FiguresView {
    /// `published` or `low_reliability`.
    pub status: &'static str,
    pub caution: bool,
    pub index: IntervalView,
    /// The index on its scale, with the text alternative as its accessible name.
    pub index_svg: String,
    /// The same strip the province table uses.
    pub index_strip: String,
    /// The index and its interval in one sentence (also the chart's text alternative).
    pub index_words: String,
    pub satisfied: Option<IntervalView>,
    pub trust: Option<String>,
    pub dimensions: Vec<DimensionView>,
    pub n: String,
    /// How the answers were weighted, in words.
    pub weighting: String,
}

/// The words for an index and its interval.
pub fn index_words(value: f64, lo: f64, hi: f64, lang: Lang) -> String {
    match lang {
        Lang::Vi => format!(
            "Chỉ số hài lòng {} trên thang 0–100; khoảng tin cậy 95% từ {} đến {}.",
            dec1(value, lang),
            dec1(lo, lang),
            dec1(hi, lang)
        ),
        Lang::En => format!(
            "Satisfaction index {} on a 0–100 scale; 95% interval from {} to {}.",
            dec1(value, lang),
            dec1(lo, lang),
            dec1(hi, lang)
        ),
    }
}

fn weighting_words(w: Weighting, lang: Lang) -> String {
    match (w, lang) {
        (Weighting::None, Lang::Vi) => "Mỗi ý kiến được tính như nhau.",
        (Weighting::None, Lang::En) => "Every answer counts the same.",
        (_, Lang::Vi) => {
            "Ý kiến được điều chỉnh theo cơ cấu giới tính và độ tuổi của dân cư địa bàn, để nhóm nào trả lời nhiều cũng không lấn át nhóm khác."
        }
        (_, Lang::En) => {
            "Answers are weighted to the area's population by sex and age, so that no group outweighs the others because more of it answered."
        }
    }
    .to_string()
}

/// The view of figures that may be shown, or `None` for an `insufficient_data` period (or one
/// without an interval). `dimension_labels` gives (id, label) in the page language, in order.
pub fn figures_view(
    f: &WardFigures,
    dimension_labels: &[(String, String)],
    lang: Lang,
) -> Option<FiguresView> {
    if f.status == Status::InsufficientData {
        return None;
    }
    let idx = f.index?;
    let words = index_words(idx.value, idx.ci_low, idx.ci_high, lang);
    let iv = |v: f64, lo: f64, hi: f64| IntervalView {
        value: dec1(v, lang),
        low: dec1(lo, lang),
        high: dec1(hi, lang),
    };
    Some(FiguresView {
        status: match f.status {
            Status::Published => "published",
            _ => "low_reliability",
        },
        caution: f.status == Status::LowReliability,
        index: iv(idx.value, idx.ci_low, idx.ci_high),
        index_svg: svg::interval(idx.value, idx.ci_low, idx.ci_high, &words, lang),
        index_strip: svg::strip(idx.value, idx.ci_low, idx.ci_high),
        index_words: words,
        satisfied: f.satisfied_share.map(|(s, _)| IntervalView {
            value: pct(s.value, lang),
            low: pct(s.ci_low, lang),
            high: pct(s.ci_high, lang),
        }),
        trust: f.trust.0.map(|t| dec1(t, lang)),
        dimensions: dimension_labels
            .iter()
            .filter_map(|(id, label)| {
                let v = f.dimensions.get(id).and_then(|d| d.0)?;
                Some(DimensionView {
                    label: label.clone(),
                    value: dec1(v, lang),
                    bar: svg::strip(v, 0.0, v),
                })
            })
            .collect(),
        n: int(f.n, lang),
        weighting: weighting_words(f.weighting, lang),
    })
}

/// A change flag in words; `None` (no comparison possible) says so too.
pub fn change_words(c: Option<ChangeFlag>, lang: Lang) -> (&'static str, &'static str) {
    match (c, lang) {
        (Some(ChangeFlag::SignificantRise), Lang::Vi) => ("rise", "▲ Tăng rõ rệt so với kỳ trước"),
        (Some(ChangeFlag::SignificantRise), Lang::En) => {
            ("rise", "▲ A clear rise on the period before")
        }
        (Some(ChangeFlag::SignificantDrop), Lang::Vi) => ("drop", "▼ Giảm rõ rệt so với kỳ trước"),
        (Some(ChangeFlag::SignificantDrop), Lang::En) => {
            ("drop", "▼ A clear drop on the period before")
        }
        (Some(ChangeFlag::None), Lang::Vi) => ("same", "Không thay đổi rõ rệt"),
        (Some(ChangeFlag::None), Lang::En) => ("same", "No clear change"),
        (None, Lang::Vi) => ("none", "Chưa so sánh được"),
        (None, Lang::En) => ("none", "Cannot be compared"),
    }
}
