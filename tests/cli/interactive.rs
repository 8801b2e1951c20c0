//! The rating prompts on a real terminal: `script` (util-linux) runs latina
//! on a pseudo-terminal and types the answers.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{Env, sample_room};

fn on_terminal(env: &Env, args: &str, keys: &str) -> String {
    let command = format!(
        "{} --data-dir {} {args}",
        env!("CARGO_BIN_EXE_latina"),
        env.data().display()
    );
    // `timeout`: a prompt that waits for more keys than were typed fails
    // the test instead of hanging it.
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qfec", &command, "/dev/null"])
        .env("HOME", env.path("home"))
        .env("USER", "tester")
        .env("TERM", "xterm")
        // As the harness: N pinned to the shown count (see harness.rs).
        .env("LATINA_ENHANCE__CANDIDATES", "2")
        .envs(env.store_vars())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` from util-linux runs the pseudo-terminal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn enhance_on_a_terminal_asks_for_stars_and_a_comment() {
    let env = Env::new();
    // A: 4 stars with a comment; B: skipped with Enter.
    let screen = on_terminal(
        &env,
        &format!("enhance {}", sample_room().display()),
        "4\rmuy plano, falta luz\r\r",
    );
    assert!(screen.contains("Rate A"), "{screen}");
    let rows = env.rows(
        "SELECT e.option, r.stars, r.comment, r.rated_by FROM ratings r \
         JOIN experiments e ON e.id = r.experiment_id",
    );
    assert_eq!(
        rows,
        vec![
            ["A", "4", "muy plano, falta luz", "tester"]
                .map(|v| Some(v.to_string()))
                .to_vec()
        ]
    );
}

#[test]
fn rate_on_a_terminal_walks_the_unrated_and_rejects_bad_stars() {
    let env = Env::new();
    for _ in 0..2 {
        env.latina()
            .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
            .assert()
            .success();
    }
    // First: "7" is refused and asked again, then 2; second: 5; then stop.
    let screen = on_terminal(&env, "rate", "7\r2\r\r5\rbien\rq\r");
    assert!(
        screen.contains("1 to 5"),
        "the bad answer is explained: {screen}"
    );
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 2);
    assert_eq!(status["phase1"]["best_rating"], 5.0);
    assert_eq!(status["unrated"], 2);
}

/// Issue 13, defect 11: with several photos, `q` stopped the prompts of
/// the current photo only and the next photo asked again. `q` stops the
/// rating for every remaining photo; they are still rendered.
#[test]
fn issue13_q_stops_the_rating_for_every_remaining_photo() {
    let env = Env::new();
    let room = sample_room();
    let screen = on_terminal(
        &env,
        &format!("enhance {} {}", room.display(), room.display()),
        "q\r",
    );
    // Both photos are rendered; no prompt follows the second one.
    let reports: Vec<_> = screen.match_indices("→ 2 variants").collect();
    assert_eq!(reports.len(), 2, "{screen}");
    assert!(screen[..reports[1].0].contains("Rate A"), "{screen}");
    assert!(!screen[reports[1].0..].contains("Rate "), "{screen}");
    assert_eq!((env.count("batches"), env.count("ratings")), (2, 0));
}

/// Issue 13, defect 11: the `rate` walkthrough offered suggestions, which
/// have no image to look at. It offers renders only; a suggestion stays
/// rateable by id.
#[test]
fn issue13_rate_walkthrough_offers_only_renders_that_exist() {
    let env = Env::new();
    env.latina()
        .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
        .assert()
        .success();
    // Newest first: the suggestion would be offered before the renders.
    let suggestion = env.json(&["suggest", "--count", "1"])[0]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two renders: 4 stars, then stop; the suggestion is never offered.
    let screen = on_terminal(&env, "rate", "4\r\rq\r");
    assert!(screen.contains("Rate A"), "{screen}");
    assert!(!screen.contains(&suggestion[..8]), "{screen}");
    assert!(!screen.contains("no image"), "{screen}");
    assert!(screen.contains("without an image"), "{screen}");
    env.latina()
        .args(["rate", &suggestion, "3"])
        .assert()
        .success();
    assert_eq!(env.json(&["status"])["phase1"]["total_samples"], 2);
}

/// Issue 13, defect 11: `-v` printed `Params { init_strength: … }` debug
/// structs. Verbose lines carry plain `key=value` fields.
#[test]
fn issue13_verbose_output_has_no_debug_structs() {
    let env = Env::new();
    let out = env
        .latina()
        .args([
            "-vv",
            "enhance",
            "--no-rate",
            sample_room().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("suggested"), "{stderr}");
    assert!(stderr.contains("init_strength=0."), "{stderr}");
    assert!(!stderr.contains("Params {"), "{stderr}");
    assert!(!stderr.contains(" { "), "{stderr}");
}

/// (better option, worse option, tie, designer, comment) of every preference.
fn preferences(env: &Env) -> Vec<(String, String, bool, String, Option<String>)> {
    env.rows(
        "SELECT b.option, w.option, p.tie, p.rated_by, p.comment FROM preferences p
         JOIN experiments b ON b.id = p.better_id JOIN experiments w ON w.id = p.worse_id
         ORDER BY p.id",
    )
    .into_iter()
    .map(|r| {
        (
            r[0].clone().unwrap(),
            r[1].clone().unwrap(),
            r[2].as_deref() == Some("1"),
            r[3].clone().unwrap(),
            r[4].clone(),
        )
    })
    .collect()
}

/// Issue 14, item 3: after `enhance`, `b` says "B is better" instead of
/// stars; the choice is recorded as a preference and B is not asked again.
#[test]
fn enhance_on_a_terminal_takes_b_is_better_instead_of_stars() {
    let env = Env::new();
    let screen = on_terminal(
        &env,
        &format!("enhance {}", sample_room().display()),
        "b\rmás luz\r",
    );
    assert!(screen.contains("b = B is better"), "{screen}");
    assert!(!screen.contains("Rate B"), "{screen}");
    assert_eq!(
        preferences(&env),
        vec![(
            "B".to_string(),
            "A".to_string(),
            false,
            "tester".to_string(),
            Some("más luz".to_string())
        )]
    );
    assert_eq!(env.count("ratings"), 0);
}

/// In the `rate` walkthrough the variants of one photo come together, A
/// first: `=` records "the same", `a` "A is better", and a chosen pair is
/// not offered again.
#[test]
fn rate_on_a_terminal_takes_same_and_a_is_better() {
    let env = Env::new();
    for _ in 0..2 {
        env.latina()
            .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
            .assert()
            .success();
    }
    on_terminal(&env, "rate", "=\r\ra\r\r");
    let chosen = preferences(&env);
    assert_eq!(chosen.len(), 2, "{chosen:?}");
    assert_eq!((chosen[0].0.as_str(), chosen[0].2), ("A", true));
    assert_eq!(
        (chosen[1].0.as_str(), chosen[1].1.as_str(), chosen[1].2),
        ("A", "B", false)
    );
    let unrated = env.json(&["rate"]);
    assert_eq!(unrated.as_array().unwrap().len(), 0, "{unrated}");
}
