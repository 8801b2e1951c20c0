//! The two policies behind a batch, kept apart from the numerics so a new
//! one is a variant and a match arm: what each slot of a batch is for
//! ([`BatchPolicy`]), and which provider arms an exploring slot searches
//! ([`Strategy`] with the bandit).

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::bandit::{Bandit, BanditRule};
use super::settings::{BatchPolicy, Strategy};
use crate::domain::ArmRule;

/// What one slot of a batch proposes, once a model exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SlotRole {
    /// The best settings the model knows (it must know good ones).
    Exploit,
    /// The alternative to the exploited variant A that the designer's
    /// comparison teaches most about: the most expected utility of the
    /// better of the two (EUBO), at a perceptible distance from A.
    Compare,
    /// Expected Improvement, outside the exclusion zones.
    Explore,
    /// What random search would propose, outside the exclusion zones.
    SpaceFilling,
}

/// What the batch knows when it assigns roles.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchState {
    /// Variants in the batch.
    pub count: usize,
    /// The model knows settings good enough to exploit.
    pub knows_good: bool,
    /// Good settings have been seen: a rating of 4 or more, or a tried
    /// setting the model predicts at 4 or more. Space filling stops then.
    pub seen_good: bool,
    /// Share of exploring slots given to space filling while nothing good is known.
    pub space_filling: f64,
}

impl BatchPolicy {
    /// The role of slot `slot` (0-based). Space filling stops once good
    /// settings have been seen (not only once the model is sure of them):
    /// it exists so a peak is not missed while nothing good is known, and
    /// afterwards it only shows ~2-star renders.
    ///
    /// Draws from `rng` only for a slot that may be space-filling, so the
    /// draws, and with them seeded suggestions, stay as they were.
    pub(super) fn slot_role(self, slot: usize, batch: BatchState, rng: &mut StdRng) -> SlotRole {
        let exploit_explore = self == BatchPolicy::ExploitExplore && batch.count >= 2;
        if exploit_explore && batch.knows_good && slot == 0 {
            SlotRole::Exploit
        } else if exploit_explore && batch.knows_good && slot == 1 {
            SlotRole::Compare
        } else if !batch.seen_good && rng.random::<f64>() < batch.space_filling {
            SlotRole::SpaceFilling
        } else {
            SlotRole::Explore
        }
    }
}

/// The arms an exploring slot searches, and why.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ArmSelection {
    /// Indices into the search space's providers.
    pub arms: Vec<usize>,
    /// How they were chosen.
    pub rule: ArmRule,
    /// The bandit's score of the chosen arm, when one chose.
    pub score: Option<f64>,
}

impl Strategy {
    /// With a counting bandit, the arm it draws; GP-only, every arm (EI
    /// compares them, as scikit-optimize does with a categorical
    /// dimension). [`BanditRule::PosteriorMaximum`] needs the model and is
    /// drawn by [`super::proposal`]; here it falls back to the Beta rule.
    pub(super) fn arms_to_explore(
        self,
        rule: BanditRule,
        bandit: &Bandit,
        arm_count: usize,
        rng: &mut StdRng,
    ) -> ArmSelection {
        match self {
            Strategy::GpBandit => {
                let choice = bandit.choose(rng);
                ArmSelection {
                    arms: vec![choice.arm],
                    rule: match rule {
                        BanditRule::Thompson | BanditRule::PosteriorMaximum => ArmRule::Thompson,
                        BanditRule::Ucb1 => ArmRule::Ucb1,
                    },
                    score: Some(choice.score),
                }
            }
            Strategy::Gp | Strategy::Random => ArmSelection {
                arms: (0..arm_count).collect(),
                rule: ArmRule::Acquisition,
                score: None,
            },
        }
    }
}

/// The arm an exploring slot must take while the arms warm up: while
/// fewer than `warmup` renders were tried in all (rated, pending or
/// earlier in the batch), the arm with the fewest `renders`, ties broken
/// at random; `None` after that (or with one arm, or `warmup` 0). Only the
/// first renders: a history that has already told the arms apart (other
/// rooms, other designers) is left to the bandit. Draws from `rng` only to
/// break a tie, so seeded suggestions after the warm-up stay as they were.
pub(super) fn warming_up(renders: &[usize], warmup: usize, rng: &mut StdRng) -> Option<usize> {
    if renders.len() < 2 || renders.iter().sum::<usize>() >= warmup {
        return None;
    }
    let fewest = *renders.iter().min()?;
    let tied: Vec<usize> = (0..renders.len())
        .filter(|a| renders[*a] == fewest)
        .collect();
    match tied.as_slice() {
        [only] => Some(*only),
        _ => tied.choose(rng).copied(),
    }
}

/// When a provider gets a second look: once the bandit has chosen freely
/// for [`SecondLook::after`] renders, until [`SecondLook::until`], a
/// provider with fewer than [`SecondLook::renders`] gets the exploring slot
/// (the fewest first, the earliest in the config on a tie), at most one
/// per batch, and not in a photo's first [`SecondLook::photo_renders`]
/// renders. Early ratings cannot tell a better provider whose first
/// renders missed its peak from a worse one (one collects 4s, the other
/// 1–3 stars, either way round), so the look comes after the bandit has
/// settled, where it costs a designer who found 4 stars unaided only a
/// few renders late in the session, and not on a new photo, whose first
/// batches are for what the studio already knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondLook {
    /// Renders each provider is owed; 0 turns the rule off.
    pub renders: usize,
    /// Renders (all providers) before the look starts.
    pub after: usize,
    /// Renders (all providers) at which it ends, owed or not.
    pub until: usize,
    /// Renders the photo in hand must have had.
    pub photo_renders: usize,
}

impl SecondLook {
    /// The arm an exploring slot must take, if any: `renders` per arm tried
    /// so far (rated, pending or earlier in this batch), `photo` on the
    /// photo in hand, `mates` the arms already in this batch.
    pub(super) fn arm(&self, renders: &[usize], photo: usize, mates: &[usize]) -> Option<usize> {
        let total: usize = renders.iter().sum();
        if self.renders == 0
            || renders.len() < 2
            || total < self.after
            || total >= self.until
            || photo < self.photo_renders
        {
            return None;
        }
        let fewest = *renders.iter().min()?;
        if fewest >= self.renders {
            return None;
        }
        let arm = renders.iter().position(|r| *r == fewest)?;
        (!mates.contains(&arm)).then_some(arm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn state(count: usize, knows_good: bool, space_filling: f64) -> BatchState {
        BatchState {
            count,
            knows_good,
            seen_good: knows_good,
            space_filling,
        }
    }

    #[test]
    fn exploit_explore_exploits_the_first_and_compares_the_second_when_good_is_known() {
        let mut rng = StdRng::seed_from_u64(1);
        let policy = BatchPolicy::ExploitExplore;
        assert_eq!(
            policy.slot_role(0, state(2, true, 0.0), &mut rng),
            SlotRole::Exploit
        );
        assert_eq!(
            policy.slot_role(1, state(2, true, 0.0), &mut rng),
            SlotRole::Compare
        );
        // Beyond B, variants explore.
        assert_eq!(
            policy.slot_role(2, state(3, true, 0.0), &mut rng),
            SlotRole::Explore
        );
        // A batch of one explores: the designer would otherwise only ever
        // see the incumbent.
        assert_eq!(
            policy.slot_role(0, state(1, true, 0.0), &mut rng),
            SlotRole::Explore
        );
        assert_eq!(
            policy.slot_role(0, state(2, false, 0.0), &mut rng),
            SlotRole::Explore
        );
    }

    #[test]
    fn ei_policy_never_exploits() {
        let mut rng = StdRng::seed_from_u64(2);
        for slot in 0..3 {
            assert_eq!(
                BatchPolicy::Ei.slot_role(slot, state(3, true, 0.0), &mut rng),
                SlotRole::Explore
            );
        }
    }

    #[test]
    fn space_filling_share_applies_only_while_nothing_good_is_known() {
        let mut rng = StdRng::seed_from_u64(3);
        for policy in [BatchPolicy::Ei, BatchPolicy::ExploitExplore] {
            assert_eq!(
                policy.slot_role(1, state(2, false, 1.0), &mut rng),
                SlotRole::SpaceFilling
            );
            assert_ne!(
                policy.slot_role(1, state(2, true, 1.0), &mut rng),
                SlotRole::SpaceFilling
            );
        }
        // A 4-star rating seen is enough, before the model is sure of it.
        let seen = BatchState {
            seen_good: true,
            ..state(2, false, 1.0)
        };
        assert_eq!(
            BatchPolicy::Ei.slot_role(1, seen, &mut rng),
            SlotRole::Explore
        );
        let filled = (0..1000)
            .filter(|_| {
                BatchPolicy::Ei.slot_role(0, state(1, false, 0.25), &mut rng)
                    == SlotRole::SpaceFilling
            })
            .count();
        assert!(
            (200..300).contains(&filled),
            "{filled} of 1000 at a 25% share"
        );
    }

    #[test]
    fn gp_only_searches_every_arm_and_the_bandit_one() {
        let mut rng = StdRng::seed_from_u64(4);
        let bandit = Bandit::from_observations(
            &["a".to_string(), "b".to_string(), "c".to_string()],
            &[],
            BanditRule::Thompson,
            super::super::bandit::Reward::Binary,
        );
        let all = Strategy::Gp.arms_to_explore(BanditRule::Thompson, &bandit, 3, &mut rng);
        assert_eq!(all.arms, vec![0, 1, 2]);
        assert_eq!(all.rule, ArmRule::Acquisition);
        let one = Strategy::GpBandit.arms_to_explore(BanditRule::Ucb1, &bandit, 3, &mut rng);
        assert_eq!(one.arms.len(), 1);
        assert_eq!(one.rule, ArmRule::Ucb1);
        assert!(one.score.is_some());
    }

    #[test]
    fn a_second_look_goes_to_the_arm_short_of_its_renders_inside_its_window() {
        let look = SecondLook {
            renders: 12,
            after: 20,
            until: 36,
            photo_renders: 6,
        };
        // Inside the window, the arm short of 12 renders; the fewest first,
        // the earlier arm on a tie.
        assert_eq!(look.arm(&[17, 3], 20, &[]), Some(1));
        assert_eq!(look.arm(&[4, 26], 30, &[]), Some(0));
        assert_eq!(look.arm(&[14, 5, 7], 26, &[]), Some(1));
        assert_eq!(look.arm(&[5, 20, 5], 30, &[]), Some(0));
        // Before the 20th render and from the 36th on, the bandit chooses.
        assert_eq!(look.arm(&[16, 3], 19, &[]), None);
        assert_eq!(look.arm(&[30, 6], 36, &[]), None);
        // Every arm has its 12.
        assert_eq!(look.arm(&[12, 12], 24, &[]), None);
        // A photo's first six renders are left to the photo.
        assert_eq!(look.arm(&[20, 4], 5, &[]), None);
        assert_eq!(look.arm(&[20, 4], 6, &[]), Some(1));
        // One slot per batch: a mate already on the arm leaves it be.
        assert_eq!(look.arm(&[20, 4], 24, &[0]), Some(1));
        assert_eq!(look.arm(&[20, 5], 25, &[1]), None);
        // Off, or one arm.
        let off = SecondLook { renders: 0, ..look };
        assert_eq!(off.arm(&[20, 2], 22, &[]), None);
        assert_eq!(look.arm(&[25], 25, &[]), None);
    }

    #[test]
    fn warming_up_sends_the_first_renders_to_the_arm_with_the_fewest() {
        let mut rng = StdRng::seed_from_u64(5);
        // The first 20 renders: the arm with the fewest gets the slot.
        assert_eq!(warming_up(&[7, 3], 20, &mut rng), Some(1));
        assert_eq!(warming_up(&[2, 9], 20, &mut rng), Some(0));
        assert_eq!(warming_up(&[5, 4, 6], 20, &mut rng), Some(1));
        // After them, the bandit's, however unevenly they fell (a history
        // from other rooms or designers already told the arms apart).
        assert_eq!(warming_up(&[10, 10], 20, &mut rng), None);
        assert_eq!(warming_up(&[16, 4], 20, &mut rng), None);
        assert_eq!(warming_up(&[7, 7, 7], 20, &mut rng), None);
        // Off, or nothing to share.
        assert_eq!(warming_up(&[0, 5], 0, &mut rng), None);
        assert_eq!(warming_up(&[0], 20, &mut rng), None);
        // Ties are broken at random, so no arm is favoured by its place in
        // the configuration.
        let picks: Vec<usize> = (0..200)
            .filter_map(|_| warming_up(&[4, 4], 20, &mut rng))
            .collect();
        let first = picks.iter().filter(|a| **a == 0).count();
        assert_eq!(picks.len(), 200);
        assert!((70..130).contains(&first), "{first} of 200 ties to arm 0");
    }
}
