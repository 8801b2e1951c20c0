//! `reward.embedding_model` through the binary: a tiny ONNX model built by
//! the test (`tiny_onnx`), named in the config by a path relative to it;
//! `doctor` reports it, `enhance` stores an embedding of every render that
//! `show --json` gives back, and bad model files fail up front in one line.

use image::RgbImage;
use latina::imaging::{EmbeddingSettings, ImageEmbedder};
use sha2::{Digest, Sha256};

use crate::harness::{Env, fixture, one_line_failure, stdout_of};
use crate::tiny_onnx::{self, Batch, ConvLayer};

fn layers() -> Vec<ConvLayer> {
    vec![
        ConvLayer::patterned(3, 8, 3, 11),
        ConvLayer::patterned(8, 5, 1, 12),
    ]
}

/// Writes the model under `cwd/models/` and a config naming it relatively.
fn configure(env: &Env, bytes: &[u8]) {
    std::fs::create_dir_all(env.path("cwd/models")).unwrap();
    std::fs::write(env.path("cwd/models/tiny.onnx"), bytes).unwrap();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[reward]\nembedding_model = \"models/tiny.onnx\"\n",
    )
    .unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn doctor_says_when_no_model_is_configured() {
    let env = Env::new();
    let report = env.json(&["doctor"]);
    assert_eq!(report["embedding_model"]["ok"], true);
    assert!(report["embedding_model"]["path"].is_null());
    let out = env.latina().arg("doctor").output().unwrap();
    assert!(
        stdout_of(&out).contains("not configured"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn doctor_reports_the_models_input_and_embedding_size() {
    let env = Env::new();
    let bytes = tiny_onnx::model(Batch::Dynamic, 16, 16, &layers());
    configure(&env, &bytes);
    let report = env.json(&["doctor"]);
    let m = &report["embedding_model"];
    assert_eq!(m["ok"], true, "{m}");
    assert_eq!(m["input_shape"], serde_json::json!([1, 3, 16, 16]));
    assert_eq!(m["dims"], 5);
    assert_eq!(m["sha256"], sha256(&bytes));
    assert!(
        m["path"]
            .as_str()
            .unwrap()
            .ends_with("cwd/models/tiny.onnx")
    );
    let out = env.latina().arg("doctor").output().unwrap();
    let text = stdout_of(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("input [1, 3, 16, 16] float32, 5-value embeddings"),
        "{text}"
    );
}

/// Every render gets one stored embedding by this model: unit length, and
/// equal (up to the JPEG the render was saved as) to embedding the saved
/// render file with the same model in this test.
#[test]
fn enhance_stores_an_embedding_of_every_render() {
    let env = Env::new();
    let bytes = tiny_onnx::model(Batch::One, 16, 16, &layers());
    configure(&env, &bytes);
    let report = env.enhance("images/coffee.jpg");
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let model = ImageEmbedder::load(
        &env.path("cwd/models/tiny.onnx"),
        &EmbeddingSettings::default(),
    )
    .unwrap();
    let mut vectors = Vec::new();
    for v in variants {
        let id = v["experiment_id"].as_str().unwrap();
        let shown = env.json(&["show", id]);
        let embeddings = shown["embeddings"].as_array().unwrap();
        assert_eq!(embeddings.len(), 1, "{shown}");
        assert_eq!(embeddings[0]["model_sha256"], sha256(&bytes));
        let stored: Vec<f32> = embeddings[0]["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(stored.len(), 5);
        let norm = stored.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        let render: RgbImage = image::open(v["output"].as_str().unwrap())
            .unwrap()
            .into_rgb8();
        let again = model.embed(&render).unwrap();
        let cosine: f32 = stored.iter().zip(&again).map(|(a, b)| a * b).sum();
        assert!(cosine > 0.999, "stored {stored:?}, re-embedded {again:?}");
        vectors.push(stored);
    }
    assert_ne!(vectors[0], vectors[1], "two renders, two embeddings");
    assert_eq!(env.count("render_embeddings"), 2);
    let text = stdout_of(
        &env.latina()
            .args(["show", variants[0]["experiment_id"].as_str().unwrap()])
            .output()
            .unwrap(),
    );
    let short = &sha256(&bytes)[..12];
    assert!(
        text.contains(&format!("5 values by model {short}")),
        "{text}"
    );
}

/// A damaged model fails `enhance` before anything is written, in one line
/// naming the file; `doctor` marks it FAIL and exits 1.
#[test]
fn a_corrupt_model_fails_enhance_up_front_and_doctor_flags_it() {
    let env = Env::new();
    let bytes = tiny_onnx::model(Batch::One, 16, 16, &layers());
    configure(&env, &bytes[..bytes.len() / 3]);
    let out = env
        .latina()
        .arg("enhance")
        .arg(fixture("images/coffee.jpg"))
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("models/tiny.onnx") && line.contains("not a usable ONNX model"),
        "{line}"
    );
    assert_eq!(env.count("experiments"), 0);
    let out = env.latina().arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_of(&out).contains("FAIL"), "{}", stdout_of(&out));
}

/// A path that names nothing is a config error naming the key.
#[test]
fn a_missing_model_file_is_a_config_error() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[reward]\nembedding_model = \"models/nope.onnx\"\n",
    )
    .unwrap();
    let out = env.latina().arg("status").output().unwrap();
    let line = one_line_failure(&out);
    assert!(
        line.contains("reward.embedding_model")
            && line.contains("nope.onnx does not exist")
            && line.contains("never downloads"),
        "{line}"
    );
}
