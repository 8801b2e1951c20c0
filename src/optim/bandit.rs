//! Choosing a provider arm: the original's counting rules, Thompson
//! sampling over Beta posteriors (the default) or UCB1, or Thompson
//! sampling on each arm's best settings under the model.
//!
//! * **Posterior maximum** ([`BanditRule::PosteriorMaximum`]): an arm is
//!   judged by what the model knows of its *best* settings. One joint draw
//!   of the latent rating over a candidate set of each arm (its best tried
//!   settings, points around them, a space-filling sample) is a plausible
//!   landscape; the arm whose draw peaks highest is played
//!   ([`thompson_on_maxima`]). This is Thompson sampling of the arm that
//!   holds the maximum (Russo et al. 2018, §7; Hernández-Lobato et al.
//!   2014 sample maxima the same way). Counting ratings instead would let a
//!   mediocre arm with a broad 4-star plateau out-score a better arm whose
//!   early points were exploratory 1–2 stars.
//! * Counting rules: each arm's rating record is turned into successes and
//!   failures. The original system counts a rating ≥ 4 as a success
//!   ([`Reward::Binary`]); [`Reward::Graded`] counts `(stars − 1)/4` of a
//!   success and the rest as a failure, so a 3 is evidence too. With a
//!   uniform Beta(1, 1) prior the posterior of an arm is `Beta(1 + s, 1 + f)`
//!   (conjugacy). Thompson sampling (Thompson 1933): draw one value from
//!   each posterior, play the largest. UCB1 (Auer, Cesa-Bianchi and Fischer
//!   2002): play an untried arm, else the largest `mean + √(2 ln N / n)`.

use nalgebra::{Cholesky, DMatrix, DVector};
use rand::Rng;
use rand_distr::{Beta, Distribution, StandardNormal};

use crate::domain::RatedTrial;

/// How arms are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BanditRule {
    /// Thompson sampling on each arm's best settings under the model
    /// ([`thompson_on_maxima`]); before a model exists, the Beta rule.
    PosteriorMaximum,
    /// Sample each Beta posterior, take the largest draw.
    Thompson,
    /// Upper confidence bound.
    Ucb1,
}

/// How a rating becomes a reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reward {
    /// A rating of 4 or 5 is a success, anything else a failure.
    Binary,
    /// `(stars − 1)/4` of a success.
    Graded,
}

impl Reward {
    /// The success fraction of one rating.
    pub fn of(self, stars: u8) -> f64 {
        match self {
            Reward::Binary => f64::from(u8::from(stars >= 4)),
            Reward::Graded => (f64::from(stars.clamp(1, 5)) - 1.0) / 4.0,
        }
    }
}

/// Posterior state of one arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    /// Ratings seen.
    pub pulls: f64,
    /// Successes (fractional with graded rewards).
    pub successes: f64,
}

impl Arm {
    /// Beta posterior parameters under a uniform prior.
    pub fn posterior(&self) -> (f64, f64) {
        (1.0 + self.successes, 1.0 + self.pulls - self.successes)
    }

    /// Posterior mean success rate.
    pub fn mean(&self) -> f64 {
        let (a, b) = self.posterior();
        a / (a + b)
    }
}

/// A choice and the number that decided it (the Thompson draw or the UCB index).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmChoice {
    /// Index of the chosen arm.
    pub arm: usize,
    /// Its winning score.
    pub score: f64,
}

/// The bandit over the configured arms.
#[derive(Debug, Clone, PartialEq)]
pub struct Bandit {
    arms: Vec<Arm>,
    rule: BanditRule,
}

impl Bandit {
    /// Builds the posteriors from observations; ratings of unknown arms are ignored.
    pub fn from_observations(
        arm_names: &[String],
        observations: &[RatedTrial],
        rule: BanditRule,
        reward: Reward,
    ) -> Self {
        let mut arms = vec![
            Arm {
                pulls: 0.0,
                successes: 0.0,
            };
            arm_names.len()
        ];
        for o in observations {
            if let Some(i) = arm_names.iter().position(|n| *n == o.trial.provider) {
                arms[i].pulls += 1.0;
                arms[i].successes += reward.of(o.stars.get());
            }
        }
        Bandit { arms, rule }
    }

    /// The arms' states.
    pub fn arms(&self) -> &[Arm] {
        &self.arms
    }

    /// Picks an arm.
    pub fn choose<R: Rng + ?Sized>(&self, rng: &mut R) -> ArmChoice {
        let scores: Vec<f64> = match self.rule {
            BanditRule::Thompson | BanditRule::PosteriorMaximum => self
                .arms
                .iter()
                .map(|arm| {
                    let (a, b) = arm.posterior();
                    Beta::new(a, b).map_or(arm.mean(), |d| d.sample(rng))
                })
                .collect(),
            BanditRule::Ucb1 => {
                let total: f64 = self.arms.iter().map(|a| a.pulls).sum();
                self.arms
                    .iter()
                    .map(|arm| {
                        if arm.pulls == 0.0 {
                            f64::INFINITY
                        } else {
                            arm.successes / arm.pulls + (2.0 * total.ln() / arm.pulls).sqrt()
                        }
                    })
                    .collect()
            }
        };
        let (arm, score) = scores
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        ArmChoice { arm, score }
    }
}

/// One arm's joint posterior over its candidate settings: means and
/// covariance of the latent rating (stars).
pub struct ArmPosterior {
    /// Posterior means at the candidates.
    pub means: Vec<f64>,
    /// Their covariance matrix.
    pub covariance: DMatrix<f64>,
}

/// Thompson sampling on the arms' maxima: one joint draw per arm over its
/// candidates, `f = μ + L z` with `L Lᵀ = Σ` (jittered until it factorises)
/// and `z` standard normal; the arm whose draw has the highest maximum
/// wins, and that maximum is its score. `None` without arms or candidates.
pub fn thompson_on_maxima<R: Rng + ?Sized>(
    arms: &[ArmPosterior],
    rng: &mut R,
) -> Option<ArmChoice> {
    let mut best: Option<ArmChoice> = None;
    for (arm, posterior) in arms.iter().enumerate() {
        let m = posterior.means.len();
        if m == 0 {
            continue;
        }
        let z = DVector::from_fn(m, |_, _| -> f64 { StandardNormal.sample(rng) });
        let draw = match factor(&posterior.covariance) {
            Some(l) => l * z,
            // Not even a jittered factor: independent draws from the marginals.
            None => DVector::from_fn(m, |i, _| {
                posterior.covariance[(i, i)].max(0.0).sqrt() * z[i]
            }),
        };
        let peak = posterior
            .means
            .iter()
            .zip(draw.iter())
            .map(|(mu, d)| mu + d)
            .fold(f64::NEG_INFINITY, f64::max);
        if best.is_none_or(|b| peak > b.score) {
            best = Some(ArmChoice { arm, score: peak });
        }
    }
    best
}

/// Lower Cholesky factor of a covariance, with jitter growing from 1e-9 to
/// 1e-3 of its mean diagonal when rounding leaves it indefinite.
fn factor(covariance: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let scale = covariance.diagonal().mean().abs().max(1e-12);
    let mut jitter = 1e-9;
    while jitter <= 1e-3 {
        let mut k = covariance.clone();
        for i in 0..k.nrows() {
            k[(i, i)] += jitter * scale;
        }
        if let Some(c) = Cholesky::new(k) {
            return Some(c.unpack());
        }
        jitter *= 10.0;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Params, Stars, Trial};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rated(provider: &str, stars: i64) -> RatedTrial {
        RatedTrial {
            trial: Trial {
                provider: provider.into(),
                params: Params {
                    init_strength: 0.3,
                    guidance_scale: 8.0,
                    controlnet_weight: 0.8,
                },
            },
            stars: Stars::new(stars).unwrap(),
        }
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn beta_posterior_counts_binary_and_graded_rewards() {
        let obs = [
            rated("a", 5),
            rated("a", 4),
            rated("a", 2),
            rated("b", 3),
            rated("gone", 5),
        ];
        let binary =
            Bandit::from_observations(&names(), &obs, BanditRule::Thompson, Reward::Binary);
        assert_eq!(binary.arms()[0].posterior(), (3.0, 2.0));
        assert_eq!(binary.arms()[1].posterior(), (1.0, 2.0));
        let graded =
            Bandit::from_observations(&names(), &obs, BanditRule::Thompson, Reward::Graded);
        // a: 1 + 0.75 + 0.25 = 2 successes of 3 → Beta(3, 2); b: 0.5 of 1 → Beta(1.5, 1.5).
        assert_eq!(graded.arms()[0].posterior(), (3.0, 2.0));
        assert_eq!(graded.arms()[1].posterior(), (1.5, 1.5));
    }

    #[test]
    fn thompson_plays_arms_in_proportion_to_being_best() {
        // a: Beta(9, 3) (mean 0.75), b: Beta(3, 9) (mean 0.25): P(b best) is tiny.
        let mut obs = Vec::new();
        obs.extend((0..8).map(|_| rated("a", 5)));
        obs.extend((0..2).map(|_| rated("a", 1)));
        obs.extend((0..2).map(|_| rated("b", 5)));
        obs.extend((0..8).map(|_| rated("b", 1)));
        let bandit =
            Bandit::from_observations(&names(), &obs, BanditRule::Thompson, Reward::Binary);
        let mut rng = StdRng::seed_from_u64(1);
        let a_share = (0..4000)
            .filter(|_| bandit.choose(&mut rng).arm == 0)
            .count() as f64
            / 4000.0;
        // P(X > Y) for X~Beta(9,3), Y~Beta(3,9) is about 0.995.
        assert!(a_share > 0.98 && a_share < 1.0, "{a_share}");
    }

    #[test]
    fn posterior_maximum_judges_arms_by_their_best_settings_not_their_average() {
        // Arm 0: mostly poor settings but one it is sure rates 4.6; arm 1: a
        // broad 4.1 plateau everywhere. Counting 4-star ratings prefers arm
        // 1; its best settings say arm 0.
        let sure = |means: Vec<f64>| ArmPosterior {
            covariance: DMatrix::identity(means.len(), means.len()) * 0.01,
            means,
        };
        let arms = [
            sure(vec![1.5, 2.0, 1.2, 4.6, 1.8]),
            sure(vec![4.1, 4.1, 4.0, 4.1, 4.1]),
        ];
        let mut rng = StdRng::seed_from_u64(5);
        let wins = (0..500)
            .filter(|_| thompson_on_maxima(&arms, &mut rng).unwrap().arm == 0)
            .count();
        assert!(wins > 490, "{wins} of 500");
        // Uncertain arms are played in proportion to their chance of being best.
        let open = |mean: f64| ArmPosterior {
            means: vec![mean],
            covariance: DMatrix::from_element(1, 1, 1.0),
        };
        let arms = [open(3.0), open(3.5)];
        let share = (0..4000)
            .filter(|_| thompson_on_maxima(&arms, &mut rng).unwrap().arm == 0)
            .count() as f64
            / 4000.0;
        // P(N(3, 1) > N(3.5, 1)) = Φ(−0.5 / √2) ≈ 0.362.
        assert!((share - 0.362).abs() < 0.03, "{share}");
        assert!(thompson_on_maxima(&[], &mut rng).is_none());
    }

    #[test]
    fn ucb1_tries_every_arm_then_balances_mean_and_bonus() {
        let bandit =
            Bandit::from_observations(&names(), &[rated("a", 5)], BanditRule::Ucb1, Reward::Binary);
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(bandit.choose(&mut rng).arm, 1, "untried arm first");
        let obs = [rated("a", 5), rated("a", 5), rated("b", 1)];
        let bandit = Bandit::from_observations(&names(), &obs, BanditRule::Ucb1, Reward::Binary);
        let choice = bandit.choose(&mut rng);
        // a: 1 + √(2 ln 3 / 2) ≈ 2.048; b: 0 + √(2 ln 3) ≈ 1.482.
        assert_eq!(choice.arm, 0);
        assert!((choice.score - (1.0 + (3f64.ln()).sqrt())).abs() < 1e-12);
    }
}
