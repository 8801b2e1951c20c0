//! Expected Improvement and its maximisation over the unit cube.
//!
//! For maximisation with posterior mean μ, sd σ, incumbent f⁺ and margin ξ:
//! `EI = (μ − f⁺ − ξ)·Φ(z) + σ·φ(z)`, `z = (μ − f⁺ − ξ)/σ` (Jones, Schonlau
//! and Welch 1998); `EI = max(μ − f⁺ − ξ, 0)` when σ = 0.

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
