//! Bad input: one line on stderr, exit code 1, nothing half-written.

use crate::harness::{Env, fixture, one_line_failure, sample_room};

#[test]
fn rejected_photos_name_the_file_and_write_no_rows() {
    let cases = [
        ("edge/corrupt_truncated.jpg", "truncated"),
        ("edge/not_an_image.jpg", "not an image"),
        ("edge/bomb_30000x30000.png", "too large"),
        ("edge/bomb_header_100000x100000.png", "too large"),
        ("edge/tiny_1x1.png", "too small"),
        ("edge/tiny_1x1.jpg", "too small"),
    ];
    for (name, reason) in cases {
        let env = Env::new();
        let out = env
            .latina()
            .args(["enhance", fixture(name).to_str().unwrap()])
            .output()
            .unwrap();
        let line = one_line_failure(&out);
        let file = name.rsplit('/').next().unwrap();
        assert!(line.contains(file), "{name}: {line}");
        assert!(line.to_lowercase().contains(reason), "{name}: {line}");
        for table in ["images", "batches", "experiments", "ratings"] {
            assert_eq!(env.count(table), 0, "{name}: rows in {table}");
        }
        let renders = env.data().join("renders");
        assert!(!renders.exists() || std::fs::read_dir(renders).unwrap().count() == 0);
    }
}

#[test]
fn a_missing_photo_is_a_clear_error() {
    let env = Env::new();
    let out = env
        .latina()
        .args(["enhance", "no/such/room.jpg"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("no/such/room.jpg"), "{line}");
}

#[test]
fn one_bad_photo_among_good_ones_is_reported_and_the_rest_are_enhanced() {
    let env = Env::new();
    let out = env
        .latina()
        .args([
            "--json",
            "enhance",
            fixture("edge/not_an_image.jpg").to_str().unwrap(),
            sample_room().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not_an_image.jpg"));
    assert_eq!(env.count("experiments"), 2);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["variants"].as_array().unwrap().len(), 2);
}

#[test]
fn ratings_outside_one_to_five_are_refused() {
    let env = Env::new();
    let report = env.enhance("images/coffee.jpg");
    let id = report["variants"][0]["experiment_id"].as_str().unwrap();
    for bad in ["0", "6", "4.5", "-1", "five", "99999999999999999999"] {
        let out = env.latina().args(["rate", id, bad]).output().unwrap();
        let line = one_line_failure(&out);
        assert!(line.contains("1 to 5"), "{bad}: {line}");
    }
    assert_eq!(env.count("ratings"), 0);
}

#[test]
fn unknown_and_ambiguous_ids_are_refused() {
    let env = Env::new();
    let ids: Vec<String> = env
        .json(&["suggest", "--count", "40"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect();
    let line = one_line_failure(&env.latina().args(["rate", "zzzz", "3"]).output().unwrap());
    assert!(line.contains("no experiment matches"), "{line}");
    let unused = (0..256)
        .map(|n| format!("{n:02x}"))
        .find(|p| !ids.iter().any(|id| id.starts_with(p.as_str())))
        .unwrap();
    let line = one_line_failure(&env.latina().args(["rate", &unused, "3"]).output().unwrap());
    assert!(line.contains("no experiment matches"), "{line}");
    // 40 random ids over 16 first hex digits: some digit starts two of them.
    let shared = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|id| id.starts_with(p.as_str())).count() >= 2)
        .unwrap();
    let line = one_line_failure(&env.latina().args(["rate", &shared, "3"]).output().unwrap());
    assert!(line.contains("ambiguous"), "{line}");
    assert_eq!(env.count("ratings"), 0);
}

#[test]
fn read_commands_on_a_missing_database_say_so_and_create_nothing() {
    let env = Env::on_sqlite();
    for args in [&["status"][..], &["rate"][..], &["rate", "abcd", "3"][..]] {
        let line = one_line_failure(&env.latina().args(args).output().unwrap());
        assert!(line.contains("no database"), "{args:?}: {line}");
    }
    assert!(!env.db_path().exists());
}

#[test]
fn a_corrupt_database_is_reported_not_overwritten() {
    let env = Env::on_sqlite();
    std::fs::create_dir_all(env.data()).unwrap();
    let garbage = vec![0x5au8; 8192];
    std::fs::write(env.db_path(), &garbage).unwrap();
    for args in [
        &["status"][..],
        &["enhance", sample_room().to_str().unwrap()][..],
    ] {
        let line = one_line_failure(&env.latina().args(args).output().unwrap());
        assert!(line.contains("corrupt"), "{args:?}: {line}");
    }
    assert_eq!(std::fs::read(env.db_path()).unwrap(), garbage);
}

#[test]
fn a_database_from_a_newer_latina_is_refused() {
    let env = Env::on_sqlite();
    env.enhance("images/coffee.jpg");
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let line = one_line_failure(&env.latina().args(["status"]).output().unwrap());
    assert!(line.contains("upgrade latina"), "{line}");
}

#[test]
fn an_unwritable_data_dir_fails_cleanly() {
    // A data dir below a regular file cannot be created, even as root.
    let env = Env::new();
    let blocker = env.path("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let out = env
        .latina()
        .args(["--data-dir", blocker.join("data").to_str().unwrap()])
        .args(["enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("blocker"), "{line}");
}

#[test]
fn a_read_only_renders_location_records_nothing_half_done() {
    // The renders directory is a file: the photo's copy and database are
    // fine, but no render can be written. Each variant is recorded as failed.
    let env = Env::on_sqlite();
    std::fs::create_dir_all(env.data()).unwrap();
    std::fs::write(env.data().join("renders"), "in the way").unwrap();
    let out = env
        .latina()
        .args(["--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("no variant could be rendered"), "{line}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for v in report["variants"].as_array().unwrap() {
        assert_eq!(v["status"], "failed");
        assert!(v["error"].as_str().unwrap().contains("renders"));
    }
    let failed: i64 = env.scalar("SELECT count(*) FROM experiments WHERE status = 'failed'");
    assert_eq!(failed, 2);
}

/// Issue 13, defect 8: a FIFO given as the photo hung `enhance` forever.
#[test]
fn a_fifo_as_the_photo_is_refused_without_hanging() {
    let env = Env::new();
    let fifo = env.path("room.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = env
        .latina_process()
        .args(["enhance", "--no-rate"])
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("enhance hung on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("room.jpg"), "{line}");
    assert!(line.contains("FIFO"), "{line}");
    assert_eq!(env.count("experiments"), 0);
}

/// Issue 13, defect 8: escape codes and newlines in file names were printed
/// raw by `enhance`, `history`, `show` and the `rate` listing.
#[test]
fn escape_codes_and_newlines_in_file_names_are_not_printed_raw() {
    let env = Env::new();
    let name = "salon\u{1b}[2J\u{1b}[31m\nFAKE LINE.jpg";
    let photo = env.path(name);
    std::fs::copy(sample_room(), &photo).unwrap();
    let raw = |bytes: &[u8]| bytes.contains(&0x1b);

    let out = env
        .latina()
        .args(["enhance", "--no-rate"])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::harness::stderr_of(&out));
    assert!(
        !raw(&out.stdout) && !raw(&out.stderr),
        "enhance printed ESC"
    );
    let stdout = crate::harness::stdout_of(&out);
    assert!(
        !stdout.lines().any(|l| l.starts_with("FAKE LINE")),
        "{stdout}"
    );
    assert!(stdout.contains("\\u{1b}[31m\\nFAKE LINE.jpg"), "{stdout}");

    let listing = env.latina().args(["history"]).output().unwrap();
    assert!(listing.status.success());
    assert!(!raw(&listing.stdout), "history printed ESC");

    let history = env.json(&["history"]);
    let id = history[0]["experiment_id"].as_str().unwrap().to_string();
    let shown = env.latina().args(["show", &id]).output().unwrap();
    assert!(shown.status.success());
    assert!(!raw(&shown.stdout), "show printed ESC");
    let show = crate::harness::stdout_of(&shown);
    assert!(show.contains("\\u{1b}[2J"), "{show}");

    let listing = env.latina().args(["rate"]).output().unwrap();
    assert!(
        !raw(&listing.stdout) && !raw(&listing.stderr),
        "rate printed ESC"
    );

    // JSON keeps the real name, escaped by serde.
    let text = serde_json::to_string(&history).unwrap();
    assert!(text.contains("\\u001b[31m\\nFAKE LINE.jpg"), "{text}");
}

/// Issue 13, defect 8: a read-only database could not even be read by
/// `status`/`history`. Tests run as root, which chmod does not stop, so the
/// read commands run as `nobody` (setpriv) on a 0444 database in a 0555
/// directory, where every write (the WAL's `-shm` included) is refused.
#[test]
fn read_commands_work_on_a_read_only_database() {
    let env = Env::on_sqlite();
    let ids = env.json(&["suggest", "--count", "2"]);
    let id = ids[0]["experiment_id"].as_str().unwrap().to_string();
    env.latina()
        .args(["rate", &id, "4", "--comment", "bien"])
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    // Let nobody reach the temp dirs (tempfile makes them 0700), then take
    // write access away.
    mode(&env.path(""), 0o755);
    for sub in ["home", "cwd"] {
        mode(&env.path(sub), 0o755);
    }
    for entry in std::fs::read_dir(env.data()).unwrap() {
        let p = entry.unwrap().path();
        mode(&p, if p.is_dir() { 0o555 } else { 0o444 });
    }
    mode(&env.data(), 0o555);
    // A copy of the binary nobody can run wherever the checkout lives (a
    // clone under /root is out of nobody's reach).
    let binary = env.path("latina-bin");
    std::fs::copy(env!("CARGO_BIN_EXE_latina"), &binary).unwrap();
    mode(&binary, 0o755);
    let before = std::fs::read(env.db_path()).unwrap();
    let as_nobody = |args: &[&str]| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.path("home"))
            .current_dir(env.path("cwd"))
            .arg("--data-dir")
            .arg(env.data())
            .args(args);
        cmd.output().unwrap()
    };
    // Sanity: nobody really cannot write there.
    let touch = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "touch",
        ])
        .arg(env.data().join("probe"))
        .output()
        .unwrap();
    assert!(!touch.status.success(), "nobody can write the data dir");

    for args in [
        &["status"][..],
        &["--json", "status"],
        &["history"],
        &["--json", "history"],
        &["show", &id],
        &["prompts", "list"],
    ] {
        let out = as_nobody(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            crate::harness::stderr_of(&out)
        );
    }
    let history = as_nobody(&["--json", "history"]);
    let rows: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(
        std::fs::read(env.db_path()).unwrap(),
        before,
        "the file changed"
    );

    // A write command says why it cannot write, on one line.
    let out = as_nobody(&["rate", &id, "5"]);
    one_line_failure(&out);
}

/// Issue 13, defect 8: a JPEG cut in half with a fake end marker (`FF D9`
/// appended) passed the marker walk and was rendered half grey.
#[test]
fn a_jpeg_cut_in_half_with_a_fake_end_marker_is_refused() {
    let env = Env::new();
    let full = std::fs::read(sample_room()).unwrap();
    let mut cut = full[..full.len() / 2].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    let photo = env.path("half.jpg");
    std::fs::write(&photo, cut).unwrap();
    let out = env
        .latina()
        .args(["enhance", "--no-rate"])
        .arg(&photo)
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("half.jpg"), "{line}");
    assert!(line.contains("truncated"), "{line}");
    assert_eq!(env.count("experiments"), 0);

    // Every good photo still loads.
    for name in ["images/coffee.jpg", "edge/progressive.jpg", "edge/cmyk.jpg"] {
        let report = env.enhance(name);
        assert_eq!(report["variants"].as_array().unwrap().len(), 2, "{name}");
    }
}
