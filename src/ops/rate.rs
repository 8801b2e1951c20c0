//! `latina rate`: record a designer's stars (and comment) for one
//! experiment, and the learning step that follows ratings ([`learn`]):
//! judge the prompt trial, then evolve the prompt when it is due (shared
//! with `latina prefer`, [`super::prefer`]).

use serde::Serialize;

use super::Workspace;
use super::evolve::{AfterRating, INLINE_BUDGET, after_rating, build_evolver, grouping};
use crate::domain::{ExperimentId, Stars};
use crate::error::Result;
use crate::store::{ExperimentRecord, Store};

/// Looks up an environment variable by name (the CLI builds it from the
/// process environment; tests pass a map). Ops never read the environment
/// themselves.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Longest comment kept, in characters; longer ones are cut.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// What was recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RatingReceipt {
    /// The full id of the rated experiment.
    pub experiment_id: ExperimentId,
    /// Its option label within its batch.
    pub option: String,
    /// Its provider arm.
    pub provider: String,
    /// 1–5.
    pub stars: u8,
    /// The comment as stored.
    pub comment: Option<String>,
    /// Who rated.
    pub rated_by: Option<String>,
    /// When (UTC).
    #[serde(with = "crate::domain::time::millis")]
    pub rated_at: jiff::Timestamp,
    /// True if this designer's earlier rating of this experiment was
    /// superseded (another designer's rating never is).
    pub replaced_earlier: bool,
}

/// Rates the experiment whose id (or unique prefix) is `id`. The rating is
/// committed durably before this returns.
///
/// # Errors
/// Unknown or ambiguous ids, experiments that cannot be rated, database errors.
pub fn rate(
    store: &mut Store,
    id: &str,
    stars: Stars,
    comment: Option<&str>,
    rated_by: Option<&str>,
) -> Result<RatingReceipt> {
    let experiment = store.resolve_experiment(id)?;
    let comment = comment.and_then(clean_comment);
    let rated_by = rated_by.map(str::trim).filter(|s| !s.is_empty());
    let record = store.add_rating(&experiment, stars, comment.as_deref(), rated_by)?;
    let row = store.experiment(&experiment)?;
    Ok(RatingReceipt {
        experiment_id: experiment,
        option: row.option,
        provider: row.trial.provider,
        stars: record.stars.get(),
        comment: record.comment,
        rated_by: record.rated_by,
        rated_at: record.rated_at,
        replaced_earlier: record.previous_ratings > 0,
    })
}

/// Rates one experiment ([`rate`]) and runs the learning step ([`learn`]).
///
/// # Errors
/// As [`rate`]; the learning step's failures are in the [`AfterRating`]
/// (the rating is saved either way).
pub fn rate_and_learn(
    ws: &Workspace,
    store: &mut Store,
    rating: &RatingInput<'_>,
    env: EnvLookup<'_>,
) -> Result<(RatingReceipt, AfterRating)> {
    let receipt = rate(
        store,
        rating.id,
        rating.stars,
        rating.comment,
        rating.rated_by,
    )?;
    Ok((receipt, learn(ws, store, env)))
}

/// One rating as typed by the designer.
#[derive(Debug, Clone, Copy)]
pub struct RatingInput<'a> {
    /// Experiment id or a unique prefix.
    pub id: &'a str,
    /// The stars.
    pub stars: Stars,
    /// What is good or wrong about it.
    pub comment: Option<&'a str>,
    /// Who rated.
    pub rated_by: Option<&'a str>,
}

/// The learning step after ratings are saved: decide the prompt trial if
/// its rules say so, then, with `[evolution] on_rate`, evolve when due.
/// The evolution never keeps the designer longer than [`INLINE_BUDGET`]:
/// past it (a slow LLM) nothing is recorded and the evolution stays due
/// for `latina evolve` ([`super::evolve::EvolveReport::Deferred`]).
pub fn learn(ws: &Workspace, store: &mut Store, env: EnvLookup<'_>) -> AfterRating {
    let grouping = grouping(ws, env);
    let step = after_rating(
        ws,
        store,
        || build_evolver(ws, env),
        &crate::evolve::issues::summarise,
        &grouping,
        Some(INLINE_BUDGET),
    );
    super::runtime::block_on(step).unwrap_or_else(|e| AfterRating {
        decided: Err(e),
        evolution: None,
    })
}

/// Experiments that can be rated and have no rating yet, newest first.
pub fn unrated(store: &Store) -> Result<Vec<ExperimentRecord>> {
    store.unrated_experiments()
}

/// Trims, drops control characters other than newlines and tabs, caps the
/// length; an empty comment is no comment.
pub(super) fn clean_comment(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(MAX_COMMENT_CHARS)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BatchId, ExperimentStatus, ImageMeta, Method, Params, Trial};
    use crate::store::{NewBatch, NewExperiment};

    fn store_with_batch(statuses: &[ExperimentStatus]) -> (Store, Vec<ExperimentId>) {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        let ids: Vec<ExperimentId> = statuses.iter().map(|_| ExperimentId::random()).collect();
        store
            .create_batch(&NewBatch {
                id: BatchId::random(),
                image: None,
                meta: ImageMeta::default(),
                experiments: statuses
                    .iter()
                    .zip(&ids)
                    .enumerate()
                    .map(|(i, (status, id))| NewExperiment {
                        id: id.clone(),
                        option: crate::domain::option_label(i),
                        trial: Trial {
                            provider: "tone".into(),
                            params: Params {
                                init_strength: 0.2,
                                guidance_scale: 7.0,
                                controlnet_weight: 0.8,
                            },
                        },
                        prompt_version: "1.0.0".into(),
                        method: Method::Random,
                        explanation: crate::domain::Explanation::design(),
                        status: *status,
                    })
                    .collect(),
            })
            .unwrap();
        (store, ids)
    }

    #[test]
    fn rating_one_variant_leaves_its_sibling_unrated() {
        let (mut store, ids) =
            store_with_batch(&[ExperimentStatus::Proposed, ExperimentStatus::Proposed]);
        rate(
            &mut store,
            ids[0].as_str(),
            Stars::new(4).unwrap(),
            Some(" muy plano "),
            Some("ana"),
        )
        .unwrap();
        let a = store.experiment(&ids[0]).unwrap();
        let b = store.experiment(&ids[1]).unwrap();
        assert_eq!(
            a.rating,
            Some((Stars::new(4).unwrap(), Some("muy plano".into())))
        );
        assert_eq!(b.rating, None);
        assert_eq!(unrated(&store).unwrap().len(), 1);
    }

    #[test]
    fn re_rating_keeps_history_and_the_latest_counts() {
        let (mut store, ids) = store_with_batch(&[ExperimentStatus::Proposed]);
        let first = rate(
            &mut store,
            ids[0].short(),
            Stars::new(2).unwrap(),
            None,
            None,
        )
        .unwrap();
        assert!(!first.replaced_earlier);
        let second = rate(
            &mut store,
            ids[0].short(),
            Stars::new(5).unwrap(),
            None,
            None,
        )
        .unwrap();
        assert!(second.replaced_earlier);
        assert_eq!(store.ratings_of(&ids[0]).unwrap().len(), 2);
        let summary = store.summary().unwrap();
        assert_eq!(summary.total_samples, 1);
        assert_eq!(summary.best_rating, Some(5));
    }

    #[test]
    fn failed_and_running_renders_cannot_be_rated() {
        let (mut store, ids) =
            store_with_batch(&[ExperimentStatus::Failed, ExperimentStatus::Running]);
        for id in &ids {
            let err =
                rate(&mut store, id.as_str(), Stars::new(3).unwrap(), None, None).unwrap_err();
            assert!(matches!(err, crate::Error::NotRateable { .. }), "{err}");
        }
        assert_eq!(store.summary().unwrap().total_samples, 0);
    }

    #[test]
    fn unknown_and_ambiguous_prefixes_are_refused() {
        let (mut store, _) = store_with_batch(&[ExperimentStatus::Proposed; 40]);
        let stars = Stars::new(3).unwrap();
        assert!(matches!(
            rate(&mut store, "zzzz", stars, None, None),
            Err(crate::Error::UnknownExperiment(_))
        ));
        // 40 random ids over 16 first digits: some digit is shared.
        let err = (0..16).map(|d| format!("{d:x}")).find_map(|p| {
            match rate(&mut store, &p, stars, None, None) {
                Err(crate::Error::AmbiguousExperiment { matches, .. }) => Some(matches),
                _ => None,
            }
        });
        assert!(err.is_some_and(|m| m >= 2));
    }

    #[test]
    fn comments_are_cleaned() {
        assert_eq!(clean_comment("  "), None);
        assert_eq!(clean_comment("a\u{7}b\nc").as_deref(), Some("ab\nc"));
        assert_eq!(
            clean_comment(&"x".repeat(5000)).unwrap().len(),
            MAX_COMMENT_CHARS
        );
    }
}
