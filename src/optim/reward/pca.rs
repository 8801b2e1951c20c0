//! Principal components of the extra dims (an image embedding of up to a
//! few hundred numbers), fitted on every stored render — rated or not, as
//! the directions of variation do not need ratings — so the reward model
//! sees a handful of dims instead of hundreds it could not learn weights
//! for from a few dozen ratings.
//!
//! The components are the top eigenvectors of the covariance `XᵀX/n` of
//! the centred rows; with fewer rows than dims they come from the Gram
//! matrix `XXᵀ` instead (`v = Xᵀu/‖Xᵀu‖`), the same directions at
//! `O(n³)` rather than `O(d³)`.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use super::RewardError;

/// A fitted projection onto the leading principal components.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    mean: DVector<f64>,
    /// One component per row.
    components: DMatrix<f64>,
    /// Variance along each component.
    variances: Vec<f64>,
}

impl Projection {
    /// Fits up to `max_dims` components on `rows` (all the same length);
    /// directions with no variance are dropped.
    ///
    /// # Errors
    /// [`RewardError::Empty`] without rows, [`RewardError::Dimension`] on
    /// rows of different lengths, [`RewardError::NotFinite`] on NaN or ∞.
    pub fn fit(rows: &[Vec<f64>], max_dims: usize) -> Result<Self, RewardError> {
        let Some(first) = rows.first() else {
            return Err(RewardError::Empty);
        };
        let d = first.len();
        if let Some(bad) = rows.iter().find(|r| r.len() != d) {
            return Err(RewardError::Dimension {
                what: "extra dims",
                expected: d,
                got: bad.len(),
            });
        }
        if rows.iter().flatten().any(|v| !v.is_finite()) {
            return Err(RewardError::NotFinite);
        }
        let n = rows.len();
        let x = DMatrix::from_fn(n, d, |i, j| rows[i][j]);
        let mean = x.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
        let mut pairs: Vec<(f64, DVector<f64>)> = if d <= n {
            let eigen = SymmetricEigen::new(centred.transpose() * &centred / n as f64);
            (0..d)
                .map(|k| {
                    (
                        eigen.eigenvalues[k],
                        eigen.eigenvectors.column(k).into_owned(),
                    )
                })
                .collect()
        } else {
            let eigen = SymmetricEigen::new(&centred * centred.transpose() / n as f64);
            (0..n)
                .map(|k| {
                    let v = centred.transpose() * eigen.eigenvectors.column(k);
                    let norm = v.norm();
                    (eigen.eigenvalues[k], if norm > 0.0 { v / norm } else { v })
                })
                .collect()
        };
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top = pairs
            .iter()
            .map(|(v, _)| *v)
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let kept: Vec<&(f64, DVector<f64>)> = pairs
            .iter()
            .filter(|(v, _)| *v > 1e-12 * top)
            .take(max_dims)
            .collect();
        let components = DMatrix::from_fn(kept.len(), d, |k, j| kept[k].1[j]);
        Ok(Projection {
            mean,
            components,
            variances: kept.iter().map(|(v, _)| *v).collect(),
        })
    }

    /// Dims after projection.
    pub fn dims(&self) -> usize {
        self.components.nrows()
    }

    /// Dims expected before projection.
    pub fn input_dims(&self) -> usize {
        self.mean.len()
    }

    /// Variance along each kept component, largest first.
    pub fn variances(&self) -> &[f64] {
        &self.variances
    }

    /// The coordinates of `row` on the components (a row of the wrong
    /// length projects to zeros: the model's shape check refuses it first).
    pub fn project(&self, row: &[f64]) -> Vec<f64> {
        if row.len() != self.mean.len() {
            return vec![0.0; self.dims()];
        }
        let centred = DVector::from_fn(row.len(), |j, _| row[j] - self.mean[j]);
        (&self.components * centred).iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows `a·u + b·v + mean` with known orthonormal `u`, `v` and
    /// variances 4 and 1 (a, b on a symmetric grid).
    fn planar(dims: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let norm = |v: Vec<f64>| {
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<_>>()
        };
        let u = norm((0..dims).map(|j| 1.0 + j as f64).collect());
        // v ⟂ u: alternate signs, then Gram–Schmidt.
        let raw: Vec<f64> = (0..dims)
            .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let dot: f64 = raw.iter().zip(&u).map(|(a, b)| a * b).sum();
        let v = norm(raw.iter().zip(&u).map(|(r, u)| r - dot * u).collect());
        let mut rows = Vec::new();
        for a in [-2.0, 2.0] {
            for b in [-1.0, 1.0] {
                rows.push(
                    (0..dims)
                        .map(|j| 5.0 + a * u[j] + b * v[j])
                        .collect::<Vec<_>>(),
                );
            }
        }
        (rows, u, v)
    }

    fn check(dims: usize) {
        let (rows, u, v) = planar(dims);
        let p = Projection::fit(&rows, 8).unwrap();
        // Two directions of variance; their variances are 4 and 1.
        assert_eq!(p.dims(), 2);
        assert!((p.variances()[0] - 4.0).abs() < 1e-9);
        assert!((p.variances()[1] - 1.0).abs() < 1e-9);
        let first: Vec<f64> = p.components.row(0).iter().copied().collect();
        let second: Vec<f64> = p.components.row(1).iter().copied().collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        assert!((dot(&first, &u).abs() - 1.0).abs() < 1e-9);
        assert!((dot(&second, &v).abs() - 1.0).abs() < 1e-9);
        // A row's coordinates are ±(a, b).
        let c = p.project(&rows[0]);
        assert!((c[0].abs() - 2.0).abs() < 1e-9 && (c[1].abs() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn recovers_known_components_with_more_rows_than_dims() {
        check(3);
    }

    #[test]
    fn recovers_known_components_with_more_dims_than_rows() {
        check(40);
    }

    #[test]
    fn refuses_ragged_and_non_finite_rows() {
        assert!(matches!(
            Projection::fit(&[vec![1.0, 2.0], vec![1.0]], 2),
            Err(RewardError::Dimension { .. })
        ));
        assert!(matches!(
            Projection::fit(&[vec![f64::NAN]], 2),
            Err(RewardError::NotFinite)
        ));
        assert!(matches!(Projection::fit(&[], 2), Err(RewardError::Empty)));
    }
}
