//! The Laplace approximation for judgements of a Gaussian process.
//!
//! Each judgement `j` observes a noisy predictor `η_j = μ_j + ζ_j` through
//! [`interval_log_likelihood`], where `ζ ~ N(0, K)` is jointly Gaussian
//! (`K` is built by the caller from the GP over renders: a star rating's
//! `ζ` is the designer's reading of one render, a preference's the
//! difference of two). Every term depends on its own `ζ_j` only, so the
//! negated Hessian `W` is diagonal and the textbook algorithm applies
//! (Rasmussen & Williams, *GPML*, Algorithms 3.1 and 3.2):
//! `B = I + W^½ K W^½`, Newton steps `b = Wζ + ∇`, `a = b − W^½ B⁻¹ W^½ K b`,
//! `ζ ← K a`, no inverse of `K` (which is singular when judgements are
//! linearly dependent, e.g. a preference beside the stars of both renders).
//!
//! For a quantity `t` with prior variance `p` and prior cross-covariance
//! `k` with `ζ`: `E[t] = kᵀ ∇ log p(y|ζ̂)` and
//! `Var[t] = p − vᵀv`, `v = L_B⁻¹ W^½ k` (GPML eqs. 3.21, 3.24).
//! Cost: O(J³/3) per Newton step for J judgements, O(J²) per prediction.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

use super::likelihood::{Interval, interval_log_likelihood};
use crate::optim::gp::{GpError, cholesky_with_jitter};

/// One judgement: where its noisy predictor fell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// The predictor's prior mean `μ_j`.
    pub mean: f64,
    /// Where `η + ε` fell.
    pub interval: Interval,
    /// Judgement noise (sd).
    pub sigma: f64,
}

/// The Gaussian approximation at the posterior mode.
#[derive(Debug, Clone)]
pub struct LaplacePosterior {
    /// `ζ̂`, the mode (deviations from the prior means).
    mode: DVector<f64>,
    /// `∇ log p(y | ζ̂)`: prediction weights.
    gradient: DVector<f64>,
    /// `W^½`.
    w_sqrt: DVector<f64>,
    /// Cholesky of `B = I + W^½ K W^½`.
    b: Cholesky<f64, Dyn>,
    log_evidence: f64,
    iterations: usize,
}

/// Newton iterations before settling for the best mode found.
const MAX_ITERATIONS: usize = 60;

impl LaplacePosterior {
    /// Finds the mode by damped Newton steps from `start` (ζ = 0 if `None`
    /// or of another length).
    ///
    /// # Errors
    /// [`GpError::Empty`] with no judgement, [`GpError::Dimension`] if `K`
    /// is not J×J, [`GpError::NotPositiveDefinite`] if `B` cannot be factorised.
    pub fn fit(
        k: &DMatrix<f64>,
        judgements: &[Judgement],
        start: Option<&DVector<f64>>,
    ) -> Result<Self, GpError> {
        let n = judgements.len();
        if n == 0 {
            return Err(GpError::Empty);
        }
        if k.nrows() != n || k.ncols() != n {
            return Err(GpError::Dimension {
                expected: n,
                got: k.nrows(),
            });
        }
        // Start from the prior mean (or a previous mode, which must be
        // expressible as K·a; recover a by a least-squares-free route:
        // starting at ζ = 0 keeps ζ = K a exact).
        let mut a = DVector::zeros(n);
        let mut zeta = DVector::zeros(n);
        if let Some(s) = start.filter(|s| s.len() == n)
            && let Ok(chol) = cholesky_with_jitter(k.clone())
        {
            let candidate_a = chol.solve(s);
            let candidate = k * &candidate_a;
            if psi(judgements, &candidate, &candidate_a) > psi(judgements, &zeta, &a) {
                a = candidate_a;
                zeta = candidate;
            }
        }
        let mut objective = psi(judgements, &zeta, &a);
        let mut iterations = 0;
        for _ in 0..MAX_ITERATIONS {
            iterations += 1;
            let (gradient, w) = derivatives(judgements, &zeta);
            let w_sqrt = w.map(f64::sqrt);
            let b = b_factor(k, &w_sqrt)?;
            let rhs = w.component_mul(&zeta) + &gradient;
            let kb = k * &rhs;
            let correction = w_sqrt.component_mul(&b.solve(&w_sqrt.component_mul(&kb)));
            let target_a = &rhs - correction;
            // Damped step on a (ζ = K a stays exact): halve until Ψ does not fall.
            let mut step = 1.0;
            let mut accepted = None;
            while step > 1e-6 {
                let candidate_a = &a + (&target_a - &a) * step;
                let candidate = k * &candidate_a;
                let value = psi(judgements, &candidate, &candidate_a);
                if value >= objective - 1e-12 * objective.abs().max(1.0) {
                    accepted = Some((candidate_a, candidate, value));
                    break;
                }
                step *= 0.5;
            }
            let Some((next_a, next, value)) = accepted else {
                break;
            };
            let moved = (&next - &zeta).amax();
            let gained = value - objective;
            a = next_a;
            zeta = next;
            objective = value;
            if moved < 1e-8 || gained.abs() < 1e-12 * (1.0 + objective.abs()) {
                break;
            }
        }
        let (gradient, w) = derivatives(judgements, &zeta);
        let w_sqrt = w.map(f64::sqrt);
        let b = b_factor(k, &w_sqrt)?;
        let half_log_det_b: f64 = b.l_dirty().diagonal().iter().map(|d| d.ln()).sum();
        Ok(LaplacePosterior {
            log_evidence: objective - half_log_det_b,
            mode: zeta,
            gradient,
            w_sqrt,
            b,
            iterations,
        })
    }

    /// The mode `ζ̂` (deviations of the predictors from their prior means).
    pub fn mode(&self) -> &DVector<f64> {
        &self.mode
    }

    /// Newton iterations the fit took.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// How many judgements (and believed sites) the posterior holds.
    pub fn len(&self) -> usize {
        self.mode.len()
    }

    /// Whether it holds none (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.mode.is_empty()
    }

    /// The Laplace approximation of the log marginal likelihood:
    /// `log p(y|ζ̂) − ½ ζ̂ᵀK⁻¹ζ̂ − ½ log|B|`.
    pub fn log_evidence(&self) -> f64 {
        self.log_evidence
    }

    /// Posterior mean (as a deviation from its prior mean) and variance of
    /// a quantity with prior variance `prior_variance` and prior
    /// cross-covariance `cross` with the judgements' predictors.
    pub fn predict(&self, cross: &DVector<f64>, prior_variance: f64) -> (f64, f64) {
        let mean = cross.dot(&self.gradient);
        let weighted = self.w_sqrt.component_mul(cross);
        let explained = self
            .b
            .l_dirty()
            .solve_lower_triangular(&weighted)
            .map_or(0.0, |v| v.norm_squared());
        (mean, (prior_variance - explained).max(1e-12))
    }

    /// Joint posterior of several quantities: means (deviations) and the
    /// covariance `P − VᵀV`, `V = L_B⁻¹ W^½ C`, for prior cross-covariances
    /// `C` (one column per quantity) and prior covariance `P` among them.
    pub fn predict_joint(
        &self,
        cross: &DMatrix<f64>,
        prior: &DMatrix<f64>,
    ) -> (Vec<f64>, DMatrix<f64>) {
        let means = (0..cross.ncols())
            .map(|j| cross.column(j).dot(&self.gradient))
            .collect();
        let mut weighted = cross.clone();
        for (i, mut row) in weighted.row_iter_mut().enumerate() {
            row *= self.w_sqrt[i];
        }
        let v = self
            .b
            .l_dirty()
            .solve_lower_triangular(&weighted)
            .unwrap_or_else(|| DMatrix::zeros(cross.nrows(), cross.ncols()));
        (means, prior - v.transpose() * v)
    }

    /// Posterior mean only: O(J).
    pub fn predict_mean(&self, cross: &DVector<f64>) -> f64 {
        cross.dot(&self.gradient)
    }

    /// The posterior also observing a new quantity through a Gaussian site
    /// of precision `precision` centred on its current posterior mean (the
    /// "kriging believer" for pending proposals): means stay put, variances
    /// near it shrink. `cross` is its prior cross-covariance with the
    /// existing predictors, `prior_variance` its own. O(J²): `B`'s factor
    /// grows by one row.
    ///
    /// # Errors
    /// [`GpError::Dimension`] if `cross` has the wrong length.
    pub fn with_gaussian_site(
        &self,
        cross: &DVector<f64>,
        prior_variance: f64,
        precision: f64,
    ) -> Result<Self, GpError> {
        let n = self.len();
        if cross.len() != n {
            return Err(GpError::Dimension {
                expected: n,
                got: cross.len(),
            });
        }
        let mean = self.predict_mean(cross);
        let s = precision.sqrt();
        // New row of B: s·W^½_i·k_i off the diagonal, 1 + s²·p on it.
        let row = self.w_sqrt.component_mul(cross) * s;
        let l = self
            .b
            .l_dirty()
            .solve_lower_triangular(&row)
            .ok_or(GpError::NotPositiveDefinite { jitter: 0.0 })?;
        let d = (1.0 + precision * prior_variance - l.norm_squared())
            .max(1e-12)
            .sqrt();
        let mut factor = DMatrix::zeros(n + 1, n + 1);
        factor
            .view_mut((0, 0), (n, n))
            .copy_from(&self.b.l_dirty().lower_triangle());
        for j in 0..n {
            factor[(n, j)] = l[j];
        }
        factor[(n, n)] = d;
        Ok(LaplacePosterior {
            mode: self.mode.clone().insert_row(n, mean),
            // A Gaussian site at its mean has zero gradient.
            gradient: self.gradient.clone().insert_row(n, 0.0),
            w_sqrt: self.w_sqrt.clone().insert_row(n, s),
            b: Cholesky::pack_dirty(factor),
            log_evidence: self.log_evidence,
            iterations: self.iterations,
        })
    }
}

/// `Ψ = Σ_j log p_j(μ_j + ζ_j) − ½ aᵀζ` with `ζ = K a`.
fn psi(judgements: &[Judgement], zeta: &DVector<f64>, a: &DVector<f64>) -> f64 {
    let likelihood: f64 = judgements
        .iter()
        .zip(zeta.iter())
        .map(|(j, z)| interval_log_likelihood(j.interval, j.mean + z, j.sigma).value)
        .sum();
    likelihood - 0.5 * a.dot(zeta)
}

/// `∇ log p(y|ζ)` and the diagonal of `W = −∇² log p(y|ζ)`.
fn derivatives(judgements: &[Judgement], zeta: &DVector<f64>) -> (DVector<f64>, DVector<f64>) {
    let n = judgements.len();
    let mut gradient = DVector::zeros(n);
    let mut w = DVector::zeros(n);
    for (i, (j, z)) in judgements.iter().zip(zeta.iter()).enumerate() {
        let l = interval_log_likelihood(j.interval, j.mean + z, j.sigma);
        gradient[i] = l.gradient;
        w[i] = (-l.hessian).max(0.0);
    }
    (gradient, w)
}

/// Cholesky of `B = I + W^½ K W^½` (eigenvalues ≥ 1: well conditioned).
fn b_factor(k: &DMatrix<f64>, w_sqrt: &DVector<f64>) -> Result<Cholesky<f64, Dyn>, GpError> {
    let n = k.nrows();
    let mut b = DMatrix::zeros(n, n);
    for j in 0..n {
        for i in j..n {
            let v = w_sqrt[i] * k[(i, j)] * w_sqrt[j];
            b[(i, j)] = v;
            b[(j, i)] = v;
        }
        b[(j, j)] += 1.0;
    }
    cholesky_with_jitter(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stars(value: u8, sigma: f64) -> Judgement {
        Judgement {
            mean: 0.0,
            interval: Interval::stars(value),
            sigma,
        }
    }

    /// One latent with prior N(0, s²) and one 5-star rating: the mode solves
    /// `∂ log p/∂ζ = ζ/s²`, which a bisection finds by hand; the variance is
    /// `1/(1/s² + w)` at the mode.
    #[test]
    fn the_mode_of_a_one_dimensional_problem_matches_the_stationarity_condition() {
        let (s2, sigma) = (4.0, 0.5);
        let k = DMatrix::from_element(1, 1, s2);
        let posterior = LaplacePosterior::fit(&k, &[stars(5, sigma)], None).unwrap();
        let condition =
            |z: f64| interval_log_likelihood(Interval::stars(5), z, sigma).gradient - z / s2;
        let (mut lo, mut hi) = (0.0, 20.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if condition(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let z = posterior.mode()[0];
        assert!((z - lo).abs() < 1e-7, "{z} vs {lo}");
        let w = -interval_log_likelihood(Interval::stars(5), z, sigma).hessian;
        let (mean, var) = posterior.predict(&DVector::from_element(1, s2), s2);
        assert!((mean - z).abs() < 1e-9);
        assert!((var - 1.0 / (1.0 / s2 + w)).abs() < 1e-9, "{var}");
    }

    /// Two renders with independent N(0, 1) qualities and one preference:
    /// the predictor is their difference (prior variance 2); the mode puts
    /// them symmetrically apart and satisfies stationarity.
    #[test]
    fn a_preference_moves_two_renders_apart_symmetrically() {
        let k = DMatrix::from_element(1, 1, 2.0);
        let sigma = 2f64.sqrt() * 0.5;
        let judgement = Judgement {
            mean: 0.0,
            interval: Interval::BETTER,
            sigma,
        };
        let posterior = LaplacePosterior::fit(&k, &[judgement], None).unwrap();
        // Render 0's quality has cross-covariance +1 with the difference,
        // render 1's −1.
        let (q0, _) = posterior.predict(&DVector::from_element(1, 1.0), 1.0);
        let (q1, _) = posterior.predict(&DVector::from_element(1, -1.0), 1.0);
        assert!(q0 > 0.0 && (q0 + q1).abs() < 1e-12, "{q0} {q1}");
        let g = interval_log_likelihood(Interval::BETTER, q0 - q1, sigma).gradient;
        assert!((g - q0).abs() < 1e-8, "stationarity: {g} vs {q0}");
        assert!(posterior.log_evidence().is_finite());
    }

    /// Dependent judgements (a preference beside the stars of both renders)
    /// make K singular; the fit still converges and agrees with the
    /// stars' direction.
    #[test]
    fn a_singular_covariance_of_dependent_judgements_is_handled() {
        // ζ = [q0, q1, q0 − q1] with q ~ N(0, I).
        let k = DMatrix::from_row_slice(3, 3, &[1.0, 0.0, 1.0, 0.0, 1.0, -1.0, 1.0, -1.0, 2.0]);
        let judgements = [
            stars(4, 0.5),
            stars(2, 0.5),
            Judgement {
                mean: 0.0,
                interval: Interval::BETTER,
                sigma: 0.7,
            },
        ];
        let posterior = LaplacePosterior::fit(&k, &judgements, None).unwrap();
        let z = posterior.mode();
        assert!(
            (z[2] - (z[0] - z[1])).abs() < 1e-8,
            "ζ stays in K's range: {z}"
        );
        assert!(z[0] > z[1]);
    }

    /// Many consistent ratings pin the latent near their value and shrink
    /// the variance; a handful of Newton steps suffice.
    #[test]
    fn many_ratings_concentrate_the_posterior() {
        let n = 30;
        let k = DMatrix::from_element(n, n, 9.0);
        let judgements: Vec<Judgement> = (0..n).map(|i| stars(3 + (i % 2) as u8, 0.5)).collect();
        let posterior = LaplacePosterior::fit(&k, &judgements, None).unwrap();
        let (mean, var) = posterior.predict(&DVector::from_element(n, 9.0), 9.0);
        assert!((mean - 3.5).abs() < 0.1, "{mean}");
        assert!(var < 0.02, "{var}");
        assert!(posterior.iterations() < 20);
    }

    /// Believing a new quantity at its mean keeps every mean and gives its
    /// variance the closed form `1/(1/var + precision)`.
    #[test]
    fn a_believed_site_keeps_means_and_shrinks_its_variance() {
        let k = DMatrix::from_element(1, 1, 1.0);
        let posterior = LaplacePosterior::fit(&k, &[stars(4, 0.5)], None).unwrap();
        let cross = DVector::from_element(1, 0.8);
        let (mean_before, var_before) = posterior.predict(&cross, 1.0);
        let believed = posterior.with_gaussian_site(&cross, 1.0, 100.0).unwrap();
        let extended = DVector::from_column_slice(&[0.8, 1.0]);
        let (mean_after, var_after) = believed.predict(&extended, 1.0);
        assert!((mean_after - mean_before).abs() < 1e-12);
        assert!(
            (var_after - 1.0 / (1.0 / var_before + 100.0)).abs() < 1e-9,
            "{var_after}"
        );
        // A quantity correlated with it shrinks too, a little.
        let (_, near_before) = posterior.predict(&DVector::from_element(1, 0.7), 1.0);
        let (_, near_after) = believed.predict(&DVector::from_column_slice(&[0.7, 0.9]), 1.0);
        assert!(near_after < near_before);
    }

    #[test]
    fn a_covariance_of_the_wrong_size_is_an_error() {
        let result = LaplacePosterior::fit(&DMatrix::identity(2, 2), &[stars(4, 0.5)], None);
        assert!(matches!(result, Err(GpError::Dimension { .. })));
    }
}
