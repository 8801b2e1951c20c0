//! Best k of N: which candidates of a batch the designer is shown, why,
//! and which the structure guard held back.
//!
//! The verdicts of one batch are written in one transaction, with the
//! options relabelled so the shown renders are A, B, … in the order they
//! are shown and the unshown ones follow: the designer rates "A" and "B"
//! as before, whatever order the renders landed in.

use super::Store;
use crate::domain::{BatchId, ExperimentId, option_label};
use crate::error::{Error, Result};
use crate::store::db::{Behavior, OptionalExtension, Sql, params};

/// One candidate's verdict, as the shortlist decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortlistVerdict {
    /// The candidate.
    pub experiment: ExperimentId,
    /// Whether the designer is shown it.
    pub shown: bool,
    /// Why, in words.
    pub reason: String,
    /// The reward model's prediction of the designer's stars, if asked.
    pub reward: Option<(f64, f64)>,
    /// The structure guard's (measured value, threshold), if measured.
    pub guard: Option<(f64, f64)>,
    /// Whether the guard held it back (never shown; a poor outcome).
    pub guarded: bool,
}

/// A candidate's shortlist record, as read back for `show` and `history`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ShortlistRecord {
    /// Whether the designer was shown it (renders from before best-k-of-N
    /// were all shown).
    pub shown: bool,
    /// Why it was shown or not, when a shortlist decided.
    pub reason: Option<String>,
    /// The reward model's predicted stars.
    pub reward_mean: Option<f64>,
    /// Its sd.
    pub reward_sd: Option<f64>,
    /// Whether the structure guard held it back.
    pub guarded: bool,
    /// The measured structure agreement.
    pub guard_structure: Option<f64>,
    /// The threshold it was held to.
    pub guard_threshold: Option<f64>,
}

impl Store {
    /// Records the shortlist of one batch and, with `relabel`, relabels its
    /// options: the shown candidates become A, B, … in the order given, then
    /// the rest in the order given. Every experiment of the batch must have
    /// a verdict. Returns each experiment's label afterwards.
    ///
    /// # Errors
    /// [`Error::Optimizer`] when the verdicts do not cover the batch exactly;
    /// database errors (nothing is written then).
    pub fn record_shortlist(
        &mut self,
        batch: &BatchId,
        verdicts: &[ShortlistVerdict],
        relabel: bool,
    ) -> Result<Vec<(ExperimentId, String)>> {
        // Immediate: it reads the batch before writing, and a deferred
        // transaction that upgrades is refused at once under concurrency.
        let tx = self.conn.transaction_with_behavior(Behavior::Immediate)?;
        let members: Vec<String> = tx
            .prepare("SELECT id FROM experiments WHERE batch_id = ?1 ORDER BY seq")?
            .query_map([batch.as_str()], |r| r.get(0))?
            .collect::<Result<_>>()?;
        let mut named: Vec<&str> = verdicts.iter().map(|v| v.experiment.as_str()).collect();
        named.sort_unstable();
        let mut expected: Vec<&str> = members.iter().map(String::as_str).collect();
        expected.sort_unstable();
        if named != expected {
            return Err(Error::Optimizer(format!(
                "the shortlist of batch {batch} names {} candidates, the batch has {}",
                named.len(),
                expected.len()
            )));
        }
        if relabel {
            // Labels are unique per batch: move every one aside first.
            tx.execute(
                "UPDATE experiments SET option = '~' || seq WHERE batch_id = ?1",
                [batch.as_str()],
            )?;
        }
        let order = verdicts
            .iter()
            .filter(|v| v.shown)
            .chain(verdicts.iter().filter(|v| !v.shown));
        let mut labels = Vec::with_capacity(verdicts.len());
        {
            let mut update = tx.prepare(
                "UPDATE experiments SET option = coalesce(?2, option), shown = ?3,
                     shortlist_reason = ?4, reward_mean = ?5, reward_sd = ?6,
                     guard_structure = ?7, guard_threshold = ?8, guarded = ?9
                 WHERE id = ?1
                 RETURNING option",
            )?;
            for (index, v) in order.enumerate() {
                let label: String = update.query_row(
                    params![
                        v.experiment.as_str(),
                        relabel.then(|| option_label(index)),
                        v.shown,
                        v.reason,
                        v.reward.map(|r| r.0),
                        v.reward.map(|r| r.1),
                        v.guard.map(|g| g.0),
                        v.guard.map(|g| g.1),
                        v.guarded,
                    ],
                    |r| r.get(0),
                )?;
                labels.push((v.experiment.clone(), label));
            }
        }
        tx.commit()?;
        Ok(labels)
    }

    /// The shortlist record of one experiment.
    ///
    /// # Errors
    /// [`Error::UnknownExperiment`]; database errors.
    pub fn shortlist_record(&self, id: &ExperimentId) -> Result<ShortlistRecord> {
        self.conn
            .query_row(
                "SELECT shown, shortlist_reason, reward_mean, reward_sd, guarded,
                        guard_structure, guard_threshold
                 FROM experiments WHERE id = ?1",
                [id.as_str()],
                |r| {
                    Ok(ShortlistRecord {
                        shown: r.get(0)?,
                        reason: r.get(1)?,
                        reward_mean: r.get(2)?,
                        reward_sd: r.get(3)?,
                        guarded: r.get(4)?,
                        guard_structure: r.get(5)?,
                        guard_threshold: r.get(6)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::UnknownExperiment(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ExperimentStatus;
    use crate::store::preferences::tests::batch;

    fn store() -> Store {
        let mut store = Store::open_for_test().unwrap();
        store.seed_prompt(&crate::prompts::base_prompt()).unwrap();
        store
    }

    fn verdict(id: &ExperimentId, shown: bool, guarded: bool) -> ShortlistVerdict {
        ShortlistVerdict {
            experiment: id.clone(),
            shown,
            reason: if shown { "best" } else { "not shown" }.into(),
            reward: Some((3.5, 0.5)),
            guard: Some((0.9, 0.5)),
            guarded,
        }
    }

    #[test]
    fn shown_candidates_become_a_and_b_in_the_order_given() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Done; 4]);
        let batch_id = store.experiment(&ids[0]).unwrap().batch_id;
        store
            .record_shortlist(
                &batch_id,
                &[
                    verdict(&ids[3], true, false),
                    verdict(&ids[1], true, false),
                    verdict(&ids[0], false, false),
                    verdict(&ids[2], false, true),
                ],
                true,
            )
            .unwrap();
        let label = |i: usize| store.experiment(&ids[i]).unwrap().option;
        assert_eq!(
            [label(3), label(1), label(0), label(2)],
            ["A", "B", "C", "D"]
        );
        let guarded = store.shortlist_record(&ids[2]).unwrap();
        assert!(guarded.guarded && !guarded.shown);
        assert_eq!(guarded.guard_structure, Some(0.9));
        // Unshown candidates are not in the rating queue.
        let queue: Vec<ExperimentId> = store
            .unrated_experiments()
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert!(queue.contains(&ids[3]) && queue.contains(&ids[1]));
        assert!(!queue.contains(&ids[0]) && !queue.contains(&ids[2]));
    }

    #[test]
    fn a_shortlist_that_misses_a_candidate_writes_nothing() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Done; 3]);
        let batch_id = store.experiment(&ids[0]).unwrap().batch_id;
        let err = store
            .record_shortlist(
                &batch_id,
                &[
                    verdict(&ids[0], true, false),
                    verdict(&ids[1], false, false),
                ],
                true,
            )
            .unwrap_err();
        assert!(err.to_string().contains("names 2 candidates"), "{err}");
        assert!(store.shortlist_record(&ids[2]).unwrap().shown);
        assert_eq!(store.experiment(&ids[0]).unwrap().option, "A");
    }

    #[test]
    fn a_guarded_render_is_one_star_for_the_optimizer_until_its_designer_rates_it() {
        let mut store = store();
        let ids = batch(&mut store, &[ExperimentStatus::Done; 2]);
        let batch_id = store.experiment(&ids[0]).unwrap().batch_id;
        store
            .record_shortlist(
                &batch_id,
                &[verdict(&ids[0], true, false), verdict(&ids[1], false, true)],
                false,
            )
            .unwrap();
        // `batch` records finished renders without a finish time: give one.
        store
            .conn
            .execute(
                "UPDATE experiments SET finished_at = '2026-01-01T00:00:00.000Z'",
                [],
            )
            .unwrap();
        let evidence = store.evidence().unwrap();
        assert_eq!(evidence.stars.len(), 1);
        assert_eq!(evidence.stars[0].stars.get(), 1);
        assert_eq!(evidence.renders[evidence.stars[0].render].id, ids[1]);
        let trials = store.rated_trials().unwrap();
        assert_eq!(trials.len(), 1);
        assert_eq!(trials[0].stars.get(), 1);
        assert_eq!(store.evidence_tail(10).unwrap().1, 1);

        // The designer looked anyway and liked it: their stars count instead.
        store
            .add_rating(&ids[1], crate::domain::Stars::new(4).unwrap(), None, None)
            .unwrap();
        let evidence = store.evidence().unwrap();
        assert_eq!(evidence.stars.len(), 1);
        assert_eq!(evidence.stars[0].stars.get(), 4);
        assert_eq!(store.rated_trials().unwrap()[0].stars.get(), 4);
    }
}
