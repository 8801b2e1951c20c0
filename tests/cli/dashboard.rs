//! `latina status` numbers checked against values worked out by hand for a
//! database built with `suggest` and `rate` through the binary.

use crate::harness::Env;
use serde_json::Value;

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Twelve experiments in six batches of two; ana rates all of them, luis the
/// first four after her, and ana changes her mind on the eighth.
fn rated_database(env: &Env) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut providers = Vec::new();
    for _ in 0..6 {
        let batch = env.json(&["--seed", "7", "suggest", "--count", "2"]);
        for s in batch.as_array().unwrap() {
            ids.push(s["experiment_id"].as_str().unwrap().to_string());
            providers.push(s["provider"].as_str().unwrap().to_string());
        }
    }
    let rate = |i: usize, stars: u8, by: &str| {
        env.latina()
            .args(["rate", &ids[i], &stars.to_string(), "--by", by])
            .assert()
            .success();
    };
    let ana = [5, 3, 2, 4, 1, 5, 3, 2, 5, 5, 2, 4];
    for (i, stars) in ana.iter().enumerate() {
        rate(i, *stars, "ana");
    }
    for (i, stars) in [4, 3, 1, 4].iter().enumerate() {
        rate(i, *stars, "luis");
    }
    rate(7, 4, "ana");
    (ids, providers)
}

#[test]
fn status_json_matches_hand_computed_numbers() {
    let env = Env::new();
    let (_ids, providers) = rated_database(&env);
    let status = env.json(&["status"]);

    // Latest rating per experiment, in the order they were suggested.
    let latest = [4u8, 3, 1, 4, 1, 5, 3, 4, 5, 5, 2, 4];
    let p1 = &status["phase1"];
    assert_eq!(p1["total_samples"], 12);
    assert_eq!(p1["best_rating"], 5.0);
    // 0.6·12/50 + 0.4·min(5/4, 1)
    assert!(close(&p1["convergence"], 0.6 * 12.0 / 50.0 + 0.4), "{p1}");
    assert_eq!(p1["phase"], 2);

    // Buckets of ten: 35/10, then 6/2; the moving average covers all 12.
    let trend = status["rating_trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2, "{trend:?}");
    assert_eq!(trend[0]["bucket"], "1-10");
    assert!(close(&trend[0]["avg"], 3.5));
    assert_eq!(trend[1]["bucket"], "11-12");
    assert!(close(&trend[1]["avg"], 3.0));
    assert!(close(&trend[1]["moving_avg"], 41.0 / 12.0));

    // Per provider: counts, means, 4+ share and head-to-head record,
    // worked out from which arm each suggestion went to.
    let perf = status["performance_by_api"].as_object().unwrap();
    for (name, p) in perf {
        let mine: Vec<u8> = (0..12)
            .filter(|&i| &providers[i] == name)
            .map(|i| latest[i])
            .collect();
        assert_eq!(p["count"], mine.len(), "{name}");
        let mean = mine.iter().map(|&s| f64::from(s)).sum::<f64>() / mine.len() as f64;
        assert!(close(&p["avg_rating"], mean), "{name}: {p}");
        let successes = mine.iter().filter(|&&s| s >= 4).count();
        assert!(
            close(&p["success_rate"], successes as f64 / mine.len() as f64),
            "{name}"
        );
        let (mut comparisons, mut score) = (0u32, 0.0);
        for pair in 0..6 {
            let (a, b) = (2 * pair, 2 * pair + 1);
            if providers[a] == providers[b] {
                continue;
            }
            let (me, other) = if &providers[a] == name {
                (a, b)
            } else {
                (b, a)
            };
            comparisons += 1;
            score += match latest[me].cmp(&latest[other]) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
        assert_eq!(p["comparisons"], comparisons, "{name}");
        if comparisons == 0 {
            assert!(p["win_rate"].is_null(), "{name}");
        } else {
            assert!(
                close(&p["win_rate"], score / f64::from(comparisons)),
                "{name}: {p}"
            );
        }
        // The model's best settings for a rated arm, inside the search space.
        let best = &p["best"];
        assert_eq!(best["trial"]["provider"], name.as_str());
        let s = best["trial"]["params"]["init_strength"].as_f64().unwrap();
        assert!((0.1..=0.5).contains(&s), "{best}");
        assert!(best["predicted_mean"].as_f64().is_some(), "{best}");
    }
    assert_eq!(
        perf.values()
            .map(|p| p["count"].as_u64().unwrap())
            .sum::<u64>(),
        12
    );
    // With this seed some batches pair two providers, so win rates are real.
    assert!(
        perf.values().any(|p| p["comparisons"].as_u64() > Some(0)),
        "{providers:?}"
    );

    // Raters: ana gave 13 ratings summing to 45, luis 4 summing to 12.
    // Shared e1..e4: ana (latest) 5 3 2 4, luis 4 3 1 4.
    let ir = &status["inter_rater"];
    assert_eq!(ir["shared_experiments"], 4);
    let raters = ir["raters"].as_array().unwrap();
    let ana = raters.iter().find(|r| r["name"] == "ana").unwrap();
    let luis = raters.iter().find(|r| r["name"] == "luis").unwrap();
    assert_eq!(ana["count"], 13);
    assert!(close(&ana["avg_rating"], 45.0 / 13.0));
    assert_eq!(luis["count"], 4);
    assert!(close(&luis["avg_rating"], 3.0));
    // Offsets: ana − luis on e1..e4 = 1, 0, 1, 0.
    assert!(close(&ana["offset"], 0.5));
    assert!(close(&luis["offset"], -0.5));
    // ICC(1,1): item means 4.5 3 1.5 4, grand 3.25; MSB = 10.5/3 = 3.5,
    // MSW = 1/4; (3.5 − 0.25)/(3.5 + 0.25).
    assert!(close(&ir["icc"], 3.25 / 3.75), "{ir}");
    // Kappa: P̄ = (0 + 1 + 0 + 1)/4; category shares 1,1,2,3,1 of 8 give
    // P̄e = (1 + 1 + 4 + 9 + 1)/64 = 0.25; (0.5 − 0.25)/0.75.
    assert!(close(&ir["fleiss_kappa"], 1.0 / 3.0), "{ir}");

    // Evolution ran inline at the 10th sample.
    let pe = &status["prompt_evolution"];
    assert_eq!(pe["last_evolution"]["trigger_sample"], 10, "{pe}");
    assert_eq!(pe["next_evolution_at_sample"], 20);
    assert_eq!(pe["samples_since_last"], 2);
    assert_eq!(pe["overdue"], false);
}

#[test]
fn status_text_shows_the_trend_win_rates_and_raters_without_colour() {
    let env = Env::new();
    rated_database(&env);
    let out = env.latina().arg("status").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not a terminal: {text}"
    );
    for expected in [
        "Trend:",
        "samples 1-12",
        "Raters:",
        "ICC 0.87",
        "kappa 0.33",
        "best known:",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // The sparkline: bucket means 3.5 and 3.0 on the 1–5 scale.
    assert!(text.contains("▅▅") || text.contains("▅▄"), "{text}");
}

/// With evolutions left to `latina evolve`, the one due at sample 10 has not
/// run at 12 ratings: status says it is overdue and how it will run,
/// instead of pointing at a sample already past.
#[test]
fn status_says_when_an_evolution_is_overdue() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[evolution]\non_rate = false\n",
    )
    .unwrap();
    rated_database(&env);
    let status = env.json(&["status"]);
    let pe = &status["prompt_evolution"];
    assert_eq!(pe["last_evolution"], Value::Null, "{pe}");
    assert_eq!(pe["next_evolution_at_sample"], 10, "{pe}");
    assert_eq!(pe["samples_since_last"], 12, "{pe}");
    assert_eq!(pe["overdue"], true, "{pe}");
    let out = env.latina().arg("status").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("next evolution due since sample 10: run `latina evolve`"),
        "{text}"
    );
}

/// Issue 13, defect 11: after two 4-star ratings `status` said "Phase 2"
/// and, from the model, "about 1 more trials" until a 4-star render. The
/// phase and the outlook agree: a 4-star render was rated, so Phase 2 says
/// why and the outlook says it was reached (0 trials left).
#[test]
fn issue13_status_phase_and_outlook_agree_after_two_good_ratings() {
    let env = Env::new();
    let batch = env.json(&["--seed", "3", "suggest", "--count", "2"]);
    for (s, stars) in batch.as_array().unwrap().iter().zip(["4", "4"]) {
        env.latina()
            .args(["rate", s["experiment_id"].as_str().unwrap(), stars])
            .assert()
            .success();
    }
    let out = env.latina().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("Phase 2:"), "{text}");
    assert!(!text.contains("more trial"), "{text}");
    assert!(text.contains("was rated 4 stars or more"), "{text}");
    let status = env.json(&["status"]);
    let p1 = &status["phase1"];
    assert_eq!(p1["phase"], 2, "{p1}");
    assert_eq!(p1["estimated_trials_remaining"], 0, "{p1}");
    assert_eq!(p1["target"]["kind"], "reached", "{p1}");

    // Below the target, Phase 1 and a number of trials (at least one).
    let env = Env::new();
    let batch = env.json(&["--seed", "3", "suggest", "--count", "3"]);
    for (s, stars) in batch.as_array().unwrap().iter().zip(["3", "2", "3"]) {
        env.latina()
            .args(["rate", s["experiment_id"].as_str().unwrap(), stars])
            .assert()
            .success();
    }
    let p1 = env.json(&["status"])["phase1"].clone();
    assert_eq!(p1["phase"], 1, "{p1}");
    assert_ne!(p1["estimated_trials_remaining"], 0, "{p1}");
    let text =
        String::from_utf8_lossy(&env.latina().arg("status").output().unwrap().stdout).into_owned();
    assert!(!text.contains("has been rated"), "{text}");
    assert!(!text.contains("1 more trials"), "{text}");
}
