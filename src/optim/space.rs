//! The search space: a categorical provider arm and three bounded reals.
//!
//! Encoding for models: the provider one-hot, then each real scaled to
//! [0, 1] by its bounds. Decoding clamps back into bounds.
//!
//! Each arm may honour only some of the reals (its provider has no field
//! for the others, see [`crate::domain::Knobs`]). On such an arm an ignored
//! real is pinned at [`IGNORED_UNIT`]: its observations collapse on that
//! axis, so the model does not read the axis's noise as signal, and its
//! proposals neither vary nor report it.

use crate::domain::{Params, Trial};
use crate::error::{Error, Result};

/// A closed interval `[low, high]` with `low < high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Bounds {
    /// Checks `low < high`, both finite.
    pub fn new(low: f64, high: f64) -> Result<Self> {
        if low.is_finite() && high.is_finite() && low < high {
            Ok(Bounds { low, high })
        } else {
            Err(Error::Optimizer(format!("invalid bounds [{low}, {high}]")))
        }
    }

    /// Maps a value to [0, 1] (values outside are clamped).
    pub fn to_unit(self, x: f64) -> f64 {
        ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }

    /// Maps u ∈ [0, 1] back to the interval.
    pub fn from_unit(self, u: f64) -> f64 {
        self.low + u.clamp(0.0, 1.0) * (self.high - self.low)
    }
}

/// Provider arms and parameter bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    providers: Vec<String>,
    /// init_strength, guidance_scale, controlnet_weight, in that order.
    bounds: [Bounds; 3],
    /// Per arm, which of the three reals it honours.
    honoured: Vec<[bool; 3]>,
}

/// Where an ignored real sits, in unit coordinates: the middle of its
/// bounds (any fixed value would do; the middle keeps distances to the
/// other arms' points moderate).
pub const IGNORED_UNIT: f64 = 0.5;

/// Number of continuous dimensions.
pub const N_REALS: usize = 3;

impl SearchSpace {
    /// Builds a space; provider names must be distinct and non-empty.
    ///
    /// # Errors
    /// [`Error::Optimizer`] for no providers or duplicate names.
    pub fn new(providers: Vec<String>, bounds: [Bounds; 3]) -> Result<Self> {
        if providers.is_empty() {
            return Err(Error::Optimizer("no provider arms configured".into()));
        }
        let mut seen = std::collections::HashSet::new();
        if !providers.iter().all(|p| seen.insert(p)) {
            return Err(Error::Optimizer("provider names must be distinct".into()));
        }
        let honoured = vec![[true; 3]; providers.len()];
        Ok(SearchSpace {
            providers,
            bounds,
            honoured,
        })
    }

    /// The same space with, per arm in configured order, the reals it
    /// honours (all three by default).
    ///
    /// # Errors
    /// [`Error::Optimizer`] when the list does not have one entry per arm.
    pub fn with_honoured(mut self, honoured: Vec<[bool; 3]>) -> Result<Self> {
        if honoured.len() != self.providers.len() {
            return Err(Error::Optimizer(format!(
                "{} knob masks for {} arms",
                honoured.len(),
                self.providers.len()
            )));
        }
        self.honoured = honoured;
        Ok(self)
    }

    /// Which of the three reals arm `arm` honours.
    pub fn honoured(&self, arm: usize) -> [bool; 3] {
        self.honoured[arm]
    }

    /// `unit` with the reals arm `arm` ignores pinned at [`IGNORED_UNIT`]
    /// (unchanged on an arm that honours all three).
    pub fn project(&self, arm: usize, unit: [f64; 3]) -> [f64; 3] {
        let mask = self.honoured[arm];
        [0, 1, 2].map(|i| if mask[i] { unit[i] } else { IGNORED_UNIT })
    }

    /// The reals of `params` scaled to [0, 1] as arm `arm` sees them
    /// ([`SearchSpace::project`]ed).
    pub fn unit_reals_on(&self, arm: usize, params: &Params) -> [f64; 3] {
        self.project(arm, self.unit_reals(params))
    }

    /// Parameters for arm `arm` from unit-scaled reals, its ignored reals
    /// at the middle of their bounds.
    pub fn params_on(&self, arm: usize, unit: [f64; 3]) -> Params {
        self.params_from_unit(self.project(arm, unit))
    }

    /// The provider arms, in configured order.
    pub fn providers(&self) -> &[String] {
        &self.providers
    }

    /// The bounds of init_strength, guidance_scale, controlnet_weight.
    pub fn bounds(&self) -> [Bounds; 3] {
        self.bounds
    }

    /// Length of [`SearchSpace::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        self.providers.len() + N_REALS
    }

    /// Index of a provider arm, if configured.
    pub fn provider_index(&self, name: &str) -> Option<usize> {
        self.providers.iter().position(|p| p == name)
    }

    /// The reals of `params` scaled to [0, 1].
    pub fn unit_reals(&self, params: &Params) -> [f64; 3] {
        let [a, b, c] = self.bounds;
        [
            a.to_unit(params.init_strength),
            b.to_unit(params.guidance_scale),
            c.to_unit(params.controlnet_weight),
        ]
    }

    /// Parameters from unit-scaled reals.
    pub fn params_from_unit(&self, unit: [f64; 3]) -> Params {
        let [a, b, c] = self.bounds;
        Params {
            init_strength: a.from_unit(unit[0]),
            guidance_scale: b.from_unit(unit[1]),
            controlnet_weight: c.from_unit(unit[2]),
        }
    }

    /// One-hot provider followed by the unit-scaled reals; `None` if the
    /// provider is not an arm of this space (e.g. removed from the config).
    pub fn encode(&self, trial: &Trial) -> Option<Vec<f64>> {
        let index = self.provider_index(&trial.provider)?;
        let mut x = vec![0.0; self.encoded_len()];
        x[index] = 1.0;
        x[self.providers.len()..].copy_from_slice(&self.unit_reals_on(index, &trial.params));
        Some(x)
    }

    /// Inverse of [`SearchSpace::encode`]: the arm with the largest one-hot
    /// entry, and the reals clamped into bounds.
    pub fn decode(&self, x: &[f64]) -> Trial {
        let k = self.providers.len();
        let index = x[..k]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        Trial {
            provider: self.providers[index].clone(),
            params: self.params_on(index, [x[k], x[k + 1], x[k + 2]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SearchSpace {
        SearchSpace::new(
            vec!["tone".into(), "detail".into()],
            [
                Bounds::new(0.1, 0.5).unwrap(),
                Bounds::new(5.0, 12.0).unwrap(),
                Bounds::new(0.7, 0.99).unwrap(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn encode_is_one_hot_then_unit_reals_and_decodes_back() {
        let s = space();
        let trial = Trial {
            provider: "detail".into(),
            params: Params {
                init_strength: 0.3,
                guidance_scale: 12.0,
                controlnet_weight: 0.7,
            },
        };
        let x = s.encode(&trial).unwrap();
        assert_eq!(x.len(), 5);
        assert_eq!(&x[..2], &[0.0, 1.0]);
        assert!((x[2] - 0.5).abs() < 1e-12);
        assert!((x[3] - 1.0).abs() < 1e-12);
        assert!(x[4].abs() < 1e-12);
        let back = s.decode(&x);
        assert_eq!(back.provider, "detail");
        assert!((back.params.init_strength - 0.3).abs() < 1e-12);
    }

    #[test]
    fn unknown_provider_does_not_encode() {
        let trial = Trial {
            provider: "gone".into(),
            params: Params {
                init_strength: 0.3,
                guidance_scale: 7.0,
                controlnet_weight: 0.8,
            },
        };
        assert!(space().encode(&trial).is_none());
    }

    #[test]
    fn ignored_reals_encode_at_one_constant_and_proposals_report_the_middle() {
        let s = space()
            .with_honoured(vec![[true; 3], [false, false, true]])
            .unwrap();
        let trial = |provider: &str, i: f64, g: f64| Trial {
            provider: provider.into(),
            params: Params {
                init_strength: i,
                guidance_scale: g,
                controlnet_weight: 0.7,
            },
        };
        // Two "detail" trials differing only in ignored knobs encode alike.
        let a = s.encode(&trial("detail", 0.1, 5.0)).unwrap();
        let b = s.encode(&trial("detail", 0.5, 12.0)).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[2..], &[IGNORED_UNIT, IGNORED_UNIT, 0.0]);
        // The all-knob arm keeps them.
        let c = s.encode(&trial("tone", 0.5, 12.0)).unwrap();
        assert_eq!(&c[2..], &[1.0, 1.0, 0.0]);
        let p = s.params_on(1, [0.0, 1.0, 1.0]);
        assert!((p.init_strength - 0.3).abs() < 1e-12);
        assert!((p.guidance_scale - 8.5).abs() < 1e-12);
        assert!((p.controlnet_weight - 0.99).abs() < 1e-12);
        assert!(space().with_honoured(vec![[true; 3]]).is_err());
    }

    #[test]
    fn bounds_reject_empty_or_reversed_intervals() {
        assert!(Bounds::new(1.0, 1.0).is_err());
        assert!(Bounds::new(2.0, 1.0).is_err());
        assert!(Bounds::new(f64::NAN, 1.0).is_err());
    }
}
