//! A `comfyui` arm through the binary: `enhance` against the fake ComfyUI
//! (`tests/support/comfy_fake.rs`) with a workflow file named relative to
//! the config, `doctor` ok / missing node class / missing model, and a
//! broken workflow refused in one line before anything is written.

use crate::comfy_fake::{self, Script};
use crate::harness::{
    Env, assert_secret_nowhere, one_line_failure, runtime, sample_room, solid_png,
};

const TOKEN: &str = "comfy-cliProxyToken-41b7";
const SHIPPED: &str = include_str!("../../src/provider/comfyui/default_workflow.json");

fn png() -> Vec<u8> {
    solid_png(96, 72, [180, 160, 140])
}

/// The config names `workflows/room.json`, relative to its own folder.
fn write_config(env: &Env, base: &str, workflow: &str) {
    std::fs::create_dir_all(env.path("cwd/workflows")).unwrap();
    std::fs::write(env.path("cwd/workflows/room.json"), workflow).unwrap();
    let text = format!(
        "[[providers]]\nname = \"comfy\"\ntype = \"comfyui\"\nbase_url = \"{base}\"\n\
         workflow = \"workflows/room.json\"\nauth_env = \"COMFY_PROXY_TOKEN\"\n\
         poll_interval_secs = 0.02\ntimeout_secs = 20\n"
    );
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

fn installed() -> serde_json::Value {
    comfy_fake::object_info(
        &["v1-5-pruned-emaonly.safetensors"],
        &["control_v11f1p_sd15_depth.pth"],
        &[],
    )
}

#[test]
fn a_comfyui_arm_renders_through_enhance_with_no_token_anywhere() {
    let rt = runtime();
    let script = Script {
        token: Some(TOKEN.into()),
        ..Script::default()
    };
    let fake = rt.block_on(comfy_fake::start(script, png()));
    let env = Env::new();
    write_config(&env, &fake.base, SHIPPED);
    let out = env
        .latina()
        .env("COMFY_PROXY_TOKEN", TOKEN)
        .args(["-vv", "--json", "enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{report}");
    for v in variants {
        assert_eq!(v["status"], "done", "{v}");
        assert_eq!(v["provider"], "comfy");
        assert_eq!(std::fs::read(v["output"].as_str().unwrap()).unwrap(), png());
        assert!(v["cost_usd"].is_null(), "your own GPU: {v}");
    }
    assert_eq!(fake.seen.uploads.lock().unwrap().len(), 1);
    let prompts = fake.seen.prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 2);
    // Each variant's own parameters went into the nodes.
    let mut sent: Vec<f64> = prompts
        .iter()
        .map(|p| p["prompt"]["9"]["inputs"]["denoise"].as_f64().unwrap())
        .collect();
    let mut shown: Vec<f64> = variants
        .iter()
        .map(|v| v["params"]["init_strength"].as_f64().unwrap())
        .collect();
    sent.sort_by(f64::total_cmp);
    shown.sort_by(f64::total_cmp);
    assert_eq!(sent, shown);
    assert_eq!(
        fake.seen
            .unauthorized
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_secret_nowhere(&env, &out, TOKEN);
}

#[test]
fn doctor_reports_the_workflows_node_classes_and_models() {
    let rt = runtime();
    let doctor = |info: serde_json::Value| {
        let fake = rt.block_on(comfy_fake::start(
            Script {
                object_info: info,
                ..Script::default()
            },
            png(),
        ));
        let env = Env::new();
        write_config(&env, &fake.base, SHIPPED);
        let out = env
            .latina()
            .env("COMFY_PROXY_TOKEN", TOKEN)
            .args(["--json", "doctor"])
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let provider = report["providers"][0].clone();
        assert_eq!(provider["kind"], "comfyui");
        (out.status.code(), provider["checks"].clone())
    };
    let (code, checks) = doctor(installed());
    assert_eq!(code, Some(0), "{checks}");
    assert_eq!(checks[0]["what"], "workflow");
    assert!(
        checks[0]["detail"]
            .as_str()
            .unwrap()
            .ends_with("room.json: LoadImage 2, prompt 4 / negative 5, KSampler 9, 1 ControlNet node(s), SaveImage 11"),
        "{checks}"
    );
    assert_eq!(
        checks[2]["detail"],
        "installed: v1-5-pruned-emaonly.safetensors, control_v11f1p_sd15_depth.pth"
    );

    let (code, checks) = doctor(comfy_fake::object_info(
        &["v1-5-pruned-emaonly.safetensors"],
        &["control_v11f1p_sd15_depth.pth"],
        &["MiDaS-DepthMapPreprocessor"],
    ));
    assert_eq!(code, Some(1), "{checks}");
    assert_eq!(checks[1]["ok"], false);
    assert_eq!(
        checks[1]["detail"],
        "not installed on the server: MiDaS-DepthMapPreprocessor (install the custom nodes that provide them)"
    );

    let (code, checks) = doctor(comfy_fake::object_info(
        &["v1-5-pruned-emaonly.safetensors"],
        &["control_v11p_sd15_canny.pth", "t2i-depth.safetensors"],
        &[],
    ));
    assert_eq!(code, Some(1), "{checks}");
    assert_eq!(checks[1]["ok"], true);
    assert_eq!(
        checks[2]["detail"],
        "not installed: control_net_name \"control_v11f1p_sd15_depth.pth\" (node 6, ControlNetLoader; the server lists 2)"
    );
}

#[test]
fn a_broken_or_incomplete_workflow_is_one_config_error_and_nothing_is_written() {
    let env = Env::new();
    for (workflow, expected) in [
        ("{ \"1\": ", "not valid JSON (line 1"),
        (
            &SHIPPED.replace("\"KSampler\"", "\"KSamplerAdvanced\"")[..],
            "the workflow has no KSampler node",
        ),
        (
            &SHIPPED.replace("\"SaveImage\"", "\"PreviewImage\"")[..],
            "the workflow has no SaveImage node",
        ),
    ] {
        write_config(&env, "http://127.0.0.1:9", workflow);
        let out = env
            .latina()
            .env("COMFY_PROXY_TOKEN", TOKEN)
            .args(["enhance", sample_room().to_str().unwrap()])
            .output()
            .unwrap();
        let line = one_line_failure(&out);
        assert!(
            line.contains("workflows/room.json: provider `comfy`: ") && line.contains(expected),
            "{line}"
        );
        assert_eq!(env.count("experiments"), 0);
    }
    std::fs::remove_file(env.path("cwd/workflows/room.json")).unwrap();
    let out = env
        .latina()
        .env("COMFY_PROXY_TOKEN", TOKEN)
        .args(["enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("cannot read the ComfyUI workflow") && line.contains("workflows/room.json"),
        "{line}"
    );
}
