//! The reward model's basis: raw inputs laid end to end, standardised on
//! the training ratings, then expanded into the studio's functions
//! (intercept, linear, centred squares) and one block per designer
//! (intercept and linear: their deviation from the studio).
//!
//! A designer block is multiplied by `c = 1/√ρ`: with a single prior
//! precision `α` on every weight, a weight `δ = c·δ'` has precision `ρα` —
//! the deviation prior is `ρ` times tighter than the studio's, which is
//! what shrinks a designer with few ratings to the studio's prediction.

use nalgebra::DVector;

use super::pca::Projection;
use super::{RewardError, RewardInput};
use crate::domain::PhotoFeatures;

/// Lengths every input of one model shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Render features.
    pub render: usize,
    /// Parameters (unit cube).
    pub params: usize,
    /// Raw extra dims (before any projection).
    pub extra: usize,
}

impl Shape {
    /// The shape of `input`.
    pub fn of(input: &RewardInput) -> Self {
        Shape {
            render: input.render.len(),
            params: input.params.len(),
            extra: input.extra.len(),
        }
    }

    /// `Ok` when `input` has this shape.
    pub fn check(&self, input: &RewardInput) -> Result<(), RewardError> {
        let found = Shape::of(input);
        for (what, expected, got) in [
            ("render features", self.render, found.render),
            ("parameters", self.params, found.params),
            ("extra dims", self.extra, found.extra),
        ] {
            if expected != got {
                return Err(RewardError::Dimension {
                    what,
                    expected,
                    got,
                });
            }
        }
        let values = input.render.iter().chain(&input.params).chain(&input.extra);
        if values.clone().any(|v| !v.is_finite()) {
            return Err(RewardError::NotFinite);
        }
        Ok(())
    }
}

/// Raw inputs → basis rows, frozen at fit time.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    shape: Shape,
    projection: Option<Projection>,
    /// Mean and sd of each raw dim over the training inputs; a room
    /// context that is missing reads as the mean (a standardised 0).
    mean: Vec<f64>,
    sd: Vec<f64>,
    quadratic: bool,
    designers: Vec<String>,
    deviation_scale: f64,
}

impl Basis {
    /// Standardises on `inputs`; one block for each of `designers`.
    pub fn fit(
        inputs: &[&RewardInput],
        projection: Option<Projection>,
        quadratic: bool,
        designers: Vec<String>,
    ) -> Self {
        let shape = Shape::of(inputs[0]);
        let raw: Vec<Vec<Option<f64>>> = inputs
            .iter()
            .map(|i| raw_dims(i, projection.as_ref()))
            .collect();
        let dims = raw[0].len();
        let mut mean = vec![0.0; dims];
        let mut sd = vec![1.0; dims];
        for d in 0..dims {
            let values: Vec<f64> = raw.iter().filter_map(|r| r[d]).collect();
            if values.is_empty() {
                continue;
            }
            let m = values.iter().sum::<f64>() / values.len() as f64;
            let v = values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / values.len() as f64;
            mean[d] = m;
            // A dim constant in training carries no information: it maps to 0.
            sd[d] = if v.sqrt() > 1e-9 {
                v.sqrt()
            } else {
                f64::INFINITY
            };
        }
        Basis {
            shape,
            projection,
            mean,
            sd,
            quadratic,
            designers,
            deviation_scale: 1.0,
        }
    }

    /// The input shape this basis reads.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Designers with their own block, in block order.
    pub fn designers(&self) -> &[String] {
        &self.designers
    }

    /// Sets `c = 1/√ρ` for the designer blocks.
    pub fn set_deviation_ratio(&mut self, ratio: f64) {
        self.deviation_scale = 1.0 / ratio.sqrt();
    }

    fn standardised(&self, input: &RewardInput) -> Vec<f64> {
        raw_dims(input, self.projection.as_ref())
            .iter()
            .enumerate()
            .map(|(d, v)| v.map_or(0.0, |v| (v - self.mean[d]) / self.sd[d]))
            .collect()
    }

    /// Basis functions of the studio (intercept, linear, squares).
    pub fn studio_len(&self) -> usize {
        let z = self.mean.len();
        1 + z + if self.quadratic { z } else { 0 }
    }

    /// Basis functions of one designer's block (intercept, linear).
    pub fn designer_len(&self) -> usize {
        1 + self.mean.len()
    }

    /// Total number of basis functions.
    pub fn len(&self) -> usize {
        self.studio_len() + self.designers.len() * self.designer_len()
    }

    /// Never empty (there is always the intercept); for clippy's pairing.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The basis row of `input` as rated (or seen) by `designer`; a
    /// designer without a block gets the studio's functions only.
    pub fn row(&self, input: &RewardInput, designer: Option<&str>) -> DVector<f64> {
        let z = self.standardised(input);
        let mut phi = DVector::zeros(self.len());
        phi[0] = 1.0;
        for (d, v) in z.iter().enumerate() {
            phi[1 + d] = *v;
            if self.quadratic {
                // Centred so the square does not double the intercept.
                phi[1 + z.len() + d] = v * v - 1.0;
            }
        }
        if let Some(block) = designer.and_then(|n| self.designers.iter().position(|d| d == n)) {
            let start = self.studio_len() + block * self.designer_len();
            let c = self.deviation_scale;
            phi[start] = c;
            for (d, v) in z.iter().enumerate() {
                phi[start + 1 + d] = c * v;
            }
        }
        phi
    }
}

/// Render features, parameters, the room's context (missing: `None`) and
/// the projected extra dims, end to end.
fn raw_dims(input: &RewardInput, projection: Option<&Projection>) -> Vec<Option<f64>> {
    let mut out: Vec<Option<f64>> = input.render.iter().map(|v| Some(*v)).collect();
    out.extend(input.params.iter().map(|v| Some(*v)));
    match &input.context {
        Some(c) => out.extend(c.as_array().iter().map(|v| Some(*v))),
        None => out.extend(std::iter::repeat_n(None, PhotoFeatures::COUNT)),
    }
    match projection {
        Some(p) => out.extend(p.project(&input.extra).into_iter().map(Some)),
        None => out.extend(input.extra.iter().map(|v| Some(*v))),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(render: f64, param: f64) -> RewardInput {
        RewardInput {
            render: vec![render],
            params: vec![param],
            context: None,
            extra: Vec::new(),
        }
    }

    #[test]
    fn rows_are_standardised_and_designer_blocks_scaled() {
        let a = input(1.0, 0.0);
        let b = input(3.0, 1.0);
        let mut basis = Basis::fit(&[&a, &b], None, true, vec!["ana".into()]);
        basis.set_deviation_ratio(4.0);
        // raw dims: render, param, 6 context (missing), no extra → 8 z's.
        assert_eq!(basis.len(), (1 + 8 + 8) + (1 + 8));
        let row = basis.row(&b, Some("ana"));
        // render: mean 2, sd 1 → z = 1; square − 1 = 0.
        assert_eq!(row[1], 1.0);
        assert_eq!(row[1 + 8], 0.0);
        // designer block: c = 1/√4 = 0.5 on its intercept and linear terms.
        assert_eq!(row[17], 0.5);
        assert_eq!(row[18], 0.5);
        // An unknown designer reads the studio's functions only.
        let studio = basis.row(&b, Some("bo"));
        assert!(studio.rows(17, 9).iter().all(|v| *v == 0.0));
    }
}
