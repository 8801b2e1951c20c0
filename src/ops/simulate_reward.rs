//! `latina simulate --reward`: the reward model and the best-k-of-N
//! shortlist measured on a designer who looks at pixels
//! ([`super::pixel_designer`]): real renders of the built-in engines on
//! real photos (copies with a long side of a few hundred pixels, so a run
//! takes seconds), rated by a hidden taste the model never sees.
//!
//! Per session (one seed, one drawn designer):
//! - **Pairwise accuracy.** Random renders over every photo are rated in
//!   stars; the model fitted on the first 10, 20, 40 … of them orders
//!   held-out pairs of renders of the same photo. Scored against the
//!   designer's own pick at one look (noisy, as people are), against the
//!   true order, and beside the designer's test–retest agreement (the same
//!   pairs picked twice with fresh noise: the ceiling).
//! - **k of N against A/B.** On one photo, the optimizer proposes the
//!   candidates in both arms: A/B renders and shows 2; the shortlist arm
//!   renders N, the reward model (fitted on the session's ratings so far)
//!   predicts them and [`crate::optim::reward::shortlist`] shows k. Same
//!   number of ratings in both; the true quality of what was shown, and the
//!   ratings until a shown render is truly 4 stars or better.

use image::RgbImage;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::pixel_designer::{Looks, PixelTaste, looks};
use crate::domain::{PhotoFeatures, RatedTrial, Stars, Trial};
use crate::error::{Error, Result};
use crate::imaging::{Analysis, Engine, LoadLimits, StyleIntent, context, render};
use crate::optim::reward::{
    Candidate, Reason, RewardInput, RewardModel, RewardObservation, RewardSettings, ShortlistRule,
};
use crate::optim::{Bounds, Optimizer, OptimizerSettings, SearchSpace};

/// What a run measures, and on what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardSimOptions {
    /// Folder of photos (JPEG or PNG).
    pub photos: PathBuf,
    /// Long side of the copies rendered, pixels.
    pub side: u32,
    /// Training sizes the pairwise accuracy is measured at.
    pub training: Vec<usize>,
    /// Held-out renders per photo (every pair of them is scored).
    pub held_out: usize,
    /// Ratings in each arm of the k-of-N comparison.
    pub ratings: usize,
    /// Candidates rendered per round in the shortlist arm.
    pub candidates: usize,
    /// Candidates shown per round.
    pub show: usize,
    /// Ratings before the reward model picks (before: the optimizer's first k).
    pub model_from: usize,
}

/// The folder the fixture photos live in (this source tree's).
pub fn default_photos() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images")
}

impl Default for RewardSimOptions {
    fn default() -> Self {
        RewardSimOptions {
            photos: default_photos(),
            side: 320,
            training: vec![10, 20, 40],
            held_out: 10,
            ratings: 30,
            candidates: 8,
            show: 2,
            model_from: 6,
        }
    }
}

/// A photo as the simulation uses it: the small copy and what is measured once.
pub struct SimPhoto {
    /// File name.
    pub name: String,
    rgb: RgbImage,
    analysis: Analysis,
    looks: Looks,
    context: PhotoFeatures,
}

/// Loads every JPEG or PNG in `dir` (sorted by name) as a copy whose long
/// side is at most `side`.
///
/// # Errors
/// [`Error::Io`] if the folder cannot be read, [`Error::Image`] for a file
/// that is not a usable photo, [`Error::Optimizer`] when there is none.
pub fn load_photos(dir: &Path, side: u32) -> Result<Vec<SimPhoto>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::Optimizer(format!(
            "no .jpg or .png photos in {}",
            dir.display()
        )));
    }
    paths
        .iter()
        .map(|path| {
            let loaded = crate::imaging::load::load(path, &LoadLimits::default())?;
            let rgb = shrink(&loaded.rgb, side.max(32));
            Ok(SimPhoto {
                name: path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                analysis: Analysis::of(&rgb),
                looks: looks(&rgb),
                context: context::photo_features(&rgb),
                rgb,
            })
        })
        .collect()
}

fn shrink(rgb: &RgbImage, side: u32) -> RgbImage {
    let long = rgb.width().max(rgb.height());
    if long <= side {
        return rgb.clone();
    }
    let scale = f64::from(side) / f64::from(long);
    let w = ((f64::from(rgb.width()) * scale).round() as u32).max(1);
    let h = ((f64::from(rgb.height()) * scale).round() as u32).max(1);
    image::imageops::resize(rgb, w, h, image::imageops::FilterType::Triangle)
}

/// The two built-in engines under the base prompt.
struct Studio {
    space: SearchSpace,
    engines: [Engine; 2],
    style: StyleIntent,
}

impl Studio {
    fn new(bounds: [Bounds; 3]) -> Result<Self> {
        let base = crate::prompts::base_prompt();
        Ok(Studio {
            space: SearchSpace::new(vec!["tone".into(), "detail".into()], bounds)?,
            engines: [Engine::Tone, Engine::Detail],
            style: StyleIntent::from_prompt(&base.prompt, &base.negative_prompt),
        })
    }

    fn render(&self, photo: &SimPhoto, trial: &Trial) -> RgbImage {
        let arm = self.space.provider_index(&trial.provider).unwrap_or(0);
        let plan = self.engines[arm].plan(&trial.params, &self.style, &photo.analysis.stats, false);
        render::render(&photo.rgb, &photo.analysis, &plan)
    }

    /// What the reward model reads: the render's measured features, the
    /// unit parameters with a one-hot arm, and the room.
    fn input(&self, photo: &SimPhoto, trial: &Trial, render: &RgbImage) -> RewardInput {
        let mut params = self.space.unit_reals(&trial.params).to_vec();
        let arm = self.space.provider_index(&trial.provider).unwrap_or(0);
        params.extend([f64::from(u8::from(arm == 0)), f64::from(u8::from(arm == 1))]);
        RewardInput {
            render: model_features(&photo.rgb, render),
            params,
            context: Some(photo.context),
            extra: Vec::new(),
        }
    }

    fn random_trial(&self, rng: &mut StdRng) -> Trial {
        let unit = [rng.random(), rng.random(), rng.random()];
        Trial {
            provider: self.space.providers()[rng.random_range(0..2)].clone(),
            params: self.space.params_from_unit(unit),
        }
    }
}

/// The reward model's view of a render: the render features `enhance`
/// measures and stores (`imaging::quality`) — none of the designer's code.
fn model_features(photo: &RgbImage, render: &RgbImage) -> Vec<f64> {
    // The same measures `enhance` stores for every render.
    crate::imaging::quality::render_features(photo, render)
        .as_array()
        .to_vec()
}

/// Pairwise accuracy after some training ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyAt {
    /// Training ratings.
    pub ratings: usize,
    /// Share of held-out pairs ordered as the designer picked them.
    pub vs_designer: f64,
    /// Share ordered as their true qualities are.
    pub vs_truth: f64,
}

/// One arm of the k-of-N comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownRun {
    /// Ratings until a shown render was truly ≥ 4.0 stars.
    pub ratings_to_4: Option<usize>,
    /// Mean true quality of everything shown.
    pub mean_true: f64,
    /// Mean true quality of the last ten shown.
    pub true_last_10: f64,
    /// Rounds whose last slot went to the most informative candidate.
    pub informative_slots: usize,
}

/// What one session measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardRun {
    /// The seed.
    pub seed: u64,
    /// The designer's hidden taste.
    pub taste: PixelTaste,
    /// Accuracy at each training size.
    pub accuracy: Vec<AccuracyAt>,
    /// The designer agreeing with themselves on the same pairs.
    pub retest: f64,
    /// Photo of the k-of-N comparison.
    pub photo: String,
    /// A/B: the optimizer's two, both shown.
    pub ab: ShownRun,
    /// k of N by the reward model.
    pub shortlist: ShownRun,
}

/// One session on `photos` with `seed`.
///
/// # Errors
/// [`Error::Optimizer`] on settings that cannot work, [`Error::Gp`] if the
/// optimizer's model cannot be fitted.
pub fn run_reward_session(
    settings: &OptimizerSettings,
    bounds: [Bounds; 3],
    photos: &[SimPhoto],
    seed: u64,
    options: &RewardSimOptions,
) -> Result<RewardRun> {
    if photos.is_empty() || options.show == 0 || options.candidates < options.show {
        return Err(Error::Optimizer(
            "the simulation needs photos and 1 ≤ show ≤ candidates".into(),
        ));
    }
    let studio = Studio::new(bounds)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9E3_779B_97F4_A7C1);
    let taste = PixelTaste::draw(&mut rng);
    let (accuracy, retest) = pairwise(&studio, photos, &taste, options, &mut rng)?;
    let photo = &photos[(seed as usize) % photos.len()];
    let ab = shown_loop(&studio, settings, photo, &taste, options, seed, 2, 2)?;
    let shortlist = shown_loop(
        &studio,
        settings,
        photo,
        &taste,
        options,
        seed,
        options.candidates,
        options.show,
    )?;
    Ok(RewardRun {
        seed,
        taste,
        accuracy,
        retest,
        photo: photo.name.clone(),
        ab,
        shortlist,
    })
}

struct Rendered {
    photo: usize,
    input: RewardInput,
    truth: f64,
}

fn pairwise(
    studio: &Studio,
    photos: &[SimPhoto],
    taste: &PixelTaste,
    options: &RewardSimOptions,
    rng: &mut StdRng,
) -> Result<(Vec<AccuracyAt>, f64)> {
    let make = |photo: usize, rng: &mut StdRng| {
        let trial = studio.random_trial(rng);
        let p = &photos[photo];
        let img = studio.render(p, &trial);
        Rendered {
            photo,
            input: studio.input(p, &trial, &img),
            truth: taste.quality(&p.rgb, &p.looks, &img),
        }
    };
    let most = options.training.iter().copied().max().unwrap_or(0);
    let training: Vec<RewardObservation> = (0..most)
        .map(|i| {
            let r = make(i % photos.len(), rng);
            RewardObservation {
                stars: f64::from(taste.stars(r.truth, rng)),
                input: r.input,
                designer: None,
            }
        })
        .collect();
    let held: Vec<Rendered> = (0..photos.len())
        .flat_map(|p| std::iter::repeat_n(p, options.held_out))
        .map(|p| make(p, rng))
        .collect();
    // Pairs of renders of the same photo, each picked twice.
    let mut pairs = Vec::new();
    for a in 0..held.len() {
        for b in a + 1..held.len() {
            if held[a].photo == held[b].photo {
                let first = taste.prefers_first(held[a].truth, held[b].truth, rng);
                let again = taste.prefers_first(held[a].truth, held[b].truth, rng);
                pairs.push((a, b, first, again));
            }
        }
    }
    let n = pairs.len().max(1) as f64;
    let retest = pairs.iter().filter(|p| p.2 == p.3).count() as f64 / n;
    let mut accuracy = Vec::new();
    for &size in &options.training {
        let model = RewardModel::fit(
            &training[..size.min(training.len())],
            &RewardSettings::default(),
        )?;
        let predicted: Vec<f64> = held
            .iter()
            .map(|r| model.predict(&r.input, None).map(|p| p.mean))
            .collect::<std::result::Result<_, _>>()?;
        let (mut designer, mut truth) = (0.0, 0.0);
        for &(a, b, first, _) in &pairs {
            let says_first = predicted[a] >= predicted[b];
            designer += f64::from(u8::from(says_first == first));
            truth += f64::from(u8::from(says_first == (held[a].truth >= held[b].truth)));
        }
        accuracy.push(AccuracyAt {
            ratings: size,
            vs_designer: designer / n,
            vs_truth: truth / n,
        });
    }
    Ok((accuracy, retest))
}

/// Rounds of `shown` renders picked from `proposed` candidates until
/// `options.ratings` ratings; the optimizer learns the stars of what was shown.
#[allow(clippy::too_many_arguments)]
fn shown_loop(
    studio: &Studio,
    settings: &OptimizerSettings,
    photo: &SimPhoto,
    taste: &PixelTaste,
    options: &RewardSimOptions,
    seed: u64,
    proposed: usize,
    shown: usize,
) -> Result<ShownRun> {
    let mut optimizer =
        Optimizer::new(studio.space.clone(), *settings, StdRng::seed_from_u64(seed));
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5107_0000 ^ proposed as u64);
    let mut rated: Vec<RewardObservation> = Vec::new();
    let mut truths: Vec<f64> = Vec::new();
    let mut reached = None;
    let mut informative_slots = 0;
    while rated.len() < options.ratings {
        let suggestions = optimizer.ask(proposed, &[])?;
        let renders: Vec<(Trial, RgbImage)> = suggestions
            .into_iter()
            .map(|s| {
                let img = studio.render(photo, &s.trial);
                (s.trial, img)
            })
            .collect();
        let inputs: Vec<RewardInput> = renders
            .iter()
            .map(|(t, img)| studio.input(photo, t, img))
            .collect();
        let picked: Vec<usize> = if proposed > shown && rated.len() >= options.model_from {
            let model = RewardModel::fit(&rated, &RewardSettings::default())?;
            let candidates: Vec<Candidate> = inputs
                .iter()
                .map(|i| {
                    model.predict(i, None).map(|prediction| Candidate {
                        prediction,
                        guard: None,
                    })
                })
                .collect::<std::result::Result<_, _>>()?;
            let list = ShortlistRule::new(shown).apply(&candidates);
            informative_slots += list
                .entries
                .iter()
                .filter(|e| e.reason == Reason::MostInformative)
                .count();
            list.shown
        } else {
            (0..shown.min(renders.len())).collect()
        };
        for i in picked {
            let (trial, img) = &renders[i];
            let truth = taste.quality(&photo.rgb, &photo.looks, img);
            let stars = taste.stars(truth, &mut rng);
            truths.push(truth);
            rated.push(RewardObservation {
                input: inputs[i].clone(),
                stars: f64::from(stars),
                designer: None,
            });
            if reached.is_none() && truth >= 4.0 {
                reached = Some(rated.len());
            }
            optimizer.tell(RatedTrial {
                trial: trial.clone(),
                stars: Stars::new(i64::from(stars))?,
            });
        }
    }
    let last: Vec<f64> = truths.iter().rev().take(10).copied().collect();
    Ok(ShownRun {
        ratings_to_4: reached,
        mean_true: truths.iter().sum::<f64>() / truths.len().max(1) as f64,
        true_last_10: last.iter().sum::<f64>() / last.len().max(1) as f64,
        informative_slots,
    })
}
