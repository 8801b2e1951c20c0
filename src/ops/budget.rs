//! What a render costs per arm, and how many candidates a photo's budget
//! pays for.
//!
//! An arm's price is what its past renders cost (the mean of the renders
//! whose cost is known), else the price its config names, else unknown;
//! the built-in engines are free. The budget caps N by the dearest arm the
//! optimizer might choose, since which arm renders a candidate is decided
//! after N is.

use serde::Serialize;

use crate::config::ProviderConfig;
use crate::store::ProviderSummary;

/// One arm's price per render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmPrice {
    /// The arm.
    pub provider: String,
    /// US dollars per render, when known.
    pub usd: Option<f64>,
    /// `free` (built-in), `measured` (past renders) or `configured`.
    pub source: Option<&'static str>,
    /// Mean provider time per render, milliseconds, when measured.
    pub mean_latency_ms: Option<f64>,
}

/// The price per render of each configured arm.
pub fn arm_prices(providers: &[ProviderConfig], summary: &[ProviderSummary]) -> Vec<ArmPrice> {
    providers
        .iter()
        .map(|p| {
            let record = summary.iter().find(|s| s.name == p.name());
            let attempts = record.map_or(0, |r| r.renders + r.failed);
            let mean_latency_ms = record
                .filter(|_| attempts > 0)
                .map(|r| r.total_latency_ms as f64 / attempts as f64);
            let priced = record.map_or(0, |r| r.renders.saturating_sub(r.renders_without_cost));
            let (usd, source) = if p.is_builtin() {
                (Some(0.0), Some("free"))
            } else if let Some(r) = record.filter(|_| priced > 0) {
                (Some(r.total_cost_usd / priced as f64), Some("measured"))
            } else if let Some(price) = configured_price(p) {
                (Some(price), Some("configured"))
            } else {
                (None, None)
            };
            ArmPrice {
                provider: p.name().to_string(),
                usd,
                source,
                mean_latency_ms,
            }
        })
        .collect()
}

/// The per-image price the config names (a per-second price alone is not
/// a price per render until a render has been timed).
fn configured_price(p: &ProviderConfig) -> Option<f64> {
    match p {
        ProviderConfig::SdWebui(c) => c.price_per_image,
        ProviderConfig::Leonardo(c) => c.price_per_image,
        ProviderConfig::Replicate(c) => c.price_per_image,
        ProviderConfig::Stability(c) => c.price_per_image,
        ProviderConfig::Bfl(c) => c.price_per_image,
        ProviderConfig::Comfyui(c) => c.price_per_image,
        _ => None,
    }
}

/// How many candidates to render: `wanted`, capped so that the dearest
/// arm's price times N stays within `budget_usd`, never below `show` (the
/// designer must see something; the note says when even that is over the
/// budget). Arms of unknown price cannot be capped: the note says so.
pub fn cap_candidates(
    wanted: usize,
    show: usize,
    budget_usd: Option<f64>,
    prices: &[ArmPrice],
) -> (usize, Option<String>) {
    let Some(budget) = budget_usd else {
        return (wanted, None);
    };
    let unknown: Vec<&str> = prices
        .iter()
        .filter(|p| p.usd.is_none())
        .map(|p| p.provider.as_str())
        .collect();
    let dearest = prices
        .iter()
        .filter_map(|p| p.usd.map(|usd| (usd, p.provider.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut notes = Vec::new();
    if !unknown.is_empty() {
        notes.push(format!(
            "the price of {} is unknown (no render cost measured, no price_per_image configured), \
             so the budget does not count it",
            unknown.join(", ")
        ));
    }
    let n = match dearest {
        Some((usd, provider)) if usd > 0.0 => {
            let affordable = (budget / usd + 1e-9).floor() as usize;
            if affordable < show {
                notes.push(format!(
                    "{show} renders at up to ${usd:.4} each ({provider}) exceed the budget of \
                     ${budget:.2} per photo; rendering {show} anyway"
                ));
            } else if affordable < wanted {
                notes.push(format!(
                    "the budget of ${budget:.2} per photo pays for {affordable} candidates at up \
                     to ${usd:.4} each ({provider}), not {wanted}"
                ));
            }
            affordable.clamp(show, wanted.max(show))
        }
        _ => wanted,
    };
    (n, (!notes.is_empty()).then(|| notes.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(provider: &str, usd: Option<f64>) -> ArmPrice {
        ArmPrice {
            provider: provider.into(),
            usd,
            source: None,
            mean_latency_ms: None,
        }
    }

    #[test]
    fn free_arms_are_never_capped() {
        let prices = [price("tone", Some(0.0)), price("detail", Some(0.0))];
        assert_eq!(cap_candidates(8, 2, Some(0.10), &prices), (8, None));
    }

    #[test]
    fn the_dearest_arm_sets_how_many_the_budget_pays_for() {
        let prices = [price("tone", Some(0.0)), price("leo", Some(0.03))];
        let (n, note) = cap_candidates(8, 2, Some(0.10), &prices);
        assert_eq!(n, 3);
        assert!(note.unwrap().contains("pays for 3 candidates"));
        // Exactly affordable: 0.12 / 0.03 is 4 despite floating point.
        assert_eq!(cap_candidates(8, 2, Some(0.12), &prices).0, 4);
    }

    #[test]
    fn never_fewer_than_the_shown_count_and_the_note_says_so() {
        let prices = [price("leo", Some(0.05))];
        let (n, note) = cap_candidates(8, 2, Some(0.05), &prices);
        assert_eq!(n, 2);
        assert!(note.unwrap().contains("exceed the budget"));
    }

    #[test]
    fn an_arm_of_unknown_price_is_named() {
        let prices = [price("tone", Some(0.0)), price("rep", None)];
        let (n, note) = cap_candidates(6, 2, Some(1.0), &prices);
        assert_eq!(n, 6);
        assert!(note.unwrap().contains("price of rep is unknown"));
    }

    #[test]
    fn measured_costs_come_before_configured_prices() {
        let config: crate::config::Config = toml::from_str(
            r#"
            [[providers]]
            type = "builtin-tone"
            name = "tone"
            [[providers]]
            type = "leonardo"
            name = "leo"
            price_per_image = 0.05
            "#,
        )
        .unwrap();
        let summary = |renders, cost| ProviderSummary {
            name: "leo".into(),
            renders,
            total_cost_usd: cost,
            total_latency_ms: 9000,
            ..ProviderSummary::default()
        };
        let configured = arm_prices(&config.providers, &[]);
        assert_eq!(configured[0].usd, Some(0.0));
        assert_eq!(configured[1].usd, Some(0.05));
        assert_eq!(configured[1].source, Some("configured"));
        let measured = arm_prices(&config.providers, &[summary(3, 0.06)]);
        assert!((measured[1].usd.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(measured[1].mean_latency_ms, Some(3000.0));
    }
}
