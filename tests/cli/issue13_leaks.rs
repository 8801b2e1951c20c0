//! Regression tests for the small leaks left after issue 13: what the JSON
//! output promised but did not carry.

use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, sample_room, stderr_of};

/// `history --json` rows said which provider failed before the fallback
/// (`fallback_from`) but not how long it was waited for, which `status`
/// charges to that provider and the database keeps in
/// `experiments.fallback_latency_ms`.
#[test]
fn issue13_history_json_lacks_fallback_latency_ms() {
    const HANG: Duration = Duration::from_millis(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(500)
                    .set_body_string("CUDA out of memory")
                    .set_delay(HANG),
            )
            .mount(&server),
    );
    let env = Env::new();
    let config = format!(
        "[enhance]\nvariants = 2\nfallback = \"tone\"\n\n\
         [[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\n\
         controlnet_model = \"m\"\ntimeout_secs = 5\n\n\
         [[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n",
        server.uri()
    );
    std::fs::write(env.path("cwd/latina.toml"), config).unwrap();
    let out = env
        .latina()
        .args(["--json", "enhance", "--no-rate"])
        .arg(sample_room())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    let rows = env.json(&["history"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let stored: i64 =
        env.scalar("SELECT fallback_latency_ms FROM experiments WHERE fallback_from IS NOT NULL");
    for row in rows {
        if row["fallback_from"].is_null() {
            assert!(row["fallback_latency_ms"].is_null(), "{row}");
        } else {
            assert_eq!(row["fallback_from"], "gpu", "{row}");
            let waited = row["fallback_latency_ms"]
                .as_i64()
                .unwrap_or_else(|| panic!("no fallback_latency_ms in {row}"));
            assert_eq!(waited, stored, "{row}");
            assert!(waited >= HANG.as_millis() as i64, "{row}");
        }
    }
    // `show` has the same row.
    let fell_back = rows.iter().find(|r| !r["fallback_from"].is_null()).unwrap();
    let shown = env.json(&["show", fell_back["experiment_id"].as_str().unwrap()]);
    assert_eq!(shown["fallback_latency_ms"], stored, "{shown}");
}
