//! Space-filling designs on the unit cube.

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
    fn same_seed_same_design() {
        let a = latin_hypercube::<3, _>(4, &mut StdRng::seed_from_u64(1));
        let b = latin_hypercube::<3, _>(4, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, b);
    }
}
