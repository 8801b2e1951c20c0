//! The Matérn 5/2 covariance with one length scale per input dimension (ARD).
//!
//! `k(x, x') = σf² · (1 + √5·r + 5r²/3) · exp(−√5·r)`, with
//! `r² = Σ_d ((x_d − x'_d)/ℓ_d)²` (Rasmussen & Williams, *Gaussian Processes
//! for Machine Learning*, eq. 4.17). Twice differentiable sample paths: smooth
//! enough for a rating surface, rough enough not to over-extrapolate.
//!
//! Hyperparameters are handled in log space (`ln ℓ_d`, `ln σf²`), which keeps
//! them positive and makes the optimisation better conditioned.

/// √5.
const SQRT5: f64 = 2.236_067_977_499_79;

/// Matérn 5/2 ARD kernel without noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Matern52 {
    /// One length scale per input dimension (> 0).
    pub length_scales: Vec<f64>,
    /// Signal variance σf² (> 0).
    pub signal_variance: f64,
}

impl Matern52 {
    /// The scaled distance r between two points.
    pub fn distance(&self, a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .zip(&self.length_scales)
            .map(|((x, y), l)| ((x - y) / l).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// `k(a, b)`.
    pub fn value(&self, a: &[f64], b: &[f64]) -> f64 {
        let r = self.distance(a, b);
        self.signal_variance * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * (-SQRT5 * r).exp()
    }

    /// `k(a, b)` and its derivatives with respect to each `ln ℓ_d`:
    /// `∂k/∂ln ℓ_d = σf² · (5/3)(1 + √5 r) e^{−√5 r} · (a_d − b_d)²/ℓ_d²`
    /// (the 1/r of ∂r/∂ℓ cancels, so it is finite at r = 0). The derivative
    /// with respect to `ln σf²` is `k` itself.
    pub fn value_and_length_scale_gradient(&self, a: &[f64], b: &[f64], grad: &mut [f64]) -> f64 {
        let r = self.distance(a, b);
        let e = (-SQRT5 * r).exp();
        let common = self.signal_variance * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e;
        for (((g, x), y), l) in grad.iter_mut().zip(a).zip(b).zip(&self.length_scales) {
            *g = common * ((x - y) / l).powi(2);
        }
        self.signal_variance * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> Matern52 {
        Matern52 {
            length_scales: vec![0.5, 2.0],
            signal_variance: 1.7,
        }
    }

    #[test]
    fn value_matches_the_closed_form() {
        let k = kernel();
        assert!((k.value(&[0.3, 0.1], &[0.3, 0.1]) - 1.7).abs() < 1e-12);
        // r = sqrt((0.5/0.5)^2 + (1/2)^2) = sqrt(1.25)
        let r = 1.25f64.sqrt();
        let expected =
            1.7 * (1.0 + 5f64.sqrt() * r + 5.0 / 3.0 * 1.25) * (-(5f64.sqrt()) * r).exp();
        assert!((k.value(&[0.0, 0.0], &[0.5, 1.0]) - expected).abs() < 1e-12);
    }

    #[test]
    fn length_scale_gradient_matches_finite_differences() {
        let (a, b) = ([0.1, 0.7], [0.45, 0.2]);
        let k = kernel();
        let mut grad = [0.0; 2];
        k.value_and_length_scale_gradient(&a, &b, &mut grad);
        for (d, analytic) in grad.iter().enumerate() {
            let h: f64 = 1e-6;
            let mut plus = k.clone();
            plus.length_scales[d] *= h.exp();
            let mut minus = k.clone();
            minus.length_scales[d] *= (-h).exp();
            let numeric = (plus.value(&a, &b) - minus.value(&a, &b)) / (2.0 * h);
            assert!(
                (numeric - analytic).abs() < 1e-7,
                "d={d}: {numeric} vs {analytic}"
            );
        }
    }
}
