//! Ctrl-C while a network render is running: the render is interrupted on
//! the provider, every variant is recorded, and latina exits 130.

use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Env, sample_room};

#[test]
fn ctrl_c_interrupts_the_webui_records_the_variants_and_exits_130() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path("/sdapi/v1/img2img"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/sdapi/v1/interrupt"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
    });
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\ncontrolnet_model = \"m\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let child = env
        .latina_process()
        .args([
            "-v",
            "enhance",
            "--no-rate",
            sample_room().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both renders are in flight on the fake webui.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.block_on(server.received_requests()).unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the renders never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = Instant::now();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(8),
        "cancel took {:?}",
        sent.elapsed()
    );
    assert!(stderr.contains("cancelled"), "{stderr}");

    let interrupts = rt
        .block_on(server.received_requests())
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/sdapi/v1/interrupt")
        .count();
    assert!(interrupts >= 1, "the webui was not asked to interrupt");

    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT status, coalesce(error, '') FROM experiments")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (status, error) in rows {
        assert_eq!(status, "failed");
        assert!(error.contains("cancelled"), "{error}");
    }
}
