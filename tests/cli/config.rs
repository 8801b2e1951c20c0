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
    let out = env
        .latina()
        .env("LATINA_ENHANCE__CANDIDATES", "1")
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["variants"].as_array().unwrap().len(), 1);
}

#[test]
fn flags_override_environment_which_overrides_the_file() {
    let env = Env::on_sqlite();
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

/// Issue 13, defect 2: any non-UTF-8 variable made every command panic
/// (exit 101), e.g. a Latin-1 `LANG` on a Spanish workstation.
#[test]
fn a_non_utf8_environment_variable_does_not_panic() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let latin1 = std::ffi::OsStr::from_bytes(b"es_ES.ISO-8859-1 \xf1\xff");
    let out = env
        .latina()
        .env("LANG", latin1)
        .env("FOO", latin1)
        .args(["--json", "suggest"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::harness::stderr_of(&out));

    // A LATINA_* override latina would read is named, not ignored.
    let out = env
        .latina()
        .env("LATINA_ENHANCE__VARIANTS", latin1)
        .args(["status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("LATINA_ENHANCE__VARIANTS"), "{line}");
    assert!(line.contains("UTF-8"), "{line}");
}

/// Issue 13, defect 8: `--config DIR` said "no such file".
#[test]
fn a_config_that_is_a_directory_says_so() {
    let env = Env::new();
    let dir = env.path("confdir");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env
        .latina()
        .args(["--config", dir.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("is a directory"), "{line}");
    assert!(!line.contains("no such file"), "{line}");
}

/// Issue 13, defect 8: `--config /dev/null` said "no such file"; it is the
/// usual way to ask for no config file, so it means the defaults.
#[test]
fn config_dev_null_means_the_defaults() {
    let env = Env::new();
    // A local file that would otherwise be found must not be read.
    std::fs::write(env.path("cwd/latina.toml"), "[enhance]\nvariants = 1\n").unwrap();
    let report = env.json(&[
        "--config",
        "/dev/null",
        "enhance",
        sample_room().to_str().unwrap(),
    ]);
    assert_eq!(report["variants"].as_array().unwrap().len(), 2);
}

/// Issue 13, defect 8: `init_strength = [0.1, 0.2, 0.3]` was accepted.
#[test]
fn a_range_with_three_numbers_is_refused_naming_the_key() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[optimizer]\ninit_strength = [0.1, 0.2, 0.3]\n",
    )
    .unwrap();
    let line = one_line_failure(&env.latina().args(["status"]).output().unwrap());
    assert!(line.contains("optimizer.init_strength"), "{line}");
    assert!(line.contains("[low, high]"), "{line}");

    let env = Env::new();
    let out = env
        .latina()
        .env("LATINA_OPTIMIZER__GUIDANCE_SCALE", "[5.0, 6.0, 7.0]")
        .args(["status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("LATINA_OPTIMIZER__GUIDANCE_SCALE"), "{line}");
    assert!(line.contains("optimizer.guidance_scale"), "{line}");
}

/// Issue 13, defect 8: scalar `LATINA_ENHANCE=3` was silently ignored.
#[test]
fn an_environment_variable_naming_a_section_is_refused() {
    let env = Env::new();
    let out = env
        .latina()
        .env("LATINA_ENHANCE", "3")
        .args(["status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("LATINA_ENHANCE"), "{line}");
    assert!(line.contains("LATINA_ENHANCE__<KEY>"), "{line}");

    // A value of the wrong type for a key is named too.
    let out = env
        .latina()
        .env("LATINA_ENHANCE__VARIANTS", "three")
        .args(["status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("LATINA_ENHANCE__VARIANTS"), "{line}");
}
