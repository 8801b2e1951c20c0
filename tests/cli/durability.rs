//! A rating that `rate` acknowledged survives `kill -9` right after.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::harness::Env;

#[test]
fn acknowledged_ratings_survive_kill_9_right_after_the_acknowledgement() {
    let env = Env::new();
    let ids: Vec<String> = env
        .json(&["suggest", "--count", "6"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let stars = (i % 5 + 1).to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_latina"))
            .env_clear()
            .env("HOME", env.path("home"))
            .envs(env.store_vars())
            .args([
                "--data-dir",
                env.data().to_str().unwrap(),
                "rate",
                id,
                &stars,
            ])
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
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], ids.len());
    assert_eq!(env.count("ratings"), ids.len() as i64);
    if env.studio().is_none() {
        let conn = rusqlite::Connection::open(env.db_path()).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
}

/// Issue 13, defect 5: concurrent `enhance` of the same photo failed about
/// one time in four (`cannot write …/originals/<hash>.jpg`) because every
/// process wrote the same `<hash>.jpg.part`.
#[test]
fn concurrent_enhance_of_the_same_photo_all_succeed() {
    let env = Env::new();
    let photo = crate::harness::sample_room();
    for round in 0..3 {
        let children: Vec<_> = (0..6)
            .map(|_| {
                env.latina_process()
                    .args(["--json", "enhance", "--no-rate"])
                    .arg(&photo)
                    .env("LATINA_ENHANCE__VARIANTS", "1")
                    .env("LATINA_ENHANCE__CANDIDATES", "1")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let originals: Vec<_> = std::fs::read_dir(env.data().join("originals"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(originals.len(), 1, "{originals:?}");
    assert_eq!(env.count("experiments"), 18);
}
