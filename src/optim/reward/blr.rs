//! Bayesian linear regression from sufficient statistics: the closed-form
//! posterior, the log evidence and its maximisation over the prior
//! precision `α` and the noise precision `β` (type-II maximum likelihood).
//!
//! Model (Bishop, *PRML* §3.3–3.5): `y = wᵀφ + ε`, `w ~ N(0, α⁻¹I)`,
//! `ε ~ N(0, β⁻¹)`. With `G = ΦᵀΦ`, `h = Φᵀy`:
//!
//! * posterior `A = αI + βG`, `S = A⁻¹`, `m = β S h` (PRML 3.53–3.54);
//! * log evidence (PRML 3.86)
//!   `ln p(y|α,β) = p/2 ln α + n/2 ln β − β/2‖y − Φm‖² − α/2 mᵀm − ½ ln|A| − n/2 ln 2π`;
//! * with `μᵢ` the eigenvalues of `G` and `γ = Σ βμᵢ/(α + βμᵢ)` (the
//!   effective number of parameters) its gradient in log coordinates is
//!   `∂/∂ln α = ½(γ − α mᵀm)` and `∂/∂ln β = ½(n − γ − β‖y − Φm‖²)`, whose
//!   zeros are MacKay's fixed point `α = γ/mᵀm`, `β = (n − γ)/‖y − Φm‖²`
//!   (PRML 3.92, 3.95).
//!
//! Only `G`, `h`, `yᵀy` and `n` are kept, so adding a rating is a rank-one
//! update of `G` whose cost does not grow with the number of ratings; one
//! eigendecomposition of `G` then serves every `(α, β)`.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Sufficient statistics of a regression: `ΦᵀΦ`, `Φᵀy`, `yᵀy`, `n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// `ΦᵀΦ`.
    pub gram: DMatrix<f64>,
    /// `Φᵀy`.
    pub moment: DVector<f64>,
    /// `yᵀy`.
    pub yy: f64,
    /// Observations added.
    pub n: usize,
}

impl Statistics {
    /// No observations over `p` basis functions.
    pub fn new(p: usize) -> Self {
        Statistics {
            gram: DMatrix::zeros(p, p),
            moment: DVector::zeros(p),
            yy: 0.0,
            n: 0,
        }
    }

    /// Adds one row `φ` with target `y` (a rank-one update).
    pub fn add(&mut self, phi: &DVector<f64>, y: f64) {
        self.gram.ger(1.0, phi, phi, 1.0);
        self.moment.axpy(y, phi, 1.0);
        self.yy += y * y;
        self.n += 1;
    }

    /// Number of basis functions.
    pub fn dims(&self) -> usize {
        self.moment.len()
    }
}

/// `G`'s eigendecomposition with `h` in its basis: every quantity of the
/// posterior for any `(α, β)` in O(p).
#[derive(Debug, Clone)]
pub struct Spectrum {
    eigenvalues: DVector<f64>,
    eigenvectors: DMatrix<f64>,
    /// `Qᵀh`.
    projected: DVector<f64>,
    yy: f64,
    n: usize,
}

/// What the posterior mean implies for given `(α, β)`.
struct AtHyper {
    /// Posterior mean in `G`'s eigenbasis.
    mean: DVector<f64>,
    /// `mᵀm`.
    mm: f64,
    /// `‖y − Φm‖²`.
    residual: f64,
    /// Effective number of parameters.
    gamma: f64,
    /// `ln|A|`.
    log_det: f64,
}

impl Spectrum {
    /// Decomposes the statistics' Gram matrix.
    pub fn of(stats: &Statistics) -> Self {
        let eigen = SymmetricEigen::new(stats.gram.clone());
        let eigenvalues = eigen.eigenvalues.map(|v| v.max(0.0));
        let projected = eigen.eigenvectors.transpose() * &stats.moment;
        Spectrum {
            eigenvalues,
            eigenvectors: eigen.eigenvectors,
            projected,
            yy: stats.yy,
            n: stats.n,
        }
    }

    fn at(&self, alpha: f64, beta: f64) -> AtHyper {
        let p = self.eigenvalues.len();
        let mut mean = DVector::zeros(p);
        let (mut mm, mut fit, mut quad, mut gamma, mut log_det) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..p {
            let mu = self.eigenvalues[i];
            let a = alpha + beta * mu;
            let m = beta * self.projected[i] / a;
            mean[i] = m;
            mm += m * m;
            fit += m * self.projected[i];
            quad += mu * m * m;
            gamma += beta * mu / a;
            log_det += a.ln();
        }
        AtHyper {
            mean,
            mm,
            residual: (self.yy - 2.0 * fit + quad).max(0.0),
            gamma,
            log_det,
        }
    }

    /// Log evidence `ln p(y | α, β)` (PRML 3.86).
    pub fn log_evidence(&self, alpha: f64, beta: f64) -> f64 {
        let at = self.at(alpha, beta);
        let (p, n) = (self.eigenvalues.len() as f64, self.n as f64);
        0.5 * p * alpha.ln() + 0.5 * n * beta.ln()
            - 0.5 * beta * at.residual
            - 0.5 * alpha * at.mm
            - 0.5 * at.log_det
            - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
    }

    /// Gradient of the log evidence in `(ln α, ln β)`.
    pub fn log_evidence_gradient(&self, alpha: f64, beta: f64) -> [f64; 2] {
        let at = self.at(alpha, beta);
        [
            0.5 * (at.gamma - alpha * at.mm),
            0.5 * (self.n as f64 - at.gamma - beta * at.residual),
        ]
    }

    /// The `(α, β)` that maximise the evidence, by MacKay's fixed-point
    /// iteration from `start`, kept inside `[1e-6, 1e6]` each (a flat
    /// direction, e.g. noise-free data, stops at the bound instead of
    /// running away).
    pub fn maximise_evidence(&self, start: (f64, f64)) -> (f64, f64) {
        const LOW: f64 = 1e-6;
        const HIGH: f64 = 1e6;
        let (mut alpha, mut beta) = start;
        for _ in 0..500 {
            let at = self.at(alpha, beta);
            let next_alpha = (at.gamma / at.mm.max(1e-300)).clamp(LOW, HIGH);
            let dof = (self.n as f64 - at.gamma).max(1e-9);
            let next_beta = (dof / at.residual.max(1e-300)).clamp(LOW, HIGH);
            let moved = (next_alpha / alpha).ln().abs() + (next_beta / beta).ln().abs();
            alpha = next_alpha;
            beta = next_beta;
            if moved < 1e-9 {
                break;
            }
        }
        (alpha, beta)
    }

    /// The posterior `N(m, S)` at `(α, β)`.
    pub fn posterior(&self, alpha: f64, beta: f64) -> Posterior {
        let at = self.at(alpha, beta);
        let q = &self.eigenvectors;
        let mean = q * &at.mean;
        let inverse = self.eigenvalues.map(|mu| 1.0 / (alpha + beta * mu));
        let covariance = q * DMatrix::from_diagonal(&inverse) * q.transpose();
        Posterior {
            mean,
            covariance,
            alpha,
            beta,
        }
    }
}

/// The Gaussian posterior over the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// `m`.
    pub mean: DVector<f64>,
    /// `S`.
    pub covariance: DMatrix<f64>,
    /// Prior precision it was computed with.
    pub alpha: f64,
    /// Noise precision it was computed with.
    pub beta: f64,
}

impl Posterior {
    /// Predictive mean `mᵀφ` and the variance of that mean `φᵀSφ` (without
    /// the noise `1/β`).
    pub fn predict(&self, phi: &DVector<f64>) -> (f64, f64) {
        let mean = self.mean.dot(phi);
        let variance = (&self.covariance * phi).dot(phi).max(0.0);
        (mean, variance)
    }

    /// Conditions on one more row with the same `(α, β)`, by
    /// Sherman–Morrison: `S' = S − β SφφᵀS / (1 + β φᵀSφ)`,
    /// `m' = m + β S'φ (y − mᵀφ)`.
    pub fn observe(&mut self, phi: &DVector<f64>, y: f64) {
        let s_phi = &self.covariance * phi;
        let denominator = 1.0 + self.beta * s_phi.dot(phi);
        self.covariance
            .ger(-self.beta / denominator, &s_phi, &s_phi, 1.0);
        let residual = y - self.mean.dot(phi);
        let gain = &self.covariance * phi;
        self.mean.axpy(self.beta * residual, &gain, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(rows: &[Vec<f64>], y: &[f64]) -> Statistics {
        let mut s = Statistics::new(rows[0].len());
        for (r, &t) in rows.iter().zip(y) {
            s.add(&DVector::from_vec(r.clone()), t);
        }
        s
    }

    #[test]
    fn posterior_matches_the_closed_form_solved_by_hand() {
        // Φ = [[1,0],[1,1],[1,2]], y = [1,2,2], α = 1, β = 2.
        // A = I + 2·[[3,3],[3,5]] = [[7,6],[6,11]], |A| = 77 − 36 = 41,
        // S = [[11,−6],[−6,7]]/41, βΦᵀy = 2·[5,6] = [10,12],
        // m = S·[10,12] = [(110 − 72)/41, (−60 + 84)/41] = [38/41, 24/41].
        let rows = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
        let post = Spectrum::of(&stats_of(&rows, &[1.0, 2.0, 2.0])).posterior(1.0, 2.0);
        let expected_mean = [38.0 / 41.0, 24.0 / 41.0];
        let expected_cov = [[11.0 / 41.0, -6.0 / 41.0], [-6.0 / 41.0, 7.0 / 41.0]];
        for (i, row) in expected_cov.iter().enumerate() {
            assert!((post.mean[i] - expected_mean[i]).abs() < 1e-12);
            for (j, value) in row.iter().enumerate() {
                assert!((post.covariance[(i, j)] - value).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn log_evidence_equals_the_marginal_gaussian_density() {
        // y ~ N(0, α⁻¹ΦΦᵀ + β⁻¹I): evaluated directly with a 3×3 Cholesky.
        let rows = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
        let y = [1.0, 2.0, 2.0];
        let (alpha, beta) = (0.7, 1.9);
        let phi = DMatrix::from_fn(3, 2, |i, j| rows[i][j]);
        let cov: DMatrix<f64> = &phi * phi.transpose() / alpha + DMatrix::identity(3, 3) / beta;
        let chol = cov.clone().cholesky().unwrap();
        let yv = DVector::from_row_slice(&y);
        let quad = yv.dot(&chol.solve(&yv));
        let direct =
            -0.5 * quad - 0.5 * cov.determinant().ln() - 1.5 * (2.0 * std::f64::consts::PI).ln();
        let via = Spectrum::of(&stats_of(&rows, &y)).log_evidence(alpha, beta);
        assert!((direct - via).abs() < 1e-10, "{direct} vs {via}");
    }

    fn noisy_line(n: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        // Deterministic pseudo-noise: no RNG needed to make the point.
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let x = i as f64 / n as f64;
                vec![1.0, x, (3.0 * x).sin()]
            })
            .collect();
        let y = rows
            .iter()
            .enumerate()
            .map(|(i, r)| 0.5 + 2.0 * r[1] - r[2] + 0.3 * ((i * 7919 % 101) as f64 / 50.0 - 1.0))
            .collect();
        (rows, y)
    }

    #[test]
    fn evidence_gradient_matches_finite_differences() {
        let (rows, y) = noisy_line(40);
        let spectrum = Spectrum::of(&stats_of(&rows, &y));
        let (la, lb) = (0.3f64, 1.1f64);
        let g = spectrum.log_evidence_gradient(la.exp(), lb.exp());
        let h = 1e-5;
        let f = |a: f64, b: f64| spectrum.log_evidence(a.exp(), b.exp());
        let da = (f(la + h, lb) - f(la - h, lb)) / (2.0 * h);
        let db = (f(la, lb + h) - f(la, lb - h)) / (2.0 * h);
        assert!((g[0] - da).abs() < 1e-5, "{} vs {da}", g[0]);
        assert!((g[1] - db).abs() < 1e-5, "{} vs {db}", g[1]);
    }

    #[test]
    fn maximised_evidence_beats_every_point_of_a_fine_grid() {
        let (rows, y) = noisy_line(40);
        let spectrum = Spectrum::of(&stats_of(&rows, &y));
        let (alpha, beta) = spectrum.maximise_evidence((1.0, 1.0));
        let best = spectrum.log_evidence(alpha, beta);
        let mut grid_best = f64::NEG_INFINITY;
        let mut grid_at = (0.0, 0.0);
        for i in 0..=120 {
            for j in 0..=120 {
                let (a, b) = ((-6.0 + 0.1 * i as f64).exp(), (-3.0 + 0.1 * j as f64).exp());
                let v = spectrum.log_evidence(a, b);
                if v > grid_best {
                    grid_best = v;
                    grid_at = (a, b);
                }
            }
        }
        assert!(best >= grid_best - 1e-9, "{best} < {grid_best}");
        // And the grid's best lies within one grid step of the optimum.
        assert!((grid_at.0.ln() - alpha.ln()).abs() <= 0.1);
        assert!((grid_at.1.ln() - beta.ln()).abs() <= 0.1);
        let g = spectrum.log_evidence_gradient(alpha, beta);
        assert!(g[0].abs() < 1e-6 && g[1].abs() < 1e-6, "{g:?}");
    }

    #[test]
    fn sherman_morrison_update_equals_refitting_with_the_row() {
        let (rows, y) = noisy_line(30);
        let mut stats = stats_of(&rows[..29], &y[..29]);
        let mut post = Spectrum::of(&stats).posterior(0.8, 3.0);
        let last = DVector::from_vec(rows[29].clone());
        post.observe(&last, y[29]);
        stats.add(&last, y[29]);
        let refit = Spectrum::of(&stats).posterior(0.8, 3.0);
        assert!((post.mean - refit.mean).amax() < 1e-10);
        assert!((post.covariance - refit.covariance).amax() < 1e-10);
    }
}
