//! Simulated designers for prompt evolution: does the champion/challenger
//! trial promote a rewrite that really helps and roll back one that hurts?
//!
//! A [`PromptDesigner`] has a hidden taste: phrases that, when present in
//! the prompt a variant was rendered with, raise or lower the true quality
//! of that render. They write comments from what is wrong with the prompt
//! they were served (in Spanish and English, as designers do), and rate
//! with Gaussian noise rounded to whole stars. Their taste does not depend
//! on the render parameters, so the session asks the optimizer for random
//! points: only the prompt matters.
//!
//! Everything else is the product's own loop on a temp database:
//! [`suggest`] records each variant with the prompt version the
//! champion/challenger share picked, [`rate`] saves the rating, and
//! [`after_rating`] (what `latina rate` runs) judges the trial and evolves
//! when due with the rule-based evolver. The report is read back from the
//! database: the versions created and every decision with its numbers.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::evolve::{EvolveReport, Grouping, after_rating};
use super::rate::rate;
use super::suggest::suggest;
use super::{Paths, Workspace};
use crate::config::{Config, EvolverKind};
use crate::domain::Stars;
use crate::error::Result;
use crate::evolve::rules::RuleEvolver;
use crate::evolve::{Evolver, issues};
use crate::optim::Strategy;
use crate::store::{DecisionRecord, OpenMode, Store};

/// A phrase the designer reacts to, wherever it appears in the prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Taste {
    /// Matched case-insensitively inside the positive prompt.
    pub phrase: String,
    /// Stars added to the true quality when present (negative: it hurts).
    pub effect: f64,
}

/// What the designer writes when the prompt lacks (or has) a phrase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Complaint {
    /// The phrase whose absence (`when_present` false) or presence
    /// (`when_present` true) they notice.
    pub phrase: String,
    /// Whether the complaint is about the phrase being there.
    pub when_present: bool,
    /// What they write, one picked at random.
    pub comments: Vec<String>,
}

/// A simulated designer judging renders by the prompt they were made with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptDesigner {
    /// A short name.
    pub name: String,
    /// What the panel expects of them, in words.
    pub story: String,
    /// True quality of a render from a prompt with none of the tastes, stars.
    pub base_quality: f64,
    /// The hidden taste.
    pub tastes: Vec<Taste>,
    /// What they complain about.
    pub complaints: Vec<Complaint>,
    /// What they write when nothing bothers them.
    pub praise: Vec<String>,
    /// Probability of writing a comment with a rating.
    pub comment_rate: f64,
    /// Rating noise, stars (sd before rounding).
    pub noise_sd: f64,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

impl PromptDesigner {
    /// The hidden true quality of a render made with `prompt`, in 1–5 stars.
    pub fn true_quality(&self, prompt: &str) -> f64 {
        let prompt = prompt.to_lowercase();
        let effect: f64 = self
            .tastes
            .iter()
            .filter(|t| prompt.contains(&t.phrase.to_lowercase()))
            .map(|t| t.effect)
            .sum();
        (self.base_quality + effect).clamp(1.0, 5.0)
    }

    /// A noisy whole-star rating and maybe a comment for a render made
    /// with `prompt`.
    pub fn react(&self, prompt: &str, rng: &mut StdRng) -> (Stars, Option<String>) {
        let noise = Normal::new(0.0, self.noise_sd).map_or(0.0, |n| n.sample(rng));
        let stars = (self.true_quality(prompt) + noise).round().clamp(1.0, 5.0);
        let stars = Stars::new(stars as i64).expect("clamped to 1-5");
        if rng.random::<f64>() >= self.comment_rate {
            return (stars, None);
        }
        let lower = prompt.to_lowercase();
        let active: Vec<&Complaint> = self
            .complaints
            .iter()
            .filter(|c| lower.contains(&c.phrase.to_lowercase()) == c.when_present)
            .collect();
        let pool: &[String] = if active.is_empty() {
            &self.praise
        } else {
            &active[rng.random_range(0..active.len())].comments
        };
        let comment = (!pool.is_empty()).then(|| pool[rng.random_range(0..pool.len())].clone());
        (stars, comment)
    }
}

/// The built-in designers: one whom the rule evolver's rewrite helps, one
/// whom it hurts.
pub fn prompt_panel() -> Vec<PromptDesigner> {
    vec![
        PromptDesigner {
            name: "depth-seeker".into(),
            story: "finds the renders flat and the light fake; the phrase bank's fixes for \
                    flat_look and lighting are what they want (challenger should be promoted)"
                .into(),
            base_quality: 2.9,
            tastes: vec![
                Taste {
                    phrase: "strong sense of depth".into(),
                    effect: 0.4,
                },
                Taste {
                    phrase: "layered lighting".into(),
                    effect: 0.2,
                },
                Taste {
                    phrase: "realistic motivated lighting".into(),
                    effect: 0.3,
                },
            ],
            complaints: vec![
                Complaint {
                    phrase: "strong sense of depth".into(),
                    when_present: false,
                    comments: strings(&[
                        "se ve plano",
                        "se ve muy plano, sin profundidad",
                        "looks flat, no depth at all",
                        "muy plana la imagen, le falta volumen",
                    ]),
                },
                Complaint {
                    phrase: "realistic motivated lighting".into(),
                    when_present: false,
                    comments: strings(&[
                        "la iluminación es artificial",
                        "the lighting looks fake",
                        "luz muy artificial, parece de estudio",
                    ]),
                },
            ],
            praise: strings(&[
                "me encanta, se siente real",
                "great depth, love it",
                "la luz está muy bien",
            ]),
            comment_rate: 0.8,
            noise_sd: 0.5,
        },
        PromptDesigner {
            name: "warm-palette".into(),
            story: "calls the colours washed out but wants warm, rich tones; the phrase bank's \
                    fix (accurate natural colours, neutral white balance) makes it worse \
                    (challenger should be rolled back)"
                .into(),
            base_quality: 3.2,
            tastes: vec![
                Taste {
                    phrase: "neutral white balance".into(),
                    effect: -0.5,
                },
                Taste {
                    phrase: "accurate natural colors".into(),
                    effect: -0.2,
                },
                Taste {
                    phrase: "warm golden tones".into(),
                    effect: 0.8,
                },
            ],
            complaints: vec![
                Complaint {
                    phrase: "warm golden tones".into(),
                    when_present: false,
                    comments: strings(&[
                        "washed out colors",
                        "colores apagados",
                        "le falta color, se ve desaturado",
                        "colors look dull and washed out",
                    ]),
                },
                Complaint {
                    phrase: "neutral white balance".into(),
                    when_present: true,
                    comments: strings(&[
                        "colores fríos y apagados",
                        "too cold, the colors are washed out",
                    ]),
                },
            ],
            praise: strings(&["bonitos colores", "nice warm colors"]),
            comment_rate: 0.8,
            noise_sd: 0.5,
        },
    ]
}

/// A prompt version the session created.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatedVersion {
    /// The version.
    pub version: String,
    /// The champion it was evolved from.
    pub parent: String,
    /// Ratings given when it was created.
    pub at_rating: usize,
    /// The issues it was written for.
    pub issues: Vec<String>,
    /// The designer's true quality of its renders.
    pub true_quality: f64,
    /// Its status at the end.
    pub status: String,
}

/// A recorded decision and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionDecision {
    /// Ratings given when it was made.
    pub at_rating: Option<usize>,
    /// The row in `prompt_decisions`.
    #[serde(flatten)]
    pub record: DecisionRecord,
}

/// One designer, one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptSession {
    /// The designer.
    pub designer: String,
    /// The seed.
    pub seed: u64,
    /// Ratings given.
    pub ratings: usize,
    /// The versions evolved, in order.
    pub versions: Vec<CreatedVersion>,
    /// Evolutions that produced nothing, with the rating and why.
    pub evolutions_failed: Vec<(usize, String)>,
    /// Every decision, from the database.
    pub decisions: Vec<SessionDecision>,
    /// The champion at the end.
    pub final_champion: String,
    /// Mean true quality of the first and the last 10 renders.
    pub mean_true_first_10: f64,
    /// See above.
    pub mean_true_last_10: f64,
}

impl PromptSession {
    /// The first automatic decision, if any.
    pub fn first_decision(&self) -> Option<&SessionDecision> {
        self.decisions
            .iter()
            .find(|d| matches!(d.record.decision.as_str(), "promote" | "reject" | "expire"))
    }
}

/// Runs one designer for `ratings` ratings in batches of `batch` on a
/// fresh database under `dir` (removed afterwards), with `base`'s
/// `[evolution]` rules, the rule evolver and evolution after every rating.
pub async fn run_prompt_session(
    base: &Config,
    designer: &PromptDesigner,
    seed: u64,
    ratings: usize,
    batch: usize,
    dir: PathBuf,
) -> Result<PromptSession> {
    let mut config = base.clone();
    config.optimizer.strategy = Strategy::Random;
    config.evolution.on_rate = true;
    config.evolution.evolver = EvolverKind::Rules;
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
    let result = session(&ws, designer, seed, ratings, batch).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn session(
    ws: &Workspace,
    designer: &PromptDesigner,
    seed: u64,
    ratings: usize,
    batch: usize,
) -> Result<PromptSession> {
    let mut store = ws.open_store(OpenMode::CreateIfMissing)?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7A3D_91C4_55E2_0B6F);
    let evolver: Arc<dyn Evolver> = Arc::new(RuleEvolver::default());
    let mut truths: Vec<f64> = Vec::with_capacity(ratings);
    let mut created: Vec<CreatedVersion> = Vec::new();
    let mut failed: Vec<(usize, String)> = Vec::new();
    let mut decided_at: BTreeMap<String, usize> = BTreeMap::new();
    let mut prompt_text: BTreeMap<String, String> = BTreeMap::new();
    while truths.len() < ratings {
        let want = batch.min(ratings - truths.len());
        for s in suggest(ws, &mut store, want)? {
            let prompt = served_prompt(&store, &mut prompt_text, &s.prompt_version)?;
            let (stars, comment) = designer.react(&prompt, &mut rng);
            rate(
                &mut store,
                s.experiment_id.as_str(),
                stars,
                comment.as_deref(),
                Some(&designer.name),
            )?;
            truths.push(designer.true_quality(&prompt));
            let n = truths.len();
            let done = after_rating(
                ws,
                &mut store,
                || Ok(evolver.clone()),
                &issues::summarise,
                &Grouping::Offline,
                None,
            )
            .await;
            if let Some(standing) = done.decided? {
                decided_at.insert(standing.challenger, n);
            }
            match done.evolution {
                Some(Ok(EvolveReport::Created {
                    proposal, issues, ..
                })) => created.push(CreatedVersion {
                    version: proposal.new_version.to_string(),
                    parent: store
                        .champion_prompt()?
                        .map(|c| c.version)
                        .unwrap_or_default(),
                    at_rating: n,
                    issues: issues.into_iter().map(|i| i.issue).collect(),
                    true_quality: designer.true_quality(&proposal.new_prompt),
                    status: String::new(),
                }),
                Some(Err(e)) => failed.push((n, e.to_string())),
                Some(Ok(_)) | None => {}
            }
        }
    }
    let statuses: BTreeMap<String, String> = store
        .prompt_versions()?
        .into_iter()
        .map(|v| (v.prompt.version, v.status.to_string()))
        .collect();
    for c in &mut created {
        c.status = statuses.get(&c.version).cloned().unwrap_or_default();
    }
    let decisions = store
        .prompt_decisions()?
        .into_iter()
        .map(|record| SessionDecision {
            at_rating: decided_at.get(&record.challenger).copied(),
            record,
        })
        .collect();
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    Ok(PromptSession {
        designer: designer.name.clone(),
        seed,
        ratings: truths.len(),
        versions: created,
        evolutions_failed: failed,
        decisions,
        final_champion: store
            .champion_prompt()?
            .map(|c| c.version)
            .unwrap_or_default(),
        mean_true_first_10: mean(&truths[..truths.len().min(10)]),
        mean_true_last_10: mean(&truths[truths.len().saturating_sub(10)..]),
    })
}

/// The text of the version a variant was made with (cached: versions never change).
fn served_prompt(
    store: &Store,
    cache: &mut BTreeMap<String, String>,
    version: &str,
) -> Result<String> {
    if let Some(text) = cache.get(version) {
        return Ok(text.clone());
    }
    let text = super::prompts::show(store, version)?.prompt.prompt;
    cache.insert(version.to_string(), text.clone());
    Ok(text)
}

/// One designer over many seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptSummary {
    /// The designer.
    pub designer: String,
    /// Sessions.
    pub runs: usize,
    /// Sessions whose first decision promoted the challenger.
    pub promoted_first: usize,
    /// Sessions whose first decision rejected (rolled back) it.
    pub rejected_first: usize,
    /// Sessions whose first challenger expired or was never decided.
    pub undecided_first: usize,
    /// Median ratings given when the first decision was made.
    pub median_ratings_to_decision: Option<f64>,
    /// Median challenger ratings the first decision was made on.
    pub median_challenger_ratings: Option<f64>,
    /// Mean true quality of the first and last 10 renders, over sessions.
    pub mean_true_first_10: f64,
    /// See above.
    pub mean_true_last_10: f64,
}

/// Summarises one designer's sessions.
pub fn summarize_prompt_sessions(designer: &str, sessions: &[PromptSession]) -> PromptSummary {
    let median = |mut v: Vec<f64>| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        })
    };
    let firsts: Vec<&SessionDecision> =
        sessions.iter().filter_map(|s| s.first_decision()).collect();
    let count = |what: &str| firsts.iter().filter(|d| d.record.decision == what).count();
    let n = sessions.len().max(1) as f64;
    PromptSummary {
        designer: designer.to_string(),
        runs: sessions.len(),
        promoted_first: count("promote"),
        rejected_first: count("reject"),
        undecided_first: sessions.len() - count("promote") - count("reject"),
        median_ratings_to_decision: median(
            firsts
                .iter()
                .filter_map(|d| d.at_rating.map(|r| r as f64))
                .collect(),
        ),
        median_challenger_ratings: median(
            firsts
                .iter()
                .map(|d| d.record.challenger_n as f64)
                .collect(),
        ),
        mean_true_first_10: sessions.iter().map(|s| s.mean_true_first_10).sum::<f64>() / n,
        mean_true_last_10: sessions.iter().map(|s| s.mean_true_last_10).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_quality_adds_the_tastes_found_in_the_prompt() {
        let panel = prompt_panel();
        let seeker = &panel[0];
        assert_eq!(seeker.true_quality("a room, sense of depth"), 2.9);
        let fixed = "a room, strong sense of depth, Layered Lighting, \
                     realistic motivated lighting from windows and lamps";
        assert!((seeker.true_quality(fixed) - (2.9 + 0.4 + 0.2 + 0.3)).abs() < 1e-12);
        let warm = &panel[1];
        assert!(
            (warm.true_quality("accurate natural colors, neutral white balance") - 2.5).abs()
                < 1e-12
        );
    }

    #[test]
    fn the_comments_are_what_the_lexicon_detects_for_the_served_prompt() {
        let base = crate::prompts::base_prompt().prompt;
        let panel = prompt_panel();
        let detected = |designer: &PromptDesigner, prompt: &str| {
            let mut rng = StdRng::seed_from_u64(7);
            let comments: Vec<crate::evolve::RatedComment> = (0..200)
                .filter_map(|_| {
                    let (stars, comment) = designer.react(prompt, &mut rng);
                    comment.map(|comment| crate::evolve::RatedComment {
                        stars: stars.get(),
                        comment,
                    })
                })
                .collect();
            let mut keys: Vec<String> = issues::summarise(&comments)
                .into_iter()
                .map(|i| i.issue)
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(detected(&panel[0], &base), ["flat_look", "lighting"]);
        // Once both fixes are in, only praise: no issue is reported.
        let fixed = "strong sense of depth, realistic motivated lighting";
        assert!(detected(&panel[0], fixed).is_empty());
        assert_eq!(detected(&panel[1], &base), ["colors"]);
        assert!(detected(&panel[1], "warm golden tones").is_empty());
    }

    #[test]
    fn ratings_are_whole_stars_around_the_true_quality() {
        let designer = &prompt_panel()[0];
        let mut rng = StdRng::seed_from_u64(1);
        let stars: Vec<f64> = (0..2000)
            .map(|_| f64::from(designer.react("a room", &mut rng).0.get()))
            .collect();
        let mean = stars.iter().sum::<f64>() / stars.len() as f64;
        // round(2.9 + N(0, 0.5)): P(1) = Φ(−2.8) = 0.003, P(2) = 0.209,
        // P(3) = Φ(1.2) − Φ(−0.8) = 0.673, P(4) = 0.114, P(5) = 0.001:
        // mean 2.901.
        assert!((mean - 2.90).abs() < 0.04, "{mean}");
    }
}
