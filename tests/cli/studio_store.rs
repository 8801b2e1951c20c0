//! The studio store: the same commands against a real PostgreSQL server
//! (the cluster `.ci/start-postgres` starts) give what they give on SQLite.
//! Skipped with a note when `LATINA_TEST_POSTGRES_URL` is unset, and failing
//! instead when `LATINA_REQUIRE_POSTGRES=1` (CI).

use serde_json::Value;

use crate::backend::ServerDb;
use crate::harness::{Env, one_line_failure, sample_room};

/// Drops what differs between two runs of one session anyway: times,
/// durations, ids, paths, and the estimates `status` draws at random.
fn stable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    ![
                        "_at",
                        "latency",
                        "seconds",
                        "_ms",
                        "time",
                        "path",
                        "database",
                        "id",
                        "when",
                        "date",
                        "since",
                        // Monte Carlo estimates, drawn afresh on every read:
                        "best",
                        "best_chance",
                        "cost_tradeoff",
                    ]
                    .iter()
                    .any(|volatile| k.contains(volatile))
                })
                .map(|(k, v)| (k.clone(), stable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(stable).collect()),
        other => other.clone(),
    }
}

/// Equal, numbers within a relative 1e-6: the model's Laplace fit starts
/// from the cached previous fit, so the last digits of an offset depend on
/// how many times it was refitted, not on the backend.
fn assert_close(a: &Value, b: &Value, context: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
                "{context}: {x} != {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{context}");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{context}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{context}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{context}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{context}"),
    }
}

/// The same seeded session on SQLite and on PostgreSQL: enhance, ratings by
/// three designers, a preference, a second round, an evolution; `status`,
/// `prompts list` and the history's parameters and stars agree field by field.
#[test]
fn a_session_on_postgres_reads_back_as_it_does_on_sqlite() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let room = sample_room();
    let room = room.to_str().unwrap();
    let run = |json: &dyn Fn(&[&str]) -> Value| -> (Value, Value, Vec<Value>) {
        for round in 0..2 {
            json(&["--seed", "11", "enhance", room]);
            let history = json(&["history", "--oldest-first"]);
            let rows = history.as_array().unwrap().clone();
            let unrated: Vec<String> = rows
                .iter()
                .filter(|r| r["rating"].is_null() && r["shown"] != false)
                .map(|r| r["experiment_id"].as_str().unwrap().to_string())
                .collect();
            assert!(unrated.len() >= 2, "round {round}: {history}");
            json(&["rate", &unrated[0], "4", "--by", "ana"]);
            json(&["rate", &unrated[1], "2", "--by", "luis"]);
            json(&[
                "rate",
                &unrated[0],
                "5",
                "--by",
                "luis",
                "--comment",
                "too dark",
            ]);
            json(&["prefer", &unrated[0], &unrated[1], "--by", "eva"]);
        }
        json(&["evolve", "--force"]);
        // Seeded: `trials_to_target` comes from a Monte Carlo chance.
        let status = json(&["--seed", "11", "status"]);
        let prompts = json(&["prompts", "list"]);
        let history = json(&["history", "--oldest-first"]);
        (status, prompts, history.as_array().unwrap().clone())
    };
    let lite_env = Env::new();
    let lite = run(&|args| lite_env.json(args));
    let pg_env = Env::new();
    let pg = run(&|args| server.json(&pg_env, args));
    assert_close(&stable(&pg.0), &stable(&lite.0), "status");
    assert_close(&stable(&pg.1), &stable(&lite.1), "prompts");
    assert_eq!(pg.2.len(), lite.2.len());
    for (p, l) in pg.2.iter().zip(&lite.2) {
        assert_close(&stable(p), &stable(l), "history");
    }
    // Nothing went to a SQLite file beside the server.
    assert!(!pg_env.db_path().exists());
    // The server holds the ratings, with their designers.
    let raters =
        server.rows("SELECT rated_by, count(*) FROM ratings GROUP BY rated_by ORDER BY rated_by");
    assert_eq!(
        raters,
        vec![
            vec![Some("ana".into()), Some("2".into())],
            vec![Some("luis".into()), Some("4".into())],
        ]
    );
}

/// A server that is not there, or a wrong password: one line naming the
/// server (never the password), exit non-zero, nothing else.
#[test]
fn an_unreachable_server_or_a_wrong_password_is_one_line_without_the_password() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let env = Env::new();
    let out = env
        .latina()
        .env("PGPASSWORD", "not-the-password-s3cr3t")
        .args(["--db", &server.url(), "status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let line = one_line_failure(&out);
    assert!(
        line.contains("cannot reach the database at 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("password authentication failed"), "{line}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t"));

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = env
        .latina()
        .env("PGPASSWORD", "hunter2")
        .args([
            "--db",
            &format!("postgres://ana:hunter2@127.0.0.1:{port}/latina"),
            "status",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let line = one_line_failure(&out);
    assert!(
        line.contains(&format!(
            "cannot reach the database at 127.0.0.1:{port}/latina"
        )),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}

/// A server whose schema is newer than this binary is refused, as a newer
/// SQLite file is; `doctor` reports the server's version and schema.
#[test]
fn a_newer_server_schema_is_refused_and_doctor_reports_the_server() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let env = Env::new();
    let doctor = server.json(&env, &["doctor"]);
    let detail = doctor["database"]["detail"].as_str().unwrap();
    assert!(detail.starts_with("PostgreSQL 15"), "{doctor}");
    // One schema version per migration file of the server's.
    let migrations = crate::harness::migration_count("pg");
    assert!(
        detail.contains(&format!("schema {migrations},")),
        "{doctor}"
    );
    server.rows("UPDATE latina_schema SET version = 99");
    let out = server.latina(&env).arg("status").output().unwrap();
    assert!(!out.status.success());
    let line = one_line_failure(&out);
    assert!(line.contains("schema version 99"), "{line}");
}

/// `latina migrate --to postgres://…` moves a SQLite history to the server
/// and verifies it; `status` then reads the same through the server, a
/// second migration adds nothing, and migrating onto itself is refused.
#[test]
fn migrate_moves_a_sqlite_history_to_postgres_and_verifies_it() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let env = Env::new();
    let room = sample_room();
    env.json(&["--seed", "3", "enhance", room.to_str().unwrap()]);
    let history = env.json(&["history"]);
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["shown"] != false)
        .map(|r| r["experiment_id"].as_str().unwrap())
        .collect();
    env.json(&[
        "rate",
        ids[0],
        "4",
        "--by",
        "ana",
        "--comment",
        "walls too grey",
    ]);
    env.json(&["rate", ids[1], "3", "--by", "luis"]);
    env.json(&["prefer", ids[0], ids[1], "--by", "eva"]);
    // Seeded: `trials_to_target` comes from a Monte Carlo chance, and the
    // same seed on the same history draws the same.
    let before = env.json(&["--seed", "5", "status"]);

    // `migrate` runs on the laptop's SQLite store, with the server's password.
    let migrate = || {
        let out = env
            .latina()
            .env("PGPASSWORD", &server.password)
            .args(["--json", "migrate", "--to", &server.url()])
            .assert()
            .success();
        serde_json::from_slice::<Value>(&out.get_output().stdout).unwrap()
    };
    let report = migrate();
    assert_eq!(report["status_equal"], true, "{report}");
    assert_eq!(
        report["experiments"][0], report["experiments"][1],
        "{report}"
    );
    assert_eq!(report["ratings"][1], 2, "{report}");
    assert!(
        server.password.is_empty() || !report["to"].as_str().unwrap().contains(&server.password)
    );

    let after = server.json(&env, &["--seed", "5", "status"]);
    assert_close(&stable(&after), &stable(&before), "status after migrating");
    // The server added the import's tallies once, at commit (deferred, not
    // row by row): every tally row is what SQLite's triggers kept.
    for (table, key) in [
        ("provider_tallies", "provider"),
        ("rater_tallies", "rated_by"),
        ("rater_latest", "experiment_id, rated_by"),
        ("agreement_tallies", "raters"),
        ("rater_agreement", "rated_by, raters"),
        ("judgement_tallies", "id"),
    ] {
        let sql = format!("SELECT * FROM {table} ORDER BY {key}");
        assert_eq!(server.rows(&sql), env.rows(&sql), "{table}");
    }
    let comments = server.rows("SELECT comment FROM ratings WHERE rated_by = 'ana'");
    assert_eq!(comments, vec![vec![Some("walls too grey".to_string())]]);

    // Again: everything is already there.
    let again = migrate();
    assert_eq!(again["imported"]["ratings"], 0, "{again}");
    assert_eq!(
        server.rows("SELECT count(*) FROM ratings"),
        vec![vec![Some("2".into())]]
    );

    // Onto itself: refused, nothing written.
    let out = env
        .latina()
        .args(["migrate", "--to", env.db_path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        one_line_failure(&out).contains("already using"),
        "{}",
        one_line_failure(&out)
    );
}

/// Moving up all the way: a laptop's SQLite history and its files go to the
/// server and the bucket (`migrate --to … --to-storage …`); a second laptop
/// with an empty data dir then finds every file through the bucket, and the
/// rows name objects, not the first laptop's paths.
#[test]
fn migrate_to_storage_uploads_every_file_and_a_second_laptop_reaches_them() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let Some(s3) = crate::s3_support::server("migrate_to_storage") else {
        return;
    };
    let url = format!("s3://{}/{}", s3.bucket, s3.unique_prefix("migrate"));
    let laptop = Env::new();
    let report = laptop.json(&["enhance", "--no-rate", sample_room().to_str().unwrap()]);
    let id = report["variants"][0]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    laptop.json(&["rate", &id, "4", "--by", "ana"]);

    let mut migrate = laptop.latina();
    migrate.env(
        "PGPASSWORD",
        std::env::var("LATINA_TEST_PGPASSWORD").unwrap_or_default(),
    );
    for (k, v) in s3.vars() {
        migrate.env(k, v);
    }
    let out = migrate
        .args([
            "--json",
            "migrate",
            "--to",
            &server.url(),
            "--to-storage",
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::harness::stderr_of(&out));
    let moved: Value = serde_json::from_slice(&out.stdout).unwrap();
    // One original, two renders, one preview.
    assert_eq!(moved["files_uploaded"], 4, "{moved}");
    assert_eq!(moved["files_missing"], serde_json::json!([]), "{moved}");
    let prefix = url
        .trim_start_matches(&format!("s3://{}/", s3.bucket))
        .to_string();
    assert_eq!(s3.list(&format!("{prefix}/renders/")).len(), 2);
    let paths = server.rows("SELECT output_path FROM experiments WHERE output_path IS NOT NULL");
    assert!(
        paths.iter().all(|p| p[0]
            .as_deref()
            .unwrap()
            .starts_with(&format!("{url}/renders/"))),
        "{paths:?}"
    );

    // The second laptop: same server and bucket, nothing local.
    let other = Env::new();
    std::fs::write(
        other.path("cwd/latina.toml"),
        format!("storage = \"{url}\"\n"),
    )
    .unwrap();
    let mut show = server.latina(&other);
    for (k, v) in s3.vars() {
        show.env(k, v);
    }
    let out = show.args(["--json", "show", &id]).output().unwrap();
    assert!(out.status.success(), "{}", crate::harness::stderr_of(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = shown["files"].as_array().unwrap();
    assert!(
        !files.is_empty() && files.iter().all(|f| f["exists"] == true),
        "{shown:#}"
    );
    assert_eq!(shown["ratings"][0]["stars"], 4, "{shown:#}");
}

/// `latina serve` on the server: the queue lists the renders made through
/// the server, a rating posted on the page lands there with its designer,
/// and the dashboard and status JSON answer; requests reuse connections,
/// and ones the server closed are replaced, not failed.
#[test]
fn serve_on_postgres_lists_rates_and_reports_on_reused_connections() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let env = Env::new();
    let report = server.json(
        &env,
        &["enhance", "--no-rate", sample_room().to_str().unwrap()],
    );
    let id = report["variants"][0]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let password = std::env::var("LATINA_TEST_PGPASSWORD").unwrap_or_default();
    let url = server.url();
    let page = crate::serve::Server::start(&env, &["--db", &url], &[("PGPASSWORD", &password)]);
    let queue = page.get("/", &[]);
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains(&id[..8]), "{}", queue.body);
    let csrf = page.csrf(&[]);
    let body = crate::serve::form(&[
        ("csrf", &csrf),
        ("id", &id),
        ("stars", "5"),
        ("designer", "Ana"),
    ]);
    assert_eq!(page.post("/rate", body, &[]).status, 303);
    assert_eq!(page.get("/dashboard", &[]).status, 200);
    let status: Value = serde_json::from_str(&page.get("/api/status", &[]).body).unwrap();
    assert_eq!(status["phase1"]["total_samples"], 1, "{status}");

    // Requests reuse the server connections of earlier ones (one per mode
    // in use at once): the same backends answer ten more pages.
    let backends = || {
        let mut pids: Vec<String> = server
            .rows(&format!(
                "SELECT pid FROM pg_stat_activity WHERE datname = '{}' \
                 AND application_name = 'latina'",
                server.url().rsplit('/').next().unwrap()
            ))
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        pids.sort();
        pids
    };
    let before = backends();
    assert!(!before.is_empty() && before.len() <= 4, "{before:?}");
    for _ in 0..10 {
        assert_eq!(page.get("/", &[]).status, 200);
        assert_eq!(page.get("/api/status", &[]).status, 200);
    }
    assert_eq!(backends(), before, "new connections instead of reuse");
    // A server that closed them (as a restart does): the next request
    // finds out before using one, and opens a fresh connection.
    server.rows(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({})",
        before.join(",")
    ));
    assert_eq!(page.get("/", &[]).status, 200);
    let status: Value = serde_json::from_str(&page.get("/api/status", &[]).body).unwrap();
    assert_eq!(status["phase1"]["total_samples"], 1, "{status}");
    let after = backends();
    assert!(after.iter().all(|pid| !before.contains(pid)), "{after:?}");
    drop(page);
    assert_eq!(
        server.rows(&format!(
            "SELECT stars, rated_by FROM ratings WHERE experiment_id = '{id}'"
        )),
        vec![vec![Some("5".into()), Some("Ana".into())]]
    );
}

/// TLS to the server as libpq reads `sslmode`: `verify-full` against the
/// studio's CA (in the URL or in `PGSSLMODE`/`PGSSLROOTCERT`) connects
/// encrypted and `doctor` says so; without that CA, or with a root file that
/// is not one, it is one line and nothing else; `disable` is plain; asking
/// nothing encrypts when the server offers it.
#[test]
fn tls_to_the_server_is_checked_as_sslmode_asks() {
    let Some(server) = ServerDb::create() else {
        return;
    };
    let Ok(ca) = std::env::var("LATINA_TEST_PGSSLROOTCERT") else {
        assert!(
            std::env::var("LATINA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "LATINA_REQUIRE_POSTGRES=1 but the cluster has no TLS (LATINA_TEST_PGSSLROOTCERT)"
        );
        eprintln!("skipped: the test cluster has no TLS (restart it with .ci/start-postgres)");
        return;
    };
    let env = Env::on_sqlite();
    let doctor = |url: &str, vars: &[(&str, &str)]| -> std::process::Output {
        env.latina()
            .env("PGPASSWORD", &server.password)
            .envs(vars.iter().copied())
            .args(["--json", "--db", url, "doctor"])
            .output()
            .unwrap()
    };
    let detail = |out: &std::process::Output| -> String {
        assert!(out.status.success(), "{}", crate::harness::stderr_of(out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["database"]["detail"].as_str().unwrap().to_string()
    };
    let url = server.url();
    let checked = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    assert!(
        detail(&doctor(&checked, &[])).contains("encrypted (TLS 1.3)"),
        "{}",
        detail(&doctor(&checked, &[]))
    );
    let from_env = doctor(
        &url,
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())],
    );
    assert!(detail(&from_env).contains("encrypted (TLS"));
    assert!(detail(&doctor(&url, &[])).contains("encrypted (TLS"));
    let plain = format!("{url}?sslmode=disable");
    assert!(detail(&doctor(&plain, &[])).contains("not encrypted"));

    // A server whose certificate nothing here vouches for.
    let out = env
        .latina()
        .env("PGPASSWORD", &server.password)
        .args(["--db", &format!("{url}?sslmode=verify-full"), "status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("cannot reach the database at 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("certificate"), "{line}");
    assert!(server.password.is_empty() || !line.contains(&server.password));

    // A root file that holds no certificate.
    let not_pem = env.path("ca.pem");
    std::fs::write(&not_pem, "-----BEGIN NOTHING-----").unwrap();
    let out = env
        .latina()
        .env("PGPASSWORD", &server.password)
        .env("PGSSLROOTCERT", &not_pem)
        .args(["--db", &format!("{url}?sslmode=verify-ca"), "status"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains(&format!(
            "sslrootcert {}: not a readable PEM file",
            not_pem.display()
        )),
        "{line}"
    );
}
