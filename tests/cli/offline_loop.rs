//! enhance → rate → status, suggest → rate, on a temp database.

use serde_json::Value;
use std::collections::HashMap;

use crate::harness::{Env, sample_room, stderr_of, stdout_of};

fn variants(report: &Value) -> &Vec<Value> {
    report["variants"].as_array().unwrap()
}

#[test]
fn enhance_rate_status_counts_every_rating_once() {
    let env = Env::new();
    let report = env.json(&[
        "enhance",
        sample_room().to_str().unwrap(),
        "--room",
        "living_room",
    ]);
    let vs = variants(&report);
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0]["option"], "A");
    assert_eq!(vs[1]["option"], "B");
    assert_ne!(vs[0]["experiment_id"], vs[1]["experiment_id"]);
    for v in vs {
        assert_eq!(v["status"], "done");
        let out = std::path::PathBuf::from(v["output"].as_str().unwrap());
        assert!(
            out.starts_with(env.data()),
            "{out:?} not under the data dir"
        );
        let img = image::open(&out).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (800, 600),
            "aspect and size kept"
        );
        for key in ["init_strength", "guidance_scale", "controlnet_weight"] {
            assert!(v["params"][key].is_f64(), "{key}");
        }
        assert!(v["provider"].is_string());
    }
    let preview = report["preview"].as_str().unwrap();
    let sheet = image::open(preview).unwrap();
    assert!(
        sheet.width() > 3 * sheet.height(),
        "original | A | B side by side"
    );

    let id = |i: usize| vs[i]["experiment_id"].as_str().unwrap().to_string();
    env.latina()
        .args([
            "rate",
            &id(0)[..8],
            "4",
            "--comment",
            "muy plano",
            "--by",
            "ana",
        ])
        .assert()
        .success();
    env.latina().args(["rate", &id(1), "2"]).assert().success();

    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 2);
    assert_eq!(status["phase1"]["best_rating"], 4.0);
    let convergence = status["phase1"]["convergence"].as_f64().unwrap();
    assert!(
        (convergence - (0.6 * 2.0 / 50.0 + 0.4 * 1.0)).abs() < 1e-9,
        "{convergence}"
    );
    let mut expected: HashMap<String, (u64, f64)> = HashMap::new();
    for (i, stars) in [(0, 4.0), (1, 2.0)] {
        let e = expected
            .entry(vs[i]["provider"].as_str().unwrap().into())
            .or_default();
        e.1 = (e.1 * e.0 as f64 + stars) / (e.0 + 1) as f64;
        e.0 += 1;
    }
    for (provider, (count, avg)) in expected {
        let perf = &status["performance_by_api"][&provider];
        assert_eq!(perf["count"], count, "{provider}");
        assert!(
            (perf["avg_rating"].as_f64().unwrap() - avg).abs() < 1e-9,
            "{provider}"
        );
    }

    // The rating went to exactly one experiment each, with its comment and rater.
    let rating = env.rows(&format!(
        "SELECT stars, comment, rated_by FROM ratings WHERE experiment_id = '{}'",
        id(0)
    ));
    assert_eq!(
        rating,
        vec![vec![
            Some("4".to_string()),
            Some("muy plano".to_string()),
            Some("ana".to_string())
        ]]
    );
    let meta: String = env.scalar("SELECT room FROM batches");
    assert_eq!(meta, "living_room");
}

#[test]
fn re_rating_keeps_history_and_the_latest_counts() {
    let env = Env::new();
    let report = env.enhance("images/coffee.jpg");
    let id = variants(&report)[0]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.latina().args(["rate", &id, "2"]).assert().success();
    let out = env.latina().args(["rate", &id, "5"]).assert().success();
    assert!(stdout_of(out.get_output()).contains("replaces the earlier rating"));
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 1);
    assert_eq!(status["phase1"]["best_rating"], 5.0);
    assert_eq!(env.count("ratings"), 2);
}

#[test]
fn without_a_terminal_enhance_never_prompts_and_prints_no_colour() {
    let env = Env::new();
    let out = env
        .latina()
        .args(["enhance", sample_room().to_str().unwrap()])
        .write_stdin("")
        .assert()
        .success();
    let stdout = stdout_of(out.get_output());
    assert!(stdout.contains("2 variants"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "no ANSI escapes when not a terminal"
    );
    assert!(
        stderr_of(out.get_output()).contains("latina rate"),
        "a hint how to rate"
    );
    assert_eq!(env.count("ratings"), 0);
}

#[test]
fn rate_without_arguments_lists_the_unrated_newest_first() {
    let env = Env::new();
    let first = env.enhance("images/coffee.jpg");
    let second = env.enhance("images/room_hotel_bed.jpg");
    let list = env.json(&["rate"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    let newest_batch: Vec<&str> = variants(&second)
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap())
        .collect();
    assert!(newest_batch.contains(&ids[0]) && newest_batch.contains(&ids[1]));
    let old = variants(&first)[0]["experiment_id"].as_str().unwrap();
    env.latina().args(["rate", old, "3"]).assert().success();
    assert_eq!(env.json(&["rate"]).as_array().unwrap().len(), 3);
}

#[test]
fn suggest_records_rateable_proposals_that_status_counts() {
    let env = Env::new();
    let suggestions = env.json(&["suggest", "--count", "3"]);
    let list = suggestions.as_array().unwrap();
    assert_eq!(list.len(), 3);
    for s in list {
        assert!(s["experiment_id"].is_string());
        assert!(s["provider"].is_string());
        let p = &s["params"];
        let v = |k: &str| p[k].as_f64().unwrap();
        assert!((0.1..=0.5).contains(&v("init_strength")));
        assert!((5.0..=12.0).contains(&v("guidance_scale")));
        assert!((0.7..=0.99).contains(&v("controlnet_weight")));
        assert_eq!(s["method"], "initial_design");
    }
    assert_ne!(list[0]["params"], list[1]["params"]);
    let id = list[1]["experiment_id"].as_str().unwrap();
    env.latina().args(["rate", id, "5"]).assert().success();
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 1);
    assert_eq!(status["unrated"], 2);
}

#[test]
fn the_same_seed_and_history_give_the_same_suggestions() {
    let params = |env: &Env| {
        let s = env.json(&["--seed", "42", "suggest", "--count", "2"]);
        s.as_array()
            .unwrap()
            .iter()
            .map(|v| (v["provider"].clone(), v["params"].clone()))
            .collect::<Vec<_>>()
    };
    let (a, b) = (Env::new(), Env::new());
    let first = params(&a);
    assert_eq!(first, params(&b));
    assert_ne!(
        first,
        params(&a),
        "the next ask on the same database moves on"
    );
}

#[test]
fn enhancing_the_same_photo_twice_stores_it_once() {
    let env = Env::new();
    env.enhance("images/coffee.jpg");
    env.enhance("images/coffee.jpg");
    assert_eq!(env.count("images"), 1);
    assert_eq!(env.count("batches"), 2);
    assert_eq!(env.count("experiments"), 4);
    let originals = std::fs::read_dir(env.data().join("originals"))
        .unwrap()
        .count();
    assert_eq!(originals, 1);
}

#[test]
fn awkward_but_valid_photos_are_enhanced_upright_and_whole() {
    let cases = [
        ("edge/exif_orientation6.jpg", (800, 600)),
        ("edge/rgb16.png", (512, 256)),
        ("edge/alpha_rgba.png", (600, 400)),
        ("edge/progressive.jpg", (600, 400)),
        ("edge/grayscale.jpg", (512, 512)),
        ("edge/cmyk.jpg", (600, 400)),
        ("images/room_hotel_pano.jpg", (1024, 512)),
    ];
    for (name, size) in cases {
        let env = Env::new();
        let report = env.enhance(name);
        for v in variants(&report) {
            assert_eq!(v["status"], "done", "{name}");
            let img = image::open(v["output"].as_str().unwrap())
                .unwrap()
                .into_rgb8();
            assert_eq!(img.dimensions(), size, "{name}");
            if name.contains("grayscale") {
                // Grey in, grey out (JPEG rounding may split channels by a level).
                assert!(img.pixels().all(|p| {
                    let [r, g, b] = p.0.map(i32::from);
                    (r - g).abs() <= 1 && (g - b).abs() <= 1
                }));
            }
        }
    }
}

#[test]
fn the_variants_setting_controls_how_many_are_made() {
    let env = Env::new();
    let out = env
        .latina()
        .env("LATINA_ENHANCE__VARIANTS", "3")
        .env("LATINA_ENHANCE__CANDIDATES", "3")
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let options: Vec<&str> = variants(&report)
        .iter()
        .map(|v| v["option"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["A", "B", "C"]);
}
