//! `latina export` and `latina import` through the binary: the exact round
//! trip, idempotent re-imports, and files refused line by line with nothing
//! imported.

use serde_json::Value;
use std::path::Path;

use crate::harness::{Env, one_line_failure, stderr_of, stdout_of};

/// Comments with what CSV and JSON must carry through: accents, quotes,
/// commas, newlines, non-Latin text.
const COMMENTS: [&str; 5] = [
    "se ve muy \"plano\", sin profundidad",
    "too dark, needs light\nsecond line: the window",
    "muy oscura la sala; iluminación pobre, ¿más luz?",
    "flat and dull — 平らすぎる",
    "colores apagados, textura borrosa",
];

/// A history made with the real commands: two photos enhanced five times,
/// ten ratings by three designers (the tenth evolves the prompt inline), a
/// re-rating, rated `suggest` proposals, and a hand activation of the
/// challenger so a decision is recorded.
fn build_history(env: &Env) -> Vec<String> {
    let mut ids = Vec::new();
    for round in 0..5 {
        let photo = if round % 2 == 0 {
            "images/coffee.jpg"
        } else {
            "images/room_hotel_desk.jpg"
        };
        let report = env.enhance(photo);
        for v in report["variants"].as_array().unwrap() {
            ids.push(v["experiment_id"].as_str().unwrap().to_string());
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let by = ["ana", "bob", "carmen"][i % 3];
        env.latina()
            .args(["rate", id, &(1 + i % 3).to_string()])
            .args(["--comment", COMMENTS[i % COMMENTS.len()], "--by", by])
            .assert()
            .success();
    }
    // A second opinion on the first render: the history keeps both.
    env.latina()
        .args([
            "rate",
            &ids[0],
            "5",
            "--comment",
            "mejor así, ¡perfecto!",
            "--by",
            "bob",
        ])
        .assert()
        .success();
    let suggested = env.json(&["suggest", "--count", "2"]);
    let proposed = suggested[0]["experiment_id"].as_str().unwrap().to_string();
    env.latina()
        .args(["rate", &proposed, "4", "--by", "ana"])
        .assert()
        .success();
    ids.push(proposed);
    env.latina()
        .args(["prompts", "activate", "1.1.0"])
        .assert()
        .success();
    ids
}

fn export(env: &Env, name: &str) -> (Vec<u8>, Vec<u8>) {
    let jsonl = env.path(&format!("{name}.jsonl"));
    let csv = env.path(&format!("{name}.csv"));
    env.latina()
        .args(["export", "--out", jsonl.to_str().unwrap()])
        .args(["--ratings-csv", csv.to_str().unwrap()])
        .assert()
        .success();
    (std::fs::read(jsonl).unwrap(), std::fs::read(csv).unwrap())
}

fn import(env: &Env, file: &Path) -> std::process::Output {
    env.latina()
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap()
}

/// The status a designer sees, without the model's numbers (the model
/// cache is derived state that an export leaves behind).
/// `status --json` without what the GP predicts: the model cache is derived
/// state that is not exported, so a copy refits hyperparameters that differ
/// in the last digits.
fn status_without_model(env: &Env) -> Value {
    let mut status = env.json(&["status"]);
    status.as_object_mut().unwrap().remove("model");
    // Each arm's quality against cost is read off the fit too.
    for arm in status["cost_tradeoff"]["arms"]
        .as_array_mut()
        .map_or(&mut [][..], |a| a.as_mut_slice())
    {
        arm.as_object_mut().unwrap().remove("best");
    }
    for perf in status["performance_by_api"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        perf.as_object_mut().unwrap().remove("best");
    }
    // How the studio model reads each designer is a fit, equal only to
    // rounding between two databases.
    if let Some(raters) = status["inter_rater"]["raters"].as_array_mut() {
        for rater in raters {
            rater.as_object_mut().unwrap().remove("model");
        }
    }
    status["phase1"]
        .as_object_mut()
        .unwrap()
        .remove("estimated_trials_remaining");
    status
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes `lines` as a file under the env and returns its path.
fn write_lines(env: &Env, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = env.path(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn line_of(lines: &[String], kind: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(&format!("\"type\":\"{kind}\"")))
        .unwrap_or_else(|| panic!("no {kind} line"))
}

#[test]
fn export_import_export_gives_identical_files_and_the_same_learning_state() {
    let source = Env::new();
    let ids = build_history(&source);
    let (jsonl, csv) = export(&source, "a");

    let records = lines(&jsonl);
    let header: Value = serde_json::from_str(&records[0]).unwrap();
    assert_eq!(header["type"], "header");
    assert_eq!(header["format"], "latina-export");
    assert_eq!(header["version"], 1);
    let count = |kind: &str| {
        records
            .iter()
            .filter(|l| l.contains(&format!("\"type\":\"{kind}\"")))
            .count()
    };
    assert_eq!(count("image"), 2);
    assert_eq!(count("batch"), 6);
    assert_eq!(count("experiment"), 12);
    assert_eq!(count("rating"), 12, "every rating, the re-rating too");
    assert_eq!(count("prompt_version"), 2);
    assert_eq!(count("evolution"), 1);
    assert_eq!(count("prompt_decision"), 1);

    // The CSV: one row per rating, quoting intact, the latest flagged.
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "experiment_id",
            "provider",
            "init_strength",
            "guidance_scale",
            "controlnet_weight",
            "prompt_version",
            "stars",
            "comment",
            "rated_by",
            "rated_at",
            "latest"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 12);
    assert_eq!(&rows[1][7], COMMENTS[1]);
    assert_eq!(&rows[0][7], COMMENTS[0]);
    let first: Vec<&csv::StringRecord> = rows.iter().filter(|r| r[0] == ids[0]).collect();
    assert_eq!(first.len(), 2);
    assert_eq!(
        (&first[0][6], &first[0][8], &first[0][10]),
        ("1", "ana", "false")
    );
    assert_eq!(
        (&first[1][6], &first[1][8], &first[1][10]),
        ("5", "bob", "true")
    );

    let copy = Env::new();
    let out = copy
        .latina()
        .args(["--json", "import", source.path("a.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"]["experiments"], 12);
    assert_eq!(report["imported"]["ratings"], 12);
    assert_eq!(report["imported"]["prompt_decisions"], 1);
    // The import fitted the model once and cached it: `status` opens the
    // store read-only and could not, so it would fit afresh on every read.
    assert_eq!(copy.count("model_cache"), 1, "the model cache is warm");

    let (jsonl_again, csv_again) = export(&copy, "b");
    assert!(jsonl == jsonl_again, "JSON Lines differ after a round trip");
    assert!(csv == csv_again, "CSV differs after a round trip");

    // The copy is the same learning state, and it goes on learning.
    assert_eq!(status_without_model(&source), status_without_model(&copy));
    assert_eq!(
        source.json(&["prompts", "list"]),
        copy.json(&["prompts", "list"])
    );
    // ids[1] was rated by bob: his re-rating in the copy replaces his own.
    let receipt = copy.json(&["rate", &ids[1], "3", "--by", "bob"]);
    assert_eq!(receipt["replaced_earlier"], true);
    copy.json(&["suggest"]);
}

#[test]
fn importing_the_same_file_twice_adds_nothing() {
    let source = Env::new();
    build_history(&source);
    let (jsonl, _) = export(&source, "a");
    let file = source.path("a.jsonl");
    let copy = Env::new();
    assert!(import(&copy, &file).status.success());
    let tables = [
        "images",
        "prompt_versions",
        "batches",
        "experiments",
        "ratings",
        "evolutions",
        "prompt_decisions",
    ];
    let before: Vec<i64> = tables.iter().map(|t| copy.count(t)).collect();
    let again = copy.json(&["import", file.to_str().unwrap()]);
    let after: Vec<i64> = tables.iter().map(|t| copy.count(t)).collect();
    assert_eq!(before, after);
    assert_eq!(before, [2, 2, 6, 12, 12, 1, 1]);
    for (table, n) in tables.iter().zip(&before) {
        assert_eq!(again["imported"][table], 0, "{table}");
        assert_eq!(again["already_present"][table], *n, "{table}");
    }
    // The source itself holds everything already.
    let into_source = source.json(&["import", file.to_str().unwrap()]);
    assert_eq!(into_source["imported"]["ratings"], 0);
    assert_eq!(export(&source, "again").0, jsonl);
}

#[test]
fn a_file_holding_the_same_rating_twice_keeps_both_once() {
    let source = Env::new();
    build_history(&source);
    export(&source, "a");
    let mut records = lines(&std::fs::read(source.path("a.jsonl")).unwrap());
    let rating = line_of(&records, "rating");
    let duplicate = records[rating].clone();
    records.insert(rating + 1, duplicate);
    let end = records.len() - 1;
    records[end] = records[end].replace("\"ratings\":12", "\"ratings\":13");
    let file = write_lines(&source, "dup.jsonl", &records);
    let copy = Env::new();
    assert!(import(&copy, &file).status.success());
    assert!(import(&copy, &file).status.success());
    assert_eq!(copy.count("ratings"), 13);
}

#[test]
fn bad_rows_are_reported_by_line_number_and_nothing_is_imported() {
    let source = Env::new();
    build_history(&source);
    export(&source, "a");
    let mut records = lines(&std::fs::read(source.path("a.jsonl")).unwrap());
    let rating = line_of(&records, "rating");
    let experiment = line_of(&records, "experiment");
    let version = line_of(&records, "prompt_version");
    records[rating] = records[rating].replacen("\"stars\":1", "\"stars\":7", 1);
    records[rating + 1] =
        records[rating + 1].replacen("\"type\":\"rating\"", "\"type\":\"vote\"", 1);
    records[rating + 2] = r#"{"type":"rating","experiment_id":"0123456789abcdef0123456789abcdef","stars":3,"rated_at":"2026-01-01T00:00:00.000Z"}"#.into();
    records[rating + 3] = r#"{"type":"rating","experiment_id":"#.into();
    let stars = regex_free_remove(&records[rating + 4], "\"stars\":");
    records[rating + 4] = stars;
    records[experiment] = records[experiment].replacen(
        "\"init_strength\":",
        "\"init_strength\":\"strong\",\"was\":",
        1,
    );
    // 1.1.0, which only later rows use: nothing else depends on it here.
    let version = version + 1;
    records[version] =
        records[version].replacen("\"status\":\"champion\"", "\"status\":\"winner\"", 1);
    // A failed render cannot carry a rating.
    let failed_id = serde_json::from_str::<Value>(&records[experiment + 5]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    records[experiment + 5] =
        records[experiment + 5].replacen("\"status\":\"done\"", "\"status\":\"failed\"", 1);
    let failed_rating = records
        .iter()
        .position(|l| {
            l.contains(&format!(
                "\"type\":\"rating\",\"experiment_id\":\"{failed_id}\""
            ))
        })
        .unwrap();
    let file = write_lines(&source, "bad.jsonl", &records);

    let fresh = Env::new();
    let out = import(&fresh, &file);
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    let n = |i: usize| i + 1;
    for expected in [
        format!(
            "line {}: prompt version status \"winner\" is not one of champion, challenger, retired, rejected",
            n(version)
        ),
        format!(
            "line {}: experiment init_strength: invalid type: string \"strong\"",
            n(experiment)
        ),
        format!("line {}: rating stars 7 out of range 1–5", n(rating)),
        format!("line {}: unknown record type \"vote\"", n(rating + 1)),
        format!(
            "line {}: rating experiment 0123456789abcdef0123456789abcdef is neither in the database nor earlier in the file",
            n(rating + 2)
        ),
        format!("line {}: invalid JSON: EOF while parsing", n(rating + 3)),
        format!("line {}: rating missing field `stars`", n(rating + 4)),
        format!(
            "line {}: a rating of experiment {failed_id}, whose status is failed",
            n(failed_rating)
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected}\nnot in:\n{stderr}");
    }
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("latina: ") && last.ends_with("bad lines; nothing imported"),
        "{last}"
    );
    assert!(!stderr.contains("panicked"));
    for table in [
        "images",
        "prompt_versions",
        "batches",
        "experiments",
        "ratings",
    ] {
        assert_eq!(fresh.count(table), 0, "{table}");
    }
}

/// Removes `"field":value,` from a JSON line (values here are numbers).
fn regex_free_remove(line: &str, field: &str) -> String {
    let start = line.find(field).unwrap();
    let end = start + line[start..].find(',').unwrap() + 1;
    format!("{}{}", &line[..start], &line[end..])
}

#[test]
fn many_bad_rows_are_listed_up_to_the_limit_then_counted() {
    let source = Env::new();
    build_history(&source);
    export(&source, "a");
    let records: Vec<String> = lines(&std::fs::read(source.path("a.jsonl")).unwrap())
        .into_iter()
        .map(|l| l.replace("\"stars\":", "\"stars\":-"))
        .collect();
    let file = write_lines(&source, "bad.jsonl", &records);
    let out = source
        .latina()
        .args(["import", "--max-errors", "3", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    let listed = stderr.lines().filter(|l| l.starts_with("line ")).count();
    assert_eq!(listed, 3, "{stderr}");
    assert!(stderr.contains("… and 9 more"), "{stderr}");
    assert!(stderr.contains("latina: ") && stderr.contains("12 bad lines; nothing imported"));
    // The source database is untouched: still its own ratings only.
    assert_eq!(source.count("ratings"), 12);
}

#[test]
fn a_truncated_file_is_refused_whether_cut_inside_a_line_or_between_lines() {
    let source = Env::new();
    build_history(&source);
    let (jsonl, _) = export(&source, "a");
    let text = String::from_utf8(jsonl).unwrap();
    let end = text.rfind("{\"type\":\"end\"").unwrap();
    // Cut in the middle of the last rating line... (evolutions and decisions follow ratings)
    let cut = &text[..text[..end].rfind("\"rated_at\"").unwrap_or(end - 20)];
    let inside = source.path("cut.jsonl");
    std::fs::write(&inside, cut).unwrap();
    let fresh = Env::new();
    let out = import(&fresh, &inside);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("is it truncated?"), "{stderr}");
    assert!(stderr.contains("ends without its end record"), "{stderr}");
    assert_eq!(fresh.count("experiments"), 0);
    // ...or exactly at a line boundary: only the end record shows it.
    let between = source.path("between.jsonl");
    std::fs::write(&between, &text[..end]).unwrap();
    let line = one_line_failure(&import(&fresh, &between));
    assert!(
        line.contains("ends without its end record: it is truncated or incomplete"),
        "{line}"
    );
    assert_eq!(fresh.count("experiments"), 0);
}

#[test]
fn an_empty_file_and_files_of_other_formats_or_newer_versions_are_refused() {
    let env = Env::new();
    let empty = env.path("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let line = one_line_failure(&import(&env, &empty));
    assert!(line.contains("the file is empty"), "{line}");

    let header = |text: &str| {
        let path = env.path("h.jsonl");
        std::fs::write(&path, format!("{text}\n{{\"type\":\"end\",\"counts\":{{\"images\":0,\"prompt_versions\":0,\"batches\":0,\"experiments\":0,\"ratings\":0,\"evolutions\":0,\"prompt_decisions\":0}}}}\n")).unwrap();
        one_line_failure(&import(&env, &path))
    };
    let line = header(r#"{"type":"header","format":"other-tool","version":1,"schema_version":1}"#);
    assert!(
        line.contains("line 1: not a latina export: format \"other-tool\""),
        "{line}"
    );
    let line =
        header(r#"{"type":"header","format":"latina-export","version":2,"schema_version":1}"#);
    assert!(
        line.contains(
            "line 1: export format version 2 is newer than this latina reads (1): upgrade latina"
        ),
        "{line}"
    );
    let line =
        header(r#"{"type":"header","format":"latina-export","version":1,"schema_version":999}"#);
    assert!(
        line.contains("schema version 999, but this latina understands up to"),
        "{line}"
    );
    assert!(line.contains("upgrade latina"), "{line}");
    let line = header("id,stars\nabc,4");
    assert!(line.contains("line 1: not a latina export"), "{line}");
    assert_eq!(env.count("prompt_versions"), 0);
}

#[test]
fn rows_that_differ_from_the_database_and_a_second_champion_are_conflicts() {
    let source = Env::new();
    build_history(&source);
    export(&source, "a");
    let records = lines(&std::fs::read(source.path("a.jsonl")).unwrap());
    let experiment = line_of(&records, "experiment");

    // The same experiment with another provider: reported, not overwritten.
    let mut changed = records.clone();
    let provider = if changed[experiment].contains("\"provider\":\"tone\"") {
        ("\"provider\":\"tone\"", "\"provider\":\"detail\"")
    } else {
        ("\"provider\":\"detail\"", "\"provider\":\"tone\"")
    };
    changed[experiment] = changed[experiment].replacen(provider.0, provider.1, 1);
    let file = write_lines(&source, "changed.jsonl", &changed);
    let line = one_line_failure(&import(&source, &file));
    assert!(
        line.contains(&format!("line {}: experiment ", experiment + 1))
            && line.contains("is already in the database with another provider")
            && line.contains("an import never changes existing rows"),
        "{line}"
    );

    // A new version that claims to be champion while 1.1.0 is.
    let mut second = records.clone();
    let version = line_of(&second, "batch");
    second.insert(
        version,
        r#"{"type":"prompt_version","version":"9.0.0","prompt":"another look","negative_prompt":"","parent":"1.0.0","status":"champion","reasoning":null,"changes":[],"created_at":"2026-01-02T03:04:05.678Z"}"#.into(),
    );
    let end = second.len() - 1;
    second[end] = second[end].replace("\"prompt_versions\":2", "\"prompt_versions\":3");
    let file = write_lines(&source, "second.jsonl", &second);
    let line = one_line_failure(&import(&source, &file));
    assert!(
        line.contains(&format!(
            "line {}: prompt version 9.0.0 would be a second champion: 1.1.0 already is",
            version + 1
        )),
        "{line}"
    );
    assert_eq!(source.count("prompt_versions"), 2);
}

#[test]
fn export_goes_to_stdout_with_a_dash_and_refuses_ambiguous_outputs() {
    let env = Env::new();
    env.json(&["suggest"]);
    let out = env
        .latina()
        .args(["export", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = stdout_of(&out);
    assert!(stdout.starts_with("{\"type\":\"header\""), "{stdout}");
    assert!(stdout.trim_end().ends_with('}') && stdout.contains("{\"type\":\"end\""));

    let csv = env
        .latina()
        .args(["export", "--csv", "--out", "-"])
        .output()
        .unwrap();
    assert!(stdout_of(&csv).starts_with("experiment_id,provider,"));

    for args in [
        vec!["export"],
        vec!["export", "--out", "-", "--ratings-csv", "-"],
        vec!["--json", "export", "--out", "-"],
    ] {
        let out = env.latina().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
    let dir = env.path("cwd");
    let out = env
        .latina()
        .args(["export", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("it is a directory; give a file name"),
        "{line}"
    );
}

/// Issue 13, defect 8: `import` read a line of any length into memory (a
/// 200 MB line took 420 MB). A line past the cap is refused by number,
/// without being held, and the lines after it are still checked.
#[test]
fn import_refuses_a_line_longer_than_the_cap_without_reading_it_into_memory() {
    let source = Env::new();
    build_history(&source);
    let (jsonl, _) = export(&source, "a");
    let mut lines = lines(&jsonl);
    let rating = line_of(&lines, "rating");
    // A rating whose comment alone is 6 MiB, then a bad line after it.
    let endless = "muy plano ".repeat(600 * 1024);
    lines[rating] = lines[rating].replacen(
        "\"comment\":",
        &format!("\"comment\":\"{endless}\",\"x\":"),
        1,
    );
    lines.insert(rating + 1, "{\"type\":\"rating\"".to_string());
    let file = write_lines(&source, "long.jsonl", &lines);
    let fresh = Env::new();
    let out = import(&fresh, &file);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("line {}", rating + 1))
            && stderr.contains("longer than any record latina writes"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("line {}", rating + 2)),
        "the line after it is still read: {stderr}"
    );
    assert!(
        stderr.len() < 4096,
        "the long line is not echoed: {} bytes",
        stderr.len()
    );
    assert_eq!(fresh.count("experiments"), 0);
    assert_eq!(fresh.count("ratings"), 0);
}
