//! The acquisition functions and their maximisation over the unit cube.
//!
//! For maximisation with posterior mean μ, sd σ, incumbent f⁺ and margin ξ:
//! `EI = (μ − f⁺ − ξ)·Φ(z) + σ·φ(z)`, `z = (μ − f⁺ − ξ)/σ` (Jones, Schonlau
//! and Welch 1998); `EI = max(μ − f⁺ − ξ, 0)` when σ = 0.
//!
//! For a pair shown side by side, the expected utility of the best option
//! (EUBO, Lin et al. 2022; BoTorch's `qExpectedUtilityOfBestOption`):
//! `E[max(f₁, f₂)]` under their joint normal posterior, in closed form
//! (Clark 1961): `μ₁Φ(α) + μ₂Φ(−α) + θφ(α)`, `θ² = σ₁² + σ₂² − 2σ₁₂`,
//! `α = (μ₁ − μ₂)/θ`.

use rand::Rng;

use super::design::latin_hypercube;

/// Standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function, accurate in both tails (via erfc).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Expected Improvement of a point with posterior `mean` and `sd` over
/// `incumbent`, with exploration margin `xi` (all in rating units).
pub fn expected_improvement(mean: f64, sd: f64, incumbent: f64, xi: f64) -> f64 {
    let improvement = mean - incumbent - xi;
    if sd <= 1e-12 {
        return improvement.max(0.0);
    }
    let z = improvement / sd;
    (improvement * normal_cdf(z) + sd * normal_pdf(z)).max(0.0)
}

/// The expected utility of the best of two options, `E[max(f₁, f₂)]`, for
/// `(f₁, f₂)` jointly normal with means `mean`, variances `var` and
/// covariance `cov` (Clark 1961). `θ` is the sd of `f₁ − f₂`: where the
/// two are perfectly correlated (θ = 0) the better mean is certain.
pub fn expected_best_of_two(mean: [f64; 2], var: [f64; 2], cov: f64) -> f64 {
    let theta2 = var[0] + var[1] - 2.0 * cov;
    if theta2 <= 1e-18 {
        return mean[0].max(mean[1]);
    }
    let theta = theta2.sqrt();
    let alpha = (mean[0] - mean[1]) / theta;
    mean[0] * normal_cdf(alpha) + mean[1] * normal_cdf(-alpha) + theta * normal_pdf(alpha)
}

/// Maximises `f` over `[0, 1]^3`: `candidates` Latin-hypercube points plus
/// `seeds` (e.g. the best observed points), then a compass (pattern) search
/// from the best `refine` of them. Returns the best point and its value.
pub fn maximize_on_unit_cube<R: Rng + ?Sized>(
    f: &dyn Fn([f64; 3]) -> f64,
    seeds: &[[f64; 3]],
    candidates: usize,
    refine: usize,
    rng: &mut R,
) -> ([f64; 3], f64) {
    let mut scored: Vec<([f64; 3], f64)> = latin_hypercube::<3, _>(candidates, rng)
        .into_iter()
        .chain(seeds.iter().copied())
        .map(|p| (p, f(p)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(refine.max(1));
    scored
        .into_iter()
        .map(|(p, v)| compass_search(f, p, v))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(([0.5; 3], f64::NEG_INFINITY))
}

/// Coordinate pattern search inside the unit cube: try ± step along each
/// axis, move on improvement, halve the step otherwise (Torczon 1997).
fn compass_search(f: &dyn Fn([f64; 3]) -> f64, mut x: [f64; 3], mut fx: f64) -> ([f64; 3], f64) {
    let mut step = 0.1;
    while step > 2e-3 {
        let mut moved = false;
        for d in 0..3 {
            for sign in [1.0, -1.0] {
                let mut trial = x;
                trial[d] = (trial[d] + sign * step).clamp(0.0, 1.0);
                if trial[d] == x[d] {
                    continue;
                }
                let ft = f(trial);
                if ft > fx {
                    x = trial;
                    fx = ft;
                    moved = true;
                }
            }
        }
        if !moved {
            step *= 0.5;
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn normal_functions_match_reference_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(1.96) - 0.975_002_104_851_780).abs() < 1e-12);
        assert!((normal_cdf(-8.0) - 6.220_960_574_271_78e-16).abs() < 1e-27);
        assert!((normal_pdf(1.0) - 0.241_970_724_519_143_37).abs() < 1e-15);
    }

    #[test]
    fn expected_improvement_matches_its_closed_form() {
        // μ = f⁺ + ξ: z = 0, EI = σ·φ(0) = σ/√(2π).
        let ei = expected_improvement(3.5, 0.8, 3.4, 0.1);
        assert!((ei - 0.8 / (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-12);
        // A hand-computed point: μ=4, σ=0.5, f⁺=3.5, ξ=0 → z=1,
        // EI = 0.5·Φ(1) + 0.5·φ(1) = 0.5·0.841344746 + 0.5·0.241970725.
        let ei = expected_improvement(4.0, 0.5, 3.5, 0.0);
        assert!((ei - (0.5 * 0.841_344_746_068_543 + 0.5 * 0.241_970_724_519_143)).abs() < 1e-12);
        // No uncertainty: the plain improvement, never negative.
        assert_eq!(expected_improvement(4.0, 0.0, 3.0, 0.0), 1.0);
        assert_eq!(expected_improvement(2.0, 0.0, 3.0, 0.0), 0.0);
        // More uncertainty never lowers EI.
        assert!(
            expected_improvement(3.0, 1.0, 3.5, 0.01) > expected_improvement(3.0, 0.5, 3.5, 0.01)
        );
    }

    #[test]
    fn expected_best_of_two_matches_known_values_and_monte_carlo() {
        use rand_distr::{Distribution, StandardNormal};
        // Two independent standard normals: E[max] = 1/√π.
        let v = expected_best_of_two([0.0, 0.0], [1.0, 1.0], 0.0);
        assert!((v - 1.0 / std::f64::consts::PI.sqrt()).abs() < 1e-12, "{v}");
        // Equal means: E[max] = μ + θ·φ(0), θ² = σ₁² + σ₂² − 2σ₁₂.
        let v = expected_best_of_two([3.0, 3.0], [0.25, 0.16], 0.1);
        let theta = (0.25f64 + 0.16 - 0.2).sqrt();
        assert!((v - (3.0 + theta / (2.0 * std::f64::consts::PI).sqrt())).abs() < 1e-12);
        // Perfectly correlated with equal variances: the better mean, surely.
        assert_eq!(expected_best_of_two([4.2, 3.1], [0.3, 0.3], 0.3), 4.2);
        // Symmetric in the two options.
        let a = expected_best_of_two([4.0, 3.2], [0.04, 0.5], 0.05);
        let b = expected_best_of_two([3.2, 4.0], [0.5, 0.04], 0.05);
        assert!((a - b).abs() < 1e-12);
        // Against Monte Carlo on a correlated pair: f₁ = μ₁ + σ₁z₁,
        // f₂ = μ₂ + σ₂(ρz₁ + √(1 − ρ²)z₂).
        let (m1, m2, s1, s2, rho) = (4.1_f64, 3.7_f64, 0.3_f64, 0.8_f64, 0.4_f64);
        let mut rng = StdRng::seed_from_u64(9);
        let n = 400_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let z1: f64 = StandardNormal.sample(&mut rng);
            let z2: f64 = StandardNormal.sample(&mut rng);
            let f1 = m1 + s1 * z1;
            let f2 = m2 + s2 * (rho * z1 + (1.0 - rho * rho).sqrt() * z2);
            sum += f1.max(f2);
        }
        let mc = sum / f64::from(n);
        let closed = expected_best_of_two([m1, m2], [s1 * s1, s2 * s2], rho * s1 * s2);
        // The MC standard error is about 0.0012 here.
        assert!((mc - closed).abs() < 0.005, "MC {mc} against {closed}");
        // Never below the better mean (Jensen), and above it with uncertainty.
        assert!(closed > m1);
    }

    #[test]
    fn eubo_picks_the_alternative_a_comparison_teaches_most_about_in_1d() {
        use nalgebra::{Cholesky, DMatrix, DVector};
        use rand_distr::{Distribution, StandardNormal};
        // A hand-made 1-D GP (squared exponential, length 0.1, unit signal
        // variance, noise 0.1, prior mean 3): three good ratings at the
        // left edge, one mediocre far right. A is the best posterior mean.
        let (xs, ys) = ([0.0, 0.02, 0.04, 0.8], [4.4, 4.6, 4.4, 3.8]);
        let k = |a: f64, b: f64| (-(a - b).powi(2) / (2.0 * 0.01)).exp();
        let n = xs.len();
        let kxx = DMatrix::from_fn(n, n, |i, j| {
            k(xs[i], xs[j]) + if i == j { 0.1 } else { 0.0 }
        });
        let chol = Cholesky::new(kxx).unwrap();
        let grid: Vec<f64> = (0..=50).map(|i| f64::from(i) / 50.0).collect();
        let m = grid.len();
        let ks = DMatrix::from_fn(n, m, |i, j| k(xs[i], grid[j]));
        let alpha = chol.solve(&DVector::from_fn(n, |i, _| ys[i] - 3.0));
        let mean: Vec<f64> = (0..m).map(|j| 3.0 + ks.column(j).dot(&alpha)).collect();
        let cov =
            DMatrix::from_fn(m, m, |a, b| k(grid[a], grid[b])) - ks.transpose() * chol.solve(&ks);
        let argmax = |v: &[f64]| (0..v.len()).max_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap();
        let a = argmax(&mean);
        assert_eq!(grid[a], 0.02);
        let eubo: Vec<f64> = (0..m)
            .map(|j| {
                expected_best_of_two([mean[a], mean[j]], [cov[(a, a)], cov[(j, j)]], cov[(a, j)])
            })
            .collect();
        let b = argmax(&eubo);
        // A copy of A teaches nothing: E[max(f(A), f(A))] = μ_A, although
        // A's own marginal EI over μ_A is σ_A·φ(0) ≈ 0.07.
        assert_eq!(eubo[a], mean[a]);
        // B (computed in Python from the same formulas: 0.10) is past the
        // rated points, where the posterior is still wide but not yet
        // lower than the far mediocre region.
        assert!((grid[b] - 0.10).abs() < 1e-9, "B at {}", grid[b]);
        // Monte Carlo on joint draws of the whole grid (common random
        // numbers) agrees on where E[max(f(A), f(B))] peaks and its value.
        let jittered = &cov + DMatrix::identity(m, m) * 1e-9;
        let l = Cholesky::new(jittered).unwrap().l();
        let mut rng = StdRng::seed_from_u64(21);
        let draws = 20_000;
        let mut sums = vec![0.0; m];
        for _ in 0..draws {
            let z = DVector::from_fn(m, |_, _| -> f64 { StandardNormal.sample(&mut rng) });
            let f = &l * z;
            for (j, sum) in sums.iter_mut().enumerate() {
                *sum += (mean[a] + f[a]).max(mean[j] + f[j]);
            }
        }
        let mc: Vec<f64> = sums.iter().map(|s| s / f64::from(draws)).collect();
        let mc_b = argmax(&mc);
        assert!(
            (grid[mc_b] - grid[b]).abs() <= 0.021,
            "MC peak at {}",
            grid[mc_b]
        );
        assert!(
            (mc[b] - eubo[b]).abs() < 0.01,
            "MC {} against {}",
            mc[b],
            eubo[b]
        );
    }

    #[test]
    fn maximizer_finds_an_interior_optimum() {
        let target = [0.23, 0.71, 0.58];
        let f = |p: [f64; 3]| {
            -p.iter()
                .zip(target)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
        };
        let mut rng = StdRng::seed_from_u64(3);
        let (best, value) = maximize_on_unit_cube(&f, &[], 64, 3, &mut rng);
        for d in 0..3 {
            assert!((best[d] - target[d]).abs() < 0.01, "{best:?}");
        }
        assert!(value > -3e-4);
    }
}
