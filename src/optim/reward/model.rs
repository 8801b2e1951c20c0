//! [`RewardModel`]: fitting (evidence-maximised hyperparameters, one
//! deviation ratio chosen by evidence), prediction for the studio or a
//! designer, and incremental updates as ratings arrive.

use std::collections::BTreeMap;

use nalgebra::DMatrix;

use super::basis::Basis;
use super::blr::{Posterior, Spectrum, Statistics};
use super::{
    Prediction, RewardComparison, RewardError, RewardInput, RewardObservation, RewardSettings,
};

/// A fitted reward model.
#[derive(Debug, Clone)]
pub struct RewardModel {
    basis: Basis,
    posterior: Posterior,
    /// Statistics of the scaled basis rows (targets centred), for refitting
    /// the hyperparameters after incremental updates.
    stats: Statistics,
    /// Mean stars of the training ratings: the targets are centred on it
    /// so the prior's pull is toward the studio's average, not 0 stars.
    offset: f64,
    deviation_ratio: f64,
    log_evidence: f64,
}

impl RewardModel {
    /// Fits on `observations`.
    ///
    /// Cost: one pass over the ratings to build `ΦᵀΦ` (O(n p²)), then per
    /// deviation ratio one `p × p` eigendecomposition; nothing is iterative
    /// in `n`.
    ///
    /// # Errors
    /// [`RewardError::Empty`] with fewer than two ratings,
    /// [`RewardError::Dimension`] when inputs differ in shape,
    /// [`RewardError::NotFinite`] on NaN or ∞, [`RewardError::Settings`] on
    /// an empty or non-positive ratio list.
    pub fn fit(
        observations: &[RewardObservation],
        settings: &RewardSettings,
    ) -> Result<RewardModel, RewardError> {
        Self::fit_with_preferences(observations, &[], settings)
    }

    /// Fits on ratings and preferences together (see the module's note on
    /// how a preference is read). The ratings set the scale: at least two
    /// are needed, whatever the preferences.
    ///
    /// # Errors
    /// As [`RewardModel::fit`]; a comparison whose inputs differ in shape
    /// from the ratings' is [`RewardError::Dimension`], a negative or
    /// non-finite margin [`RewardError::Settings`].
    pub fn fit_with_preferences(
        observations: &[RewardObservation],
        comparisons: &[RewardComparison],
        settings: &RewardSettings,
    ) -> Result<RewardModel, RewardError> {
        if !(settings.preference_margin.is_finite() && settings.preference_margin >= 0.0) {
            return Err(RewardError::Settings(
                "the preference margin must be a non-negative number of stars",
            ));
        }
        if observations.len() < 2 {
            return Err(RewardError::Empty);
        }
        if settings.deviation_ratios.is_empty()
            || settings
                .deviation_ratios
                .iter()
                .any(|r| !r.is_finite() || *r <= 0.0)
        {
            return Err(RewardError::Settings(
                "deviation ratios must be positive numbers",
            ));
        }
        let first = &observations[0].input;
        let shape = super::basis::Shape::of(first);
        if let Some(p) = &settings.projection
            && p.input_dims() != shape.extra
        {
            return Err(RewardError::Dimension {
                what: "extra dims",
                expected: p.input_dims(),
                got: shape.extra,
            });
        }
        for o in observations {
            shape.check(&o.input)?;
            if !o.stars.is_finite() {
                return Err(RewardError::NotFinite);
            }
        }
        for c in comparisons {
            shape.check(&c.better)?;
            shape.check(&c.worse)?;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let judges = observations
            .iter()
            .map(|o| &o.designer)
            .chain(comparisons.iter().map(|c| &c.designer));
        for d in judges.flatten() {
            *counts.entry(d.as_str()).or_default() += 1;
        }
        let designers: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| *n >= settings.min_designer_ratings.max(1))
            .map(|(d, _)| d.to_string())
            .collect();
        let inputs: Vec<&RewardInput> = observations
            .iter()
            .map(|o| &o.input)
            .chain(comparisons.iter().flat_map(|c| [&c.better, &c.worse]))
            .collect();
        let mut basis = Basis::fit(
            &inputs,
            settings.projection.clone(),
            settings.quadratic,
            designers,
        );
        let offset = observations.iter().map(|o| o.stars).sum::<f64>() / observations.len() as f64;
        // Unscaled statistics once; each ratio rescales the designer blocks
        // (G_ρ = D G D, h_ρ = D h with D = diag(1, …, c, …)).
        basis.set_deviation_ratio(1.0);
        let mut raw = Statistics::new(basis.len());
        for o in observations {
            raw.add(
                &basis.row(&o.input, o.designer.as_deref()),
                o.stars - offset,
            );
        }
        for c in comparisons {
            let (row, target) = comparison_row(&basis, c, settings.preference_margin);
            raw.add(&row, target);
        }
        let variance = (raw.yy / raw.n as f64).max(1e-3);
        let mut best: Option<(f64, f64, Statistics, (f64, f64))> = None;
        for &ratio in &settings.deviation_ratios {
            let stats = rescaled(&raw, &basis, ratio);
            let spectrum = Spectrum::of(&stats);
            let hyper = spectrum.maximise_evidence((1.0, 1.0 / variance));
            let evidence = spectrum.log_evidence(hyper.0, hyper.1);
            if best.as_ref().is_none_or(|b| evidence > b.0) {
                best = Some((evidence, ratio, stats, hyper));
            }
        }
        let (log_evidence, ratio, stats, (alpha, beta)) = best.ok_or(RewardError::Empty)?;
        basis.set_deviation_ratio(ratio);
        let posterior = Spectrum::of(&stats).posterior(alpha, beta);
        Ok(RewardModel {
            basis,
            posterior,
            stats,
            offset,
            deviation_ratio: ratio,
            log_evidence,
        })
    }

    /// Predicted stars of `input` for `designer` (the studio's when `None`
    /// or a designer the model has no block for).
    ///
    /// # Errors
    /// [`RewardError::Dimension`] or [`RewardError::NotFinite`] on an input
    /// unlike the training inputs.
    pub fn predict(
        &self,
        input: &RewardInput,
        designer: Option<&str>,
    ) -> Result<Prediction, RewardError> {
        self.basis.shape().check(input)?;
        let phi = self.basis.row(input, designer);
        let (mean, variance) = self.posterior.predict(&phi);
        Ok(Prediction {
            mean: mean + self.offset,
            sd: variance.sqrt(),
            noise_sd: 1.0 / self.posterior.beta.sqrt(),
        })
    }

    /// Learns one more rating without refitting: a rank-one update of the
    /// posterior at the current hyperparameters and standardisation (a
    /// designer without a block counts for the studio only). Exact for
    /// those; call [`RewardModel::refit_hyperparameters`] now and then, or
    /// [`RewardModel::fit`] to re-standardise and give new designers blocks.
    ///
    /// # Errors
    /// As [`RewardModel::predict`]; a NaN rating is [`RewardError::NotFinite`].
    pub fn observe(&mut self, observation: &RewardObservation) -> Result<(), RewardError> {
        self.basis.shape().check(&observation.input)?;
        if !observation.stars.is_finite() {
            return Err(RewardError::NotFinite);
        }
        let phi = self
            .basis
            .row(&observation.input, observation.designer.as_deref());
        let y = observation.stars - self.offset;
        self.posterior.observe(&phi, y);
        self.stats.add(&phi, y);
        Ok(())
    }

    /// Re-maximises the evidence over `(α, β)` on every rating seen so far
    /// (fitted and observed), keeping the basis: O(p³), independent of the
    /// number of ratings.
    pub fn refit_hyperparameters(&mut self) {
        let spectrum = Spectrum::of(&self.stats);
        let (alpha, beta) = spectrum.maximise_evidence((self.posterior.alpha, self.posterior.beta));
        self.log_evidence = spectrum.log_evidence(alpha, beta);
        self.posterior = spectrum.posterior(alpha, beta);
    }

    /// Ratings the model has learnt from.
    pub fn ratings(&self) -> usize {
        self.stats.n
    }

    /// Designers with a block of their own.
    pub fn designers(&self) -> &[String] {
        self.basis.designers()
    }

    /// Prior precision of the weights (evidence-maximised).
    pub fn prior_precision(&self) -> f64 {
        self.posterior.alpha
    }

    /// Sd of one rating around its expectation, stars.
    pub fn noise_sd(&self) -> f64 {
        1.0 / self.posterior.beta.sqrt()
    }

    /// The chosen ratio of a designer deviation's prior precision to the studio's.
    pub fn deviation_ratio(&self) -> f64 {
        self.deviation_ratio
    }

    /// Log evidence at the fitted hyperparameters.
    pub fn log_evidence(&self) -> f64 {
        self.log_evidence
    }
}

/// A preference as one regression row: `(φ(better) − φ(worse))/√2` with
/// target `margin/√2` (`0` for a tie). The offset cancels in a difference,
/// and the `√2` gives the difference of two ratings' noise the noise of one.
fn comparison_row(
    basis: &Basis,
    comparison: &RewardComparison,
    margin: f64,
) -> (nalgebra::DVector<f64>, f64) {
    let designer = comparison.designer.as_deref();
    let row = (basis.row(&comparison.better, designer) - basis.row(&comparison.worse, designer))
        * std::f64::consts::FRAC_1_SQRT_2;
    let target = if comparison.tie { 0.0 } else { margin };
    (row, target * std::f64::consts::FRAC_1_SQRT_2)
}

/// `D G D`, `D h` for the designer blocks scaled by `c = 1/√ratio`.
fn rescaled(raw: &Statistics, basis: &Basis, ratio: f64) -> Statistics {
    let p = basis.len();
    let studio = basis.studio_len();
    let c = 1.0 / ratio.sqrt();
    let scale: Vec<f64> = (0..p).map(|i| if i < studio { 1.0 } else { c }).collect();
    Statistics {
        gram: DMatrix::from_fn(p, p, |i, j| raw.gram[(i, j)] * scale[i] * scale[j]),
        moment: raw
            .moment
            .component_mul(&nalgebra::DVector::from_vec(scale)),
        yy: raw.yy,
        n: raw.n,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
