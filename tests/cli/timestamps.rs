//! Timestamps are typed (`jiff`) but keep the database's one text form,
//! `YYYY-MM-DDTHH:MM:SS.sssZ`: what old databases hold reads back, what
//! export writes imports, and a time in any other form is one clear line,
//! never a row shown with a time that sorts wrongly.

use crate::harness::{Env, one_line_failure};

fn tone_config(env: &Env) {
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n",
    )
    .unwrap();
}

/// A time in another form in the database (here a hand-edited
/// `2026-12-05 09:45`) used to be listed as is; its text order is not its
/// time order, so `--since` and the newest-first order were silently wrong.
#[test]
fn a_malformed_stored_timestamp_is_one_line_naming_the_value() {
    let env = Env::new();
    tone_config(&env);
    env.json(&["suggest"]);
    env.execute("UPDATE experiments SET created_at = '2026-12-05 09:45'");
    for args in [&["history"][..], &["--json", "history"][..]] {
        let out = env.latina().args(args).output().unwrap();
        let line = one_line_failure(&out);
        assert!(
            line.contains("\"2026-12-05 09:45\" is not a UTC time like 2026-11-26T21:48:31.123Z"),
            "{line}"
        );
    }
}

/// Rows written by the SQL defaults (every row before this change) read
/// back, and the JSON and the table show them in the same text.
#[test]
fn timestamps_written_by_the_database_read_back_in_the_same_text() {
    let env = Env::new();
    tone_config(&env);
    env.json(&["suggest"]);
    env.execute("UPDATE experiments SET created_at = '2025-03-04T05:06:07.000Z'");
    let rows = env.json(&["history"]);
    assert_eq!(rows[0]["created_at"], "2025-03-04T05:06:07.000Z", "{rows}");
    let out = env.latina().arg("history").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Another year: the table shows the date.
    assert!(text.contains(" 2025-03-04 "), "{text}");
    let since = env.json(&["history", "--since", "2025-03-04T05:06:07.001Z"]);
    assert_eq!(since.as_array().map(Vec::len), Some(0), "{since}");
    let since = env.json(&["history", "--since", "2025-03-04T06:06:07+01:00"]);
    assert_eq!(since.as_array().map(Vec::len), Some(1), "{since}");
}

/// Import reads what export writes, and refuses a time in another form
/// with one line naming the file line and the field.
#[test]
fn import_refuses_a_malformed_timestamp_in_one_line() {
    let source = Env::new();
    tone_config(&source);
    source.json(&["suggest"]);
    let file = source.path("a.jsonl");
    source
        .latina()
        .args(["export", "--out", file.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let copy = Env::new();
    tone_config(&copy);
    copy.json(&["import", file.to_str().unwrap()]);

    // The first row's time without its millisecond point.
    let key = "\"created_at\":\"";
    let at = text.find(key).unwrap() + key.len();
    assert_eq!(&text[at + 19..at + 20], ".", "{text}");
    let mut bad = text.clone();
    bad.replace_range(at + 19..at + 20, "");
    let bad_line = text[..at].matches('\n').count() + 1;
    std::fs::write(&file, bad).unwrap();
    let fresh = Env::new();
    tone_config(&fresh);
    let out = fresh
        .latina()
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("is not a UTC time like"), "{stderr}");
    assert!(stderr.contains(&format!("line {bad_line}")), "{stderr}");
    assert_eq!(fresh.count("experiments"), 0);
}
