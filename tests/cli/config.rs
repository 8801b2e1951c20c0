//! Config discovery, layering and errors through the binary.

use crate::harness::{Env, one_line_failure, sample_room};

#[test]
fn unknown_key_in_the_config_file_names_file_and_key() {
    let env = Env::new();
    std::fs::write(env.path("cwd/latina.toml"), "[enhance]\nvarients = 3\n").unwrap();
    let line = one_line_failure(&env.latina().args(["status"]).output().unwrap());
    assert!(line.contains("latina.toml"), "{line}");
    assert!(line.contains("varients"), "{line}");
    assert!(line.contains("line 2"), "{line}");
}

#[test]
fn wrong_type_names_the_key_and_the_expected_type() {
    let env = Env::new();
    let config = env.path("custom.toml");
    std::fs::write(&config, "[optimizer]\nn_initial_points = \"five\"\n").unwrap();
    let out = env
        .latina()
        .args(["--config", config.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("custom.toml"), "{line}");
    assert!(line.contains("optimizer.n_initial_points"), "{line}");
}

#[test]
fn a_missing_explicit_config_is_an_error() {
    let env = Env::new();
    let line = one_line_failure(
        &env.latina()
            .args(["--config", "nope.toml", "status"])
            .output()
            .unwrap(),
    );
    assert!(line.contains("nope.toml"), "{line}");
}

#[test]
fn the_user_config_dir_is_used_when_there_is_no_local_file() {
    let env = Env::new();
    let dir = env.path("home/.config/latina");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("latina.toml"), "[enhance]\nvariants = 1\n").unwrap();
    let report = env.json(&["enhance", sample_room().to_str().unwrap()]);
    assert_eq!(report["variants"].as_array().unwrap().len(), 1);
}

#[test]
fn flags_override_environment_which_overrides_the_file() {
    let env = Env::new();
    let file_db = env.path("from_file.db");
    let env_db = env.path("from_env.db");
    let flag_db = env.path("from_flag.db");
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!("database = {:?}\n", file_db.to_str().unwrap()),
    )
    .unwrap();
    env.latina().args(["suggest"]).assert().success();
    assert!(file_db.exists());
    env.latina()
        .env("LATINA_DB", &env_db)
        .args(["suggest"])
        .assert()
        .success();
    assert!(env_db.exists());
    env.latina()
        .env("LATINA_DB", &env_db)
        .args(["--db", flag_db.to_str().unwrap(), "suggest"])
        .assert()
        .success();
    assert!(flag_db.exists());
}

#[test]
fn usage_errors_exit_with_two() {
    let env = Env::new();
    let out = env.latina().args(["enhance"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env.latina().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
