//! The Laplace approximation to a Gaussian prior times interval likelihoods.
//!
//! The latent vector `z ~ N(0, Σ)`; each judgement `j` observes the linear
//! predictor `η_j = offset_j + Σ_m c_jm z_m` through
//! [`interval_log_likelihood`]. The posterior is approximated by a Gaussian
//! at its mode `ẑ` with precision `Σ⁻¹ + W`, `W = −∇² log p(y | ẑ)`
//! (Rasmussen & Williams, *GPML*, §3.4, generalised from a diagonal `W` to
//! the pairwise terms of preferences, as in Chu & Ghahramani 2005).
//!
//! With `Σ = L Lᵀ` and `B = I + Lᵀ W L` (symmetric positive definite because
//! `W` is positive semi-definite), everything is computed without inverting
//! `Σ`: the Newton step `z ← L B⁻¹ Lᵀ (W z + ∇ log p)`, the posterior
//! covariance `L B⁻¹ Lᵀ`, and, for a quantity `t` with prior variance `p`
//! and prior cross-covariance `c` with `z`, the prediction
//! `mean = cᵀ Σ⁻¹ ẑ`, `var = p − vᵀv + vᵀ B⁻¹ v` with `v = L⁻¹ c`.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

use super::likelihood::{Interval, interval_log_likelihood};
use crate::optim::gp::GpError;

/// One judgement: a noisy interval observation of a linear predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Constant part of the predictor.
    pub offset: f64,
    /// `(index into z, coefficient)` pairs.
    pub coefficients: Vec<(usize, f64)>,
    /// Where the noisy predictor fell.
    pub interval: Interval,
    /// Judgement noise (sd).
    pub sigma: f64,
}

impl Term {
    fn predictor(&self, z: &DVector<f64>) -> f64 {
        self.offset
            + self
                .coefficients
                .iter()
                .map(|(m, c)| c * z[*m])
                .sum::<f64>()
    }
}

/// The Gaussian approximation at the posterior mode.
#[derive(Debug, Clone)]
pub struct LaplacePosterior {
    mode: DVector<f64>,
    /// `Σ⁻¹ ẑ`: predictions' weights.
    alpha: DVector<f64>,
    prior: Cholesky<f64, Dyn>,
    /// `W = −∇² log p(y | ẑ)`, kept to extend the posterior.
    w: DMatrix<f64>,
    b: Cholesky<f64, Dyn>,
    log_evidence: f64,
    iterations: usize,
}

/// Newton iterations before giving up on a tighter mode.
const MAX_ITERATIONS: usize = 60;

impl LaplacePosterior {
    /// Finds the mode of `log p(y | z) + log N(z; 0, Σ)` by damped Newton
    /// steps from `start` (zeros if `None`).
    ///
    /// # Errors
    /// [`GpError::NotPositiveDefinite`] if `Σ` cannot be factorised even
    /// with jitter; [`GpError::Dimension`] if a term points outside `z`.
    pub fn fit(
        prior_covariance: DMatrix<f64>,
        terms: &[Term],
        start: Option<&DVector<f64>>,
    ) -> Result<Self, GpError> {
        let m = prior_covariance.nrows();
        if m == 0 {
            return Err(GpError::Empty);
        }
        if let Some(bad) = terms
            .iter()
            .flat_map(|t| t.coefficients.iter())
            .find(|(i, _)| *i >= m)
        {
            return Err(GpError::Dimension {
                expected: m,
                got: bad.0 + 1,
            });
        }
        let prior = crate::optim::gp::cholesky_with_jitter(prior_covariance)?;
        let mut z = match start {
            Some(s) if s.len() == m => s.clone(),
            _ => DVector::zeros(m),
        };
        let mut objective = psi(&prior, terms, &z);
        let mut iterations = 0;
        for _ in 0..MAX_ITERATIONS {
            iterations += 1;
            let (gradient, w) = gradient_and_precision(terms, &z, m);
            let b = b_matrix(&prior, &w)?;
            let rhs = &w * &z + gradient;
            let l = prior.l_dirty().lower_triangle();
            let target = &l * b.solve(&(l.transpose() * rhs));
            // Damped step: halve until the objective does not fall.
            let mut step = 1.0;
            let mut accepted = None;
            while step > 1e-6 {
                let candidate = &z + (&target - &z) * step;
                let value = psi(&prior, terms, &candidate);
                if value >= objective - 1e-12 * objective.abs().max(1.0) {
                    accepted = Some((candidate, value));
                    break;
                }
                step *= 0.5;
            }
            let Some((next, value)) = accepted else { break };
            let moved = (&next - &z).amax();
            let gained = value - objective;
            z = next;
            objective = value;
            if moved < 1e-8 || gained.abs() < 1e-12 * (1.0 + objective.abs()) {
                break;
            }
        }
        let (_, w) = gradient_and_precision(terms, &z, m);
        let b = b_matrix(&prior, &w)?;
        let log_det_b: f64 = 2.0 * b.l_dirty().diagonal().iter().map(|d| d.ln()).sum::<f64>();
        let alpha = prior.solve(&z);
        Ok(LaplacePosterior {
            log_evidence: objective - 0.5 * log_det_b,
            mode: z,
            alpha,
            prior,
            w,
            b,
            iterations,
        })
    }

    /// The posterior with one more latent `z_new` (prior variance
    /// `prior_variance`, prior cross-covariance `cross` with `z`) observed
    /// through a Gaussian site of precision `precision` centred on its
    /// current posterior mean: the "kriging believer" for pending points.
    /// The mode and every prediction's mean stay put (`Σ⁻¹ẑ` gains a zero,
    /// because the new latent sits at its conditional mean); variances near
    /// it shrink. The prior factor grows by one row in O(m²); `B` is rebuilt.
    ///
    /// # Errors
    /// [`GpError::NotPositiveDefinite`] if `B` cannot be factorised.
    pub fn with_gaussian_site(
        &self,
        cross: &DVector<f64>,
        prior_variance: f64,
        precision: f64,
    ) -> Result<Self, GpError> {
        let m = self.mode.len();
        if cross.len() != m {
            return Err(GpError::Dimension {
                expected: m,
                got: cross.len(),
            });
        }
        let l = self
            .prior
            .l_dirty()
            .solve_lower_triangular(cross)
            .ok_or(GpError::NotPositiveDefinite { jitter: 0.0 })?;
        let d = (prior_variance - l.norm_squared())
            .max(1e-10 * prior_variance.abs().max(1e-12))
            .sqrt();
        let mut factor = DMatrix::zeros(m + 1, m + 1);
        factor
            .view_mut((0, 0), (m, m))
            .copy_from(&self.prior.l_dirty().lower_triangle());
        for j in 0..m {
            factor[(m, j)] = l[j];
        }
        factor[(m, m)] = d;
        let prior = Cholesky::pack_dirty(factor);
        let mut w = DMatrix::zeros(m + 1, m + 1);
        w.view_mut((0, 0), (m, m)).copy_from(&self.w);
        w[(m, m)] = precision;
        let b = b_matrix(&prior, &w)?;
        let mut mode = self.mode.clone().insert_row(m, 0.0);
        mode[m] = cross.dot(&self.alpha);
        let alpha = self.alpha.clone().insert_row(m, 0.0);
        Ok(LaplacePosterior {
            mode,
            alpha,
            prior,
            w,
            b,
            log_evidence: self.log_evidence,
            iterations: self.iterations,
        })
    }

    /// How many latents there are.
    pub fn len(&self) -> usize {
        self.mode.len()
    }

    /// Whether there are none (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.mode.is_empty()
    }

    /// The posterior mode `ẑ`.
    pub fn mode(&self) -> &DVector<f64> {
        &self.mode
    }

    /// Newton iterations the fit took.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The Laplace approximation of the log marginal likelihood (up to the
    /// prior's normalising constant, which does not depend on the data):
    /// `log p(y|ẑ) − ½ ẑᵀΣ⁻¹ẑ − ½ log|B|`.
    pub fn log_evidence(&self) -> f64 {
        self.log_evidence
    }

    /// Posterior mean and variance of a quantity with prior variance
    /// `prior_variance` and prior cross-covariance `cross` with `z`.
    pub fn predict(&self, cross: &DVector<f64>, prior_variance: f64) -> (f64, f64) {
        let mean = cross.dot(&self.alpha);
        let Some(v) = self.prior.l_dirty().solve_lower_triangular(cross) else {
            return (mean, prior_variance.max(0.0));
        };
        let explained = v.norm_squared() - v.dot(&self.b.solve(&v));
        (mean, (prior_variance - explained).max(1e-12))
    }

    /// Posterior mean only: O(m).
    pub fn predict_mean(&self, cross: &DVector<f64>) -> f64 {
        cross.dot(&self.alpha)
    }
}

/// `Ψ(z) = Σ_j log p_j(η_j) − ½ zᵀ Σ⁻¹ z`.
fn psi(prior: &Cholesky<f64, Dyn>, terms: &[Term], z: &DVector<f64>) -> f64 {
    let likelihood: f64 = terms
        .iter()
        .map(|t| interval_log_likelihood(t.interval, t.predictor(z), t.sigma).value)
        .sum();
    let whitened = prior
        .l_dirty()
        .solve_lower_triangular(z)
        .map_or(f64::INFINITY, |u| u.norm_squared());
    likelihood - 0.5 * whitened
}

/// `∇ log p(y|z)` and `W = −∇² log p(y|z)`.
fn gradient_and_precision(terms: &[Term], z: &DVector<f64>, m: usize) -> (DVector<f64>, DMatrix<f64>) {
    let mut gradient = DVector::zeros(m);
    let mut w = DMatrix::zeros(m, m);
    for t in terms {
        let l = interval_log_likelihood(t.interval, t.predictor(z), t.sigma);
        for &(i, ci) in &t.coefficients {
            gradient[i] += ci * l.gradient;
            for &(j, cj) in &t.coefficients {
                w[(i, j)] -= ci * cj * l.hessian;
            }
        }
    }
    (gradient, w)
}

/// Cholesky of `B = I + Lᵀ W L`.
fn b_matrix(prior: &Cholesky<f64, Dyn>, w: &DMatrix<f64>) -> Result<Cholesky<f64, Dyn>, GpError> {
    let l = prior.l_dirty().lower_triangle();
    let mut b = l.transpose() * w * &l;
    for i in 0..b.nrows() {
        b[(i, i)] += 1.0;
    }
    // Symmetrise away rounding before factorising.
    let b = (&b + b.transpose()) * 0.5;
    crate::optim::gp::cholesky_with_jitter(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn star_term(index: usize, stars: u8, sigma: f64) -> Term {
        Term {
            offset: 0.0,
            coefficients: vec![(index, 1.0)],
            interval: Interval::stars(stars),
            sigma,
        }
    }

    /// One latent with prior N(0, s²) and one 5-star rating: the mode solves
    /// `∂ log Φ((z − 4.5)/σ)/∂z = z/s²`, which a bisection finds by hand.
    #[test]
    fn the_mode_of_a_one_dimensional_problem_matches_the_stationarity_condition() {
        let (s2, sigma) = (4.0, 0.5);
        let posterior =
            LaplacePosterior::fit(DMatrix::from_element(1, 1, s2), &[star_term(0, 5, sigma)], None)
                .unwrap();
        let condition = |z: f64| {
            interval_log_likelihood(Interval::stars(5), z, sigma).gradient - z / s2
        };
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
        // Posterior variance is 1/(1/s² + w) at the mode.
        let w = -interval_log_likelihood(Interval::stars(5), z, sigma).hessian;
        let (mean, var) = posterior.predict(&DVector::from_element(1, s2), s2);
        assert!((mean - z).abs() < 1e-9);
        assert!((var - 1.0 / (1.0 / s2 + w)).abs() < 1e-9, "{var}");
    }

    /// With a Gaussian-like likelihood the Laplace answer is the closed form:
    /// a preference between two latents with a diagonal prior moves them
    /// apart symmetrically, and the log evidence is finite.
    #[test]
    fn a_preference_moves_two_latents_apart_symmetrically() {
        let prior = DMatrix::<f64>::identity(2, 2);
        let term = Term {
            offset: 0.0,
            coefficients: vec![(0, 1.0), (1, -1.0)],
            interval: Interval::BETTER,
            sigma: 2f64.sqrt(),
        };
        let posterior = LaplacePosterior::fit(prior, &[term], None).unwrap();
        let z = posterior.mode();
        assert!(z[0] > 0.0 && (z[0] + z[1]).abs() < 1e-10, "{z}");
        // Stationarity: ∂/∂z0 log Φ((z0 − z1)/σ) = z0.
        let g = interval_log_likelihood(Interval::BETTER, z[0] - z[1], 2f64.sqrt()).gradient;
        assert!((g - z[0]).abs() < 1e-8);
        assert!(posterior.log_evidence().is_finite());
    }

    /// Many consistent ratings pin the latent near their value and shrink
    /// the variance; the fit converges in a handful of Newton steps.
    #[test]
    fn many_ratings_concentrate_the_posterior() {
        let terms: Vec<Term> = (0..30).map(|i| star_term(0, 3 + (i % 2) as u8, 0.5)).collect();
        let posterior = LaplacePosterior::fit(DMatrix::from_element(1, 1, 9.0), &terms, None).unwrap();
        let z = posterior.mode()[0];
        assert!((z - 3.5).abs() < 0.1, "{z}");
        let (_, var) = posterior.predict(&DVector::from_element(1, 9.0), 9.0);
        assert!(var < 0.02, "{var}");
        assert!(posterior.iterations() < 20);
    }

    /// Believing a new latent at its mean keeps every mean and shrinks the
    /// variance at that latent to about the site's variance.
    #[test]
    fn a_believed_site_keeps_means_and_shrinks_its_variance() {
        let prior = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 1.0]);
        let posterior = LaplacePosterior::fit(prior, &[star_term(0, 4, 0.5)], None).unwrap();
        // The new latent has covariance 0.8 with z0, 0.3 with z1, variance 1.
        let cross = DVector::from_column_slice(&[0.8, 0.3]);
        let (mean_before, var_before) = posterior.predict(&cross, 1.0);
        let believed = posterior.with_gaussian_site(&cross, 1.0, 100.0).unwrap();
        let extended = DVector::from_column_slice(&[0.8, 0.3, 1.0]);
        let (mean_after, var_after) = believed.predict(&extended, 1.0);
        assert!((mean_after - mean_before).abs() < 1e-9);
        assert!(var_after < var_before && var_after < 0.0101, "{var_before} → {var_after}");
        // Closed form for a Gaussian site: 1/(1/var_before + precision).
        assert!((var_after - 1.0 / (1.0 / var_before + 100.0)).abs() < 1e-9);
    }

    #[test]
    fn a_term_outside_the_latent_vector_is_an_error() {
        let result = LaplacePosterior::fit(DMatrix::identity(1, 1), &[star_term(3, 4, 0.5)], None);
        assert!(matches!(result, Err(GpError::Dimension { .. })));
    }
}
