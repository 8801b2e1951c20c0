//! `latina simulate` through the binary.

use crate::harness::Env;

#[test]
fn simulate_reports_every_setup_on_every_designer() {
    let env = Env::new();
    let summaries = env.json(&[
        "simulate",
        "--seeds",
        "2",
        "--ratings",
        "10",
        "--only",
        "random,gp-ei",
    ]);
    let list = summaries.as_array().unwrap();
    let designers = env.json(&["simulate", "--print-panel"]);
    assert_eq!(list.len(), 2 * designers.as_array().unwrap().len());
    for s in list {
        assert_eq!(s["runs"], 2);
        let best = s["mean_best_at"].as_array().unwrap();
        assert_eq!(best.len(), 4);
        for b in best {
            let b = b.as_f64().unwrap();
            assert!((1.0..=5.0).contains(&b));
        }
        let seen = s["mean_seen_last_10"].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&seen));
    }
    // The simulation cleans up after itself and never touches the user's database.
    assert!(!env.db_path().exists());
}
