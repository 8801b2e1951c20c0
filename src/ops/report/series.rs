//! Series arithmetic for the charts: trailing moving average, best so far,
//! bucket downsampling and deterministic subsampling and jitter, so a
//! history of 100,000 ratings draws as a few thousand SVG points.

/// Trailing moving average over `window` values; the first `window - 1`
/// points average what there is so far.
pub fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0;
    for (i, &v) in values.iter().enumerate() {
        sum += v;
        if i >= window {
            sum -= values[i - window];
        }
        out.push(sum / (i + 1).min(window) as f64);
    }
    out
}

/// Where the best value so far rises: `(index, new best)`, starting with
/// the first value; a step line through these is the running maximum.
pub fn best_so_far_steps(values: &[f64]) -> Vec<(usize, f64)> {
    let mut steps: Vec<(usize, f64)> = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        if steps.last().is_none_or(|&(_, best)| v > best) {
            steps.push((i, v));
        }
    }
    steps
}

/// One bucket of a downsampled series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Mean index of the values in the bucket (its x position).
    pub x: f64,
    /// Mean of the values.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// `values` (indexed 0..n) as at most `max_points` points: every value
/// unchanged when there are few enough, else the first value, the means of
/// equal consecutive buckets of the values in between, and the last value.
pub fn downsample(values: &[f64], max_points: usize) -> Vec<Bucket> {
    let n = values.len();
    let exact = |i: usize| Bucket {
        x: i as f64,
        mean: values[i],
        min: values[i],
        max: values[i],
    };
    if n <= max_points.max(3) {
        return (0..n).map(exact).collect();
    }
    let inner = n - 2;
    let buckets = max_points.max(3) - 2;
    let mut out = Vec::with_capacity(buckets + 2);
    out.push(exact(0));
    for b in 0..buckets {
        // Bucket b covers inner values [start, end), sizes differ by at most one.
        let start = 1 + b * inner / buckets;
        let end = 1 + (b + 1) * inner / buckets;
        if start == end {
            continue;
        }
        let slice = &values[start..end];
        out.push(Bucket {
            x: (start + end - 1) as f64 / 2.0,
            mean: slice.iter().sum::<f64>() / slice.len() as f64,
            min: slice.iter().copied().fold(f64::INFINITY, f64::min),
            max: slice.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        });
    }
    out.push(exact(n - 1));
    out
}

/// At most `max` indices out of `0..n`, evenly spaced, always including the
/// first and the last: the same history always gives the same points.
pub fn subsample_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    match max {
        0 => Vec::new(),
        1 => vec![n - 1],
        _ => (0..max).map(|k| k * (n - 1) / (max - 1)).collect(),
    }
}

/// A deterministic offset in `[-amplitude, amplitude]` for point `i`
/// (SplitMix64 of the index), to spread points that share a star value.
pub fn jitter(i: u64, amplitude: f64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    (2.0 * unit - 1.0) * amplitude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_of_window_three_by_hand() {
        let ma = moving_average(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        // 1, (1+2)/2, (1+2+3)/3, (2+3+4)/3, (3+4+5)/3
        assert_eq!(ma, vec![1.0, 1.5, 2.0, 3.0, 4.0]);
        assert_eq!(moving_average(&[], 10), Vec::<f64>::new());
    }

    #[test]
    fn best_so_far_rises_only_on_a_new_maximum() {
        assert_eq!(
            best_so_far_steps(&[2.0, 1.0, 3.0, 3.0, 2.0, 5.0, 4.0]),
            vec![(0, 2.0), (2, 3.0), (5, 5.0)]
        );
    }

    #[test]
    fn short_series_are_kept_as_they_are() {
        let d = downsample(&[3.0, 1.0, 4.0], 10);
        assert_eq!(d.len(), 3);
        assert_eq!((d[1].x, d[1].mean), (1.0, 1.0));
    }

    #[test]
    fn downsampling_keeps_first_and_last_and_averages_equal_buckets() {
        // 0..=11: first 0 and last 11 kept; 1..=10 in 5 buckets of two.
        let values: Vec<f64> = (0..12).map(f64::from).collect();
        let d = downsample(&values, 7);
        assert_eq!(d.len(), 7);
        assert_eq!((d[0].x, d[0].mean), (0.0, 0.0));
        assert_eq!((d[6].x, d[6].mean), (11.0, 11.0));
        let inner: Vec<(f64, f64, f64, f64)> = d[1..6]
            .iter()
            .map(|b| (b.x, b.mean, b.min, b.max))
            .collect();
        assert_eq!(
            inner,
            vec![
                (1.5, 1.5, 1.0, 2.0),
                (3.5, 3.5, 3.0, 4.0),
                (5.5, 5.5, 5.0, 6.0),
                (7.5, 7.5, 7.0, 8.0),
                (9.5, 9.5, 9.0, 10.0),
            ]
        );
    }

    #[test]
    fn downsampling_a_hundred_thousand_ratings_to_a_thousand_points() {
        let values: Vec<f64> = (0..100_000).map(|i| f64::from(i % 5 + 1)).collect();
        let d = downsample(&values, 1000);
        assert_eq!(d.len(), 1000);
        assert_eq!(d[0].mean, 1.0);
        assert_eq!(d[999].mean, 5.0);
        assert_eq!(d[999].x, 99_999.0);
        // Every inner bucket holds about 100 values cycling 1..=5: mean ≈ 3.
        assert!(d[1..999].iter().all(|b| (b.mean - 3.0).abs() < 0.05));
        assert!(d[1..999].iter().all(|b| b.min == 1.0 && b.max == 5.0));
    }

    #[test]
    fn subsampling_is_even_and_keeps_both_ends() {
        assert_eq!(subsample_indices(5, 10), vec![0, 1, 2, 3, 4]);
        assert_eq!(subsample_indices(11, 3), vec![0, 5, 10]);
        assert_eq!(subsample_indices(100_000, 2000).len(), 2000);
        assert_eq!(*subsample_indices(100_000, 2000).last().unwrap(), 99_999);
    }

    #[test]
    fn jitter_is_bounded_and_repeatable() {
        for i in 0..1000 {
            let j = jitter(i, 0.2);
            assert!((-0.2..=0.2).contains(&j));
            assert_eq!(j, jitter(i, 0.2));
        }
        let spread = (0..1000).map(|i| jitter(i, 0.2)).fold(0.0, f64::max);
        assert!(spread > 0.15, "offsets use the whole range");
    }
}
