//! `latina history` on PostgreSQL reads through a cursor, a chunk at a
//! time: every row arrives once and in order across the chunk boundaries
//! (64, then 2,048 rows), and a reader that stops early leaves the session
//! idle, its cursor's transaction ended, ready for the next query.
//!
//! Needs a server: `LATINA_TEST_POSTGRES_URL` (+ `LATINA_TEST_PGPASSWORD`),
//! as `.ci/start-postgres` writes them. Without it the test prints a note
//! and passes, unless `LATINA_REQUIRE_POSTGRES=1` (CI), where it fails.

use std::str::FromStr;

use latina::error::Error;
use latina::store::{HistoryQuery, OpenMode, PgTarget, Store};

/// More than the first chunk plus one later chunk, with ties in time.
const EXPERIMENTS: usize = 2_500;

/// The server's URL and password, or `None` (with a note) without one.
fn server() -> Option<(String, String)> {
    let Ok(url) = std::env::var("LATINA_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("LATINA_REQUIRE_POSTGRES").is_none(),
            "LATINA_REQUIRE_POSTGRES is set but LATINA_TEST_POSTGRES_URL is not"
        );
        eprintln!("SKIPPED: no LATINA_TEST_POSTGRES_URL (see .ci/start-postgres)");
        return None;
    };
    Some((
        url,
        std::env::var("LATINA_TEST_PGPASSWORD").unwrap_or_default(),
    ))
}

#[test]
fn history_streams_every_row_in_order_and_an_early_stop_ends_the_cursor() {
    let Some((url, password)) = server() else {
        return;
    };
    let mut config = postgres::Config::from_str(&url).unwrap();
    config.password(&password);
    let mut admin = config.connect(postgres::NoTls).unwrap();
    let name = format!("latina_history_stream_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&statement).unwrap();
    }
    let db_url = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    let target = PgTarget::parse(&db_url, Some("LATINA_TEST_PGPASSWORD")).unwrap();

    // The first connection migrates; the rows go in directly.
    let store = Store::connect(&target, OpenMode::CreateIfMissing).unwrap();
    let mut db_config = config.clone();
    db_config.dbname(&name);
    let mut direct = db_config.connect(postgres::NoTls).unwrap();
    direct
        .batch_execute(&format!(
            "INSERT INTO prompt_versions (version, prompt, negative_prompt, status)
                 VALUES ('1.0.0', 'p', '', 'champion');
             INSERT INTO batches (id) SELECT 'b' || i FROM generate_series(1, {EXPERIMENTS}) AS i;
             INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                 guidance_scale, controlnet_weight, prompt_version, method, status, created_at)
             SELECT lpad(to_hex(i), 32, '0'), 'b' || i, 'A', 'tone', 0.5, 7, 0.8, '1.0.0',
                    'random', 'done',
                    to_char(timestamp '2025-01-01' + (i / 2) * interval '1 second',
                            'YYYY-MM-DD\"T\"HH24:MI:SS\".000Z\"')
             FROM generate_series(1, {EXPERIMENTS}) AS i;"
        ))
        .unwrap();
    let expected: Vec<String> = direct
        .query(
            "SELECT id FROM experiments ORDER BY created_at DESC, seq DESC",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(expected.len(), EXPERIMENTS);

    let mut seen = Vec::new();
    store
        .for_each_history(&HistoryQuery::default(), |row| {
            seen.push(row.experiment_id.as_str().to_string());
            Ok::<(), Error>(())
        })
        .unwrap();
    assert_eq!(seen, expected);

    // A reader that stops after 10 rows (as `| head` does).
    let mut read = 0;
    let stopped = store.for_each_history(&HistoryQuery::default(), |_| {
        read += 1;
        if read == 10 {
            Err(Error::NoRow)
        } else {
            Ok(())
        }
    });
    assert!(matches!(stopped, Err(Error::NoRow)), "{stopped:?}");
    assert_eq!(read, 10);
    let states: Vec<String> = direct
        .query(
            "SELECT state FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'latina'",
            &[&name],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(states, vec!["idle".to_string()], "cursor left open");
    // And the connection answers the next query.
    assert_eq!(
        store.count_history(&HistoryQuery::default()).unwrap(),
        EXPERIMENTS as u64
    );

    drop(store);
    drop(direct);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}
