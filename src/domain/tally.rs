//! The running counts the store keeps for `status` and hands to the
//! statistics: an arm's head-to-head record and the rater-agreement sums.
//! Plain data shared by the store (which reads them from its tally tables)
//! and `optim::stats` (which turns them into win rates, ICC and kappa), so
//! the store needs nothing from the optimizer.

use serde::Serialize;

/// Head-to-head record of one arm against the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WinRecord {
    /// Pairs it took part in against a different arm, both rated.
    pub comparisons: u64,
    /// Pairs where its variant was rated higher.
    pub wins: u64,
    /// Pairs rated equal.
    pub ties: u64,
}

impl WinRecord {
    /// Share of comparisons won, a tie counting half; `None` without any.
    pub fn win_rate(&self) -> Option<f64> {
        (self.comparisons > 0)
            .then(|| (self.wins as f64 + 0.5 * self.ties as f64) / self.comparisons as f64)
    }
}

/// Sums over the items rated by the same number `raters` (k ≥ 2) of
/// raters on the 1–5 star scale: enough for `optim::stats::icc_from_tallies` and
/// `kappa_from_tallies` to equal `icc_oneway` and `fleiss_kappa` on
/// the items themselves. Kept this way so the database can maintain them
/// as each rating arrives instead of rereading every shared rating.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AgreementTally {
    /// k, the raters per item.
    pub raters: u64,
    /// Items with k raters.
    pub items: u64,
    /// Σ over items of the item's star total T.
    pub star_sum: i64,
    /// Σ T².
    pub item_sum_sq: i64,
    /// Σ over every rating of stars².
    pub star_sq: i64,
    /// Σ over items of Σⱼ nⱼ², nⱼ = raters giving j stars.
    pub category_sq: i64,
    /// Σ nⱼ for j = 1..=5 stars.
    pub categories: [i64; 5],
}
