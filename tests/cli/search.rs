//! Issue 14 items 5 and 6 through the binary: suggestions that waste no
//! ratings (a spread, balanced initial design asked one at a time; no
//! space filling once 4 stars were given; no corner proposals) and A/B
//! pairs that stay a real choice.

use crate::harness::Env;
use serde_json::Value;

/// The unit-cube point of a suggestion under the default bounds.
fn unit(s: &Value) -> [f64; 3] {
    let p = &s["params"];
    let scale = |key: &str, low: f64, high: f64| (p[key].as_f64().unwrap() - low) / (high - low);
    [
        scale("init_strength", 0.1, 0.5),
        scale("guidance_scale", 5.0, 12.0),
        scale("controlnet_weight", 0.7, 0.99),
    ]
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// A designer without noise: "detail" peaks at the middle of the box
/// (5 stars there, falling to 1 at the corners), "tone" always rates 2.
fn stars(s: &Value) -> i64 {
    if s["provider"] != "detail" {
        return 2;
    }
    let d2: f64 = unit(s).iter().map(|x| (x - 0.5).powi(2)).sum();
    (5.0 - 6.0 * d2).round().clamp(1.0, 5.0) as i64
}

/// A seeded session of `batches` batches of two through `suggest` and
/// `rate`: each suggestion with the stars given, batch by batch.
fn session(seed: &str, batches: usize) -> Vec<Vec<(Value, i64)>> {
    let env = Env::new();
    (0..batches)
        .map(|_| {
            let pair = env.json(&["--seed", seed, "suggest", "--count", "2"]);
            pair.as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let given = stars(s);
                    let id = s["experiment_id"].as_str().unwrap();
                    env.latina()
                        .args(["rate", id, &given.to_string()])
                        .assert()
                        .success();
                    (s.clone(), given)
                })
                .collect()
        })
        .collect()
}

#[test]
fn issue14_an_initial_design_asked_one_at_a_time_balances_arms_and_spreads() {
    // Before: each one-at-a-time suggestion was an independent random point
    // on a random arm.
    for seed in ["1", "2", "3", "4", "5"] {
        let env = Env::new();
        let picks: Vec<Value> = (0..4)
            .map(|_| env.json(&["--seed", seed, "suggest"])[0].clone())
            .collect();
        for s in &picks {
            assert_eq!(s["method"], "initial_design", "{s}");
        }
        let tone = picks.iter().filter(|s| s["provider"] == "tone").count();
        assert_eq!(tone, 2, "seed {seed}: arms not balanced: {picks:?}");
        for (i, a) in picks.iter().enumerate() {
            for b in &picks[i + 1..] {
                let d = distance(unit(a), unit(b));
                assert!(d >= 0.2, "seed {seed}: two design points {d:.3} apart");
            }
        }
    }
}

#[test]
fn issue14_a_and_b_are_never_near_copies_once_the_model_is_confident() {
    let batches = session("7", 18);
    for (i, pair) in batches.iter().enumerate().skip(6) {
        let (a, b) = (&pair[0].0, &pair[1].0);
        if a["provider"] == b["provider"] {
            let d = distance(unit(a), unit(b));
            assert!(d >= 0.15, "batch {i}: A and B {d:.3} apart: {a} {b}");
        }
    }
    // The session did converge: the designer saw 5-star renders.
    assert!(batches.iter().flatten().any(|(_, given)| *given == 5));
}

#[test]
fn issue14_no_space_filling_once_good_settings_were_rated_and_no_corner_proposals() {
    let batches = session("11", 16);
    let mut seen_four = false;
    let mut corners = 0;
    for (s, given) in batches.iter().flatten() {
        if seen_four {
            assert_ne!(
                s["method"], "space_filling",
                "space filling after a 4-star rating: {s}"
            );
        }
        corners += usize::from(unit(s).iter().all(|x| *x <= 0.02 || *x >= 0.98));
        seen_four |= *given >= 4;
    }
    assert_eq!(corners, 0, "proposals on a corner of the box");
}
