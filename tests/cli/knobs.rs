//! Knobs per arm through the binary: an arm that honours only
//! `controlnet_weight` (Stability structure control, against a local fake)
//! beside a built-in arm that honours all three. Its suggestions keep the
//! ignored knobs at the middle of their bounds, `show` and `history` (and
//! their --json) say what was applied with the value sent and what was
//! ignored, and export/import carry it, an older file without it included.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, sample_room, solid_png, stdout_of};

fn png() -> Vec<u8> {
    solid_png(64, 48, [180, 160, 140])
}

/// Enhances twice with a `stab` arm and a `tone` arm; returns the env, the
/// fake (for the requests it saw) and the runtime that keeps it alive.
fn rendered() -> (Env, MockServer, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2beta/stable-image/control/structure"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "image": BASE64.encode(png()), "finish_reason": "SUCCESS", "seed": 1
            })))
            .mount(&server)
            .await;
        server
    });
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[[providers]]\nname = \"stab\"\ntype = \"stability\"\nbase_url = \"{}\"\n\n\
             [[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n",
            server.uri()
        ),
    )
    .unwrap();
    for _ in 0..2 {
        env.latina()
            .env("STABILITY_API_KEY", "sk-knobs-test")
            .args(["--json", "enhance", sample_room().to_str().unwrap()])
            .assert()
            .success();
    }
    (env, server, rt)
}

/// Every experiment as `history --json` lists it.
fn rows(env: &Env) -> Vec<Value> {
    let v = env.json(&["history", "--all"]);
    v.as_array()
        .or_else(|| v["experiments"].as_array())
        .unwrap_or_else(|| panic!("{v}"))
        .clone()
}

fn ignored(row: &Value) -> Vec<String> {
    row["knobs"]["ignored"]
        .as_array()
        .unwrap_or_else(|| panic!("{row}"))
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_one_knob_arm_records_what_it_applied_and_ignored_and_show_and_history_say_so() {
    let (env, server, rt) = rendered();
    let rows = rows(&env);
    let stab: Vec<&Value> = rows.iter().filter(|r| r["provider"] == "stab").collect();
    let tone: Vec<&Value> = rows.iter().filter(|r| r["provider"] == "tone").collect();
    assert!(!stab.is_empty() && !tone.is_empty(), "{rows:?}");
    for r in &stab {
        // Proposed at the middle of the default bounds: never searched.
        let p = &r["params"];
        assert!(
            (p["init_strength"].as_f64().unwrap() - 0.3).abs() < 1e-9,
            "{r}"
        );
        assert!(
            (p["guidance_scale"].as_f64().unwrap() - 8.5).abs() < 1e-9,
            "{r}"
        );
        if r["status"] != "done" {
            continue;
        }
        assert_eq!(ignored(r), ["init_strength", "guidance_scale"]);
        let applied = r["knobs"]["applied"].as_array().unwrap();
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0]["knob"], "controlnet_weight");
        let sent = applied[0]["sent"].as_f64().unwrap();
        assert_eq!(sent, p["controlnet_weight"].as_f64().unwrap());
    }
    for r in tone.iter().filter(|r| r["status"] == "done") {
        assert!(ignored(r).is_empty(), "{r}");
        assert_eq!(r["knobs"]["applied"].as_array().unwrap().len(), 3);
    }
    // The value recorded as sent is the control_strength the fake received.
    let sent_values: Vec<f64> = stab
        .iter()
        .filter(|r| r["status"] == "done")
        .map(|r| r["knobs"]["applied"][0]["sent"].as_f64().unwrap())
        .collect();
    let bodies: Vec<String> = rt
        .block_on(server.received_requests())
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies.len(), sent_values.len());
    for sent in &sent_values {
        let field = format!("name=\"control_strength\"\r\n\r\n{sent}\r\n");
        assert!(bodies.iter().any(|b| b.contains(&field)), "{field:?}");
        assert!(bodies.iter().all(|b| !b.contains("guidance")));
    }

    let done = stab.iter().find(|r| r["status"] == "done").unwrap();
    let id = done["experiment_id"].as_str().unwrap();
    let shown = env.json(&["show", id]);
    assert_eq!(shown["knobs"], done["knobs"], "{shown}");
    let text = stdout_of(&env.latina().args(["show", id]).output().unwrap());
    assert!(
        text.contains("ignored init_strength, guidance_scale"),
        "{text}"
    );
    assert!(text.contains("controlnet_weight sent "), "{text}");
    // The history table shows an ignored knob as `-`.
    let table = stdout_of(&env.latina().args(["history", "--all"]).output().unwrap());
    let line = table
        .lines()
        .find(|l| l.starts_with(&id[..8]))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("   -    - 0."), "{line}");
}

#[test]
fn export_and_import_carry_the_applied_knobs_and_older_files_still_import() {
    let (env, _server, _rt) = rendered();
    let file = env.path("all.jsonl");
    env.latina()
        .args(["export", "--out", file.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"applied_knobs\""), "{text}");
    let before = rows(&env);

    let copy = Env::new();
    copy.latina()
        .args(["import", file.to_str().unwrap()])
        .assert()
        .success();
    let after = rows(&copy);
    let knobs = |rows: &[Value]| {
        let mut v: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["experiment_id"].as_str().unwrap().to_string(),
                    r["knobs"].to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(knobs(&after), knobs(&before));

    // A file written before the field existed imports, with knobs unknown;
    // importing the newer file over it then adds them.
    let old: String = text
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("applied_knobs");
                if let Some(inner) = o.values_mut().find_map(|x| x.as_object_mut()) {
                    inner.remove("applied_knobs");
                }
            }
            v.to_string() + "\n"
        })
        .collect();
    assert!(!old.contains("applied_knobs"));
    let old_file = env.path("old.jsonl");
    std::fs::write(&old_file, old).unwrap();
    let older = Env::new();
    older
        .latina()
        .args(["import", old_file.to_str().unwrap()])
        .assert()
        .success();
    assert!(rows(&older).iter().all(|r| r["knobs"].is_null()));
    older
        .latina()
        .args(["import", file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(knobs(&rows(&older)), knobs(&before));
}

#[test]
fn simulate_knobs_compares_both_searches_on_both_scenarios() {
    let env = Env::new();
    let v = env.json(&["simulate", "--knobs", "--seeds", "1", "--ratings", "20"]);
    let lines = v.as_array().unwrap_or_else(|| panic!("{v}"));
    let labels: Vec<(String, String)> = lines
        .iter()
        .map(|s| {
            (
                s["scenario"].as_str().unwrap().to_string(),
                s["search"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("two-knob arm", "honoured knobs"),
            ("two-knob arm", "all three"),
            ("one-knob arm", "honoured knobs"),
            ("one-knob arm", "all three"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    for s in lines {
        // Four panel designers × one seed.
        assert_eq!(s["runs"], 4, "{s}");
        let q = s["quartiles_ratings_to_4"].as_array().unwrap();
        let median = s["median_ratings_to_4"].as_f64().unwrap();
        assert!(q[0].as_f64().unwrap() <= median && median <= q[1].as_f64().unwrap());
        let best = s["best_at_20"][0].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&best), "{s}");
        // 4.5 is never reached before 4.0; the best at 10 never beats the best at 20.
        let to_4_5 = s["ratings_to_4_5"][0].as_f64().unwrap();
        assert!(to_4_5 >= median, "{s}");
        assert!(s["reached_4_5"].as_u64().unwrap() <= s["reached_4"].as_u64().unwrap());
        assert!(s["best_at_10"][0].as_f64().unwrap() <= best, "{s}");
        assert!(s["best_at_50"][0].as_f64().unwrap() >= best, "{s}");
    }
    let bad = env
        .latina()
        .args(["simulate", "--knobs", "--ratings", "10"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        crate::harness::stderr_of(&bad).contains("latina: --ratings must be at least 20"),
        "{}",
        crate::harness::stderr_of(&bad)
    );
}
