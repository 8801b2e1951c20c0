//! `latina prefer` and what designers see of each other's judgements
//! (issue 14: every designer's rating counts, and preferences are data).

use std::io::Read;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::{Env, one_line_failure, sample_room, stdout_of};

/// The ids of a fresh `suggest --count n` batch (variants of one batch,
/// rateable without rendering).
fn suggested(env: &Env, n: usize) -> Vec<String> {
    env.json(&["suggest", "--count", &n.to_string()])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect()
}

fn prefer_fails(env: &Env, args: &[&str]) -> String {
    let out = env.latina().arg("prefer").args(args).output().unwrap();
    let line = one_line_failure(&out);
    assert_eq!(env.count("preferences"), 0, "nothing written: {line}");
    line
}

#[test]
fn prefer_records_the_better_variant_by_the_named_designer() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    let receipt = env.json(&[
        "prefer",
        &ids[1][..8],
        &ids[0],
        "--by",
        "ana",
        "--comment",
        "  más luz  ",
    ]);
    assert_eq!(receipt["better_id"], ids[1].as_str());
    assert_eq!(receipt["worse_id"], ids[0].as_str());
    assert_eq!(receipt["better_option"], "B");
    assert_eq!(receipt["tie"], false);
    assert_eq!(receipt["rated_by"], "ana");
    assert_eq!(receipt["comment"], "más luz");
    assert_eq!(receipt["replaced_earlier"], false);
    assert!(receipt["rated_at"].as_str().unwrap().ends_with('Z'));
    let row = env.rows("SELECT better_id, worse_id, tie, rated_by FROM preferences");
    assert_eq!(
        row,
        vec![vec![
            Some(ids[1].clone()),
            Some(ids[0].clone()),
            Some("0".to_string()),
            Some("ana".to_string())
        ]]
    );

    // Text: one line saying what was recorded; choosing again says it replaces.
    let out = env
        .latina()
        .args(["prefer", &ids[0], &ids[1], "--by", "ana"])
        .assert()
        .success();
    let text = stdout_of(out.get_output());
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "preferred A ({}) over B ({}), by ana",
            &ids[0][..8],
            &ids[1][..8]
        )),
        "{text}"
    );
    assert!(text.contains("replaces"), "{text}");
}

#[test]
fn prefer_same_records_a_tie_by_the_configured_designer() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    std::fs::write(env.path("cwd/latina.toml"), "rater = \"eva\"\n").unwrap();
    let receipt = env.json(&["prefer", &ids[0], &ids[1], "--same"]);
    assert_eq!(receipt["tie"], true);
    assert_eq!(
        receipt["rated_by"], "eva",
        "--by falls back to the config's rater"
    );
    let out = env
        .latina()
        .args(["prefer", &ids[1], &ids[0], "--same", "--by", "luis"])
        .assert()
        .success();
    assert!(
        stdout_of(out.get_output()).starts_with("found the same: B"),
        "{}",
        stdout_of(out.get_output())
    );
}

#[test]
fn prefer_accepts_two_renders_of_the_same_photo_from_different_enhances() {
    let env = Env::new();
    let photo = sample_room();
    let first = env.json(&["enhance", photo.to_str().unwrap()]);
    let second = env.json(&["enhance", photo.to_str().unwrap()]);
    let a = first["variants"][0]["experiment_id"].as_str().unwrap();
    let b = second["variants"][1]["experiment_id"].as_str().unwrap();
    env.latina().args(["prefer", a, b]).assert().success();
    assert_eq!(env.count("preferences"), 1);
}

#[test]
fn prefer_refuses_an_unknown_id() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    let line = prefer_fails(&env, &[&ids[0], "deadbeefdeadbeef"]);
    assert!(
        line.contains("no experiment matches id `deadbeefdeadbeef`"),
        "{line}"
    );
}

#[test]
fn prefer_refuses_an_ambiguous_prefix() {
    let env = Env::new();
    // 40 random ids over 16 first digits: some first digit is shared.
    let ids = suggested(&env, 40);
    let shared = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|id| id.starts_with(p.as_str())).count() >= 2)
        .unwrap();
    let other = ids.iter().find(|id| !id.starts_with(&shared)).unwrap();
    let line = prefer_fails(&env, &[&shared, other]);
    assert!(line.contains("is ambiguous"), "{line}");
}

#[test]
fn prefer_refuses_the_same_experiment_twice() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    let line = prefer_fails(&env, &[&ids[0], &ids[0][..8]]);
    assert!(line.contains("with itself"), "{line}");
}

#[test]
fn prefer_refuses_variants_of_different_photos() {
    let env = Env::new();
    let one = suggested(&env, 1);
    let other = suggested(&env, 1);
    let line = prefer_fails(&env, &[&one[0], &other[0]]);
    assert!(line.contains("not variants of the same photo"), "{line}");
}

#[test]
fn prefer_refuses_failed_and_unfinished_renders() {
    let env = Env::new();
    let ids = suggested(&env, 3);
    env.execute(&format!(
        "UPDATE experiments SET status = 'failed', error = 'provider timed out' WHERE id = '{}';
         UPDATE experiments SET status = 'running' WHERE id = '{}'",
        ids[1], ids[2]
    ));
    let line = prefer_fails(&env, &[&ids[0], &ids[1]]);
    assert!(line.contains("failed: provider timed out"), "{line}");
    let line = prefer_fails(&env, &[&ids[2], &ids[0]]);
    assert!(line.contains("cannot be rated"), "{line}");
}

#[test]
fn acknowledged_preferences_survive_kill_9_right_after_the_acknowledgement() {
    let env = Env::new();
    let ids = suggested(&env, 4);
    for pair in ids.windows(2) {
        let mut child = env
            .latina_process()
            .args(["prefer", &pair[0], &pair[1]])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the first byte of the acknowledgement, then kill at once.
        let mut first = [0u8; 1];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(env.count("preferences"), 3);
}

/// Issue 14, item 1: `show` marked only the latest rating by anyone as the
/// one that counts, so a second designer's rating looked like it replaced
/// the first designer's.
#[test]
fn issue14_show_counts_each_designers_latest_rating() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    for (stars, by) in [("2", "ana"), ("4", "luis"), ("3", "luis")] {
        env.latina()
            .args(["rate", &ids[0], stars, "--by", by])
            .assert()
            .success();
    }
    env.latina()
        .args(["prefer", &ids[1], &ids[0], "--by", "ana"])
        .assert()
        .success();
    let shown = env.json(&["show", &ids[0]]);
    let counts: Vec<(String, bool)> = shown["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rated_by"].as_str().unwrap().to_string(),
                r["counts"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("ana".into(), true),
            ("luis".into(), false),
            ("luis".into(), true)
        ]
    );
    let preferences = shown["preferences"].as_array().unwrap();
    assert_eq!(preferences.len(), 1);
    assert_eq!(preferences[0]["outcome"], "worse");
    assert_eq!(preferences[0]["other_id"], ids[1].as_str());

    let out = env.latina().args(["show", &ids[0]]).assert().success();
    let text = stdout_of(out.get_output());
    let ana = text.lines().find(|l| l.contains(" ana")).unwrap();
    assert!(ana.contains("(counts)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("worse than B") && l.contains("ana")),
        "{text}"
    );
}

/// `status` counts preferences beside ratings.
#[test]
fn status_counts_preferences() {
    let env = Env::new();
    let ids = suggested(&env, 2);
    env.latina()
        .args(["prefer", &ids[0], &ids[1]])
        .assert()
        .success();
    let status: Value = env.json(&["status"]);
    assert_eq!(status["preferences"], 1, "{status}");
    let out = env.latina().arg("status").assert().success();
    assert!(stdout_of(out.get_output()).contains("1 preference"));
}

/// Preferences travel in exports: a round trip gives the same file and the
/// same preferences, and a bad preference record is refused with nothing
/// imported.
#[test]
fn export_and_import_carry_preferences() {
    let source = Env::new();
    let ids = suggested(&source, 2);
    source
        .latina()
        .args(["rate", &ids[0], "3", "--by", "ana"])
        .assert()
        .success();
    for args in [
        vec![
            "prefer",
            &ids[0],
            &ids[1],
            "--by",
            "ana",
            "--comment",
            "más cálida",
        ],
        vec!["prefer", &ids[1], &ids[0], "--same"],
    ] {
        source.latina().args(&args).assert().success();
    }
    let file = source.path("a.jsonl");
    source
        .latina()
        .args(["export", "--out", file.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let preference_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"type\":\"preference\""))
        .collect();
    assert_eq!(preference_lines.len(), 2, "{text}");
    assert!(text.lines().last().unwrap().contains("\"preferences\":2"));

    let copy = Env::new();
    let report = copy.json(&["import", file.to_str().unwrap()]);
    assert_eq!(report["imported"]["preferences"], 2, "{report}");
    let again = copy.path("b.jsonl");
    copy.latina()
        .args(["export", "--out", again.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(text, std::fs::read_to_string(&again).unwrap());
    // Importing the same file again adds nothing.
    let report = copy.json(&["import", file.to_str().unwrap()]);
    assert_eq!(report["imported"]["preferences"], 0, "{report}");
    assert_eq!(copy.count("preferences"), 2);

    // A preference of an experiment over itself is refused, naming the line.
    let bad = preference_lines[0].replace(&ids[1], &ids[0]);
    let broken = text.replace(preference_lines[0], &bad);
    let path = source.path("bad.jsonl");
    std::fs::write(&path, broken).unwrap();
    let fresh = Env::new();
    let out = fresh
        .latina()
        .args(["import", path.to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("the same experiment"), "{line}");
    assert_eq!(fresh.count("preferences"), 0);
    assert_eq!(fresh.count("experiments"), 0);
}

/// Issue 14, item 1: a second designer's rating was announced as replacing
/// the first designer's ("replaces the earlier rating"). Only a designer's
/// own re-rating replaces their earlier one.
#[test]
fn issue14_a_second_designers_rating_does_not_replace_the_first() {
    let env = Env::new();
    let ids = suggested(&env, 1);
    env.latina()
        .args(["rate", &ids[0], "2", "--by", "ana"])
        .assert()
        .success();
    let out = env
        .latina()
        .args(["rate", &ids[0], "4", "--by", "luis"])
        .assert()
        .success();
    let text = stdout_of(out.get_output());
    assert!(!text.contains("replaces"), "{text}");
    let receipt = env.json(&["rate", &ids[0], "3", "--by", "luis"]);
    assert_eq!(receipt["replaced_earlier"], true);
    let receipt = env.json(&["rate", &ids[0], "5"]);
    assert_eq!(receipt["rated_by"], "tester");
    assert_eq!(receipt["replaced_earlier"], false);
}
