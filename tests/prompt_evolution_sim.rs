//! Issue 5: prompt evolution judged by simulated designers whose ratings
//! depend on the prompt each variant was served with. The rule evolver's
//! rewrite helps one designer and hurts the other; over ten seeds the trial
//! must promote it for the first and roll it back for the second, and only
//! once the challenger has its configured number of ratings.

use latina::config::Config;
use latina::ops::simulate::scratch_dir;
use latina::ops::simulate_evolution::{
    PromptSession, prompt_panel, run_prompt_session, summarize_prompt_sessions,
};

const SEEDS: u64 = 10;

fn sessions(designer: usize, config: &Config, ratings: usize) -> Vec<PromptSession> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let panel = prompt_panel();
    (0..SEEDS)
        .map(|seed| {
            let dir = scratch_dir(&format!("test-{designer}-{seed}")).unwrap();
            runtime
                .block_on(run_prompt_session(
                    config,
                    &panel[designer],
                    seed,
                    ratings,
                    2,
                    dir,
                ))
                .unwrap()
        })
        .collect()
}

/// The first decision of every session is `expected`, made on exactly
/// `min_ratings` challenger ratings (the rule is checked after each one)
/// and at least `min_champion_ratings` champion ratings, with numbers that
/// agree with it; the row is in the database.
fn assert_first_decisions(sessions: &[PromptSession], expected: &str, config: &Config) {
    let rules = config.evolution.rules();
    for s in sessions {
        let first = s
            .first_decision()
            .unwrap_or_else(|| panic!("seed {}: no decision in {s:#?}", s.seed));
        let r = &first.record;
        assert_eq!(r.decision, expected, "seed {}: {s:#?}", s.seed);
        assert_eq!(r.champion, "1.0.0");
        assert_eq!(r.challenger, s.versions[0].version);
        assert_eq!(
            s.versions[0].at_rating, 10,
            "evolution is due at 10 ratings"
        );
        assert_eq!(
            r.challenger_n as usize, rules.min_ratings,
            "seed {}",
            s.seed
        );
        assert!(r.champion_n as usize >= rules.min_champion_ratings);
        // Every rating after the trigger went to one side of the trial.
        let at = first.at_rating.expect("decided during the session");
        assert!(at >= 10 + rules.min_ratings + rules.min_champion_ratings);
        assert!(at <= 10 + r.challenger_n as usize + r.champion_n as usize);
        let difference = r.difference.unwrap();
        assert!((difference - (r.challenger_mean - r.champion_mean)).abs() < 1e-9);
        let p = r.prob_better.unwrap();
        match expected {
            "promote" => assert!(difference >= rules.promote_margin && p >= rules.confidence),
            _ => assert!(difference <= rules.reject_margin && 1.0 - p >= rules.confidence),
        }
    }
}

#[test]
fn a_rewrite_that_fixes_what_the_designer_complains_about_is_promoted() {
    let config = Config::default();
    let runs = sessions(0, &config, 50);
    assert_first_decisions(&runs, "promote", &config);
    for s in &runs {
        let v = &s.versions[0];
        assert_eq!(v.parent, "1.0.0");
        let mut issues = v.issues.clone();
        issues.sort();
        assert_eq!(issues, ["flat_look", "lighting"]);
        // The promoted prompt is really better for this designer.
        assert!((v.true_quality - 3.8).abs() < 1e-9);
    }
    let summary = summarize_prompt_sessions("depth-seeker", &runs);
    assert_eq!(summary.promoted_first, SEEDS as usize);
    assert!(summary.mean_true_last_10 > summary.mean_true_first_10 + 0.5);
}

#[test]
fn a_rewrite_that_hurts_the_designers_taste_is_rolled_back() {
    let config = Config::default();
    let runs = sessions(1, &config, 50);
    assert_first_decisions(&runs, "reject", &config);
    for s in &runs {
        assert_eq!(s.versions[0].issues, ["colors"]);
        assert_eq!(s.versions[0].status, "rejected");
        assert!((s.versions[0].true_quality - 2.5).abs() < 1e-9);
        // Rolled back: the base prompt stays the champion, and the next
        // evolution never reuses the rejected version's number.
        assert_eq!(s.final_champion, "1.0.0");
        let mut numbers: Vec<&str> = s.versions.iter().map(|v| v.version.as_str()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), s.versions.len());
    }
    assert_eq!(
        summarize_prompt_sessions("warm-palette", &runs).rejected_first,
        SEEDS as usize
    );
}

#[test]
fn a_larger_min_ratings_delays_the_decision_until_it_is_reached() {
    let mut config = Config::default();
    config.evolution.min_ratings = 16;
    let runs = sessions(0, &config, 80);
    assert_first_decisions(&runs, "promote", &config);
}
