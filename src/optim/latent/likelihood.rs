//! The likelihood of one judgement given the latent quality it is about.
//!
//! Every judgement latina models is an *interval* observation of a noisy
//! linear predictor: with `η` the predictor and `ε ~ N(0, σ²)`,
//! `p = P(lo < η + ε < hi) = Φ((hi − η)/σ) − Φ((lo − η)/σ)`.
//! - **Stars** (ordinal probit): `η` is the designer's reading of the
//!   latent quality and `(lo, hi)` the cut-points around the stars given
//!   (`k ± ½`, open at 1 and 5).
//! - **A preference** (Chu & Ghahramani 2005's probit preference, the
//!   likelihood behind BoTorch's `PairwiseGP`): `η` is the quality
//!   difference of better minus worse, `(0, ∞)`.
//! - **"Same"**: the difference fell within a tie band `(−t, t)`.
//!
//! One function serves all three, so one set of tests covers them. Both
//! derivatives are returned because the Laplace approximation needs them:
//! `log p` is concave in `η` (the normal distribution function is
//! log-concave), so the negated second derivative is a valid precision.
//! Tails are computed through the Mills ratio, so a rating far from the
//! prediction (`|z|` of 40 or more) gives finite values, not `−∞` or NaN.

use crate::optim::acquisition::{normal_cdf, normal_pdf};

/// The interval `(lo, hi)` the noisy predictor fell in; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound, or `None` for −∞.
    pub lo: Option<f64>,
    /// Upper bound, or `None` for +∞.
    pub hi: Option<f64>,
}

impl Interval {
    /// The cut-points around a star rating on a 1–5 scale: `(k − ½, k + ½)`,
    /// open below 1½ and above 4½.
    pub fn stars(stars: u8) -> Interval {
        let k = f64::from(stars.clamp(1, 5));
        Interval {
            lo: (stars > 1).then_some(k - 0.5),
            hi: (stars < 5).then_some(k + 0.5),
        }
    }

    /// "Better": the difference was positive.
    pub const BETTER: Interval = Interval {
        lo: Some(0.0),
        hi: None,
    };

    /// "Same": the difference was within `±half_width`.
    pub fn tie(half_width: f64) -> Interval {
        Interval {
            lo: Some(-half_width),
            hi: Some(half_width),
        }
    }
}

/// `log p` and its first and second derivatives with respect to `η`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogLikelihood {
    /// `log P(lo < η + ε < hi)`.
    pub value: f64,
    /// `∂ log p / ∂η`.
    pub gradient: f64,
    /// `∂² log p / ∂η²` (≤ 0).
    pub hessian: f64,
}

/// `log P(lo < η + ε < hi)` for `ε ~ N(0, σ²)`, with derivatives in `η`.
pub fn interval_log_likelihood(interval: Interval, eta: f64, sigma: f64) -> LogLikelihood {
    let a = interval.lo.map(|lo| (lo - eta) / sigma);
    let b = interval.hi.map(|hi| (hi - eta) / sigma);
    match (a, b) {
        (Some(a), _) if a > 0.0 => upper_tail(a, b, sigma),
        (_, Some(b)) if b < 0.0 => {
            // Mirror: P(Φ(b) − Φ(a)) = P(Φc(−b) − Φc(−a)) with η → −η.
            let mirrored = upper_tail(-b, a.map(|a| -a), sigma);
            LogLikelihood {
                gradient: -mirrored.gradient,
                ..mirrored
            }
        }
        _ => straddling(a, b, sigma),
    }
}

/// The interval lies above the predictor (`0 < a < b ≤ ∞`): `p` may be
/// tiny, so work with `p = φ(a)·(R(a) − e^{(a²−b²)/2}·R(b))`, `R` the Mills ratio.
fn upper_tail(a: f64, b: Option<f64>, sigma: f64) -> LogLikelihood {
    let (t, tb) = match b {
        Some(b) => {
            let t = (0.5 * (a * a - b * b)).exp();
            (t, t * b)
        }
        None => (0.0, 0.0),
    };
    let rb = b.map_or(0.0, mills_ratio);
    let d = (mills_ratio(a) - t * rb).max(f64::MIN_POSITIVE);
    let value = log_normal_pdf(a) + d.ln();
    let gradient = (1.0 - t) / (sigma * d);
    let second = (a - tb) / (sigma * sigma * d);
    LogLikelihood {
        value,
        gradient,
        hessian: (second - gradient * gradient).min(0.0),
    }
}

/// The predictor lies inside the interval: `p` is not small unless the
/// interval is, so the direct form is accurate.
fn straddling(a: Option<f64>, b: Option<f64>, sigma: f64) -> LogLikelihood {
    let cdf = |z: Option<f64>, infinite: f64| z.map_or(infinite, normal_cdf);
    let pdf = |z: Option<f64>| z.map_or(0.0, normal_pdf);
    let z_pdf = |z: Option<f64>| z.map_or(0.0, |z| z * normal_pdf(z));
    let p = (cdf(b, 1.0) - cdf(a, 0.0)).max(f64::MIN_POSITIVE);
    let gradient = (pdf(a) - pdf(b)) / (sigma * p);
    let second = (z_pdf(a) - z_pdf(b)) / (sigma * sigma * p);
    LogLikelihood {
        value: p.ln(),
        gradient,
        hessian: (second - gradient * gradient).min(0.0),
    }
}

fn log_normal_pdf(z: f64) -> f64 {
    -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// Mills ratio `R(x) = Φc(x)/φ(x)` for `x ≥ 0`: directly where both are
/// representable, by Laplace's continued fraction in the far tail.
fn mills_ratio(x: f64) -> f64 {
    if x < 5.0 {
        return normal_cdf(-x) / normal_pdf(x);
    }
    // R(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))), evaluated from the tail end.
    let mut t = x;
    for k in (1..=60).rev() {
        t = x + f64::from(k) / t;
    }
    1.0 / t
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGMA: f64 = 0.6;

    fn probability(interval: Interval, eta: f64) -> f64 {
        interval_log_likelihood(interval, eta, SIGMA).value.exp()
    }

    #[test]
    fn star_probabilities_sum_to_one_and_match_the_closed_form() {
        for eta in [-2.0, 1.0, 2.7, 3.0, 4.4, 7.5] {
            let total: f64 = (1..=5).map(|s| probability(Interval::stars(s), eta)).sum();
            assert!((total - 1.0).abs() < 1e-12, "eta {eta}: {total}");
        }
        // P(3 stars | η = 3.2) = Φ((3.5 − η)/σ) − Φ((2.5 − η)/σ).
        let eta = 3.2;
        let expected = normal_cdf((3.5 - eta) / SIGMA) - normal_cdf((2.5 - eta) / SIGMA);
        assert!((probability(Interval::stars(3), eta) - expected).abs() < 1e-14);
        // One star is P(η + ε < 1.5).
        let expected = normal_cdf((1.5 - eta) / SIGMA);
        assert!((probability(Interval::stars(1), eta) - expected).abs() < 1e-14);
    }

    #[test]
    fn a_preference_is_the_probit_of_the_difference() {
        for d in [-1.5, -0.2, 0.0, 0.4, 2.0] {
            let p = probability(Interval::BETTER, d);
            assert!((p - normal_cdf(d / SIGMA)).abs() < 1e-14, "d {d}");
        }
        let tie = probability(Interval::tie(0.5), 0.1);
        let expected = normal_cdf((0.5 - 0.1) / SIGMA) - normal_cdf((-0.5 - 0.1) / SIGMA);
        assert!((tie - expected).abs() < 1e-14);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let intervals = [
            Interval::stars(1),
            Interval::stars(3),
            Interval::stars(5),
            Interval::BETTER,
            Interval::tie(0.5),
        ];
        for interval in intervals {
            for eta in [-3.0, 0.0, 1.2, 3.0, 4.6, 9.0] {
                let h = 1e-5;
                let at = |e: f64| interval_log_likelihood(interval, e, SIGMA);
                let l = at(eta);
                let numeric_gradient = (at(eta + h).value - at(eta - h).value) / (2.0 * h);
                let numeric_hessian = (at(eta + h).gradient - at(eta - h).gradient) / (2.0 * h);
                let tolerance = 1e-5 * (1.0 + l.gradient.abs());
                assert!(
                    (numeric_gradient - l.gradient).abs() < tolerance,
                    "{interval:?} at {eta}: {numeric_gradient} vs {}",
                    l.gradient
                );
                assert!(
                    (numeric_hessian - l.hessian).abs() < 1e-4 * (1.0 + l.hessian.abs()),
                    "{interval:?} at {eta}: {numeric_hessian} vs {}",
                    l.hessian
                );
                assert!(l.hessian <= 0.0, "log-concave");
            }
        }
    }

    #[test]
    fn far_tails_stay_finite_and_follow_the_asymptote() {
        // A 5-star rating when the prediction is −20 stars: z ≈ 41.
        let l = interval_log_likelihood(Interval::stars(5), -20.0, SIGMA);
        let z = (4.5 + 20.0) / SIGMA;
        // log Φc(z) ≈ log φ(z) − log z for large z; gradient ≈ z/σ.
        assert!(
            (l.value - (log_normal_pdf(z) - z.ln())).abs() < 1e-3,
            "{l:?}"
        );
        assert!((l.gradient - z / SIGMA).abs() / (z / SIGMA) < 1e-2, "{l:?}");
        assert!(l.hessian.is_finite() && l.hessian < 0.0);
        // Mirrored: a 1-star rating when the prediction is +25.
        let l = interval_log_likelihood(Interval::stars(1), 25.0, SIGMA);
        assert!(
            l.value.is_finite() && l.gradient < 0.0 && l.hessian < 0.0,
            "{l:?}"
        );
        // Far inside a bounded interval from below: 2 stars predicted at −30.
        let l = interval_log_likelihood(Interval::stars(2), -30.0, SIGMA);
        assert!(l.value.is_finite() && l.gradient > 0.0, "{l:?}");
    }

    #[test]
    fn mills_ratio_is_continuous_where_the_method_changes() {
        let below = mills_ratio(5.0 - 1e-9);
        let above = mills_ratio(5.0);
        assert!((below - above).abs() < 1e-9, "{below} vs {above}");
    }
}
