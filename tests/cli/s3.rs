//! `storage = "s3://…"` through the real binary against a real S3 server
//! (SeaweedFS, `.ci/start-s3`): enhance writes originals, renders and
//! previews into the bucket (checked by listing it with a client of the
//! test's own), a second laptop with an empty data dir shows, rates,
//! reports and serves them, doctor probes the bucket, and a dead server or
//! a wrong key is one clear line with nothing half written.

use super::harness::{
    Env, assert_secret_nowhere, one_line_failure, sample_room, stderr_of, stdout_of,
};
use super::s3_support::{self, S3};
use super::serve::Server;
use assert_cmd::Command;
use serde_json::Value;

/// `latina` in `env` with the bucket's variables and `vars` on top.
fn latina(env: &Env, s3: &S3, vars: &[(&str, &str)]) -> Command {
    let mut cmd = env.latina();
    for (k, v) in s3.vars() {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn json(env: &Env, s3: &S3, args: &[&str]) -> Value {
    let out = latina(env, s3, &[])
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn configure(env: &Env, url: &str) {
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!("storage = \"{url}\"\n"),
    )
    .unwrap();
}

fn query(env: &Env, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn s3_enhance_writes_through_and_a_second_laptop_shows_rates_reports_and_serves() {
    let Some(s3) = s3_support::server("s3_enhance_writes_through") else {
        return;
    };
    let prefix = s3.unique_prefix("cli");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let a = Env::new();
    configure(&a, &url);
    let out = latina(&a, &s3, &[])
        .args(["--json", "-v", "enhance", "--no-rate"])
        .arg(sample_room())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_secret_nowhere(&a, &out, &s3.secret_key);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<String> = report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);

    // The bucket, listed by the test's own client.
    let keys = s3.list(&prefix);
    let under = |dir: &str| {
        keys.iter()
            .filter(|k| k.starts_with(&format!("{prefix}/{dir}/")))
            .count()
    };
    assert_eq!(
        (under("originals"), under("renders"), under("previews")),
        (1, 2, 1),
        "{keys:?}"
    );
    // Rows name the objects, not this laptop's files.
    for path in query(
        &a,
        "SELECT output_path FROM experiments WHERE output_path IS NOT NULL",
    )
    .into_iter()
    .chain(query(&a, "SELECT stored_path FROM images"))
    {
        assert!(path.starts_with(&format!("{url}/")), "{path}");
        let key = path.strip_prefix(&format!("s3://{}/", s3.bucket)).unwrap();
        assert!(keys.contains(&key.to_string()), "{key} not in {keys:?}");
    }

    // Laptop B: the same database, an empty data dir.
    let b = Env::new();
    configure(&b, &url);
    std::fs::copy(a.db_path(), b.db_path()).unwrap();
    let shown = json(&b, &s3, &["show", &ids[0]]);
    let files = shown["files"].as_array().unwrap();
    assert!(files.iter().all(|f| f["exists"] == true), "{shown:#}");
    let render_key = query(
        &b,
        &format!(
            "SELECT output_path FROM experiments WHERE id = '{}'",
            ids[0]
        ),
    )
    .remove(0)
    .strip_prefix(&format!("s3://{}/", s3.bucket))
    .unwrap()
    .to_string();
    let name = render_key.rsplit('/').next().unwrap();
    assert_eq!(
        std::fs::read(b.data().join("renders").join(name)).unwrap(),
        s3.get(&render_key),
        "B's cached copy is the bucket's object"
    );

    latina(&b, &s3, &[])
        .args(["rate", &ids[0], "5"])
        .assert()
        .success();
    latina(&b, &s3, &[])
        .args(["rate", &ids[1], "2"])
        .assert()
        .success();
    // The report's thumbnails come from the bucket into a fresh cache.
    let c = Env::new();
    configure(&c, &url);
    std::fs::copy(b.db_path(), c.db_path()).unwrap();
    let out = latina(&c, &s3, &[])
        .args(["report", "--out", "r.html"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let html = std::fs::read_to_string(c.path("cwd/r.html")).unwrap();
    // Two rated renders: each shown once, as an inline thumbnail (a file
    // that could not be read would show its reason instead).
    assert_eq!(html.matches("data:image/jpeg;base64,").count(), 2);
    assert_eq!(html.matches("<figure>").count(), 2);

    // A server on a fourth laptop, empty data dir, sends the bucket's bytes.
    let d = Env::new();
    configure(&d, &url);
    std::fs::copy(b.db_path(), d.db_path()).unwrap();
    let vars: Vec<(&str, String)> = s3.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&d, &[], &vars);
    let full = server.get(&format!("/image/render/{}", ids[0]), &[]);
    assert_eq!(full.status, 200);
    let thumb = server.get(&format!("/thumb/original/{}", ids[0]), &[]);
    assert_eq!(thumb.status, 200, "{}", thumb.body);
    drop(server);
    assert!(
        s3.list(&format!("{prefix}/thumbnails/")).len() == 1,
        "the thumbnail is shared through the bucket: {:?}",
        s3.list(&prefix)
    );
}

#[test]
fn s3_doctor_probes_the_bucket_and_names_a_wrong_key_without_printing_it() {
    let Some(s3) = s3_support::server("s3_doctor_probes") else {
        return;
    };
    let prefix = s3.unique_prefix("doctor");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let env = Env::new();
    configure(&env, &url);
    let out = latina(&env, &s3, &[]).arg("doctor").output().unwrap();
    let stdout = stdout_of(&out);
    assert!(out.status.success(), "{stdout}\n{}", stderr_of(&out));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("storage"))
        .expect("a storage line");
    assert!(
        line.contains("ok") && line.contains(&url) && line.contains(&s3.endpoint),
        "{line}"
    );
    assert!(line.contains("wrote, read back and deleted"), "{line}");
    assert!(s3.list(&prefix).is_empty(), "the probe object is deleted");
    assert_secret_nowhere(&env, &out, &s3.secret_key);

    let wrong = "a-wrong-secret-for-doctor-42";
    let out = latina(&env, &s3, &[("AWS_SECRET_ACCESS_KEY", wrong)])
        .args(["-vv", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = stdout_of(&out);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("storage"))
        .expect("a storage line");
    assert!(
        line.contains("FAIL") && line.contains("access denied"),
        "{line}"
    );
    assert_secret_nowhere(&env, &out, wrong);
}

#[test]
fn s3_a_dead_server_is_one_line_and_nothing_is_half_written() {
    let Some(s3) = s3_support::server("s3_a_dead_server") else {
        return;
    };
    let env = Env::new();
    configure(&env, &format!("s3://{}/dead", s3.bucket));
    let dead = format!("http://127.0.0.1:{}", s3_support::closed_port());
    let out = latina(&env, &s3, &[("AWS_ENDPOINT_URL", &dead)])
        .args(["enhance", "--no-rate"])
        .arg(sample_room())
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("cannot be reached") && line.contains(&dead),
        "{line}"
    );
    assert_eq!(env.count("images"), 0);
    assert_eq!(env.count("experiments"), 0);
}

#[test]
fn s3_a_bad_storage_url_is_one_line() {
    // No server needed: the URL is refused before any request.
    let env = Env::new();
    configure(&env, "s3://Bad_Bucket/x");
    let out = env.latina().arg("status").output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("bucket name"), "{line}");
    let env = Env::new();
    std::fs::write(env.path("cwd/latina.toml"), "storage = \"s3://studio/x\"\n").unwrap();
    let out = env.latina().arg("status").output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("AWS_ACCESS_KEY_ID"), "{line}");
}

#[test]
fn s3_rate_on_a_second_laptop_draws_the_preview_fetched_from_the_bucket() {
    let Some(s3) = s3_support::server("s3_rate_on_a_second_laptop") else {
        return;
    };
    let prefix = s3.unique_prefix("rate");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let a = Env::new();
    configure(&a, &url);
    latina(&a, &s3, &[])
        .args(["enhance", "--no-rate"])
        .arg(sample_room())
        .assert()
        .success();
    let preview_key = s3.list(&format!("{prefix}/previews/")).remove(0);

    let b = Env::new();
    std::fs::write(
        b.path("cwd/latina.toml"),
        format!("storage = \"{url}\"\n[ui]\nimages = \"auto\"\n"),
    )
    .unwrap();
    std::fs::copy(a.db_path(), b.db_path()).unwrap();
    let mut vars: Vec<(&str, String)> = s3.vars();
    vars.push(("TERM", "xterm-kitty".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let screen = super::terminal_images::on_terminal(&b, "rate", "4\r\rq\r", &vars);
    assert!(screen.contains("1 of 2"), "{screen}");
    // The sheet drawn is the bucket's preview, now in B's cache.
    let shown = image::load_from_memory(&super::terminal_images::kitty_png(&screen)).unwrap();
    let bucket_preview = image::load_from_memory(&s3.get(&preview_key)).unwrap();
    assert_eq!(shown.width(), 1600);
    assert_eq!(
        shown.height(),
        bucket_preview.height() * 1600 / bucket_preview.width()
    );
    let name = preview_key.rsplit('/').next().unwrap();
    assert_eq!(
        std::fs::read(b.data().join("previews").join(name)).unwrap(),
        s3.get(&preview_key)
    );
    let status = json(&b, &s3, &["status"]);
    assert_eq!(status["unrated"], 1, "the rating typed on B landed");
}
