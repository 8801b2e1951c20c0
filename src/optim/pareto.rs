//! Quality against cost and time: which arms no other arm beats on all
//! three, and the cheapest way the model knows to a target rating.
//!
//! Cost and time belong to an arm (a render on Leonardo costs what it
//! costs whatever the settings), so the trade-off is between arms, each at
//! the best settings the model knows for it.

/// One arm's position: predicted stars at its best settings, price per
/// render, mean time per render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tradeoff {
    /// Predicted stars at the arm's best known settings.
    pub quality: f64,
    /// US dollars per render (`None`: unknown, never dominated on cost).
    pub cost_usd: Option<f64>,
    /// Seconds per render (`None`: not measured yet).
    pub seconds: Option<f64>,
}

/// Whether `a` is at least as good as `b` on every axis and better on one.
/// An unknown cost or time is no better and no worse than anything: an arm
/// is only dominated on axes that are known for both.
fn dominates(a: &Tradeoff, b: &Tradeoff) -> bool {
    let at_most = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some((x <= y, x < y)),
        _ => None,
    };
    let mut strictly = a.quality > b.quality;
    if a.quality < b.quality {
        return false;
    }
    for axis in [
        at_most(a.cost_usd, b.cost_usd),
        at_most(a.seconds, b.seconds),
    ] {
        match axis {
            Some((false, _)) => return false,
            Some((true, less)) => strictly |= less,
            // Unknown on either side: cannot claim to be no worse.
            None => return false,
        }
    }
    strictly
}

/// For each arm, whether no other arm dominates it (the Pareto front).
pub fn front(arms: &[Tradeoff]) -> Vec<bool> {
    arms.iter()
        .enumerate()
        .map(|(i, a)| {
            !arms
                .iter()
                .enumerate()
                .any(|(j, b)| j != i && dominates(b, a))
        })
        .collect()
}

/// The arm that reaches `target` stars at the lowest known price (ties:
/// the faster, then the better); `None` when no arm of known price is
/// predicted to reach it.
pub fn cheapest_reaching(arms: &[Tradeoff], target: f64) -> Option<usize> {
    arms.iter()
        .enumerate()
        .filter(|(_, a)| a.quality >= target)
        .filter_map(|(i, a)| a.cost_usd.map(|c| (i, c, a)))
        .min_by(|x, y| {
            x.1.total_cmp(&y.1)
                .then(
                    x.2.seconds
                        .unwrap_or(f64::INFINITY)
                        .total_cmp(&y.2.seconds.unwrap_or(f64::INFINITY)),
                )
                .then(y.2.quality.total_cmp(&x.2.quality))
        })
        .map(|(i, _, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(quality: f64, cost: f64, seconds: f64) -> Tradeoff {
        Tradeoff {
            quality,
            cost_usd: Some(cost),
            seconds: Some(seconds),
        }
    }

    #[test]
    fn an_arm_worse_dearer_and_slower_than_another_is_off_the_front() {
        let arms = [
            arm(4.2, 0.0, 0.3),   // built-in: free and fast
            arm(4.6, 0.03, 20.0), // better, dearer: on the front
            arm(4.1, 0.05, 30.0), // worse than both, dearer, slower
            arm(4.6, 0.03, 25.0), // as good and as dear as #1 but slower
        ];
        assert_eq!(front(&arms), [true, true, false, false]);
    }

    #[test]
    fn unknown_costs_are_never_dominated_on_them() {
        let arms = [
            arm(4.5, 0.0, 0.3),
            Tradeoff {
                quality: 4.0,
                cost_usd: None,
                seconds: Some(10.0),
            },
        ];
        assert_eq!(front(&arms), [true, true]);
    }

    #[test]
    fn the_cheapest_arm_that_reaches_the_target_wins_ties_by_speed() {
        let arms = [
            arm(3.8, 0.0, 0.3),
            arm(4.3, 0.02, 30.0),
            arm(4.1, 0.02, 10.0),
            arm(4.9, 0.05, 5.0),
        ];
        assert_eq!(cheapest_reaching(&arms, 4.0), Some(2));
        assert_eq!(cheapest_reaching(&arms, 4.5), Some(3));
        assert_eq!(cheapest_reaching(&arms, 5.0), None);
    }
}
