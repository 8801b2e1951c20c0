//! Render features (issue 15, item 1) through the binary: measured when a
//! render lands, shown by `show`, backfilled for renders made before them,
//! carried by export/import; and the `[guard]` config checked.

use serde_json::Value;

use crate::harness::{Env, one_line_failure, stderr_of, stdout_of};

const NAMES: [&str; 14] = [
    "exposure",
    "highlight_clipping",
    "shadow_clipping",
    "contrast",
    "colourfulness",
    "sharpness",
    "blur",
    "noise",
    "halo",
    "colour_cast",
    "colour_shift",
    "structure",
    "structure_local",
    "edge_agreement",
];

fn ids(report: &Value) -> Vec<String> {
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_render_of_enhance_is_measured_once_and_show_prints_its_features() {
    let env = Env::new();
    let report = env.enhance("images/room_hotel_desk.jpg");
    let ids = ids(&report);
    assert_eq!(env.count("render_features") as usize, ids.len());
    for id in &ids {
        let shown = env.json(&["show", id]);
        let f = &shown["render_features"];
        for name in NAMES {
            let v = f[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{name} in {shown}"));
            assert!((0.0..=1.0).contains(&v), "{name} = {v}");
        }
        // A built-in render keeps the room: the guard's default is 0.75.
        assert!(f["structure_local"].as_f64().unwrap() > 0.75, "{f}");
        assert!(f["edge_agreement"].as_f64().unwrap() > 0.75, "{f}");
    }
    let text = stdout_of(&env.latina().args(["show", &ids[0]]).output().unwrap());
    let line = text
        .lines()
        .find(|l| l.starts_with("features"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("exposure 0."), "{line}");
    assert!(text.contains("structure local "), "{text}");
    assert!(text.contains("edge agreement "), "{text}");
}

#[test]
fn renders_made_before_features_are_measured_by_the_next_suggest_and_missing_files_skipped() {
    let env = Env::new();
    let report = env.enhance("images/room_hotel_desk.jpg");
    let ids = ids(&report);
    let gone = report["variants"][1]["output"]
        .as_str()
        .unwrap()
        .to_string();
    // As an older latina left them: rendered, never measured.
    env.execute("DELETE FROM render_features");
    env.delete_stored(&gone);
    let shown = env.json(&["show", &ids[0]]);
    assert!(shown["render_features"].is_null(), "{shown}");
    let text = stdout_of(&env.latina().args(["show", &ids[0]]).output().unwrap());
    assert!(text.contains("not measured yet"), "{text}");

    let out = env.latina().args(["--json", "suggest"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cannot measure a render"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(env.count("render_features"), 1);
    assert!(!env.json(&["show", &ids[0]])["render_features"].is_null());
    assert!(env.json(&["show", &ids[1]])["render_features"].is_null());
}

#[test]
fn export_and_import_carry_the_features() {
    let source = Env::new();
    source.enhance("images/coffee.jpg");
    let file = source.path("history.jsonl");
    source
        .latina()
        .args(["export", "--out", file.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let measured = text
        .lines()
        .filter(|l| l.contains("\"type\":\"experiment\"") && l.contains("\"render_features\""))
        .count();
    assert_eq!(measured, 2, "{text}");

    let copy = Env::new();
    copy.latina()
        .args(["import", file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(copy.count("render_features"), 2);
}

#[test]
fn a_guard_threshold_outside_zero_to_one_is_refused_naming_the_key() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[guard]\nenabled = true\nmin_structure = 1.5\n",
    )
    .unwrap();
    let line = one_line_failure(&env.latina().args(["status"]).output().unwrap());
    assert!(line.contains("guard.min_structure"), "{line}");
    assert!(line.contains("1.5"), "{line}");
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[guard]\nmin_structure = 0.6\n",
    )
    .unwrap();
    env.latina().args(["suggest"]).assert().success();
}
