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

/// Issue 5: the prompt-evolution simulation, readable and as JSON, with the
/// configured trial rules.
#[test]
fn simulate_prompt_evolution_prints_versions_and_decisions_per_seed() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[evolution]\nmin_ratings = 8\n",
    )
    .unwrap();
    let args = [
        "simulate",
        "--prompt-evolution",
        "--seeds",
        "2",
        "--ratings",
        "40",
    ];
    let report = env.json(&args);
    let sessions = report["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 4);
    for s in sessions {
        let first = s["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["decision"] != "activate")
            .unwrap_or_else(|| panic!("no decision: {s}"));
        let expected = match s["designer"].as_str().unwrap() {
            "depth-seeker" => "promote",
            _ => "reject",
        };
        assert_eq!(first["decision"], expected, "{s}");
        // Decided once both sides have their minimums (8 and 5), not before.
        assert!(first["challenger_n"].as_u64().unwrap() >= 8, "{first}");
        assert!(first["champion_n"].as_u64().unwrap() >= 5, "{first}");
        assert!(first["at_rating"].as_u64().unwrap() >= 10 + 8);
    }
    let out = env.latina().args(args).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("decision after 8 challenger ratings"),
        "{text}"
    );
    assert!(text.contains("designer 'depth-seeker'"), "{text}");
    assert!(text.contains("seed 1: 1.1.0 at 10"), "{text}");
    assert!(text.contains("→ reject at "), "{text}");
    assert!(text.contains("promoted 2/2"), "{text}");
    assert!(text.contains("rolled back 2/2"), "{text}");
    assert!(!env.db_path().exists());
}

/// Issue 15: the designer who looks at pixels, as JSON (two photos to keep
/// a debug build quick), and refused input.
#[test]
fn simulate_reward_measures_the_model_on_real_renders() {
    let env = Env::new();
    let photos = env.path("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for name in ["room_hotel_desk.jpg", "studio_dark_pano.jpg"] {
        std::fs::copy(
            crate::harness::fixture(&format!("images/{name}")),
            photos.join(name),
        )
        .unwrap();
    }
    let report = env.json(&[
        "simulate",
        "--reward",
        "--seeds",
        "2",
        "--ratings",
        "10",
        "--photos",
        photos.to_str().unwrap(),
    ]);
    assert_eq!(report["seeds"], 2);
    let accuracy = report["accuracy"].as_array().unwrap();
    let sizes: Vec<u64> = accuracy
        .iter()
        .map(|a| a["ratings"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [10, 20, 40]);
    for a in accuracy {
        for key in ["vs_designer", "vs_truth"] {
            let m = a[key]["median"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&m), "{a}");
        }
    }
    let retest = report["retest"]["median"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&retest), "{retest}");
    let arms = report["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 2);
    for run in report["runs"].as_array().unwrap() {
        for arm in ["ab", "shortlist"] {
            let q = run[arm]["mean_true"].as_f64().unwrap();
            assert!((1.0..=5.0).contains(&q), "{run}");
        }
    }
    // Nothing is written to the user's database.
    assert!(!env.db_path().exists());

    let empty = env.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env
        .latina()
        .args(["simulate", "--reward", "--photos", empty.to_str().unwrap()])
        .output()
        .unwrap();
    let line = crate::harness::one_line_failure(&out);
    assert!(line.contains("no .jpg or .png photos"), "{line}");
    let out = env
        .latina()
        .args(["simulate", "--photos", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
