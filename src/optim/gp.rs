//! Gaussian-process regression of ratings with a Matérn 5/2 ARD kernel and
//! learned noise.
//!
//! Targets are standardised (mean 0, sd 1; sd 1 when all ratings are equal)
//! and predictions returned in rating units. With `K = K_f + σn² I`,
//! `L Lᵀ = K` and `α = K⁻¹ y` (Rasmussen & Williams, Algorithm 2.1):
//!
//! * mean `μ(x*) = k*ᵀ α`, latent variance `σ²(x*) = k(x*, x*) − ‖L⁻¹ k*‖²`;
//! * `ln p(y | X, θ) = −½ yᵀα − Σ ln L_ii − (n/2) ln 2π`;
//! * `∂/∂θ_j = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j)` (eq. 5.9).
//!
//! Hyperparameters (`ln ℓ_d`, `ln σf²`, `ln σn²`) are fitted by maximising
//! the log marginal likelihood with projected L-BFGS inside bounds, from
//! several starts. Cholesky retries with growing jitter and then returns
//! [`GpError::NotPositiveDefinite`]; nothing here panics on data.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

use super::kernel::Matern52;
use super::lbfgs;

/// Why a GP could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpError {
    /// No observations.
    #[error("a Gaussian process needs at least one observation")]
    Empty,
    /// Inputs of different lengths, or not matching the hyperparameters.
    #[error("input dimension mismatch: expected {expected}, got {got}")]
    Dimension {
        /// Expected length.
        expected: usize,
        /// Found length.
        got: usize,
    },
    /// The covariance stayed singular even with the largest jitter.
    #[error("covariance matrix is not positive definite (even with jitter {jitter:e})")]
    NotPositiveDefinite {
        /// The largest jitter tried.
        jitter: f64,
    },
    /// Hyperparameter fitting could not evaluate any start.
    #[error("hyperparameter fit failed from every start")]
    FitFailed,
}

/// Kernel and noise hyperparameters, in log space.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hyperparameters {
    /// `ln ℓ_d`, one per input dimension.
    pub log_length_scales: Vec<f64>,
    /// `ln σf²` (standardised units).
    pub log_signal_variance: f64,
    /// `ln σn²` (standardised units).
    pub log_noise_variance: f64,
}

impl Hyperparameters {
    /// A neutral start: ℓ = 0.5, σf² = 1, σn² = 0.1 (ratings are noisy).
    pub fn default_for(dimensions: usize) -> Self {
        Hyperparameters {
            log_length_scales: vec![0.5f64.ln(); dimensions],
            log_signal_variance: 0.0,
            log_noise_variance: 0.1f64.ln(),
        }
    }

    fn to_vec(&self) -> Vec<f64> {
        let mut v = self.log_length_scales.clone();
        v.push(self.log_signal_variance);
        v.push(self.log_noise_variance);
        v
    }

    fn from_slice(v: &[f64]) -> Self {
        let d = v.len() - 2;
        Hyperparameters {
            log_length_scales: v[..d].to_vec(),
            log_signal_variance: v[d],
            log_noise_variance: v[d + 1],
        }
    }

    fn kernel(&self) -> Matern52 {
        Matern52 {
            length_scales: self.log_length_scales.iter().map(|l| l.exp()).collect(),
            signal_variance: self.log_signal_variance.exp(),
        }
    }
}

/// Box bounds on the hyperparameters (natural units, inputs in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HyperBounds {
    /// Length scale range.
    pub length_scale: (f64, f64),
    /// Signal variance range (standardised units).
    pub signal_variance: (f64, f64),
    /// Noise variance range (standardised units).
    pub noise_variance: (f64, f64),
    /// A floor on the noise variance in *target* units (e.g. stars²),
    /// converted to standardised units at fit time: ratings rounded to
    /// whole stars carry at least 1/12 star² of rounding noise.
    pub target_noise_floor: f64,
}

/// Weak log-normal priors on the hyperparameters: the fit maximises
/// `ln p(y | θ) + ln p(θ)` (a MAP estimate). With a dozen noisy whole-star
/// ratings the likelihood alone happily explains everything with tiny length
/// scales and no noise; these priors keep it honest without overriding the
/// data once there is enough of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HyperPrior {
    /// (mean, sd) of `ln ℓ`.
    pub log_length_scale: (f64, f64),
    /// (mean, sd) of `ln σf²`.
    pub log_signal_variance: (f64, f64),
    /// (mean, sd) of `ln σn²`.
    pub log_noise_variance: (f64, f64),
}

impl Default for HyperPrior {
    /// ℓ around a quarter of the range (within ×2 either way at 1 sd), σf²
    /// around 1 and σn² around 0.1 of the rating variance, both loosely.
    ///
    /// Why a quarter: the configured ranges are already the useful part of
    /// each setting, and a render can go from good to poor within a fraction
    /// of one. Centred on half the range, the fit spread a few noisy ratings
    /// over half the box, so the model was sure about regions it had barely
    /// seen and Expected Improvement wrote them off. On the simulated
    /// designers (`examples/diag_optimizer`, 100 seeds each on two seed
    /// sets) a quarter needed no more ratings to reach 4.0 stars (median) on
    /// any of the eleven and fewer on most, above all on narrow peaks
    /// (narrow 33.5 → 26, decoy 32.5 → 25); 0.2–0.3 with a sd of 0.5–1
    /// differed by less than the seed noise. The price: on the two easy
    /// designers the last ten renders average ~0.1 star less.
    fn default() -> Self {
        HyperPrior {
            log_length_scale: (0.25f64.ln(), 0.7),
            log_signal_variance: (0.0, 1.5),
            log_noise_variance: (0.1f64.ln(), 1.5),
        }
    }
}

impl HyperPrior {
    /// `ln p(θ)` up to a constant, and its gradient, for `[ln ℓ.., ln σf², ln σn²]`.
    pub fn log_density(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let d = theta.len() - 2;
        let term =
            |v: f64, (mu, sd): (f64, f64)| (-0.5 * ((v - mu) / sd).powi(2), -(v - mu) / (sd * sd));
        let mut value = 0.0;
        let mut grad = Vec::with_capacity(theta.len());
        for (i, &v) in theta.iter().enumerate() {
            let prior = if i < d {
                self.log_length_scale
            } else if i == d {
                self.log_signal_variance
            } else {
                self.log_noise_variance
            };
            let (lv, lg) = term(v, prior);
            value += lv;
            grad.push(lg);
        }
        (value, grad)
    }
}

impl Default for HyperBounds {
    /// Length scales from 0.05 to 20 (on inputs scaled to [0, 1]), signal
    /// variance 0.05–20, noise variance 1e-4–2: noise may explain anything
    /// from almost nothing to twice the spread of the ratings.
    fn default() -> Self {
        HyperBounds {
            length_scale: (0.05, 20.0),
            signal_variance: (0.05, 20.0),
            noise_variance: (1e-4, 2.0),
            target_noise_floor: 0.0,
        }
    }
}

impl HyperBounds {
    fn boxes(&self, dimensions: usize, y_scale: f64) -> (Vec<f64>, Vec<f64>) {
        let mut lower = vec![self.length_scale.0.ln(); dimensions];
        let mut upper = vec![self.length_scale.1.ln(); dimensions];
        lower.push(self.signal_variance.0.ln());
        upper.push(self.signal_variance.1.ln());
        let floor = self.target_noise_floor / (y_scale * y_scale);
        let noise_low = self
            .noise_variance
            .0
            .max(floor)
            .min(self.noise_variance.1 * 0.5);
        lower.push(noise_low.ln());
        upper.push(self.noise_variance.1.ln());
        (lower, upper)
    }
}

/// A posterior prediction in rating units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Posterior mean of the latent rating.
    pub mean: f64,
    /// Posterior standard deviation of the latent rating (noise excluded).
    pub sd: f64,
}

/// A fitted Gaussian process.
#[derive(Debug, Clone)]
pub struct GaussianProcess {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    y_mean: f64,
    y_scale: f64,
    hyper: Hyperparameters,
    kernel: Matern52,
    chol: Cholesky<f64, Dyn>,
    alpha: DVector<f64>,
}

/// Largest relative jitter added to the diagonal before giving up.
const MAX_JITTER: f64 = 1e-3;

fn check_dimensions(x: &[Vec<f64>], dims: usize) -> Result<(), GpError> {
    match x.iter().find(|row| row.len() != dims) {
        Some(row) => Err(GpError::Dimension {
            expected: dims,
            got: row.len(),
        }),
        None => Ok(()),
    }
}

fn covariance(x: &[Vec<f64>], kernel: &Matern52, noise: f64) -> DMatrix<f64> {
    let n = x.len();
    let mut k = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let v = kernel.value(&x[i], &x[j]);
            k[(i, j)] = v;
            k[(j, i)] = v;
        }
        k[(i, i)] += noise;
    }
    k
}

/// Cholesky of `k`, adding jitter `10^-10 .. MAX_JITTER` times the mean diagonal if needed.
pub(crate) fn cholesky_with_jitter(k: DMatrix<f64>) -> Result<Cholesky<f64, Dyn>, GpError> {
    if let Some(c) = Cholesky::new(k.clone()) {
        return Ok(c);
    }
    let scale = k.diagonal().mean().abs().max(1e-12);
    let mut jitter = 1e-10;
    while jitter <= MAX_JITTER {
        let mut jittered = k.clone();
        for i in 0..jittered.nrows() {
            jittered[(i, i)] += jitter * scale;
        }
        if let Some(c) = Cholesky::new(jittered) {
            return Ok(c);
        }
        jitter *= 10.0;
    }
    Err(GpError::NotPositiveDefinite {
        jitter: MAX_JITTER * scale,
    })
}

/// Mean and scale used to standardise `y`.
fn standardisation(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, if sd > 1e-9 { sd } else { 1.0 })
}

/// Log marginal likelihood of standardised targets and its gradient with
/// respect to `[ln ℓ_1..ln ℓ_D, ln σf², ln σn²]`.
pub fn log_marginal_likelihood(
    x: &[Vec<f64>],
    y_std: &[f64],
    hyper: &Hyperparameters,
) -> Result<(f64, Vec<f64>), GpError> {
    let n = x.len();
    if n == 0 {
        return Err(GpError::Empty);
    }
    let dims = hyper.log_length_scales.len();
    check_dimensions(x, dims)?;
    let kernel = hyper.kernel();
    let noise = hyper.log_noise_variance.exp();
    let chol = cholesky_with_jitter(covariance(x, &kernel, noise))?;
    let y = DVector::from_column_slice(y_std);
    let alpha = chol.solve(&y);
    let log_det_half: f64 = chol.l_dirty().diagonal().iter().map(|v| v.ln()).sum();
    let lml =
        -0.5 * y.dot(&alpha) - log_det_half - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();

    // W = ααᵀ − K⁻¹; gradient_j = ½ Σ_ab W_ab ∂K_ab/∂θ_j.
    let k_inv = chol.inverse();
    let mut grad = vec![0.0; dims + 2];
    let mut dk = vec![0.0; dims];
    for i in 0..n {
        for j in 0..=i {
            let w = alpha[i] * alpha[j] - k_inv[(i, j)];
            let weight = if i == j { 0.5 * w } else { w }; // symmetric pairs counted twice
            let k = kernel.value_and_length_scale_gradient(&x[i], &x[j], &mut dk);
            for d in 0..dims {
                grad[d] += weight * dk[d];
            }
            grad[dims] += weight * k;
            if i == j {
                grad[dims + 1] += weight * noise;
            }
        }
    }
    Ok((lml, grad))
}

impl GaussianProcess {
    /// Conditions a GP with fixed hyperparameters on `(x, y)` (ratings).
    pub fn fit(x: Vec<Vec<f64>>, y: &[f64], hyper: &Hyperparameters) -> Result<Self, GpError> {
        if x.is_empty() {
            return Err(GpError::Empty);
        }
        if x.len() != y.len() {
            return Err(GpError::Dimension {
                expected: x.len(),
                got: y.len(),
            });
        }
        let (y_mean, y_scale) = standardisation(y);
        let y_std: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_scale).collect();
        Self::fit_standardised(x, y_std, y_mean, y_scale, hyper)
    }

    fn fit_standardised(
        x: Vec<Vec<f64>>,
        y_std: Vec<f64>,
        y_mean: f64,
        y_scale: f64,
        hyper: &Hyperparameters,
    ) -> Result<Self, GpError> {
        check_dimensions(&x, hyper.log_length_scales.len())?;
        let kernel = hyper.kernel();
        let chol = cholesky_with_jitter(covariance(&x, &kernel, hyper.log_noise_variance.exp()))?;
        let alpha = chol.solve(&DVector::from_column_slice(&y_std));
        Ok(GaussianProcess {
            x,
            y: y_std,
            y_mean,
            y_scale,
            hyper: hyper.clone(),
            kernel,
            chol,
            alpha,
        })
    }

    /// Fits hyperparameters by maximum marginal likelihood from each start
    /// (plus the default start), keeps the best, and conditions on the data.
    pub fn fit_with_hyperparameter_search(
        x: Vec<Vec<f64>>,
        y: &[f64],
        bounds: &HyperBounds,
        prior: Option<&HyperPrior>,
        starts: &[Hyperparameters],
        max_iterations: usize,
    ) -> Result<Self, GpError> {
        if x.is_empty() {
            return Err(GpError::Empty);
        }
        let dims = x[0].len();
        check_dimensions(&x, dims)?;
        let (y_mean, y_scale) = standardisation(y);
        let y_std: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_scale).collect();
        let (lower, upper) = bounds.boxes(dims, y_scale);
        let mut best: Option<lbfgs::Minimum> = None;
        let default = Hyperparameters::default_for(dims);
        for start in starts.iter().chain(std::iter::once(&default)) {
            if start.log_length_scales.len() != dims {
                continue;
            }
            let objective = |theta: &[f64]| {
                let (mut value, mut grad) =
                    log_marginal_likelihood(&x, &y_std, &Hyperparameters::from_slice(theta))
                        .ok()?;
                if let Some(prior) = prior {
                    let (pv, pg) = prior.log_density(theta);
                    value += pv;
                    grad.iter_mut().zip(pg).for_each(|(g, p)| *g += p);
                }
                Some((-value, grad.into_iter().map(|g| -g).collect()))
            };
            if let Some(m) =
                lbfgs::minimize(objective, &start.to_vec(), &lower, &upper, max_iterations)
                && best.as_ref().is_none_or(|b| m.value < b.value)
            {
                best = Some(m);
            }
        }
        let best = best.ok_or(GpError::FitFailed)?;
        Self::fit_standardised(
            x,
            y_std,
            y_mean,
            y_scale,
            &Hyperparameters::from_slice(&best.x),
        )
    }

    /// The hyperparameters in use.
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyper
    }

    /// Number of conditioning points (observations and fantasies).
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no conditioning points (never true for a built GP).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Log marginal likelihood of the data under the current hyperparameters.
    pub fn log_marginal_likelihood(&self) -> f64 {
        log_marginal_likelihood(&self.x, &self.y, &self.hyper).map_or(f64::NEG_INFINITY, |(l, _)| l)
    }

    /// Posterior mean only, in rating units: O(n) instead of the O(n²)
    /// triangular solve the standard deviation needs.
    pub fn predict_mean(&self, x: &[f64]) -> f64 {
        let mean_std: f64 = self
            .x
            .iter()
            .zip(self.alpha.iter())
            .map(|(xi, a)| self.kernel.value(xi, x) * a)
            .sum();
        self.y_mean + self.y_scale * mean_std
    }

    /// Posterior mean and latent standard deviation at `x`, in rating units.
    pub fn predict(&self, x: &[f64]) -> Prediction {
        let n = self.x.len();
        let k_star = DVector::from_iterator(n, self.x.iter().map(|xi| self.kernel.value(xi, x)));
        let mean_std = k_star.dot(&self.alpha);
        let v = self
            .chol
            .l_dirty()
            .solve_lower_triangular(&k_star)
            .unwrap_or_else(|| DVector::zeros(n));
        let var_std = (self.kernel.signal_variance - v.norm_squared()).max(1e-12);
        Prediction {
            mean: self.y_mean + self.y_scale * mean_std,
            sd: self.y_scale * var_std.sqrt(),
        }
    }

    /// Joint posterior of the latent rating at `points`, in rating units:
    /// the means and the covariance matrix `K** − VᵀV`, `V = L⁻¹K*`
    /// (noise excluded). What a Thompson draw of a function over a
    /// candidate set needs; O(n²m + nm²) for `n` observations, `m` points.
    pub fn predict_joint(&self, points: &[Vec<f64>]) -> (Vec<f64>, DMatrix<f64>) {
        let (n, m) = (self.x.len(), points.len());
        let k_star = DMatrix::from_fn(n, m, |i, j| self.kernel.value(&self.x[i], &points[j]));
        let means = (0..m)
            .map(|j| self.y_mean + self.y_scale * k_star.column(j).dot(&self.alpha))
            .collect();
        let v = self
            .chol
            .l_dirty()
            .solve_lower_triangular(&k_star)
            .unwrap_or_else(|| DMatrix::zeros(n, m));
        let vtv = v.transpose() * &v;
        let scale2 = self.y_scale * self.y_scale;
        let cov = DMatrix::from_fn(m, m, |a, b| {
            scale2 * (self.kernel.value(&points[a], &points[b]) - vtv[(a, b)])
        });
        (means, cov)
    }

    /// The same GP also conditioned on `points` with their current posterior
    /// means as targets ("kriging believer"): predictions there stay put and
    /// the uncertainty around them shrinks, so the next proposal goes elsewhere.
    ///
    /// Each point extends the Cholesky factor by one row in O(n²)
    /// (`l = L⁻¹k`, `d = √(k(x,x) + σn² − ‖l‖²)`) instead of refactorising.
    pub fn with_believed(&self, points: &[Vec<f64>]) -> Result<Self, GpError> {
        let mut gp = self.clone();
        for p in points {
            if p.len() != gp.hyper.log_length_scales.len() {
                return Err(GpError::Dimension {
                    expected: gp.hyper.log_length_scales.len(),
                    got: p.len(),
                });
            }
            let target = (gp.predict(p).mean - gp.y_mean) / gp.y_scale;
            let n = gp.x.len();
            let k = DVector::from_iterator(n, gp.x.iter().map(|xi| gp.kernel.value(xi, p)));
            let l = gp
                .chol
                .l_dirty()
                .solve_lower_triangular(&k)
                .ok_or(GpError::NotPositiveDefinite { jitter: 0.0 })?;
            let noise = gp.hyper.log_noise_variance.exp();
            let diagonal = gp.kernel.signal_variance + noise - l.norm_squared();
            let d = diagonal
                .max(1e-10 * (gp.kernel.signal_variance + noise))
                .sqrt();
            let mut factor = DMatrix::zeros(n + 1, n + 1);
            factor
                .view_mut((0, 0), (n, n))
                .copy_from(&gp.chol.l_dirty().lower_triangle());
            for j in 0..n {
                factor[(n, j)] = l[j];
            }
            factor[(n, n)] = d;
            gp.chol = Cholesky::pack_dirty(factor);
            gp.x.push(p.clone());
            gp.y.push(target);
            gp.alpha = gp.chol.solve(&DVector::from_column_slice(&gp.y));
        }
        Ok(gp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_prediction_agrees_with_pointwise_predictions() {
        let x = vec![vec![0.1, 0.2], vec![0.5, 0.9], vec![0.8, 0.3]];
        let gp =
            GaussianProcess::fit(x, &[1.0, 4.0, 2.5], &Hyperparameters::default_for(2)).unwrap();
        let points = vec![vec![0.2, 0.2], vec![0.6, 0.7], vec![0.95, 0.05]];
        let (means, cov) = gp.predict_joint(&points);
        for (j, p) in points.iter().enumerate() {
            let single = gp.predict(p);
            assert!((means[j] - single.mean).abs() < 1e-9);
            assert!((cov[(j, j)].max(0.0).sqrt() - single.sd).abs() < 1e-6);
        }
        assert!((cov[(0, 1)] - cov[(1, 0)]).abs() < 1e-12);
    }

    fn hyper(ls: f64, sf2: f64, sn2: f64, dims: usize) -> Hyperparameters {
        Hyperparameters {
            log_length_scales: vec![ls.ln(); dims],
            log_signal_variance: sf2.ln(),
            log_noise_variance: sn2.ln(),
        }
    }

    /// With one observation the posterior is closed-form:
    /// μ(x*) = k(x*,x)/(σf²+σn²)·y, σ² = σf² − k(x*,x)²/(σf²+σn²).
    #[test]
    fn one_point_posterior_matches_the_closed_form() {
        // Two observations with y = ±1 standardise to ±1 exactly; use them far
        // apart so each acts alone near itself.
        let h = hyper(0.2, 1.0, 0.25, 1);
        let gp = GaussianProcess::fit(vec![vec![0.0], vec![100.0]], &[2.0, 4.0], &h).unwrap();
        let k = Matern52 {
            length_scales: vec![0.2],
            signal_variance: 1.0,
        };
        let x_star = [0.1];
        let kxs = k.value(&x_star, &[0.0]);
        let mean_std = -(kxs / 1.25); // y_std of the first point is −1
        let var_std = 1.0 - kxs * kxs / 1.25;
        let p = gp.predict(&x_star);
        assert!((p.mean - (3.0 + 1.0 * mean_std)).abs() < 1e-9, "{p:?}");
        assert!((p.sd - var_std.sqrt()).abs() < 1e-9, "{p:?}");
    }

    /// A 2-point problem solved by hand: K = [[s+n, c], [c, s+n]],
    /// α = K⁻¹y, μ* = k*ᵀα, σ*² = s − k*ᵀK⁻¹k*.
    #[test]
    fn two_point_posterior_matches_hand_computation() {
        let h = hyper(0.7, 1.3, 0.1, 2);
        let xs = vec![vec![0.2, 0.3], vec![0.6, 0.9]];
        let gp = GaussianProcess::fit(xs.clone(), &[1.0, 5.0], &h).unwrap(); // standardises to ∓1
        let k = h.kernel();
        let (s, n, c) = (1.3, 0.1, k.value(&xs[0], &xs[1]));
        let det = (s + n) * (s + n) - c * c;
        let inv = [[(s + n) / det, -c / det], [-c / det, (s + n) / det]];
        let y = [-1.0, 1.0];
        let alpha = [
            inv[0][0] * y[0] + inv[0][1] * y[1],
            inv[1][0] * y[0] + inv[1][1] * y[1],
        ];
        let x_star = [0.5, 0.5];
        let ks = [k.value(&x_star, &xs[0]), k.value(&x_star, &xs[1])];
        let mean = ks[0] * alpha[0] + ks[1] * alpha[1];
        let quad = ks[0] * (inv[0][0] * ks[0] + inv[0][1] * ks[1])
            + ks[1] * (inv[1][0] * ks[0] + inv[1][1] * ks[1]);
        let p = gp.predict(&x_star);
        assert!((p.mean - (3.0 + 2.0 * mean)).abs() < 1e-9);
        assert!((p.sd - 2.0 * (s - quad).sqrt()).abs() < 1e-9);
    }

    fn sample_data() -> (Vec<Vec<f64>>, Vec<f64>) {
        let x: Vec<Vec<f64>> = (0..12)
            .map(|i| {
                let t = i as f64 / 11.0;
                vec![t, (t * 7.3).fract(), (t * 3.1 + 0.2).fract()]
            })
            .collect();
        let y = x
            .iter()
            .map(|p| 3.0 + (4.0 * p[0]).sin() - 2.0 * (p[1] - 0.6).powi(2) + 0.1 * p[2])
            .collect();
        (x, y)
    }

    #[test]
    fn marginal_likelihood_gradient_matches_finite_differences() {
        let (x, y) = sample_data();
        let (m, s) = standardisation(&y);
        let y_std: Vec<f64> = y.iter().map(|v| (v - m) / s).collect();
        let h = Hyperparameters {
            log_length_scales: vec![-0.3, 0.4, 1.1],
            log_signal_variance: 0.2,
            log_noise_variance: -2.0,
        };
        let (_, grad) = log_marginal_likelihood(&x, &y_std, &h).unwrap();
        let theta = h.to_vec();
        for j in 0..theta.len() {
            let eps = 1e-5;
            let mut plus = theta.clone();
            plus[j] += eps;
            let mut minus = theta.clone();
            minus[j] -= eps;
            let f = |t: &[f64]| {
                log_marginal_likelihood(&x, &y_std, &Hyperparameters::from_slice(t))
                    .unwrap()
                    .0
            };
            let numeric = (f(&plus) - f(&minus)) / (2.0 * eps);
            assert!(
                (numeric - grad[j]).abs() < 1e-5 * (1.0 + numeric.abs()),
                "θ{j}: {numeric} vs {}",
                grad[j]
            );
        }
    }

    #[test]
    fn hyperparameter_search_improves_the_likelihood_and_stays_in_bounds() {
        let (x, y) = sample_data();
        let bounds = HyperBounds::default();
        let start = GaussianProcess::fit(x.clone(), &y, &Hyperparameters::default_for(3)).unwrap();
        let fitted =
            GaussianProcess::fit_with_hyperparameter_search(x, &y, &bounds, None, &[], 100)
                .unwrap();
        assert!(fitted.log_marginal_likelihood() >= start.log_marginal_likelihood());
        let h = fitted.hyperparameters();
        for l in &h.log_length_scales {
            assert!(l.exp() >= 0.05 - 1e-12 && l.exp() <= 20.0 + 1e-9);
        }
        assert!(h.log_noise_variance.exp() >= 1e-4 - 1e-15);
        // The smooth function is interpolated closely at a training point.
        let p = fitted.predict(&[0.0, 0.0, 0.2]);
        assert!((p.mean - (3.0 - 2.0 * 0.36 + 0.02)).abs() < 0.2, "{p:?}");
    }

    #[test]
    fn prior_gradient_matches_finite_differences_and_peaks_at_its_means() {
        let prior = HyperPrior::default();
        let theta = [-0.2, 1.3, 0.4, -3.0];
        let (_, grad) = prior.log_density(&theta);
        for j in 0..theta.len() {
            let eps = 1e-6;
            let mut plus = theta;
            plus[j] += eps;
            let mut minus = theta;
            minus[j] -= eps;
            let numeric = (prior.log_density(&plus).0 - prior.log_density(&minus).0) / (2.0 * eps);
            assert!((numeric - grad[j]).abs() < 1e-6);
        }
        let at_means = [0.25f64.ln(), 0.25f64.ln(), 0.0, 0.1f64.ln()];
        assert!(prior.log_density(&at_means).0.abs() < 1e-12);
    }

    #[test]
    fn noise_floor_keeps_whole_star_ratings_noisy() {
        let (x, y) = sample_data();
        let y: Vec<f64> = y.iter().map(|v| v.round()).collect();
        let bounds = HyperBounds {
            target_noise_floor: 1.0 / 12.0,
            ..HyperBounds::default()
        };
        let gp = GaussianProcess::fit_with_hyperparameter_search(
            x,
            &y,
            &bounds,
            Some(&HyperPrior::default()),
            &[],
            60,
        )
        .unwrap();
        let (_, scale) = standardisation(&y);
        let noise_stars = gp.hyperparameters().log_noise_variance.exp() * scale * scale;
        assert!(noise_stars >= 1.0 / 12.0 - 1e-9, "{noise_stars}");
    }

    #[test]
    fn duplicate_points_do_not_break_the_cholesky() {
        let x = vec![vec![0.5, 0.5]; 30];
        let y: Vec<f64> = (0..30).map(|i| (i % 5 + 1) as f64).collect();
        let h = hyper(0.5, 1.0, 1e-4, 2);
        let gp = GaussianProcess::fit(x, &y, &h).unwrap();
        assert!(gp.predict(&[0.5, 0.5]).mean.is_finite());
    }

    #[test]
    fn believed_points_keep_their_mean_and_lose_uncertainty() {
        let (x, y) = sample_data();
        let gp = GaussianProcess::fit(x, &y, &hyper(0.3, 1.0, 0.05, 3)).unwrap();
        let p = vec![0.9, 0.1, 0.9];
        let before = gp.predict(&p);
        let after = gp
            .with_believed(std::slice::from_ref(&p))
            .unwrap()
            .predict(&p);
        assert!((after.mean - before.mean).abs() < 0.05 * before.sd.max(1e-3) + 1e-6);
        assert!(after.sd < before.sd);
    }

    #[test]
    fn incremental_believer_matches_refitting_from_scratch() {
        let (x, y) = sample_data();
        let h = hyper(0.3, 1.0, 0.05, 3);
        let gp = GaussianProcess::fit(x, &y, &h).unwrap();
        let extra = vec![vec![0.9, 0.1, 0.9], vec![0.2, 0.8, 0.4]];
        let fast = gp.with_believed(&extra).unwrap();
        // Refit from scratch on the same (standardised) targets.
        let mut xs = gp.x.clone();
        let mut ys = gp.y.clone();
        let mut step = gp.clone();
        for p in &extra {
            let t = (step.predict(p).mean - gp.y_mean) / gp.y_scale;
            xs.push(p.clone());
            ys.push(t);
            step = GaussianProcess::fit_standardised(
                xs.clone(),
                ys.clone(),
                gp.y_mean,
                gp.y_scale,
                &h,
            )
            .unwrap();
        }
        for q in [[0.5, 0.5, 0.5], [0.85, 0.15, 0.85], [0.1, 0.9, 0.3]] {
            let (a, b) = (fast.predict(&q), step.predict(&q));
            assert!(
                (a.mean - b.mean).abs() < 1e-8 && (a.sd - b.sd).abs() < 1e-8,
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let h = Hyperparameters::default_for(2);
        assert_eq!(
            GaussianProcess::fit(vec![], &[], &h).err(),
            Some(GpError::Empty)
        );
        assert!(matches!(
            GaussianProcess::fit(vec![vec![0.1]], &[3.0], &h),
            Err(GpError::Dimension { .. })
        ));
    }
}
