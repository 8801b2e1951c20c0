//! Which `k` of `N` rendered candidates the designer sees.
//!
//! **The rule.** Guarded candidates (the structure guard rejected them)
//! are never shown. Of the rest, the best `k` by predicted stars are
//! shown — except that, when `k ≥ 2`, the last slot goes to the most
//! informative candidate below the top `k` if
//!
//! 1. it is *not clearly worse* than the `k`-th best it would replace:
//!    its optimistic bound `mean + z·sd` (z = 1.28, the 90% one-sided
//!    bound) reaches the `k`-th best's mean, so it may well be as good; and
//! 2. its rating teaches the model clearly more: the information a rating
//!    `y = f + ε` carries about the candidate's value `f`,
//!    `I = ½ ln(1 + sd²/σ²)` nats (σ the rating noise), exceeds the `k`-th
//!    best's by at least `min_gain_nats`.
//!
//! Why: showing the best `k` spends the designer's attention on the
//! renders most likely to be good; but where the model is unsure it ranks
//! by guesswork, and one rating there corrects it for every later shortlist.
//! Condition 1 keeps that slot from going to a render the model is sure is
//! poor (wasted attention, little to learn about what is good); condition 2
//! keeps the swap for when it is worth a slightly lower expected rating.
//! With `k = 1` the single render shown is always the best predicted.

use super::Prediction;

/// One rendered candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The reward model's prediction for the designer who will see it.
    pub prediction: Prediction,
    /// Set when the structure guard rejected it.
    pub guard: Option<GuardVerdict>,
}

/// The structure guard's measurement of a rejected candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardVerdict {
    /// Measured structure agreement with the photo.
    pub value: f64,
    /// The threshold it fell below.
    pub threshold: f64,
}

/// How the shortlist is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShortlistRule {
    /// How many to show.
    pub k: usize,
    /// How many sds of optimism "not clearly worse" allows.
    pub z: f64,
    /// Extra information (nats) the informative candidate must carry.
    pub min_gain_nats: f64,
}

impl ShortlistRule {
    /// The rule above for `k` shown.
    pub fn new(k: usize) -> Self {
        ShortlistRule {
            k,
            z: 1.2816,
            min_gain_nats: 0.1,
        }
    }
}

/// Why a candidate was or was not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Among the best `k` by predicted stars.
    BestPredicted,
    /// Given the learning slot.
    MostInformative,
    /// Rejected by the structure guard.
    Guarded,
    /// Predicted below the ones shown.
    Outranked,
}

/// The decision for one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortlistEntry {
    /// Shown to the designer.
    pub shown: bool,
    /// Why.
    pub reason: Reason,
    /// The reason in words, for the explanation, e.g.
    /// "best predicted: 4.1 ± 0.4 stars".
    pub text: String,
}

/// The decision for every candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortlist {
    /// One entry per candidate, in the candidates' order.
    pub entries: Vec<ShortlistEntry>,
    /// Indices of the shown candidates, best predicted first (the
    /// informative one last).
    pub shown: Vec<usize>,
    /// How many fewer than `k` are shown because too few passed the guard.
    pub short_by: usize,
}

impl Shortlist {
    /// The shown candidates with their reasons, in display order (what
    /// `ops::shortlist::decide` takes as the model's ranking).
    pub fn ranked(&self) -> Vec<(usize, String)> {
        self.shown
            .iter()
            .map(|&i| (i, self.entries[i].text.clone()))
            .collect()
    }
}

/// Information a rating carries about a candidate's value, nats.
fn information(p: &Prediction) -> f64 {
    let noise = p.noise_sd.max(1e-9);
    0.5 * (1.0 + (p.sd / noise).powi(2)).ln()
}

/// Chooses the `k` to show by [`ShortlistRule::new`]`(k)`.
pub fn shortlist(candidates: &[Candidate], k: usize) -> Shortlist {
    ShortlistRule::new(k).apply(candidates)
}

impl ShortlistRule {
    /// Chooses which candidates to show (see the module docs).
    pub fn apply(&self, candidates: &[Candidate]) -> Shortlist {
        let mut passing: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].guard.is_none())
            .collect();
        let mean = |i: usize| candidates[i].prediction.mean;
        passing.sort_by(|&a, &b| {
            mean(b).total_cmp(&mean(a)).then(
                candidates[b]
                    .prediction
                    .sd
                    .total_cmp(&candidates[a].prediction.sd),
            )
        });
        let mut shown: Vec<usize> = passing.iter().copied().take(self.k).collect();
        let mut informative = None;
        if self.k >= 2 && passing.len() > self.k {
            let kth = shown[self.k - 1];
            let bar = mean(kth);
            let kth_information = information(&candidates[kth].prediction);
            let best_rest = passing[self.k..]
                .iter()
                .copied()
                .filter(|&i| {
                    let p = &candidates[i].prediction;
                    p.mean + self.z * p.sd >= bar
                })
                .max_by(|&a, &b| {
                    information(&candidates[a].prediction)
                        .total_cmp(&information(&candidates[b].prediction))
                });
            if let Some(c) = best_rest
                && information(&candidates[c].prediction) >= kth_information + self.min_gain_nats
            {
                shown[self.k - 1] = c;
                informative = Some((c, kth_information));
            }
        }
        let entries = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let p = &c.prediction;
                let stars = format!("{:.1} ± {:.1} stars", p.mean, p.sd);
                if let Some(g) = c.guard {
                    return ShortlistEntry {
                        shown: false,
                        reason: Reason::Guarded,
                        text: format!("guarded: structure {:.2} < {:.2}", g.value, g.threshold),
                    };
                }
                match informative {
                    Some((c, replaced)) if c == i => ShortlistEntry {
                        shown: true,
                        reason: Reason::MostInformative,
                        text: format!(
                            "most informative: {stars} (a rating teaches {:.2} nats, {:.2} for the next best)",
                            information(p),
                            replaced
                        ),
                    },
                    _ if shown.contains(&i) => ShortlistEntry {
                        shown: true,
                        reason: Reason::BestPredicted,
                        text: format!("best predicted: {stars}"),
                    },
                    _ => ShortlistEntry {
                        shown: false,
                        reason: Reason::Outranked,
                        text: format!("not shown: {stars}, below the ones shown"),
                    },
                }
            })
            .collect();
        Shortlist {
            entries,
            short_by: self.k.saturating_sub(shown.len()),
            shown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(mean: f64, sd: f64) -> Candidate {
        Candidate {
            prediction: Prediction {
                mean,
                sd,
                noise_sd: 0.5,
            },
            guard: None,
        }
    }

    fn guarded(mean: f64) -> Candidate {
        Candidate {
            guard: Some(GuardVerdict {
                value: 0.41,
                threshold: 0.55,
            }),
            ..c(mean, 0.2)
        }
    }

    #[test]
    fn shows_the_best_k_when_all_are_equally_known() {
        let list = shortlist(&[c(3.0, 0.3), c(4.1, 0.3), c(3.5, 0.3), c(2.0, 0.3)], 2);
        assert_eq!(list.shown, vec![1, 2]);
        assert_eq!(list.entries[1].text, "best predicted: 4.1 ± 0.3 stars");
        assert_eq!(list.entries[0].reason, Reason::Outranked);
        assert_eq!(list.short_by, 0);
    }

    #[test]
    fn gives_the_last_slot_to_an_uncertain_candidate_that_may_be_as_good() {
        // 3.2 ± 1.1 may beat the 3.5 ± 0.3 (3.2 + 1.28·1.1 = 4.6 ≥ 3.5),
        // and a rating of it carries ½ln(1 + 4.84) = 0.88 nats against
        // ½ln(1 + 0.36) = 0.15.
        let list = shortlist(&[c(4.1, 0.4), c(3.5, 0.3), c(3.2, 1.1), c(3.3, 0.3)], 2);
        assert_eq!(list.shown, vec![0, 2]);
        assert_eq!(
            list.ranked()[0],
            (0, "best predicted: 4.1 ± 0.4 stars".into())
        );
        assert_eq!(list.entries[2].reason, Reason::MostInformative);
        assert!(
            list.entries[2]
                .text
                .starts_with("most informative: 3.2 ± 1.1 stars (a rating teaches 0.88 nats, 0.15")
        );
        assert_eq!(list.entries[1].reason, Reason::Outranked);
    }

    #[test]
    fn keeps_the_best_when_the_uncertain_one_is_clearly_worse() {
        // 1.5 + 1.28·0.9 = 2.65 < 3.5: clearly worse despite its sd.
        let list = shortlist(&[c(4.1, 0.4), c(3.5, 0.3), c(1.5, 0.9)], 2);
        assert_eq!(list.shown, vec![0, 1]);
    }

    #[test]
    fn keeps_the_best_when_the_gain_is_too_small() {
        // sd 0.35 vs 0.3: ½ln(1.49) − ½ln(1.36) = 0.046 nats < 0.1.
        let list = shortlist(&[c(4.1, 0.4), c(3.5, 0.3), c(3.4, 0.35)], 2);
        assert_eq!(list.shown, vec![0, 1]);
    }

    #[test]
    fn a_single_slot_is_always_the_best_predicted() {
        let list = shortlist(&[c(3.5, 0.1), c(3.4, 1.5)], 1);
        assert_eq!(list.shown, vec![0]);
    }

    #[test]
    fn never_shows_a_guarded_candidate_and_says_how_many_are_missing() {
        let list = shortlist(&[guarded(4.9), c(3.0, 0.3), guarded(4.5)], 2);
        assert_eq!(list.shown, vec![1]);
        assert_eq!(list.short_by, 1);
        assert_eq!(list.entries[0].text, "guarded: structure 0.41 < 0.55");
        assert!(!list.entries[2].shown);
    }
}
