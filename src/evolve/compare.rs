//! Champion against challenger, on the ratings each got in the same period.
//!
//! The decision uses Welch's t statistic (unequal variances) with the
//! Welch–Satterthwaite degrees of freedom. `P(challenger better)` is the
//! Student-t probability of a positive difference in means: with flat
//! priors on the means and Jeffreys priors on the variances it is (to
//! Welch's approximation) the Bayesian probability of superiority, and its
//! complement is the one-sided p-value. Star ratings are whole numbers, so
//! each arm's variance is floored: ten 4-star ratings are not "certain".

/// Smallest per-rating variance assumed, stars² (the optimizer's noise floor).
pub const VARIANCE_FLOOR: f64 = 0.25;

pub use crate::domain::{ArmStats, ChallengeRules, Comparison, Decision};

/// Compares the two arms (`None` until each has at least one rating).
pub fn compare(champion: ArmStats, challenger: ArmStats) -> Option<Comparison> {
    if champion.n == 0 || challenger.n == 0 {
        return None;
    }
    let se2 = |a: ArmStats| a.variance.max(VARIANCE_FLOOR) / a.n as f64;
    let (s1, s2) = (se2(champion), se2(challenger));
    let difference = challenger.mean - champion.mean;
    let t = difference / (s1 + s2).sqrt();
    let df_term = |s: f64, n: usize| if n > 1 { s * s / (n - 1) as f64 } else { s * s };
    let df = ((s1 + s2).powi(2) / (df_term(s1, champion.n) + df_term(s2, challenger.n))).max(1.0);
    Some(Comparison {
        champion,
        challenger,
        difference,
        t,
        df,
        prob_challenger_better: student_t_cdf(t, df),
    })
}

/// The decision under `rules`.
pub fn decide(comparison: Option<&Comparison>, rules: &ChallengeRules) -> Decision {
    let Some(c) = comparison else {
        return Decision::KeepCollecting;
    };
    if c.challenger.n < rules.min_ratings || c.champion.n < rules.min_champion_ratings {
        return Decision::KeepCollecting;
    }
    if c.difference >= rules.promote_margin && c.prob_challenger_better >= rules.confidence {
        return Decision::Promote;
    }
    if c.difference <= rules.reject_margin && 1.0 - c.prob_challenger_better >= rules.confidence {
        return Decision::Reject;
    }
    if c.challenger.n >= rules.max_ratings {
        return Decision::Expire;
    }
    Decision::KeepCollecting
}

/// Student's t cumulative distribution with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let x = df / (df + t * t);
    let tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, x);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4).
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x < (a+1)/(a+b+2).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_cdf_matches_reference_values() {
        // scipy.stats.t.cdf(t, df)
        for (t, df, expected) in [
            (0.0, 5.0, 0.5),
            (1.0, 1.0, 0.75),
            (2.0, 10.0, 0.963_305_982_614_629_9),
            (-1.5, 3.0, 0.115_291_932_622_411_47),
            (2.5, 30.0, 0.990_942_175_465_966_6),
            (1.2, 7.5, 0.866_665_538_603_389),
        ] {
            let got = student_t_cdf(t, df);
            assert!(
                (got - expected).abs() < 1e-9,
                "t={t} df={df}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn welch_statistics_match_a_worked_example() {
        // Both variances are above the floor, so this is plain Welch.
        let a = [2u8, 3, 4, 3, 2, 3, 4, 3, 2, 4];
        let b = [4u8, 3, 4, 5, 4, 3, 4, 5, 3, 4];
        let (sa, sb) = (ArmStats::of(&a), ArmStats::of(&b));
        assert!((sa.mean - 3.0).abs() < 1e-12 && (sb.mean - 3.9).abs() < 1e-12);
        let c = compare(sa, sb).unwrap();
        // scipy.stats.ttest_ind(b, a, equal_var=False)
        assert!((c.t - 2.586_130_970_097_108_7).abs() < 1e-9, "{}", c.t);
        assert!((c.df - 17.818_530_244_959_174).abs() < 1e-9, "{}", c.df);
        assert!((c.prob_challenger_better - 0.990_632_018_687_39).abs() < 1e-9);
    }

    #[test]
    fn decisions_follow_the_margins_the_minimums_and_the_cap() {
        let rules = ChallengeRules::default();
        let stats = |stars: &[u8]| ArmStats::of(stars);
        let better = compare(stats(&[3; 10]), stats(&[4; 10]));
        assert_eq!(decide(better.as_ref(), &rules), Decision::Promote);
        let worse = compare(stats(&[4; 10]), stats(&[3; 10]));
        assert_eq!(decide(worse.as_ref(), &rules), Decision::Reject);
        let few = compare(stats(&[3; 10]), stats(&[5; 9]));
        assert_eq!(decide(few.as_ref(), &rules), Decision::KeepCollecting);
        let same = compare(stats(&[3, 4].repeat(5)), stats(&[3, 4].repeat(5)));
        assert_eq!(decide(same.as_ref(), &rules), Decision::KeepCollecting);
        let capped = compare(stats(&[3, 4].repeat(20)), stats(&[3, 4].repeat(20)));
        assert_eq!(decide(capped.as_ref(), &rules), Decision::Expire);
        // Slightly better but inside the margin is not a promotion.
        let marginal = compare(
            stats(&[3, 4].repeat(15)),
            stats(&[[3u8; 14].as_slice(), &[4; 16]].concat()),
        );
        assert_eq!(decide(marginal.as_ref(), &rules), Decision::KeepCollecting);
        assert_eq!(decide(None, &rules), Decision::KeepCollecting);
    }
}
