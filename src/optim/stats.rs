//! Descriptive statistics for the dashboard: the rating trend, head-to-head
//! win rates and agreement between raters. Pure functions over plain data.

use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::domain::tally::{AgreementTally, WinRecord};

/// One bucket of the rating trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendBucket {
    /// 1-based sample range, e.g. `"1-10"` (the last bucket may be partial).
    pub bucket: String,
    /// Ratings in the bucket.
    pub n: usize,
    /// Their mean.
    pub avg: f64,
    /// Mean of the last `window` ratings up to the bucket's end.
    pub moving_avg: f64,
}

/// Splits ratings (in the order they were made) into buckets of `size` with
/// each bucket's mean and a trailing moving average over `window` ratings.
pub fn rating_trend(stars: &[u8], size: usize, window: usize) -> Vec<TrendBucket> {
    let size = size.max(1);
    let window = window.max(1);
    // Prefix sums make each moving average O(1).
    let mut prefix = Vec::with_capacity(stars.len() + 1);
    prefix.push(0u64);
    for s in stars {
        prefix.push(prefix.last().copied().unwrap_or(0) + u64::from(*s));
    }
    let mean = |from: usize, to: usize| (prefix[to] - prefix[from]) as f64 / (to - from) as f64;
    (0..stars.len())
        .step_by(size)
        .map(|start| {
            let end = (start + size).min(stars.len());
            TrendBucket {
                bucket: format!("{}-{}", start + 1, end),
                n: end - start,
                avg: mean(start, end),
                moving_avg: mean(end.saturating_sub(window), end),
            }
        })
        .collect()
}

/// Tallies wins over groups of variants shown together (the same photo in
/// one batch): every pair of rated variants from different arms is one
/// comparison. Groups are `(arm, stars)` lists.
pub fn win_records<'a, I>(groups: I) -> BTreeMap<String, WinRecord>
where
    I: IntoIterator<Item = &'a [(String, u8)]>,
{
    let mut records: BTreeMap<String, WinRecord> = BTreeMap::new();
    for group in groups {
        for (i, (arm_a, stars_a)) in group.iter().enumerate() {
            for (arm_b, stars_b) in &group[i + 1..] {
                if arm_a == arm_b {
                    continue;
                }
                for (me, mine, theirs) in [(arm_a, stars_a, stars_b), (arm_b, stars_b, stars_a)] {
                    let r = records.entry(me.clone()).or_default();
                    r.comparisons += 1;
                    match mine.cmp(theirs) {
                        std::cmp::Ordering::Greater => r.wins += 1,
                        std::cmp::Ordering::Equal => r.ties += 1,
                        std::cmp::Ordering::Less => {}
                    }
                }
            }
        }
    }
    records
}

/// One-way random-effects intraclass correlation for single ratings,
/// ICC(1,1) (Shrout & Fleiss 1979), over items each rated by at least two
/// raters; items may have different numbers of raters (the group size is
/// then the usual `n₀ = (N − Σnᵢ²/N)/(a − 1)`). One-way because in a studio
/// different designers rate different renders. `None` with fewer than two
/// such items or no variance at all.
pub fn icc_oneway(items: &[Vec<f64>]) -> Option<f64> {
    let items: Vec<&Vec<f64>> = items.iter().filter(|r| r.len() >= 2).collect();
    let a = items.len();
    if a < 2 {
        return None;
    }
    let n_total: usize = items.iter().map(|r| r.len()).sum();
    let grand = items.iter().flat_map(|r| r.iter()).sum::<f64>() / n_total as f64;
    let mut ss_between = 0.0;
    let mut ss_within = 0.0;
    for r in &items {
        let m = r.iter().sum::<f64>() / r.len() as f64;
        ss_between += r.len() as f64 * (m - grand).powi(2);
        ss_within += r.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    }
    let ms_between = ss_between / (a - 1) as f64;
    let ms_within = ss_within / (n_total - a) as f64;
    let sum_sq: f64 = items.iter().map(|r| (r.len() * r.len()) as f64).sum();
    let n0 = (n_total as f64 - sum_sq / n_total as f64) / (a - 1) as f64;
    let denominator = ms_between + (n0 - 1.0) * ms_within;
    (denominator > 0.0).then(|| (ms_between - ms_within) / denominator)
}

/// Fleiss' kappa for items rated into categories by several raters:
/// `counts[i][j]` raters put item `i` in category `j`. Items with fewer
/// than two ratings are ignored; items may have different numbers of
/// raters (each item's agreement uses its own count). `None` with no such
/// item, or when chance agreement is already perfect.
pub fn fleiss_kappa(counts: &[Vec<u32>]) -> Option<f64> {
    let items: Vec<&Vec<u32>> = counts
        .iter()
        .filter(|c| c.iter().sum::<u32>() >= 2)
        .collect();
    if items.is_empty() {
        return None;
    }
    let categories = items.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut per_category = vec![0.0; categories];
    let mut total = 0.0;
    let mut agreement = 0.0;
    for c in &items {
        let n: f64 = c.iter().map(|&x| f64::from(x)).sum();
        for (j, &x) in c.iter().enumerate() {
            per_category[j] += f64::from(x);
        }
        total += n;
        let pairs_agreeing: f64 = c.iter().map(|&x| f64::from(x) * (f64::from(x) - 1.0)).sum();
        agreement += pairs_agreeing / (n * (n - 1.0));
    }
    let p_bar = agreement / items.len() as f64;
    let p_e: f64 = per_category.iter().map(|x| (x / total).powi(2)).sum();
    (p_e < 1.0).then(|| (p_bar - p_e) / (1.0 - p_e))
}

/// Tallies items (each a list of 1–5 star ratings) by rater count; items
/// with fewer than two ratings are left out.
pub fn agreement_tallies(items: &[Vec<u8>]) -> Vec<AgreementTally> {
    let mut by_k: BTreeMap<usize, AgreementTally> = BTreeMap::new();
    for item in items.iter().filter(|i| i.len() >= 2) {
        let t = by_k.entry(item.len()).or_insert_with(|| AgreementTally {
            raters: item.len() as u64,
            ..AgreementTally::default()
        });
        let total: i64 = item.iter().map(|&s| i64::from(s)).sum();
        let mut counts = [0i64; 5];
        for &s in item {
            counts[usize::from(s.clamp(1, 5)) - 1] += 1;
        }
        t.items += 1;
        t.star_sum += total;
        t.item_sum_sq += total * total;
        t.star_sq += item
            .iter()
            .map(|&s| i64::from(s) * i64::from(s))
            .sum::<i64>();
        t.category_sq += counts.iter().map(|c| c * c).sum::<i64>();
        for (sum, c) in t.categories.iter_mut().zip(counts) {
            *sum += c;
        }
    }
    by_k.into_values().collect()
}

/// [`icc_oneway`] from [`AgreementTally`] sums: with a items, N ratings and
/// grand total G, SS_between = Σ T²/k − G²/N and SS_within = Σ s² − Σ T²/k.
pub fn icc_from_tallies(tallies: &[AgreementTally]) -> Option<f64> {
    let tallies: Vec<&AgreementTally> = tallies
        .iter()
        .filter(|t| t.raters >= 2 && t.items > 0)
        .collect();
    let a: f64 = tallies.iter().map(|t| t.items as f64).sum();
    if a < 2.0 {
        return None;
    }
    let n_total: f64 = tallies.iter().map(|t| (t.raters * t.items) as f64).sum();
    let grand: f64 = tallies.iter().map(|t| t.star_sum as f64).sum();
    let between_raw: f64 = tallies
        .iter()
        .map(|t| t.item_sum_sq as f64 / t.raters as f64)
        .sum();
    let star_sq: f64 = tallies.iter().map(|t| t.star_sq as f64).sum();
    // Differences of large sums: what is left at rounding level is zero
    // (identical items must give "no variance", as the item form does).
    let flush = |x: f64| if x.abs() <= 1e-12 * star_sq { 0.0 } else { x };
    let ss_between = flush(between_raw - grand * grand / n_total);
    let ss_within = flush(star_sq - between_raw);
    let ms_between = ss_between / (a - 1.0);
    let ms_within = ss_within / (n_total - a);
    let sum_sq: f64 = tallies
        .iter()
        .map(|t| (t.raters * t.raters * t.items) as f64)
        .sum();
    let n0 = (n_total - sum_sq / n_total) / (a - 1.0);
    let denominator = ms_between + (n0 - 1.0) * ms_within;
    (denominator > 0.0).then(|| (ms_between - ms_within) / denominator)
}

/// [`fleiss_kappa`] on the five star categories from [`AgreementTally`]
/// sums: an item's agreement (Σⱼ nⱼ² − k)/(k(k − 1)) summed per k.
pub fn kappa_from_tallies(tallies: &[AgreementTally]) -> Option<f64> {
    let tallies: Vec<&AgreementTally> = tallies
        .iter()
        .filter(|t| t.raters >= 2 && t.items > 0)
        .collect();
    let items: f64 = tallies.iter().map(|t| t.items as f64).sum();
    if items == 0.0 {
        return None;
    }
    let agreement: f64 = tallies
        .iter()
        .map(|t| {
            let k = t.raters as f64;
            (t.category_sq as f64 - k * t.items as f64) / (k * (k - 1.0))
        })
        .sum();
    let total: f64 = tallies.iter().map(|t| (t.raters * t.items) as f64).sum();
    let p_bar = agreement / items;
    let p_e: f64 = (0..5)
        .map(|j| {
            let c: f64 = tallies.iter().map(|t| t.categories[j] as f64).sum();
            (c / total).powi(2)
        })
        .sum();
    (p_e < 1.0).then(|| (p_bar - p_e) / (1.0 - p_e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn trend_buckets_of_ten_with_a_partial_last_bucket() {
        let stars: Vec<u8> = (0..25).map(|i| if i < 10 { 2 } else { 4 }).collect();
        let t = rating_trend(&stars, 10, 20);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].bucket, "1-10");
        assert_eq!(t[2].bucket, "21-25");
        assert_eq!(t[2].n, 5);
        assert_eq!(t[0].avg, 2.0);
        assert_eq!(t[1].avg, 4.0);
        // Moving average at sample 20 over the last 20: ten 2s and ten 4s.
        assert_eq!(t[1].moving_avg, 3.0);
        // At sample 25 over samples 6..25: five 2s and fifteen 4s.
        assert_eq!(t[2].moving_avg, (5.0 * 2.0 + 15.0 * 4.0) / 20.0);
        // The first bucket's window is clipped to what exists.
        assert_eq!(t[0].moving_avg, 2.0);
        assert!(rating_trend(&[], 10, 10).is_empty());
    }

    #[test]
    fn wins_count_pairs_of_different_arms_and_ties_as_half() {
        let groups: Vec<Vec<(String, u8)>> = vec![
            vec![("a".into(), 5), ("b".into(), 3)],
            vec![("a".into(), 2), ("b".into(), 4)],
            vec![("a".into(), 4), ("b".into(), 4)],
            // Same arm twice: no comparison.
            vec![("a".into(), 5), ("a".into(), 1)],
            // Three variants: a beats b and c, b ties c.
            vec![("a".into(), 5), ("b".into(), 3), ("c".into(), 3)],
        ];
        let r = win_records(groups.iter().map(Vec::as_slice));
        assert_eq!(
            r["a"],
            WinRecord {
                comparisons: 5,
                wins: 3,
                ties: 1
            }
        );
        assert_eq!(r["a"].win_rate(), Some(3.5 / 5.0));
        assert_eq!(
            r["b"],
            WinRecord {
                comparisons: 5,
                wins: 1,
                ties: 2
            }
        );
        assert_eq!(r["c"].win_rate(), Some(0.5 / 2.0));
        assert_eq!(WinRecord::default().win_rate(), None);
    }

    /// Shrout & Fleiss (1979), Table 2: six targets rated by four judges;
    /// their ICC(1,1) is 0.17 (BMS 11.24, WMS 6.26).
    #[test]
    fn icc_matches_shrout_and_fleiss_worked_example() {
        let data = [
            [9.0, 2.0, 5.0, 8.0],
            [6.0, 1.0, 3.0, 2.0],
            [8.0, 4.0, 6.0, 8.0],
            [7.0, 1.0, 2.0, 6.0],
            [10.0, 5.0, 6.0, 9.0],
            [6.0, 2.0, 4.0, 7.0],
        ];
        let items: Vec<Vec<f64>> = data.iter().map(|r| r.to_vec()).collect();
        let icc = icc_oneway(&items).unwrap();
        let bms = 11.241_666_666_666_666;
        let wms = 6.263_888_888_888_889;
        assert!(close(icc, (bms - wms) / (bms + 3.0 * wms), 1e-12), "{icc}");
        assert!(close(icc, 0.17, 0.005), "{icc}");
    }

    #[test]
    fn icc_with_unequal_group_sizes_uses_n0_and_is_one_for_perfect_agreement() {
        let perfect = vec![vec![1.0, 1.0], vec![3.0, 3.0, 3.0], vec![5.0, 5.0]];
        assert!(close(icc_oneway(&perfect).unwrap(), 1.0, 1e-12));
        // Hand-computed: groups {1,2} {4,4,5}; grand mean 16/5 = 3.2.
        // SSB = 2(1.5-3.2)² + 3(13/3-3.2)² = 5.78 + 3.853333 = 9.633333 (1 df)
        // SSW = 0.5 + 2/3 = 1.166667 (3 df) → MSW = 0.388889
        // n0 = (5 - 13/5)/1 = 2.4
        let items = vec![vec![1.0, 2.0], vec![4.0, 4.0, 5.0]];
        let msb = 2.0 * 1.7f64.powi(2) + 3.0 * (13.0f64 / 3.0 - 3.2).powi(2);
        let msw = (0.5 + 2.0 / 3.0) / 3.0;
        let expected = (msb - msw) / (msb + 1.4 * msw);
        assert!(close(icc_oneway(&items).unwrap(), expected, 1e-12));
        assert_eq!(icc_oneway(&[vec![1.0, 2.0]]), None);
        assert_eq!(icc_oneway(&[vec![3.0, 3.0], vec![3.0, 3.0]]), None);
    }

    /// The worked example in Fleiss (1971) as reproduced on Wikipedia's
    /// "Fleiss' kappa" page: 10 items, 14 raters, 5 categories, κ = 0.210
    /// (P̄ = 0.378, P̄e = 0.213).
    #[test]
    fn fleiss_kappa_matches_the_published_worked_example() {
        let counts = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let k = fleiss_kappa(&counts).unwrap();
        assert!(close(k, 0.210, 0.0005), "{k}");
    }

    #[test]
    fn fleiss_kappa_edge_cases() {
        // Perfect agreement across different categories.
        assert_eq!(fleiss_kappa(&[vec![2, 0], vec![0, 2]]), Some(1.0));
        // Everyone always picks the same category: chance agreement is 1.
        assert_eq!(fleiss_kappa(&[vec![3, 0], vec![2, 0]]), None);
        // Single ratings carry no agreement information.
        assert_eq!(fleiss_kappa(&[vec![1, 0, 0]]), None);
    }

    /// The tallied forms are the same statistics: on the published
    /// examples, and on random unbalanced data against the item forms.
    #[test]
    fn tallies_give_the_same_icc_and_kappa_as_the_items() {
        let shrout: Vec<Vec<u8>> = vec![
            vec![9, 2, 5, 8],
            vec![6, 1, 3, 2],
            vec![8, 4, 6, 8],
            vec![7, 1, 2, 6],
            vec![10, 5, 6, 9],
            vec![6, 2, 4, 7],
        ];
        let icc = icc_from_tallies(&agreement_tallies(&shrout)).unwrap();
        assert!(close(icc, 0.17, 0.005), "{icc}");
        // Fleiss (1971): counts per category expanded to 14 ratings per item.
        let counts = [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ];
        let fleiss: Vec<Vec<u8>> = counts
            .iter()
            .map(|c| {
                (0..5u8)
                    .flat_map(|j| std::iter::repeat_n(j + 1, c[usize::from(j)]))
                    .collect()
            })
            .collect();
        let kappa = kappa_from_tallies(&agreement_tallies(&fleiss)).unwrap();
        assert!(close(kappa, 0.210, 0.0005), "{kappa}");

        use rand::rngs::StdRng;
        use rand::{RngExt, SeedableRng};
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let items: Vec<Vec<u8>> = (0..rng.random_range(2..40))
                .map(|_| {
                    let base: i32 = rng.random_range(1..=5);
                    (0..rng.random_range(1..6))
                        .map(|_| (base + rng.random_range(-1..=1)).clamp(1, 5) as u8)
                        .collect()
                })
                .collect();
            let as_f64: Vec<Vec<f64>> = items
                .iter()
                .map(|i| i.iter().map(|&s| f64::from(s)).collect())
                .collect();
            let as_counts: Vec<Vec<u32>> = items
                .iter()
                .map(|i| {
                    let mut c = vec![0u32; 5];
                    for &s in i {
                        c[usize::from(s) - 1] += 1;
                    }
                    c
                })
                .collect();
            let tallies = agreement_tallies(&items);
            match (icc_oneway(&as_f64), icc_from_tallies(&tallies)) {
                (Some(a), Some(b)) => assert!(close(a, b, 1e-9), "seed {seed}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "seed {seed}"),
            }
            match (fleiss_kappa(&as_counts), kappa_from_tallies(&tallies)) {
                (Some(a), Some(b)) => assert!(close(a, b, 1e-12), "seed {seed}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "seed {seed}"),
            }
        }
    }
}
