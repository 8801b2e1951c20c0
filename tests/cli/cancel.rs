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

    let rows = statuses(&env);
    assert_eq!(rows.len(), 2);
    for (status, error) in rows {
        assert_eq!(status, "failed");
        assert!(error.contains("cancelled"), "{error}");
    }
}

/// A fake SD WebUI whose renders take a minute, with the interrupt call
/// that cancels them; and a config using it for every variant.
fn slow_webui(rt: &tokio::runtime::Runtime, env: &Env, extra: &str) -> MockServer {
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
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "{extra}[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\ncontrolnet_model = \"m\"\n",
            server.uri()
        ),
    )
    .unwrap();
    server
}

fn wait_for_renders(rt: &tokio::runtime::Runtime, server: &MockServer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(server.received_requests()).unwrap().len() < n {
        assert!(Instant::now() < deadline, "the renders never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn statuses(env: &Env) -> Vec<(String, String)> {
    env.rows("SELECT status, coalesce(error, '') FROM experiments ORDER BY seq")
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}

/// Issue 13, defect 1: SIGTERM (`timeout`, systemd, `docker stop`) and
/// SIGHUP were not handled: hosted jobs were not cancelled and kept billing,
/// and the rows stayed `running`.
#[test]
fn sigterm_and_sighup_cancel_the_renders_like_ctrl_c() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let env = Env::new();
        let server = slow_webui(&rt, &env, "");
        let child = env
            .latina_process()
            .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_renders(&rt, &server, 2);
        let sent = Instant::now();
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "{:?}",
            sent.elapsed()
        );
        let interrupts = rt
            .block_on(server.received_requests())
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/sdapi/v1/interrupt")
            .count();
        assert!(
            interrupts >= 1,
            "SIG{signal}: the webui was not asked to interrupt"
        );
        let rows = statuses(&env);
        assert_eq!(rows.len(), 2);
        for (status, error) in rows {
            assert_eq!(status, "failed");
            assert!(
                error.contains(&format!("cancelled (SIG{signal})")),
                "{error}"
            );
        }
    }
}

/// Issue 13, defect 1: after `kill -9` mid-render the rows stayed `running`
/// forever, could never be rated, and the optimizer counted them as pending
/// (with `n_initial_points = 2`, two of them used up the initial design).
#[test]
fn rows_of_a_process_killed_with_9_become_interrupted_and_are_not_pending() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = Env::new();
    let server = slow_webui(&rt, &env, "[optimizer]\nn_initial_points = 2\n\n");
    let mut child = env
        .latina_process()
        .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_renders(&rt, &server, 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let rows = statuses(&env);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(s, _)| s == "running"), "{rows:?}");

    // The next command that writes finds the owner gone.
    let suggested = env.json(&["suggest"]);
    assert_eq!(
        suggested[0]["method"], "initial_design",
        "the dead rows were counted as pending: {suggested}"
    );
    let rows = statuses(&env);
    assert_eq!(rows.len(), 3);
    for (status, error) in &rows[..2] {
        assert_eq!(status, "failed");
        assert!(error.starts_with("interrupted: "), "{error}");
    }
    let history = env.json(&["history"]);
    let recovered: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "failed")
        .collect();
    assert_eq!(recovered.len(), 2, "{history}");
}
