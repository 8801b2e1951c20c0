//! A simulated studio: several designers with hidden offsets, scales, noise
//! and partly different tastes, photos of several contexts whose best
//! settings differ, designers who give stars, preferences or both — all
//! through the same `suggest` → `rate`/`prefer` code paths (and a real
//! database) a studio uses.
//!
//! - **Quality.** One landscape per arm (from [`super::simulate::panel`]);
//!   a room shifts where its optimum lies (a dark basement wants the render
//!   to move further from the photo than a bright loft), and a designer's
//!   taste shifts it a little more. The designer's *true* quality of a
//!   render is that landscape's value for their room and taste.
//! - **Stars.** `round(3 + s·(q − 3) + a + ε)`, clamped to 1–5, with the
//!   designer's hidden offset `a`, scale `s` and noise `ε ~ N(0, σ²)`.
//! - **Preferences.** Of the two variants, the one whose `q + ε` is higher;
//!   "same" when the two noisy readings are within a fifth of a star.
//!
//! Measured per session: judgements until a render of true quality ≥ 4.0
//! was shown (on the photo that counts), the mean true quality of the last
//! ten renders each designer saw, and how well the model predicts held-out
//! ratings (RMSE in stars and the share inside the 80% interval).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use std::path::PathBuf;

use super::prefer::{PreferenceInput, prefer};
use super::rate::rate;
use super::simulate::{Designer as Landscape, panel};
use super::suggest::{SuggestOptions, suggest_for};
use super::{Paths, Workspace};
use crate::config::Config;
use crate::domain::{ImageMeta, Params, PhotoFeatures, RoomContext, Stars, Trial};
use crate::error::Result;
use crate::optim::{ModelKind, ModelQuery};
use crate::store::OpenMode;

/// How a simulated designer judges a batch of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Judging {
    /// Stars for each variant.
    Stars,
    /// Only which of the two is better (or "same").
    Preferences,
    /// Stars for each, and the preference.
    Both,
}

/// A simulated designer of the studio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudioDesigner {
    /// Name given with `--by`.
    pub name: String,
    /// Hidden offset, stars (negative: strict).
    pub offset: f64,
    /// Hidden scale of their reading around 3 stars.
    pub scale: f64,
    /// Rating noise (sd before rounding).
    pub noise_sd: f64,
    /// Where their taste moves the optimum (unit cube).
    pub taste: [f64; 3],
    /// How they judge.
    pub judging: Judging,
}

/// A photo of a room: its measured features and tags, and how far its
/// best settings lie from the landscape's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulatedPhoto {
    /// A name for reports.
    pub name: String,
    /// What the model sees.
    pub context: RoomContext,
    /// Shift of the optimum, unit cube.
    pub shift: [f64; 3],
}

/// A dark photo (low brightness and window light) or a bright one; `jitter`
/// makes a different photo of the same kind.
pub fn photo(name: &str, dark: bool, jitter: f64) -> SimulatedPhoto {
    let level = if dark { 0.18 } else { 0.78 } + jitter;
    SimulatedPhoto {
        name: name.into(),
        context: RoomContext {
            features: Some(PhotoFeatures {
                brightness: level,
                contrast: 0.35 + jitter,
                warmth: if dark { 0.6 } else { 0.45 },
                colourfulness: 0.3,
                clutter: 0.25 - jitter,
                window_light: if dark { 0.02 } else { 0.3 },
            }),
            room: Some(if dark { "basement" } else { "loft" }.into()),
            style: None,
        },
        // Dark rooms want the render to move further from the photo and
        // the prompt pushed harder; bright ones the opposite.
        shift: if dark {
            [0.22, 0.18, 0.0]
        } else {
            [-0.2, -0.15, 0.0]
        },
    }
}

fn designer(name: &str, offset: f64, judging: Judging) -> StudioDesigner {
    StudioDesigner {
        name: name.into(),
        offset,
        scale: 1.0,
        noise_sd: 0.5,
        taste: [0.0; 3],
        judging,
    }
}

/// The studio scenarios the targets are stated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// One unbiased designer rates with stars (the reference).
    OneDesigner,
    /// Three designers with offsets −1, 0, +1 (scales 0.8, 1, 1.2, tastes
    /// a little apart) take turns.
    ThreeDesigners,
    /// One designer who only gives preferences.
    PreferencesOnly,
    /// Twenty ratings on a dark and a bright photo, then a new dark photo:
    /// judgements counted on the new photo only.
    NewPhotoOfAKnownContext,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 4] = [
        Scenario::OneDesigner,
        Scenario::ThreeDesigners,
        Scenario::PreferencesOnly,
        Scenario::NewPhotoOfAKnownContext,
    ];

    /// Name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::OneDesigner => "one-designer",
            Scenario::ThreeDesigners => "three-designers",
            Scenario::PreferencesOnly => "preferences-only",
            Scenario::NewPhotoOfAKnownContext => "new-photo-known-context",
        }
    }

    fn designers(self) -> Vec<StudioDesigner> {
        match self {
            Scenario::ThreeDesigners => vec![
                StudioDesigner {
                    scale: 0.8,
                    taste: [0.0, 0.05, 0.0],
                    ..designer("strict", -1.0, Judging::Stars)
                },
                designer("neutral", 0.0, Judging::Stars),
                StudioDesigner {
                    scale: 1.2,
                    taste: [0.0, -0.05, 0.0],
                    ..designer("generous", 1.0, Judging::Stars)
                },
            ],
            Scenario::PreferencesOnly => vec![designer("picker", 0.0, Judging::Preferences)],
            Scenario::OneDesigner | Scenario::NewPhotoOfAKnownContext => {
                vec![designer("designer", 0.0, Judging::Stars)]
            }
        }
    }
}

/// What one simulated studio session produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudioRun {
    /// Judgements (a star rating or a preference; warm-up excluded) until a
    /// render of true quality ≥ 4.0 was shown on the photo that counts.
    pub judgements_to_4: Option<usize>,
    /// Renders shown until then.
    pub renders_to_4: Option<usize>,
    /// Mean true quality of the last ten renders each designer saw, averaged.
    pub true_last_10: f64,
    /// RMSE of the model's predicted stars on held-out ratings.
    pub heldout_rmse: f64,
    /// Share of held-out ratings inside the 80% predictive interval.
    pub heldout_coverage_80: f64,
}

/// One session: `judgements` judgements (after any warm-up) of `scenario`
/// with the model `model`, on a fresh database under `dir`.
pub fn run_studio_session(
    base: &Config,
    scenario: Scenario,
    model: ModelKind,
    seed: u64,
    judgements: usize,
    dir: PathBuf,
) -> Result<StudioRun> {
    let mut config = base.clone();
    config.optimizer.model = model;
    let ws = Workspace {
        config,
        paths: Paths {
            database: dir.join("sim.db").into(),
            data_dir: dir.clone(),
        },
        seed: Some(seed),
        config_file: None,
        storage: crate::storage::Storage::local(dir.clone()),
    };
    let arms: Vec<String> = ws
        .config
        .providers
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    let landscape = &panel()[3]; // "smooth": a bump per arm, arm 0 higher
    let designers = scenario.designers();
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_5747_D10D_0001);
    let (warm_up, photos, target) = match scenario {
        Scenario::NewPhotoOfAKnownContext => (
            vec![photo("dark-1", true, 0.0), photo("bright-1", false, 0.0)],
            vec![photo("dark-2", true, 0.04)],
            0usize,
        ),
        _ => (Vec::new(), vec![photo("room", false, 0.0)], 0usize),
    };
    // Warm-up: 20 judgements alternating the two known photos.
    let mut turn = 0usize;
    let mut warm_count = 0;
    while warm_count < 20 && !warm_up.is_empty() {
        let p = &warm_up[turn % warm_up.len()];
        let d = &designers[turn % designers.len()];
        let (n, _) = judge_batch(&ws, &mut store, &arms, landscape, d, p, &mut rng)?;
        warm_count += n;
        turn += 1;
    }
    let mut counted = 0usize;
    let mut shown = 0usize;
    let mut reached: Option<(usize, usize)> = None;
    let mut seen: Vec<Vec<f64>> = vec![Vec::new(); designers.len()];
    turn = 0;
    while counted < judgements {
        let d_index = turn % designers.len();
        let p = &photos[target];
        let (n, truths) = judge_batch(
            &ws,
            &mut store,
            &arms,
            landscape,
            &designers[d_index],
            p,
            &mut rng,
        )?;
        for t in &truths {
            shown += 1;
            if reached.is_none() && *t >= 4.0 {
                reached = Some((counted + n, shown));
            }
        }
        seen[d_index].extend(truths);
        counted += n;
        turn += 1;
    }
    let true_last_10 = seen
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let last: Vec<f64> = s.iter().rev().take(10).copied().collect();
            last.iter().sum::<f64>() / last.len() as f64
        })
        .sum::<f64>()
        / seen.iter().filter(|s| !s.is_empty()).count().max(1) as f64;
    let (heldout_rmse, heldout_coverage_80) = held_out(
        &ws,
        &store,
        &arms,
        landscape,
        &designers,
        &photos[target],
        &mut rng,
    )?;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(StudioRun {
        judgements_to_4: reached.map(|r| r.0),
        renders_to_4: reached.map(|r| r.1),
        true_last_10,
        heldout_rmse,
        heldout_coverage_80,
    })
}

/// True quality for a designer in a room, 1–5.
fn true_quality(
    landscape: &Landscape,
    arms: &[String],
    designer: &StudioDesigner,
    photo: &SimulatedPhoto,
    trial: &Trial,
) -> f64 {
    // Moving the optimum by `shift` is evaluating the landscape at the
    // point moved the other way.
    let ranges = [(0.1, 0.5), (5.0, 12.0), (0.7, 0.99)];
    let v = [
        trial.params.init_strength,
        trial.params.guidance_scale,
        trial.params.controlnet_weight,
    ];
    let mut moved = [0.0; 3];
    for d in 0..3 {
        let (lo, hi) = ranges[d];
        let u = (v[d] - lo) / (hi - lo) - photo.shift[d] - designer.taste[d];
        moved[d] = lo + u * (hi - lo);
    }
    let moved_trial = Trial {
        provider: trial.provider.clone(),
        params: Params {
            init_strength: moved[0],
            guidance_scale: moved[1],
            controlnet_weight: moved[2],
        },
    };
    landscape.true_quality(arms, &moved_trial)
}

fn stars_given(designer: &StudioDesigner, quality: f64, rng: &mut StdRng) -> Stars {
    let noise = Normal::new(0.0, designer.noise_sd).map_or(0.0, |n| n.sample(rng));
    let reading = 3.0 + designer.scale * (quality - 3.0) + designer.offset + noise;
    Stars::new(reading.round().clamp(1.0, 5.0) as i64).expect("clamped to 1-5")
}

/// Asks for two suggestions for this designer and photo and judges them;
/// returns the judgements made and the true qualities shown.
fn judge_batch(
    ws: &Workspace,
    store: &mut crate::store::Store,
    arms: &[String],
    landscape: &Landscape,
    designer: &StudioDesigner,
    photo: &SimulatedPhoto,
    rng: &mut StdRng,
) -> Result<(usize, Vec<f64>)> {
    let options = SuggestOptions {
        count: 2,
        meta: ImageMeta {
            room: photo.context.room.clone(),
            style: photo.context.style.clone(),
            ..ImageMeta::default()
        },
        designer: Some(designer.name.clone()),
        measured: photo.context.features,
        ..SuggestOptions::default()
    };
    let suggestions = suggest_for(ws, store, &options)?;
    let truths: Vec<f64> = suggestions
        .iter()
        .map(|s| {
            let trial = Trial {
                provider: s.provider.clone(),
                params: s.params,
            };
            true_quality(landscape, arms, designer, photo, &trial)
        })
        .collect();
    let mut made = 0;
    if matches!(designer.judging, Judging::Stars | Judging::Both) {
        for (s, q) in suggestions.iter().zip(&truths) {
            let stars = stars_given(designer, *q, rng);
            rate(
                store,
                s.experiment_id.as_str(),
                stars,
                None,
                Some(&designer.name),
            )?;
            made += 1;
        }
    }
    if matches!(designer.judging, Judging::Preferences | Judging::Both) && suggestions.len() == 2 {
        let noise = Normal::new(0.0, designer.noise_sd).map_or(0.0, |n| n.sample(rng));
        let difference = truths[0] - truths[1] + noise;
        let tie = difference.abs() < 0.2;
        let (better, worse) = if difference >= 0.0 { (0, 1) } else { (1, 0) };
        prefer(
            store,
            &PreferenceInput {
                better: suggestions[better].experiment_id.as_str(),
                worse: suggestions[worse].experiment_id.as_str(),
                tie,
                comment: None,
                rated_by: Some(&designer.name),
            },
        )?;
        made += 1;
    }
    Ok((made, truths))
}

/// Predictions of each designer's stars at random settings on the photo,
/// against what they would give: RMSE and the 80% interval's coverage.
fn held_out(
    ws: &Workspace,
    store: &crate::store::Store,
    arms: &[String],
    landscape: &Landscape,
    designers: &[StudioDesigner],
    photo: &SimulatedPhoto,
    rng: &mut StdRng,
) -> Result<(f64, f64)> {
    let mut squared = 0.0;
    let mut inside = 0usize;
    let mut count = 0usize;
    for designer in designers {
        let mut optimizer = ws.optimizer(store)?.for_query(ModelQuery {
            designer: Some(designer.name.clone()),
            context: photo.context.clone(),
        });
        let Some(model) = optimizer.model().map_err(crate::error::Error::from)? else {
            continue;
        };
        let space = optimizer.space().clone();
        for _ in 0..20 {
            let unit = [
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            ];
            let arm = rng.random_range(0..arms.len());
            let trial = Trial {
                provider: arms[arm].clone(),
                params: space.params_from_unit(unit),
            };
            let Some(x) = space.encode(&trial) else {
                continue;
            };
            let prediction = model.gp().predict(&x);
            let truth = true_quality(landscape, arms, designer, photo, &trial);
            let given = f64::from(stars_given(designer, truth, rng).get());
            let noise = model.gp().studio().map_or(0.5, |m| m.noise_sd());
            let sd = (prediction.sd.powi(2) + noise * noise + 1.0 / 12.0).sqrt();
            squared += (prediction.mean - given).powi(2);
            if (prediction.mean - given).abs() <= 1.2816 * sd {
                inside += 1;
            }
            count += 1;
        }
    }
    let n = count.max(1) as f64;
    Ok(((squared / n).sqrt(), inside as f64 / n))
}
