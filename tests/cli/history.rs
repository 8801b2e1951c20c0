//! `latina history` and `latina show` on databases built through the real
//! commands: every filter checked against the rows the test made.

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::harness::{Env, fixture, one_line_failure, stderr_of, stdout_of};

/// Experiments of a small history, by what the test did to them.
struct Made {
    /// coffee.jpg variant A: rated 2 by ana ("muy plano…"), then 4 by ben.
    coffee_a: String,
    /// coffee.jpg variant B: never rated.
    coffee_b: String,
    /// room_hotel_desk.jpg variant A: never rated.
    desk_a: String,
    /// room_hotel_desk.jpg variant B: rated 5 by ana.
    desk_b: String,
    /// From `suggest`: no image, rated 3 by ben.
    suggested: String,
    /// Provider of each experiment, by id.
    providers: Vec<(String, String)>,
}

fn ids_of(report: &Value) -> Vec<String> {
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect()
}

fn rate(env: &Env, id: &str, stars: &str, comment: &str, by: &str) {
    env.latina()
        .args(["rate", id, stars, "--comment", comment, "--by", by])
        .assert()
        .success();
}

/// Two enhances, one suggest and four ratings (one a re-rating), in this order.
fn make_history(env: &Env) -> Made {
    let coffee = env.enhance("images/coffee.jpg");
    let desk = env.enhance("images/room_hotel_desk.jpg");
    let suggested = env.json(&["suggest"]);
    let mut providers = Vec::new();
    for report in [&coffee, &desk] {
        for v in report["variants"].as_array().unwrap() {
            providers.push((
                v["experiment_id"].as_str().unwrap().to_string(),
                v["provider"].as_str().unwrap().to_string(),
            ));
        }
    }
    providers.push((
        suggested[0]["experiment_id"].as_str().unwrap().to_string(),
        suggested[0]["provider"].as_str().unwrap().to_string(),
    ));
    let c = ids_of(&coffee);
    let d = ids_of(&desk);
    let made = Made {
        coffee_a: c[0].clone(),
        coffee_b: c[1].clone(),
        desk_a: d[0].clone(),
        desk_b: d[1].clone(),
        suggested: suggested[0]["experiment_id"].as_str().unwrap().to_string(),
        providers,
    };
    rate(
        env,
        &made.coffee_a,
        "2",
        "muy plano, falta luz en la ventana y las sombras son duras",
        "ana",
    );
    rate(env, &made.desk_b, "5", "perfecto", "ana");
    rate(env, &made.suggested, "3", "ok", "ben");
    rate(env, &made.coffee_a, "4", "mejor", "ben");
    made
}

/// `latina history --json <args>`: the ids in the order listed.
fn listed(env: &Env, args: &[&str]) -> Vec<String> {
    let rows = env.json(&[&["history"], args].concat());
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["experiment_id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn as_set(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

#[test]
fn history_lists_every_experiment_newest_first_with_its_latest_rating() {
    let env = Env::new();
    let m = make_history(&env);
    let rows = env.json(&["history"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    // Created in this order; newest first, and variants of one batch by seq.
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["experiment_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [&m.suggested, &m.desk_b, &m.desk_a, &m.coffee_b, &m.coffee_a].map(|s| s.as_str())
    );
    let by_id = |id: &str| rows.iter().find(|r| r["experiment_id"] == id).unwrap();

    let a = by_id(&m.coffee_a);
    assert_eq!(a["rating"]["stars"], 4, "the re-rating counts");
    assert_eq!(a["rating"]["rated_by"], "ben");
    assert_eq!(a["rating"]["comment"], "mejor");
    assert_eq!(a["ratings_count"], 2);
    assert_eq!(a["image"]["name"], "coffee.jpg");
    assert!(a["image"]["id"].is_i64());
    assert_eq!(a["status"], "done");
    assert_eq!(a["prompt_version"], "1.0.0");
    assert_eq!(a["option"], "A");
    assert!(a["latency_ms"].is_u64());
    for key in ["init_strength", "guidance_scale", "controlnet_weight"] {
        assert!(a["params"][key].is_f64(), "{key}");
    }
    assert!(a["created_at"].as_str().unwrap().ends_with('Z'));

    let s = by_id(&m.suggested);
    assert!(s["image"].is_null());
    assert_eq!(s["status"], "proposed");
    assert_eq!(s["rating"]["stars"], 3);
    assert_eq!(s["ratings_count"], 1);

    let b = by_id(&m.coffee_b);
    assert!(b["rating"].is_null());
    assert_eq!(b["ratings_count"], 0);
    for (id, provider) in &m.providers {
        assert_eq!(by_id(id)["provider"], provider.as_str());
    }

    // Oldest first is the same list reversed; --limit takes from the front.
    let mut reversed = listed(&env, &["--oldest-first"]);
    reversed.reverse();
    assert_eq!(reversed, ids);
    assert_eq!(listed(&env, &["--limit", "2"]), ids[..2]);
}

#[test]
fn history_filters_keep_exactly_the_matching_experiments() {
    let env = Env::new();
    let m = make_history(&env);
    let all = set(&[&m.coffee_a, &m.coffee_b, &m.desk_a, &m.desk_b, &m.suggested]);

    assert_eq!(
        as_set(listed(&env, &["--rated"])),
        set(&[&m.coffee_a, &m.desk_b, &m.suggested])
    );
    assert_eq!(
        as_set(listed(&env, &["--unrated"])),
        set(&[&m.coffee_b, &m.desk_a])
    );
    // ana's rating of coffee A was superseded by ben's, but she did rate it.
    assert_eq!(
        as_set(listed(&env, &["--by", "ana"])),
        set(&[&m.coffee_a, &m.desk_b])
    );
    assert_eq!(
        as_set(listed(&env, &["--by", "ben"])),
        set(&[&m.coffee_a, &m.suggested])
    );
    assert!(listed(&env, &["--by", "nobody"]).is_empty());
    for provider in ["tone", "detail"] {
        let expected: BTreeSet<String> = m
            .providers
            .iter()
            .filter(|(_, p)| p == provider)
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(
            as_set(listed(&env, &["--provider", provider])),
            expected,
            "{provider}"
        );
    }
    assert_eq!(as_set(listed(&env, &["--version", "1.0.0"])), all);
    assert!(listed(&env, &["--version", "9.9.9"]).is_empty());

    // --since at a row's own creation time keeps it and everything after.
    let rows = env.json(&["history", "--oldest-first"]);
    let rows = rows.as_array().unwrap();
    let third = rows[2]["created_at"].as_str().unwrap();
    let from_third: BTreeSet<String> = rows[2..]
        .iter()
        .map(|r| r["experiment_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(as_set(listed(&env, &["--since", third])), from_third);
    assert_eq!(as_set(listed(&env, &["--since", "24h"])), all);
    assert_eq!(as_set(listed(&env, &["--since", "2000-01-01"])), all);
    assert!(listed(&env, &["--since", "2999-01-01"]).is_empty());
    assert!(listed(&env, &["--since", "2999-01-01T00:00:00+01:00"]).is_empty());

    // Filters combine.
    assert_eq!(
        as_set(listed(&env, &["--rated", "--by", "ana", "--since", third])),
        set(&[&m.desk_b])
    );
}

#[test]
fn history_table_shows_twenty_rows_and_says_how_many_more_match() {
    let env = Env::new();
    let m = make_history(&env);
    env.json(&["suggest", "--count", "20"]);

    let out = env.latina().args(["history"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 20, "header and 20 rows:\n{stdout}");
    assert!(lines[0].starts_with("id "), "{}", lines[0]);
    assert!(!stdout.contains('\u{1b}'), "no colour when not a terminal");
    for line in &lines {
        assert!(
            console::measure_text_width(line) <= 100,
            "wider than 100 columns: {line}"
        );
    }
    assert!(
        stderr_of(&out).contains("5 more match"),
        "{}",
        stderr_of(&out)
    );

    // The oldest row carries the long comment, cut with an ellipsis.
    let out = env
        .latina()
        .args(["history", "--all", "--oldest-first"])
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert_eq!(stdout.lines().count(), 1 + 25);
    assert!(stderr_of(&out).is_empty(), "{}", stderr_of(&out));
    let first = stdout.lines().nth(1).unwrap();
    assert!(first.starts_with(&m.coffee_a[..8]), "{first}");
    assert!(first.contains("★★★★☆×2"), "{first}");
    assert!(first.contains("ben"), "{first}");
    assert!(first.contains("mejor"), "{first}");

    let out = env
        .latina()
        .args(["history", "--by", "ana", "--oldest-first"])
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert_eq!(stdout.lines().count(), 1 + 2, "{stdout}");
    assert!(stdout.lines().nth(2).unwrap().contains("perfecto"));

    let out = env
        .latina()
        .args(["history", "--version", "9.9.9"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout_of(&out).trim(), "no experiments match");
}

#[test]
fn long_comments_are_cut_with_an_ellipsis_in_the_table() {
    let env = Env::new();
    let report = env.enhance("images/coffee.jpg");
    let id = &ids_of(&report)[0];
    rate(
        &env,
        id,
        "2",
        "muy plano, falta luz en la ventana y las sombras son duras",
        "ana",
    );
    let out = env.latina().args(["history", "--rated"]).output().unwrap();
    let stdout = stdout_of(&out);
    let row = stdout.lines().nth(1).unwrap();
    assert!(row.ends_with('…'), "{row}");
    assert!(row.contains("muy plano"), "{row}");
    assert_eq!(console::measure_text_width(row), 100, "{row}");
}

#[test]
fn history_json_into_a_reader_that_stops_after_one_line_exits_zero_quietly() {
    let env = Env::new();
    env.enhance("images/coffee.jpg");
    // About 100 KB of JSON: more than a pipe holds, so latina is still
    // writing when the reader goes away.
    for _ in 0..2 {
        env.json(&["suggest", "--count", "100"]);
    }
    let mut child = env
        .latina_process()
        .args(["--json", "history"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "[\n");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).is_empty(), "{}", stderr_of(&out));

    // Read to the end, the same output is one valid array, one row per line.
    let out = env.latina().args(["--json", "history"]).output().unwrap();
    let text = stdout_of(&out);
    let rows: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 202);
    assert_eq!(text.lines().count(), 202 + 2);
    assert!(text.lines().nth(1).unwrap().ends_with("},"));
}

#[test]
fn bad_history_arguments_are_usage_errors() {
    let env = Env::new();
    env.json(&["suggest"]);
    for args in [
        &["history", "--since", "yesterday"][..],
        &["history", "--since", "2026-02-30"],
        &["history", "--since", "-7d"],
        &["history", "--rated", "--unrated"],
        &["history", "--limit", "0"],
        &["history", "--limit", "5", "--all"],
    ] {
        let out = env.latina().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(!stderr_of(&out).contains("panicked"));
    }
    let out = env
        .latina()
        .args(["history", "--since", "yesterday"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("\"yesterday\" is not a time") && stderr.contains("7d"),
        "{stderr}"
    );
}

#[test]
fn show_by_prefix_reports_the_experiment_its_ratings_and_files() {
    let env = Env::new();
    let m = make_history(&env);
    let report = env.json(&["show", &m.coffee_a[..7]]);
    assert_eq!(report["experiment_id"], m.coffee_a.as_str());
    assert_eq!(report["option"], "A");
    assert_eq!(report["status"], "done");
    assert!(report["batch"]["id"].is_string());
    assert_eq!(report["batch_id"], report["batch"]["id"]);
    let image = &report["image_info"];
    assert_eq!(
        image["source_path"],
        fixture("images/coffee.jpg").to_str().unwrap()
    );
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(600), Some(400))
    );
    assert_eq!(image["format"], "jpg");
    assert_eq!(
        image["bytes"].as_u64().unwrap(),
        std::fs::metadata(fixture("images/coffee.jpg"))
            .unwrap()
            .len()
    );
    assert_eq!(report["prompt"]["version"], "1.0.0");
    assert!(report["prompt"]["prompt"].as_str().unwrap().len() > 20);
    assert!(report["prompt"]["negative_prompt"].is_string());
    assert!(report["method"].is_string());
    assert!(report["explanation"]["arm_rule"].is_string());
    assert!(report["latency_ms"].is_u64());
    let ratings: Vec<(u64, &str, &str)> = report["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stars"].as_u64().unwrap(),
                r["comment"].as_str().unwrap(),
                r["rated_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ratings,
        [
            (
                2,
                "muy plano, falta luz en la ventana y las sombras son duras",
                "ana"
            ),
            (4, "mejor", "ben")
        ]
    );
    assert_eq!(report["rating"]["stars"], 4);
    let files = report["files"].as_array().unwrap();
    let roles: Vec<&str> = files.iter().map(|f| f["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["render", "original", "preview"]);
    for f in files {
        let path = f["path"].as_str().unwrap();
        assert!(f["exists"].as_bool().unwrap(), "{f}");
        assert_eq!(
            f["bytes"].as_u64().unwrap(),
            env.stored_file(path).unwrap().len() as u64
        );
    }
    assert_eq!(files[1]["path"], image["stored_path"]);

    let out = env
        .latina()
        .args(["show", &m.coffee_a[..8]])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    for expected in [
        m.coffee_a.as_str(),
        "coffee.jpg",
        "600x400",
        "muy plano",
        "mejor",
        "(counts)",
        "1.0.0",
        "render",
        "original",
        "preview",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(!text.contains("missing"), "{text}");

    // Parameters from suggest: no image, no files.
    let report = env.json(&["show", &m.suggested]);
    assert!(report["image_info"].is_null());
    assert_eq!(report["status"], "proposed");
    for f in report["files"].as_array().unwrap() {
        assert!(f["path"].is_null() && f["exists"] == false, "{f}");
    }
}

#[test]
fn show_marks_a_deleted_render_missing() {
    let env = Env::new();
    let report = env.enhance("images/coffee.jpg");
    let id = &ids_of(&report)[0];
    // What `show` names: the render's path, or its object on a bucket.
    let before = env.json(&["show", id]);
    let render = before["files"][0]["path"].as_str().unwrap();
    if env.studio().is_none() {
        assert_eq!(render, report["variants"][0]["output"]);
    }
    env.delete_stored(render);
    let shown = env.json(&["show", id]);
    let files = shown["files"].as_array().unwrap();
    assert_eq!(files[0]["role"], "render");
    assert_eq!(files[0]["path"], render);
    assert_eq!(files[0]["exists"], false);
    assert!(files[0]["bytes"].is_null());
    assert_eq!(files[1]["exists"], true, "the original is still there");
    let out = env.latina().args(["show", id]).output().unwrap();
    let text = stdout_of(&out);
    let line = text.lines().find(|l| l.contains(render)).unwrap();
    assert!(line.contains("missing"), "{line}");
}

#[test]
fn show_refuses_unknown_and_ambiguous_ids_in_one_line() {
    let env = Env::new();
    // 20 ids over 16 possible first digits: at least two share one.
    let suggested = env.json(&["suggest", "--count", "20"]);
    let ids: Vec<&str> = suggested
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["experiment_id"].as_str().unwrap())
        .collect();
    let shared = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|id| id.starts_with(p.as_str())).count() >= 2)
        .unwrap();
    let out = env.latina().args(["show", &shared]).output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("ambiguous"), "{line}");

    let unknown = (0..16u32 * 16)
        .map(|d| format!("{d:02x}"))
        .find(|p| !ids.iter().any(|id| id.starts_with(p.as_str())))
        .unwrap();
    let out = env.latina().args(["show", &unknown]).output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("no experiment matches"), "{line}");
    let out = env
        .latina()
        .args(["--json", "show", "not-an-id"])
        .output()
        .unwrap();
    one_line_failure(&out);
}

#[test]
fn a_failed_render_is_listed_unrated_and_shown_with_its_error() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/sdapi/v1/img2img"))
            .respond_with(ResponseTemplate::new(500).set_body_string("out of memory"))
            .mount(&server),
    );
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\n\
             controlnet_model = \"m\"\ntimeout_secs = 5\n\n\
             [[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let out = env
        .latina()
        .args(["--json", "enhance", "--no-rate"])
        .arg(fixture("images/coffee.jpg"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["status"] == "failed")
        .expect("the gpu variant failed")["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();

    let rows = env.json(&["history", "--provider", "gpu", "--unrated"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["experiment_id"], failed.as_str());
    assert_eq!(rows[0]["status"], "failed");
    assert!(rows[0]["error"].as_str().unwrap().contains("500"));
    assert!(rows[0]["output_path"].is_null());

    let out = env
        .latina()
        .args(["history", "--provider", "gpu"])
        .output()
        .unwrap();
    assert!(stdout_of(&out).lines().nth(1).unwrap().contains("failed"));

    let shown = env.json(&["show", &failed]);
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["files"][0]["role"], "render");
    assert!(shown["files"][0]["path"].is_null());
    let out = env.latina().args(["show", &failed]).output().unwrap();
    let text = stdout_of(&out);
    assert!(text.contains("failed") && text.contains("500"), "{text}");
}
