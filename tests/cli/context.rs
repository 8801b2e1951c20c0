//! The room is context (issue 14, item 4): `suggest --image`, `--context`,
//! features stored once per photo, measured late for photos stored before
//! they existed, and shown by `show` and `status`.

use serde_json::Value;
use std::time::{Duration, Instant};

use crate::harness::{Env, fixture, one_line_failure, stdout_of};

fn features(v: &Value) -> &Value {
    &v["context"]["features"]
}

fn brightness(v: &Value) -> f64 {
    features(v)["brightness"]
        .as_f64()
        .unwrap_or_else(|| panic!("no brightness in {v}"))
}

fn rows(env: &Env, sql: &str) -> i64 {
    env.scalar(sql)
}

#[test]
fn suggest_with_an_image_records_its_features_and_reports_them_in_json() {
    let env = Env::new();
    let dark = fixture("images/studio_dark_pano.jpg");
    let out = env.json(&[
        "suggest",
        "--image",
        dark.to_str().unwrap(),
        "--room",
        "basement",
        "--context",
        "style=industrial",
    ]);
    let s = &out[0];
    // Every field `suggest --json` had before is still there.
    for key in [
        "experiment_id",
        "option",
        "provider",
        "params",
        "method",
        "explanation",
        "prompt_version",
    ] {
        assert!(!s[key].is_null(), "{key} missing in {s}");
    }
    assert_eq!(s["context"]["room"], "basement");
    assert_eq!(s["context"]["style"], "industrial");
    for name in [
        "brightness",
        "contrast",
        "warmth",
        "colourfulness",
        "clutter",
        "window_light",
    ] {
        let v = features(s)[name].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{name} = {v}");
    }
    // The fixture's mean luma is about 48 of 255.
    assert!(brightness(s) < 0.25, "{s}");

    // The photo is kept like `enhance` keeps it, measured once, and the
    // batch points at it; nothing was rendered.
    assert_eq!(env.count("images"), 1);
    assert_eq!(env.count("photo_features"), 1);
    assert_eq!(env.count("batch_contexts"), 1);
    assert_eq!(
        rows(
            &env,
            "SELECT count(*) FROM batches b JOIN images i ON i.id = b.image_id \
             WHERE b.room = 'basement' AND b.style = 'industrial'"
        ),
        1
    );
    assert_eq!(
        rows(
            &env,
            "SELECT count(*) FROM experiments WHERE status = 'proposed'"
        ),
        1
    );
    assert!(
        std::fs::read_dir(env.data().join("originals"))
            .unwrap()
            .count()
            == 1
    );
    assert!(!env.data().join("renders").exists());

    // A bright room measures brighter; the same photo again is not re-measured.
    let bright = env.json(&[
        "suggest",
        "--image",
        fixture("images/room_hotel_desk.jpg").to_str().unwrap(),
    ]);
    assert!(brightness(&bright[0]) > brightness(s) + 0.2, "{bright}");
    env.json(&["suggest", "--image", dark.to_str().unwrap()]);
    assert_eq!(env.count("images"), 2);
    assert_eq!(env.count("photo_features"), 2);

    // `show` prints the features; `status` counts the photos per bucket.
    let id = s["experiment_id"].as_str().unwrap();
    let shown = env.json(&["show", id]);
    assert_eq!(shown["context"]["features"], s["context"]["features"]);
    let text = stdout_of(&env.latina().args(["show", id]).output().unwrap());
    assert!(text.contains("brightness 0.19 (dark)"), "{text}");
    let status = env.json(&["status"]);
    assert_eq!(status["photos_by_brightness"]["dark"], 1);
    assert_eq!(status["photos_by_brightness"]["normal"], 1);
    let text = stdout_of(&env.latina().arg("status").output().unwrap());
    assert!(
        text.contains("Photos: 1 dark, 1 normal, 0 bright"),
        "{text}"
    );
}

#[test]
fn suggest_without_a_photo_keeps_its_json_and_has_no_features() {
    let env = Env::new();
    let out = env.json(&["suggest", "-n", "2", "--context", "room=kitchen"]);
    assert_eq!(out.as_array().unwrap().len(), 2);
    for s in out.as_array().unwrap() {
        assert!(features(s).is_null(), "{s}");
        assert_eq!(s["context"]["room"], "kitchen");
    }
    assert_eq!(env.count("images"), 0);
    assert_eq!(env.count("batch_contexts"), 0);
    // All six features by hand need no photo.
    let out = env.json(&[
        "suggest",
        "--context",
        "brightness=0.1",
        "--context",
        "contrast=0.2",
        "--context",
        "warmth=0.3",
        "--context",
        "colourfulness=0.4",
        "--context",
        "clutter=0.5",
        "--context",
        "window_light=0.6",
    ]);
    assert_eq!(brightness(&out[0]), 0.1);
    assert_eq!(features(&out[0])["window_light"], 0.6);
    assert_eq!(env.count("batch_contexts"), 1);
}

#[test]
fn bad_context_settings_are_one_clear_line_and_record_nothing() {
    let photo = fixture("images/room_hotel_desk.jpg");
    let photo = photo.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["suggest", "--context", "mood=calm"],
            "unknown key `mood`; known keys: room, style, brightness, contrast, warmth, \
             colourfulness, clutter, window_light",
        ),
        (
            &["suggest", "--image", photo, "--context", "brightness=1.2"],
            "brightness=1.2: a feature must be a number from 0 to 1",
        ),
        (
            &["suggest", "--image", photo, "--context", "warmth=warm"],
            "a feature must be a number from 0 to 1",
        ),
        (&["suggest", "--context", "brightness"], "key=value"),
        (&["suggest", "--context", "room="], "needs a value"),
        (
            &["suggest", "--room", "kitchen", "--context", "room=bath"],
            "room is given twice with different values",
        ),
        (
            &["suggest", "--context", "brightness=0.2"],
            "no photo to measure the other features on",
        ),
        (
            &["enhance", "--no-rate", photo, "--context", "glare=0.5"],
            "unknown key `glare`",
        ),
        (
            &["enhance", "--no-rate", photo, "--context", "clutter=-0.1"],
            "clutter=-0.1",
        ),
        (
            &[
                "enhance",
                "--no-rate",
                photo,
                "--style",
                "a",
                "--context",
                "style=b",
            ],
            "style is given twice",
        ),
    ];
    for (args, expected) in cases {
        let env = Env::new();
        let out = env.latina().args(*args).output().unwrap();
        let line = one_line_failure(&out);
        assert!(line.contains(expected), "{args:?}: {line}");
        for table in ["images", "batches", "experiments"] {
            assert_eq!(env.count(table), 0, "{args:?}: rows in {table}");
        }
        let originals = env.data().join("originals");
        assert!(
            !originals.exists() || std::fs::read_dir(originals).unwrap().count() == 0,
            "{args:?}: a photo was kept"
        );
    }
}

#[test]
fn a_rejected_photo_for_suggest_is_one_line_and_no_rows() {
    for (name, reason) in [
        ("edge/corrupt_truncated.jpg", "truncated"),
        ("edge/not_an_image.jpg", "not an image"),
        ("edge/bomb_header_100000x100000.png", "too large"),
    ] {
        let env = Env::new();
        let out = env
            .latina()
            .args(["suggest", "--image", fixture(name).to_str().unwrap()])
            .output()
            .unwrap();
        let line = one_line_failure(&out);
        let file = name.rsplit('/').next().unwrap();
        assert!(line.contains(file), "{name}: {line}");
        assert!(line.to_lowercase().contains(reason), "{name}: {line}");
        for table in ["images", "batches", "experiments"] {
            assert_eq!(env.count(table), 0, "{name}: rows in {table}");
        }
    }
}

#[test]
fn a_fifo_given_to_suggest_is_refused_without_hanging() {
    let env = Env::new();
    let fifo = env.path("room.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = env
        .latina_process()
        .args(["suggest", "--image"])
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("suggest hung on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("FIFO"), "{line}");
    assert_eq!(env.count("experiments"), 0);
}

#[test]
fn enhance_stores_the_measured_features_and_the_override_apart() {
    let env = Env::new();
    let out = env.json(&[
        "enhance",
        "--no-rate",
        fixture("images/room_hotel_desk.jpg").to_str().unwrap(),
        "--context",
        "brightness=0.1",
        "--context",
        "room=office",
    ]);
    assert_eq!(out["context"]["features"]["brightness"], 0.1);
    assert_eq!(out["context"]["room"], "office");
    let id = out["variants"][0]["experiment_id"].as_str().unwrap();
    let shown = env.json(&["show", id]);
    assert_eq!(shown["context"]["features"]["brightness"], 0.1);
    let measured = shown["context"]["measured"]["brightness"].as_f64().unwrap();
    assert!((measured - 0.54).abs() < 0.02, "{shown}");
    assert_eq!(shown["context"]["overridden"][0], "brightness");
    let text = stdout_of(&env.latina().args(["show", id]).output().unwrap());
    assert!(text.contains("set by hand: brightness"), "{text}");
}

/// A database made before the features existed (a stored photo, no
/// features) gets them measured from latina's copy by the next `suggest`.
#[test]
fn an_old_database_gets_its_photo_features_backfilled() {
    let env = Env::on_sqlite();
    let report = env.enhance("images/room_hotel_desk.jpg");
    let id = report["variants"][0]["experiment_id"].as_str().unwrap();
    {
        // Back to the schema before photo features (0012): its tables and
        // those of every later migration go, and the version is 11.
        let conn = rusqlite::Connection::open(env.db_path()).unwrap();
        conn.execute_batch(
            "DROP TRIGGER judgement_tallies_rating_insert;
             DROP TRIGGER judgement_tallies_preference_insert;
             DROP TRIGGER judgement_tallies_rating_delete;
             DROP TRIGGER judgement_tallies_rating_update;
             DROP TRIGGER judgement_tallies_preference_delete;
             DROP TRIGGER judgement_tallies_preference_update;
             DROP TABLE judgement_tallies; DROP INDEX ratings_by_time;
             DROP INDEX experiments_guarded_finished;
             DROP TABLE render_embeddings; DROP TABLE render_features;
             DROP TABLE batch_contexts; DROP TABLE photo_features;
             DROP INDEX experiments_by_shown;
             ALTER TABLE experiments DROP COLUMN shown;
             ALTER TABLE experiments DROP COLUMN shortlist_reason;
             ALTER TABLE experiments DROP COLUMN reward_mean;
             ALTER TABLE experiments DROP COLUMN reward_sd;
             ALTER TABLE experiments DROP COLUMN guard_structure;
             ALTER TABLE experiments DROP COLUMN guard_threshold;
             ALTER TABLE experiments DROP COLUMN guarded;
             ALTER TABLE experiments DROP COLUMN applied_knobs;
             ALTER TABLE batches DROP COLUMN made_for;",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 11).unwrap();
    }
    // A read command migrates but does not measure: it says so.
    let text = stdout_of(&env.latina().arg("status").output().unwrap());
    assert!(text.contains("1 not measured yet"), "{text}");
    let shown = env.json(&["show", id]);
    assert!(shown["context"]["features"].is_null(), "{shown}");

    env.json(&["suggest"]);
    assert_eq!(env.count("photo_features"), 1);
    let shown = env.json(&["show", id]);
    let b = shown["context"]["features"]["brightness"].as_f64().unwrap();
    assert!((b - 0.54).abs() < 0.02, "{shown}");
    let status = env.json(&["status"]);
    assert_eq!(status["photos_by_brightness"]["unmeasured"], 0);
    assert_eq!(status["photos_by_brightness"]["normal"], 1);
}
