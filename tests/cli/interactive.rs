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
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("HOME", env.path("home"))
        .env("USER", "tester")
        .env("TERM", "xterm")
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
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let rows: Vec<(String, i64, String, String)> = conn
        .prepare("SELECT e.option, r.stars, r.comment, r.rated_by FROM ratings r JOIN experiments e ON e.id = r.experiment_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![(
            "A".to_string(),
            4,
            "muy plano, falta luz".to_string(),
            "tester".to_string()
        )]
    );
}

#[test]
fn rate_on_a_terminal_walks_the_unrated_and_rejects_bad_stars() {
    let env = Env::new();
    env.json(&["suggest", "--count", "3"]);
    // First: "7" is refused and asked again, then 2; second: 5; then stop.
    let screen = on_terminal(&env, "rate", "7\r2\r\r5\rbien\rq\r");
    assert!(
        screen.contains("1 to 5"),
        "the bad answer is explained: {screen}"
    );
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 2);
    assert_eq!(status["phase1"]["best_rating"], 5.0);
    assert_eq!(status["unrated"], 1);
}
