//! The studio model: one latent quality per render, every designer's stars
//! and preferences as evidence on it, each designer's offset and scale
//! learned jointly and shrunk toward the studio.
//!
//! - A designer `d` reads quality `q` as `μ + s_d·q + a_d` and gives the
//!   stars whose cut-points (`k ± ½`) bracket it, with probit noise `σ`: a
//!   strict designer has `a_d < 0`, one who uses the whole scale `s_d > 1`.
//!   So a strict designer's 3 and a generous one's 4 are the same evidence.
//! - A preference of `d` between two renders is a probit on `s_d` times the
//!   difference of the designer's qualities (noise `√2·σ`); "same" a tie
//!   band of `±½` star.
//! - Offsets are deviations from the studio's average designer: jointly
//!   Gaussian with `Cov(a_d, a_e) = τ²·([d = e] − 1/D)` (each `τ²(1 − 1/D)`,
//!   summing to zero), and `ln s_d ~ N(0, ω²)` with scales normalised to a
//!   geometric mean of 1: the hierarchy that shrinks a designer with few
//!   ratings toward the studio. With one designer there is no offset at
//!   all: the studio's level is the model's mean, and a free offset would
//!   only add the same uncertainty to every setting and make the search
//!   explore more than the evidence asks (measured on the simulated
//!   designers: fewer sessions reached 4.5 stars). The offsets are latents
//!   of the Laplace approximation (so they have posterior uncertainty); the
//!   scales are set by maximising their conditional posterior at the mode,
//!   alternated with the Laplace fit (two rounds).
//! - Each judgement is a linear combination of the qualities `q(render,
//!   designer)` (with the [`StudioKernel`] covariance) and, for stars, the
//!   designer's offset; the Laplace approximation runs on those
//!   combinations, so its cost grows with the judgements, not the latents.

use nalgebra::{DMatrix, DVector};

use super::kernel::{Point, StudioKernel};
use super::laplace::{Judgement, LaplacePosterior};
use super::likelihood::{Interval, interval_log_likelihood};
use crate::optim::gp::{GpError, Prediction};

/// The hierarchy's and the likelihood's fixed settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudioPrior {
    /// `τ`: prior sd of a designer's offset, stars.
    pub offset_sd: f64,
    /// `ω`: prior sd of the log of a designer's scale.
    pub log_scale_sd: f64,
    /// Half-width of "same", stars.
    pub tie_half_width: f64,
    /// Star ratings a designer needs before their scale is estimated.
    pub min_ratings_for_scale: usize,
}

impl Default for StudioPrior {
    /// `τ = 1` star (studios differ by about a star between the strictest
    /// and the most generous designer), `ω = 0.3` (a scale between ×0.55
    /// and ×1.8 at two sd).
    fn default() -> Self {
        StudioPrior {
            offset_sd: 1.0,
            log_scale_sd: 0.3,
            tie_half_width: 0.5,
            min_ratings_for_scale: 4,
        }
    }
}

/// What the model is told, in the optimizer's encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudioData {
    /// One point per render.
    pub renders: Vec<Point>,
    /// How many designers there are (indices `0..designers`).
    pub designers: usize,
    /// `(render, designer, stars)`.
    pub stars: Vec<(usize, usize, u8)>,
    /// `(better, worse, designer, tie)`.
    pub preferences: Vec<(usize, usize, usize, bool)>,
}

/// A designer's reading of the scale, with the offset's uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DesignerScale {
    /// Posterior mean of the offset `a_d`, stars.
    pub offset: f64,
    /// Its posterior sd.
    pub offset_sd: f64,
    /// The scale `s_d`.
    pub scale: f64,
}

/// One judgement as built: the units it combines (with coefficients before
/// scaling), its designer, whose offset it carries (stars) or none
/// (preferences), where it fell and its noise.
type Shape = (Vec<(usize, f64)>, usize, Option<usize>, Interval, f64);

/// One judgement as a linear combination of the latents: `Σ c·q_u`, plus
/// the designer's offset when it is a star rating.
#[derive(Debug, Clone, PartialEq)]
struct Combination {
    units: Vec<(usize, f64)>,
    offset_of: Option<usize>,
}

/// A fitted studio model.
#[derive(Debug, Clone)]
pub struct StudioModel {
    kernel: StudioKernel,
    prior: StudioPrior,
    /// `μ`: the studio's mean rating.
    mean: f64,
    /// `σ`: probit noise of one judgement, stars.
    noise_sd: f64,
    /// `(point, designer)` of each judged quality latent.
    units: Vec<(Point, Option<usize>)>,
    /// What each judgement observes, in order; believed points follow.
    combinations: Vec<Combination>,
    /// Points believed at their predicted mean (pending proposals).
    believed: Vec<(Point, Option<usize>)>,
    designers: usize,
    scales: Vec<f64>,
    posterior: LaplacePosterior,
}

impl StudioModel {
    /// Fits the model: the Laplace mode, alternated with the scales.
    ///
    /// # Errors
    /// [`GpError::Empty`] with no judgement; [`GpError::NotPositiveDefinite`]
    /// if the covariance cannot be factorised.
    pub fn fit(
        data: &StudioData,
        kernel: StudioKernel,
        prior: StudioPrior,
        mean: f64,
        noise_sd: f64,
    ) -> Result<Self, GpError> {
        if data.stars.is_empty() && data.preferences.is_empty() {
            return Err(GpError::Empty);
        }
        let mut keys: Vec<(usize, usize)> = Vec::new();
        let mut unit_of = |render: usize, designer: usize| match keys
            .iter()
            .position(|&u| u == (render, designer))
        {
            Some(i) => i,
            None => {
                keys.push((render, designer));
                keys.len() - 1
            }
        };
        // (units, designer, star interval or preference) per judgement.
        let mut shapes: Vec<Shape> = Vec::new();
        for &(r, d, stars) in &data.stars {
            let u = unit_of(r, d);
            shapes.push((vec![(u, 1.0)], d, Some(d), Interval::stars(stars), noise_sd));
        }
        for &(b, w, d, tie) in &data.preferences {
            let (ub, uw) = (unit_of(b, d), unit_of(w, d));
            let interval = if tie {
                Interval::tie(prior.tie_half_width)
            } else {
                Interval::BETTER
            };
            shapes.push((
                vec![(ub, 1.0), (uw, -1.0)],
                d,
                None,
                interval,
                noise_sd * std::f64::consts::SQRT_2,
            ));
        }
        let units: Vec<(Point, Option<usize>)> = keys
            .iter()
            .map(|&(r, d)| (data.renders[r].clone(), Some(d)))
            .collect();
        let n = units.len();
        let mut unit_covariance = DMatrix::zeros(n, n);
        for i in 0..n {
            for j in 0..=i {
                let v = kernel.designers(&units[i].0, units[i].1, &units[j].0, units[j].1);
                unit_covariance[(i, j)] = v;
                unit_covariance[(j, i)] = v;
            }
        }
        let judgements: Vec<Judgement> = shapes
            .iter()
            .map(|(_, _, offset, interval, sigma)| Judgement {
                mean: if offset.is_some() { mean } else { 0.0 },
                interval: *interval,
                sigma: *sigma,
            })
            .collect();
        let combine = |scales: &[f64]| -> Vec<Combination> {
            shapes
                .iter()
                .map(|(us, d, offset, _, _)| Combination {
                    units: us.iter().map(|&(u, c)| (u, c * scales[*d])).collect(),
                    offset_of: *offset,
                })
                .collect()
        };
        let offset_prior = OffsetPrior::new(prior.offset_sd, data.designers);
        let mut scales = vec![1.0; data.designers];
        let mut combinations = combine(&scales);
        let mut k = judgement_covariance(&combinations, &unit_covariance, &offset_prior);
        let mut posterior = LaplacePosterior::fit(&k, &judgements, None)?;
        for _ in 0..2 {
            let (qualities, offsets) = latent_means(
                &combinations,
                &unit_covariance,
                &offset_prior,
                &posterior,
                n,
                data.designers,
            );
            let updated = fit_scales(
                &shapes,
                &judgements,
                &qualities,
                &offsets,
                &prior,
                data.designers,
            );
            if updated
                .iter()
                .zip(&scales)
                .all(|(a, b)| (a - b).abs() < 1e-3)
            {
                break;
            }
            scales = updated;
            combinations = combine(&scales);
            k = judgement_covariance(&combinations, &unit_covariance, &offset_prior);
            posterior = LaplacePosterior::fit(&k, &judgements, Some(posterior.mode()))?;
        }
        Ok(StudioModel {
            kernel,
            prior,
            mean,
            noise_sd,
            units,
            combinations,
            believed: Vec::new(),
            designers: data.designers,
            scales,
            posterior,
        })
    }

    /// The quality designer `designer` would see at `point` (`None`: the
    /// studio's, on the average designer's scale), in stars.
    pub fn predict(&self, point: &Point, designer: Option<usize>) -> Prediction {
        let (cross, prior_variance) = self.cross(point, designer);
        let (mean, variance) = self.posterior.predict(&cross, prior_variance);
        Prediction {
            mean: self.mean + mean,
            sd: variance.sqrt(),
        }
    }

    /// Joint posterior of what `designer` would read at several points, in
    /// stars: means and covariance (for Thompson draws over a candidate set).
    pub fn predict_joint(
        &self,
        points: &[Point],
        designer: Option<usize>,
    ) -> (Vec<f64>, DMatrix<f64>) {
        let designer = designer.filter(|d| *d < self.designers);
        let m = points.len();
        let mut cross = DMatrix::zeros(self.posterior.len(), m);
        for (j, p) in points.iter().enumerate() {
            cross.set_column(j, &self.cross(p, designer).0);
        }
        let prior = DMatrix::from_fn(m, m, |a, b| match designer {
            Some(d) => {
                self.scales[d].powi(2)
                    * self
                        .kernel
                        .designers(&points[a], Some(d), &points[b], Some(d))
                    + self.offsets().variance()
            }
            None => self.kernel.studio(&points[a], &points[b]),
        });
        let (means, covariance) = self.posterior.predict_joint(&cross, &prior);
        (
            means.into_iter().map(|v| self.mean + v).collect(),
            covariance,
        )
    }

    /// The posterior mean only.
    pub fn predict_mean(&self, point: &Point, designer: Option<usize>) -> f64 {
        let (cross, _) = self.cross(point, designer);
        self.mean + self.posterior.predict_mean(&cross)
    }

    /// The same model also "believing" its own prediction of the quality
    /// at `point` for `designer` (kriging believer for pending proposals).
    ///
    /// # Errors
    /// [`GpError`] if the extended factor fails.
    pub fn with_believed(&self, point: &Point, designer: Option<usize>) -> Result<Self, GpError> {
        let designer = designer.filter(|d| *d < self.designers);
        let variance = self.kernel.designers(point, designer, point, designer);
        let cross = self.quality_cross(point, designer);
        let posterior =
            self.posterior
                .with_gaussian_site(&cross, variance, 1.0 / self.noise_sd.powi(2))?;
        let mut next = self.clone();
        next.believed.push((point.clone(), designer));
        next.posterior = posterior;
        Ok(next)
    }

    /// Each designer's offset (with its sd) and scale.
    pub fn designer_scales(&self) -> Vec<DesignerScale> {
        let prior_variance = self.offsets().variance();
        (0..self.designers)
            .map(|d| {
                let cross = self.offset_cross(d);
                let (offset, variance) = self.posterior.predict(&cross, prior_variance);
                DesignerScale {
                    offset,
                    offset_sd: variance.sqrt(),
                    scale: self.scales[d],
                }
            })
            .collect()
    }

    /// How many judgements and believed points it is conditioned on.
    pub fn len(&self) -> usize {
        self.posterior.len()
    }

    /// Whether there are none (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.posterior.is_empty()
    }

    /// `σ`, the probit noise of one judgement.
    pub fn noise_sd(&self) -> f64 {
        self.noise_sd
    }

    /// The Laplace log evidence.
    pub fn log_evidence(&self) -> f64 {
        self.posterior.log_evidence()
    }

    /// Cross-covariance with the judgements and prior variance of what
    /// `designer` would read at `point`: `s_d·q(point, d) + a_d`, or the
    /// studio's `q(point)`.
    fn cross(&self, point: &Point, designer: Option<usize>) -> (DVector<f64>, f64) {
        let designer = designer.filter(|d| *d < self.designers);
        let mut cross = self.quality_cross(point, designer);
        match designer {
            Some(d) => {
                let s = self.scales[d];
                cross *= s;
                cross += self.offset_cross(d);
                let variance = s * s * self.kernel.designers(point, Some(d), point, Some(d))
                    + self.offsets().variance();
                (cross, variance)
            }
            None => (cross, self.kernel.studio(point, point)),
        }
    }

    /// Prior covariance of the quality `q(point, designer)` with each
    /// judgement and believed point.
    fn quality_cross(&self, point: &Point, designer: Option<usize>) -> DVector<f64> {
        let per_unit: Vec<f64> = self
            .units
            .iter()
            .map(|(p, d)| self.kernel.designers(point, designer, p, *d))
            .collect();
        let judged = self
            .combinations
            .iter()
            .map(|c| c.units.iter().map(|&(u, w)| w * per_unit[u]).sum::<f64>());
        let believed = self
            .believed
            .iter()
            .map(|(p, d)| self.kernel.designers(point, designer, p, *d));
        DVector::from_iterator(self.posterior.len(), judged.chain(believed))
    }

    fn offsets(&self) -> OffsetPrior {
        OffsetPrior::new(self.prior.offset_sd, self.designers)
    }

    /// Prior covariance of designer `d`'s offset with each judgement.
    fn offset_cross(&self, d: usize) -> DVector<f64> {
        let offsets = self.offsets();
        let judged = self
            .combinations
            .iter()
            .map(|c| c.offset_of.map_or(0.0, |e| offsets.covariance(d, e)));
        let believed = self.believed.iter().map(|_| 0.0);
        DVector::from_iterator(self.posterior.len(), judged.chain(believed))
    }
}

/// The designers' offsets: deviations from the studio's average designer,
/// `Cov(a_d, a_e) = τ²·([d = e] − 1/D)`.
#[derive(Debug, Clone, Copy)]
struct OffsetPrior {
    tau2: f64,
    designers: usize,
}

impl OffsetPrior {
    fn new(offset_sd: f64, designers: usize) -> Self {
        OffsetPrior {
            tau2: offset_sd * offset_sd,
            designers: designers.max(1),
        }
    }

    fn covariance(&self, d: usize, e: usize) -> f64 {
        let same = if d == e { 1.0 } else { 0.0 };
        self.tau2 * (same - 1.0 / self.designers as f64)
    }

    fn variance(&self) -> f64 {
        self.covariance(0, 0)
    }
}

/// `K_η[i, j] = Σ c_i c_j K_u[u, v] + Cov(offsets of i and j)`.
fn judgement_covariance(
    combinations: &[Combination],
    unit_covariance: &DMatrix<f64>,
    offsets: &OffsetPrior,
) -> DMatrix<f64> {
    let n = combinations.len();
    let mut k = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let (a, b) = (&combinations[i], &combinations[j]);
            let mut v: f64 = a
                .units
                .iter()
                .map(|&(u, cu)| {
                    b.units
                        .iter()
                        .map(|&(w, cw)| cu * cw * unit_covariance[(u, w)])
                        .sum::<f64>()
                })
                .sum();
            if let (Some(d), Some(e)) = (a.offset_of, b.offset_of) {
                v += offsets.covariance(d, e);
            }
            k[(i, j)] = v;
            k[(j, i)] = v;
        }
    }
    k
}

/// Posterior means of every unit's quality and every designer's offset.
fn latent_means(
    combinations: &[Combination],
    unit_covariance: &DMatrix<f64>,
    offset_prior: &OffsetPrior,
    posterior: &LaplacePosterior,
    units: usize,
    designers: usize,
) -> (Vec<f64>, Vec<f64>) {
    let qualities = (0..units)
        .map(|u| {
            let cross = DVector::from_iterator(
                combinations.len(),
                combinations.iter().map(|c| {
                    c.units
                        .iter()
                        .map(|&(v, w)| w * unit_covariance[(u, v)])
                        .sum::<f64>()
                }),
            );
            posterior.predict_mean(&cross)
        })
        .collect();
    let offsets = (0..designers)
        .map(|d| {
            let cross = DVector::from_iterator(
                combinations.len(),
                combinations
                    .iter()
                    .map(|c| c.offset_of.map_or(0.0, |e| offset_prior.covariance(d, e))),
            );
            posterior.predict_mean(&cross)
        })
        .collect();
    (qualities, offsets)
}

/// Each designer's scale maximising their judgements' likelihood at the
/// mode's qualities and offsets plus the log-normal prior (golden-section
/// search on `ln s`); designers with few star ratings keep 1.
///
/// Scales are *relative*: their geometric mean over the designers who have
/// one is 1. The posterior qualities are shrunk toward the mean, so every
/// designer's scale alone would come out above 1, and with one designer
/// the scale only repeats the kernel's signal variance; stretching them all
/// alike taught nothing and, on the simulated designers, cost a third of a
/// star in the renders seen last.
fn fit_scales(
    shapes: &[Shape],
    judgements: &[Judgement],
    qualities: &[f64],
    offsets: &[f64],
    prior: &StudioPrior,
    designers: usize,
) -> Vec<f64> {
    let fitted: Vec<Option<f64>> = (0..designers)
        .map(|d| {
            let own = shapes.iter().filter(|s| s.1 == d && s.2.is_some()).count();
            if own < prior.min_ratings_for_scale {
                return None;
            }
            let objective = |log_s: f64| {
                let s = log_s.exp();
                let likelihood: f64 = shapes
                    .iter()
                    .zip(judgements)
                    .filter(|(shape, _)| shape.1 == d)
                    .map(|((units, _, offset, interval, sigma), j)| {
                        let quality: f64 = units.iter().map(|&(u, c)| c * qualities[u]).sum();
                        let eta = j.mean + s * quality + offset.map_or(0.0, |o| offsets[o]);
                        interval_log_likelihood(*interval, eta, *sigma).value
                    })
                    .sum();
                likelihood - 0.5 * (log_s / prior.log_scale_sd).powi(2)
            };
            Some(golden_section_max(objective, -1.0, 1.0))
        })
        .collect();
    let logs: Vec<f64> = fitted.iter().flatten().copied().collect();
    if logs.len() < 2 {
        return vec![1.0; designers];
    }
    let centre = logs.iter().sum::<f64>() / logs.len() as f64;
    fitted
        .iter()
        .map(|l| l.map_or(1.0, |l| (l - centre).exp()))
        .collect()
}

/// The maximiser of a unimodal `f` on `[lo, hi]`.
fn golden_section_max(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (f(a), f(b));
    for _ in 0..40 {
        if fa < fb {
            lo = a;
            a = b;
            fa = fb;
            b = lo + ratio * (hi - lo);
            fb = f(b);
        } else {
            hi = b;
            b = a;
            fb = fa;
            a = hi - ratio * (hi - lo);
            fa = f(a);
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::kernel::Matern52;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, Normal};

    fn kernel(dims: usize) -> StudioKernel {
        StudioKernel {
            matern: Matern52 {
                length_scales: vec![0.3; dims],
                signal_variance: 1.0,
            },
            tag_weight: 0.3,
            taste_share: 0.1,
        }
    }

    fn point(x: f64) -> Point {
        Point {
            x: vec![x],
            room: None,
            style: None,
        }
    }

    fn true_quality(x: f64) -> f64 {
        3.0 + 1.2 * (-((x - 0.6) / 0.25).powi(2)).exp() - 0.8 * x
    }

    /// Three designers rate the same renders with hidden offsets −1, 0, +1
    /// stars; the model recovers the offsets (their differences, which are
    /// what is identified) within their stated uncertainty, and a strict
    /// designer's ratings no longer drag the quality down.
    #[test]
    fn designer_offsets_are_recovered_from_synthetic_ratings() {
        let mut rng = StdRng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.4).unwrap();
        let offsets = [-1.0, 0.0, 1.0];
        let renders: Vec<Point> = (0..40).map(|i| point(i as f64 / 39.0)).collect();
        let mut stars = Vec::new();
        for (r, p) in renders.iter().enumerate() {
            for (d, offset) in offsets.iter().enumerate() {
                if rng.random::<f64>() < 0.7 {
                    let seen = true_quality(p.x[0]) + offset + noise.sample(&mut rng);
                    stars.push((r, d, seen.round().clamp(1.0, 5.0) as u8));
                }
            }
        }
        let data = StudioData {
            renders,
            designers: 3,
            stars,
            preferences: vec![],
        };
        let model = StudioModel::fit(&data, kernel(1), StudioPrior::default(), 3.0, 0.45).unwrap();
        let scales = model.designer_scales();
        let centre = scales.iter().map(|s| s.offset).sum::<f64>() / 3.0;
        for (d, truth) in offsets.iter().enumerate() {
            let found = scales[d].offset - centre;
            assert!(
                (found - truth).abs() < 0.3 + 2.0 * scales[d].offset_sd,
                "designer {d}: {found:.2} ± {:.2} vs {truth}",
                scales[d].offset_sd
            );
            assert!(
                (found - truth).abs() < 0.35,
                "designer {d}: {found:.2} vs {truth}"
            );
        }
        // The studio's quality is found where the truth has its peak.
        let best = (0..=100)
            .map(|i| i as f64 / 100.0)
            .max_by(|a, b| {
                model
                    .predict_mean(&point(*a), None)
                    .total_cmp(&model.predict_mean(&point(*b), None))
            })
            .unwrap();
        assert!((best - 0.55).abs() < 0.12, "peak at {best}");
    }

    /// Preferences alone order renders: a designer who only picks the
    /// better of pairs teaches the model where the peak is.
    #[test]
    fn preferences_alone_find_the_better_renders() {
        let mut rng = StdRng::seed_from_u64(3);
        let renders: Vec<Point> = (0..30).map(|i| point(i as f64 / 29.0)).collect();
        let mut preferences = Vec::new();
        for _ in 0..60 {
            let a = rng.random_range(0..30);
            let b = rng.random_range(0..30);
            if a == b {
                continue;
            }
            let qa = true_quality(renders[a].x[0]) + rng.random_range(-0.3..0.3);
            let qb = true_quality(renders[b].x[0]) + rng.random_range(-0.3..0.3);
            let (better, worse) = if qa >= qb { (a, b) } else { (b, a) };
            preferences.push((better, worse, 0, false));
        }
        let data = StudioData {
            renders,
            designers: 1,
            stars: vec![],
            preferences,
        };
        let model = StudioModel::fit(&data, kernel(1), StudioPrior::default(), 3.0, 0.45).unwrap();
        let at = |x: f64| model.predict_mean(&point(x), Some(0));
        assert!(
            at(0.6) > at(0.0) && at(0.6) > at(1.0),
            "{} {} {}",
            at(0.0),
            at(0.6),
            at(1.0)
        );
    }

    /// A scale far from 1 is found: a designer who uses the whole scale
    /// (s = 1.8) beside two who use it normally.
    #[test]
    fn a_wide_scale_designer_gets_a_scale_above_one() {
        let mut rng = StdRng::seed_from_u64(11);
        let noise = Normal::new(0.0, 0.3).unwrap();
        let renders: Vec<Point> = (0..30).map(|i| point(i as f64 / 29.0)).collect();
        let mut stars = Vec::new();
        for (r, p) in renders.iter().enumerate() {
            for (d, s) in [1.0, 1.0, 1.8].iter().enumerate() {
                let q = true_quality(p.x[0]) - 3.0;
                let seen = 3.0 + s * q * 1.5 + noise.sample(&mut rng);
                stars.push((r, d, seen.round().clamp(1.0, 5.0) as u8));
            }
        }
        let data = StudioData {
            renders,
            designers: 3,
            stars,
            preferences: vec![],
        };
        let model = StudioModel::fit(&data, kernel(1), StudioPrior::default(), 3.0, 0.4).unwrap();
        let scales = model.designer_scales();
        assert!(
            scales[2].scale > 1.2 * scales[0].scale.max(scales[1].scale),
            "{scales:?}"
        );
    }

    /// The joint prediction agrees with the one-point predictions on its
    /// diagonal and is a valid covariance.
    #[test]
    fn joint_predictions_agree_with_single_ones() {
        let data = StudioData {
            renders: (0..6).map(|i| point(i as f64 / 5.0)).collect(),
            designers: 2,
            stars: vec![(0, 0, 2), (2, 0, 4), (3, 1, 5), (5, 1, 3), (2, 1, 4)],
            preferences: vec![(3, 4, 0, false)],
        };
        let model = StudioModel::fit(&data, kernel(1), StudioPrior::default(), 3.0, 0.45).unwrap();
        let points: Vec<Point> = [0.1, 0.45, 0.9].iter().map(|x| point(*x)).collect();
        for designer in [None, Some(1)] {
            let (means, covariance) = model.predict_joint(&points, designer);
            for (j, p) in points.iter().enumerate() {
                let single = model.predict(p, designer);
                assert!((means[j] - single.mean).abs() < 1e-9);
                assert!((covariance[(j, j)].sqrt() - single.sd).abs() < 1e-6);
            }
            assert!(
                covariance
                    .symmetric_eigenvalues()
                    .iter()
                    .all(|e| *e > -1e-9)
            );
        }
    }

    #[test]
    fn golden_section_finds_a_known_maximum() {
        let x = golden_section_max(|x| -(x - 0.37).powi(2), -1.0, 1.0);
        assert!((x - 0.37).abs() < 1e-6);
    }
}
