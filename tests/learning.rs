//! Learning quality on simulated designers, through the same suggest → rate
//! code paths and a real database, with fixed seeds (so it is reproducible,
//! not flaky). The full comparison is `latina simulate` (README).

use latina::config::Config;
use latina::ops::simulate::{
    Contender, RunResult, contenders, panel, run_session, scratch_dir, summarize,
};

fn sessions(
    contender: &Contender,
    designer: usize,
    seeds: std::ops::Range<u64>,
    ratings: usize,
) -> Vec<RunResult> {
    sessions_with(&Config::default(), contender, designer, seeds, ratings)
}

fn sessions_with(
    config: &Config,
    contender: &Contender,
    designer: usize,
    seeds: std::ops::Range<u64>,
    ratings: usize,
) -> Vec<RunResult> {
    let designers = panel();
    seeds
        .map(|seed| {
            let dir = scratch_dir(&format!("test-{}-{seed}", contender.label)).unwrap();
            run_session(
                config,
                contender,
                &designers[designer],
                seed,
                ratings,
                2,
                dir,
            )
            .unwrap()
        })
        .collect()
}

fn contender(label: &str) -> Contender {
    contenders().into_iter().find(|c| c.label == label).unwrap()
}

#[test]
fn the_gp_finds_good_settings_sooner_than_random_search() {
    // Designer 0 ("bowl"): a quadratic landscape, one arm clearly better.
    let ratings = 30;
    let random = summarize(
        "random",
        "bowl",
        &sessions(&contender("random"), 0, 0..10, ratings),
        ratings,
    );
    let gp = summarize(
        "gp-ei",
        "bowl",
        &sessions(&contender("gp-ei"), 0, 0..10, ratings),
        ratings,
    );
    eprintln!("{random:?}\n{gp:?}");
    assert!(
        gp.median_ratings_to_4 < random.median_ratings_to_4,
        "{gp:?} vs {random:?}"
    );
    assert!(gp.mean_best_at[0] >= random.mean_best_at[0] - 0.05);
    assert!(gp.mean_best_at[1] > random.mean_best_at[1]);
    // And the designer sees better renders at the end.
    assert!(gp.mean_true_last_10 > random.mean_true_last_10 + 0.5);
}

#[test]
fn exploiting_in_batches_shows_the_designer_better_renders() {
    // Designer 4 ("narrow"): a peak in a flat landscape, where pure EI keeps
    // showing flat settings long after the peak is known. Over 100 seeds
    // (diag_optimizer) exploit/explore raises the last renders' true quality
    // there by 0.2 stars and in every one of eight 8-seed blocks; on the
    // smoother designers the gain is smaller than 8-seed noise.
    //
    // Checked on the first model (regression), where eight seeds show it.
    // With the studio model the gain holds over 100 seeds (last ten renders
    // on "narrow" 3.33 against 3.16 for EI alone, `simulate --only
    // gp-ei,gp-exploit-explore --ratings 40`) but is within 8-seed noise.
    let ratings = 40;
    let mut config = Config::default();
    config.optimizer.model = latina::optim::ModelKind::Regression;
    let ei = summarize(
        "gp-ei",
        "narrow",
        &sessions_with(&config, &contender("gp-ei"), 4, 0..8, ratings),
        ratings,
    );
    let mixed = summarize(
        "gp-exploit-explore",
        "narrow",
        &sessions_with(&config, &contender("gp-exploit-explore"), 4, 0..8, ratings),
        ratings,
    );
    eprintln!("{ei:?}\n{mixed:?}");
    assert!(
        mixed.mean_true_last_10 > ei.mean_true_last_10,
        "{mixed:?} vs {ei:?}"
    );
}
