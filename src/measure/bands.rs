//! Rank bands (docs/method.md, "Rank bands"): a single rank implies a precision the data
//! rarely has, so every ranked ward also gets the band of ranks its 95% interval allows.
//!
//! Among the k ranked wards of a province and period, with CI [lo_i, hi_i]:
//! rank_low_i = 1 + #{j : lo_j > hi_i} (wards certainly better), and
//! rank_high_i = k − #{j : hi_j < lo_i} (wards certainly worse).

use serde::{Deserialize, Serialize};

/// The best and the worst rank a ward's interval allows (1 = best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankBand {
    pub rank_low: usize,
    pub rank_high: usize,
}

/// The band of each of the k ranked wards, given their 95% intervals `(ci_low, ci_high)`, in
/// the same order. Strict comparisons: intervals that only touch do not separate two wards.
pub fn rank_bands(intervals: &[(f64, f64)]) -> Vec<RankBand> {
    let k = intervals.len();
    intervals
        .iter()
        .map(|&(lo, hi)| {
            let better = intervals.iter().filter(|&&(lo_j, _)| lo_j > hi).count();
            let worse = intervals.iter().filter(|&&(_, hi_j)| hi_j < lo).count();
            RankBand {
                rank_low: 1 + better,
                rank_high: k - worse,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(lo: usize, hi: usize) -> RankBand {
        RankBand {
            rank_low: lo,
            rank_high: hi,
        }
    }

    #[test]
    fn one_ward_is_first_and_last() {
        assert_eq!(rank_bands(&[(40.0, 60.0)]), vec![band(1, 1)]);
    }

    #[test]
    fn no_wards_no_bands() {
        assert!(rank_bands(&[]).is_empty());
    }

    #[test]
    fn separated_intervals_give_single_ranks() {
        let b = rank_bands(&[(80.0, 90.0), (60.0, 70.0), (40.0, 50.0)]);
        assert_eq!(b, vec![band(1, 1), band(2, 2), band(3, 3)]);
    }

    #[test]
    fn overlapping_intervals_widen_the_band() {
        // A [70, 90] overlaps B [60, 75]; B overlaps C [50, 65]; A and C are apart; D [20, 30]
        // is below all.
        let b = rank_bands(&[(70.0, 90.0), (60.0, 75.0), (50.0, 65.0), (20.0, 30.0)]);
        assert_eq!(b, vec![band(1, 2), band(1, 3), band(2, 3), band(4, 4)]);
    }

    #[test]
    fn touching_or_equal_intervals_are_ties() {
        // A's low equals B's high: neither exceeds the other, so both may take either rank.
        let b = rank_bands(&[(60.0, 80.0), (40.0, 60.0)]);
        assert_eq!(b, vec![band(1, 2), band(1, 2)]);
        // Identical intervals: every ward spans every rank.
        let same = rank_bands(&[(50.0, 70.0); 3]);
        assert_eq!(same, vec![band(1, 3); 3]);
    }

    #[test]
    fn the_band_holds_what_the_formula_says_for_any_order() {
        let iv = [
            (10.0, 35.0),
            (55.0, 58.0),
            (30.0, 56.0),
            (57.0, 99.0),
            (0.0, 9.0),
        ];
        let b = rank_bands(&iv);
        for (i, &(lo, hi)) in iv.iter().enumerate() {
            let better = iv.iter().filter(|j| j.0 > hi).count();
            let worse = iv.iter().filter(|j| j.1 < lo).count();
            assert_eq!(b[i], band(1 + better, iv.len() - worse), "ward {i}");
            assert!(b[i].rank_low <= b[i].rank_high);
        }
        // Spelled out: (55, 58) has (57, 99)? 57 > 58 no → rank_low 1; below it (10, 35) and
        // (0, 9) → rank_high 5 − 2 = 3.
        assert_eq!(b[1], band(1, 3));
        assert_eq!(b[4], band(5, 5));
    }
}
