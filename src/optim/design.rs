//! Space-filling designs on the unit cube, and the exclusion zones that keep
//! exploration away from points already tried.
//!
//! The initial design is a property of every point proposed so far, not of
//! one call: [`next_design_point`] extends whatever has been proposed (rated
//! or pending) into a Latin hypercube, so suggestions asked one at a time
//! end up as well spread as a batch.

use rand::RngExt;
use rand::seq::SliceRandom;

/// A Latin hypercube sample of `n` points in `[0, 1]^D`: in every dimension
/// each of the `n` equal strata holds exactly one point (McKay, Beckman and
/// Conover, 1979), so even a batch of two spreads across the range.
pub fn latin_hypercube<const D: usize, R: rand::Rng + ?Sized>(
    n: usize,
    rng: &mut R,
) -> Vec<[f64; D]> {
    let mut points = vec![[0.0; D]; n];
    for d in 0..D {
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(rng);
        for (point, stratum) in points.iter_mut().zip(strata) {
            point[d] = (stratum as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    points
}

/// The next point of an `n`-point Latin hypercube of which `proposed` are
/// already placed: among `candidates` random points that use, in every
/// dimension, a stratum of width `1/n` no proposed point occupies (within
/// its middle half), the one
/// farthest from its nearest proposed point (a maximin Latin hypercube,
/// built one point at a time; Morris and Mitchell 1995). Once every stratum
/// of a dimension is taken (more points than `n`), all its strata count as
/// free again.
///
/// Called `n` times in a row from nothing it gives a Latin hypercube, so
/// one-at-a-time and batch suggestions spread alike; the strata keep the
/// maximin choice from crowding the corners, as unconstrained maximin does.
pub fn next_design_point<R: rand::Rng + ?Sized>(
    proposed: &[[f64; 3]],
    n: usize,
    candidates: usize,
    rng: &mut R,
) -> [f64; 3] {
    let n = n.max(proposed.len() + 1).max(1);
    let free: Vec<Vec<usize>> = (0..3)
        .map(|d| {
            let mut taken = vec![false; n];
            for p in proposed {
                taken[stratum(p[d], n)] = true;
            }
            let free: Vec<usize> = (0..n).filter(|s| !taken[*s]).collect();
            if free.is_empty() {
                (0..n).collect()
            } else {
                free
            }
        })
        .collect();
    let mut best = ([0.5; 3], f64::NEG_INFINITY);
    for _ in 0..candidates.max(1) {
        let mut u = [0.0; 3];
        for d in 0..3 {
            let s = free[d][rng.random_range(0..free[d].len())];
            // The middle half of the stratum: maximin would otherwise push
            // the jitter to the outer edge of the outer strata, the faces.
            u[d] = (s as f64 + 0.25 + 0.5 * rng.random::<f64>()) / n as f64;
        }
        let nearest = proposed
            .iter()
            .map(|p| distance_squared(p, &u))
            .fold(f64::INFINITY, f64::min);
        if nearest > best.1 {
            best = (u, nearest);
        }
    }
    best.0
}

/// The stratum of width `1/n` that holds `x` (clamped into `[0, n)`).
fn stratum(x: f64, n: usize) -> usize {
    ((x.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1)
}

/// Squared Euclidean distance.
pub fn distance_squared(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// The smallest distance between two of `points` (infinite for fewer than two).
pub fn min_pairwise_distance(points: &[[f64; 3]]) -> f64 {
    let mut best = f64::INFINITY;
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            best = best.min(distance_squared(a, b));
        }
    }
    best.sqrt()
}

/// Radius of the zone around each of `n` tried points inside which an
/// exploring proposal is not placed: `factor · n^(-1/3)`, a fraction of the
/// typical spacing of `n` points spread over the unit cube. It shrinks as
/// points accumulate, so the search can still close in on a peak later.
pub fn exclusion_radius(factor: f64, n: usize) -> f64 {
    factor * (n.max(1) as f64).powf(-1.0 / 3.0)
}

/// Whether `u` lies farther than `radius` from every point of `tried`.
pub fn outside_exclusion(u: &[f64; 3], tried: &[[f64; 3]], radius: f64) -> bool {
    let r2 = radius * radius;
    tried.iter().all(|t| distance_squared(t, u) >= r2)
}

/// A uniformly random point of the unit cube at least `radius` from every
/// tried point ("dart throwing", as in Poisson-disk sampling), redrawn at
/// most `attempts` times; the last draw if none qualifies.
///
/// Why not the point farthest from everything (maximin): in a box the
/// farthest points are corners and faces, so maximin explores the boundary
/// first and an interior peak is found later than by plain random search.
/// Dart throwing keeps random search's even coverage of the volume and only
/// refuses to repeat itself.
pub fn uniform_outside<R: rand::Rng + ?Sized>(
    tried: &[[f64; 3]],
    radius: f64,
    attempts: usize,
    rng: &mut R,
) -> [f64; 3] {
    let mut u = [0.5; 3];
    for _ in 0..attempts.max(1) {
        u = [rng.random(), rng.random(), rng.random()];
        if outside_exclusion(&u, tried, radius) {
            break;
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_stratum_of_every_dimension_holds_one_point() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in [1, 2, 5, 17] {
            let points = latin_hypercube::<3, _>(n, &mut rng);
            assert_eq!(points.len(), n);
            for d in 0..3 {
                let mut strata: Vec<usize> =
                    points.iter().map(|p| (p[d] * n as f64) as usize).collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..n).collect::<Vec<_>>(), "n={n} d={d}");
            }
        }
    }

    #[test]
    fn exclusion_radius_is_a_fraction_of_the_typical_spacing() {
        assert!((exclusion_radius(0.5, 8) - 0.25).abs() < 1e-12);
        assert!((exclusion_radius(0.5, 1) - 0.5).abs() < 1e-12);
        assert!((exclusion_radius(0.6, 27) - 0.2).abs() < 1e-12);
        // No points tried yet: as for one point, never infinite.
        assert!((exclusion_radius(0.5, 0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn exclusion_is_by_euclidean_distance() {
        let tried = [[0.5, 0.5, 0.5]];
        assert!(!outside_exclusion(&[0.6, 0.5, 0.5], &tried, 0.2));
        assert!(outside_exclusion(&[0.5, 0.5, 0.75], &tried, 0.2));
        assert!(outside_exclusion(&[0.1, 0.1, 0.1], &[], 10.0));
    }

    #[test]
    fn darts_land_outside_every_exclusion_zone_and_cover_the_interior() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut tried: Vec<[f64; 3]> = Vec::new();
        for _ in 0..40 {
            let r = exclusion_radius(0.5, tried.len());
            let u = uniform_outside(&tried, r, 200, &mut rng);
            assert!(outside_exclusion(&u, &tried, r), "{u:?}");
            tried.push(u);
        }
        // Unlike maximin, most points are not on the boundary: uniform
        // points have all three coordinates in [0.05, 0.95] with chance 0.73.
        let interior = tried
            .iter()
            .filter(|u| u.iter().all(|x| (0.05..=0.95).contains(x)))
            .count();
        assert!(interior >= 20, "{interior} of 40 inside");
    }

    #[test]
    fn an_impossible_exclusion_still_returns_a_point() {
        let mut rng = StdRng::seed_from_u64(2);
        let u = uniform_outside(&[[0.5; 3]], 5.0, 10, &mut rng);
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
    }

    #[test]
    fn a_design_built_one_point_at_a_time_is_a_latin_hypercube() {
        let mut rng = StdRng::seed_from_u64(3);
        for n in [2, 5, 8] {
            let mut points: Vec<[f64; 3]> = Vec::new();
            for _ in 0..n {
                points.push(next_design_point(&points, n, 64, &mut rng));
            }
            for d in 0..3 {
                let mut strata: Vec<usize> = points.iter().map(|p| stratum(p[d], n)).collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..n).collect::<Vec<_>>(), "n={n} d={d}");
            }
        }
        // Past n points every stratum is free again: still a point in the cube.
        let u = next_design_point(&[[0.1; 3], [0.9; 3]], 2, 8, &mut rng);
        assert!(u.iter().all(|x| (0.0..=1.0).contains(x)));
    }

    #[test]
    fn one_point_at_a_time_spreads_at_least_as_well_as_a_random_hypercube() {
        // Mean over 200 seeds of the smallest pairwise distance among five
        // points: the sequential maximin design against a batch LHS.
        let (mut sequential, mut batch) = (0.0, 0.0);
        for seed in 0..200 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut points: Vec<[f64; 3]> = Vec::new();
            for _ in 0..5 {
                points.push(next_design_point(&points, 5, 64, &mut rng));
            }
            sequential += min_pairwise_distance(&points) / 200.0;
            batch += min_pairwise_distance(&latin_hypercube::<3, _>(5, &mut rng)) / 200.0;
        }
        assert!(sequential >= batch, "{sequential:.3} vs {batch:.3}");
    }

    #[test]
    fn same_seed_same_design() {
        let a = latin_hypercube::<3, _>(4, &mut StdRng::seed_from_u64(1));
        let b = latin_hypercube::<3, _>(4, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, b);
    }
}
