//! The ONNX embedding path end to end on models this test builds itself
//! (`tiny_onnx`): the embedding `ImageEmbedder` computes is checked against
//! the same preprocessing and network done by hand in plain loops, and
//! every kind of bad model file gives one readable error.

#[path = "tiny_onnx/mod.rs"]
mod tiny_onnx;

use image::{Rgb, RgbImage};
use latina::imaging::{EmbeddingSettings, ImageEmbedder};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tiny_onnx::{Batch, ConvLayer};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn layers() -> Vec<ConvLayer> {
    vec![
        ConvLayer::patterned(3, 6, 3, 1),
        ConvLayer::patterned(6, 5, 1, 2),
    ]
}

/// A 12 × 8 image with varied colours: an 8 × 8 model keeps columns 2..10.
fn photo() -> RgbImage {
    RgbImage::from_fn(12, 8, |x, y| {
        Rgb([
            (x * 21 + y * 3) as u8,
            (255 - y * 30) as u8,
            ((x * y * 7) % 256) as u8,
        ])
    })
}

const SETTINGS: EmbeddingSettings = EmbeddingSettings {
    mean: [0.4, 0.5, 0.3],
    std: [0.2, 0.25, 0.3],
};

/// The preprocessing of `photo()` for an 8 × 8 model, by hand: centre
/// crop (no resize: the height already is 8), `/255`, `(x - mean) / std`.
fn by_hand_input(img: &RgbImage) -> Vec<f32> {
    let mut out = vec![0.0; 3 * 64];
    for c in 0..3 {
        for y in 0..8 {
            for x in 0..8 {
                let v = f32::from(img.get_pixel(x as u32 + 2, y as u32)[c]) / 255.0;
                out[c * 64 + y * 8 + x] = (v - SETTINGS.mean[c]) / SETTINGS.std[c];
            }
        }
    }
    out
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

#[test]
fn the_embedding_equals_an_independent_forward_pass() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tiny_onnx::model(Batch::One, 8, 8, &layers());
    let path = write(dir.path(), "tiny.onnx", &bytes);
    let model = ImageEmbedder::load(&path, &SETTINGS).unwrap();
    assert_eq!(model.input_size(), (8, 8));
    assert_eq!(model.dims(), 5);
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(model.sha256(), sha);

    let img = photo();
    let got = model.embed(&img).unwrap();
    let raw = tiny_onnx::forward(&by_hand_input(&img), 8, 8, &layers());
    assert!(
        raw.iter().any(|v| *v > 0.0),
        "the check is not vacuous: {raw:?}"
    );
    let want = unit(raw);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
    let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-6, "{norm}");

    // Another image gives another embedding (the model reads the pixels).
    let other = model
        .embed(&RgbImage::from_pixel(8, 8, Rgb([250, 10, 10])))
        .unwrap();
    assert!(other.iter().zip(&got).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn a_dynamic_batch_dimension_is_fixed_to_one_and_gives_the_same_embedding() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(
        dir.path(),
        "one.onnx",
        &tiny_onnx::model(Batch::One, 8, 8, &layers()),
    );
    let dynamic = write(
        dir.path(),
        "dyn.onnx",
        &tiny_onnx::model(Batch::Dynamic, 8, 8, &layers()),
    );
    let a = ImageEmbedder::load(&one, &SETTINGS).unwrap();
    let b = ImageEmbedder::load(&dynamic, &SETTINGS).unwrap();
    assert_ne!(a.sha256(), b.sha256(), "different files, different models");
    assert_eq!(a.embed(&photo()).unwrap(), b.embed(&photo()).unwrap());
}

/// Default settings are CLIP's normalisation; a large photo is resized
/// before cropping, and a flat grey one reaches the model as one value per
/// channel, so the reference is the forward pass of a constant input.
#[test]
fn a_large_photo_is_resized_and_clip_normalised_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.onnx",
        &tiny_onnx::model(Batch::One, 8, 8, &layers()),
    );
    let model = ImageEmbedder::load(&path, &EmbeddingSettings::default()).unwrap();
    let got = model
        .embed(&RgbImage::from_pixel(640, 480, Rgb([128, 64, 200])))
        .unwrap();
    let clip_mean = [0.48145466f64, 0.4578275, 0.40821073].map(|v| v as f32);
    let clip_std = [0.26862954f64, 0.26130258, 0.27577711].map(|v| v as f32);
    let input: Vec<f32> = (0..3)
        .flat_map(|c| {
            let v = ([128.0f32, 64.0, 200.0][c] / 255.0 - clip_mean[c]) / clip_std[c];
            std::iter::repeat_n(v, 64)
        })
        .collect();
    let want = unit(tiny_onnx::forward(&input, 8, 8, &layers()));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "got {got:?}, want {want:?}");
    }
}

/// A model whose output is all zeros gives the zero vector, not NaN.
#[test]
fn an_all_zero_output_stays_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut dead = ConvLayer::patterned(3, 4, 1, 3);
    dead.weights.iter_mut().for_each(|w| *w = 0.0);
    dead.bias = vec![-1.0; 4];
    let path = write(
        dir.path(),
        "dead.onnx",
        &tiny_onnx::model(Batch::One, 8, 8, &[dead]),
    );
    let model = ImageEmbedder::load(&path, &SETTINGS).unwrap();
    assert_eq!(model.embed(&photo()).unwrap(), vec![0.0; 4]);
}

/// `latina: <message>` must be one readable line naming the file.
fn refusal(path: &Path) -> String {
    let err = ImageEmbedder::load(path, &SETTINGS).unwrap_err();
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

#[test]
fn missing_corrupt_truncated_and_empty_files_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = refusal(&dir.path().join("nope.onnx"));
    assert!(
        missing.contains("no such file") && missing.contains("never downloads"),
        "{missing}"
    );

    let text = write(
        dir.path(),
        "notes.onnx",
        b"this is not a model at all, just text\n",
    );
    assert!(refusal(&text).contains("not a usable ONNX model"));

    let bytes = tiny_onnx::model(Batch::One, 8, 8, &layers());
    let truncated = write(dir.path(), "cut.onnx", &bytes[..bytes.len() / 2]);
    assert!(refusal(&truncated).contains("not a usable ONNX model"));

    let empty = write(dir.path(), "empty.onnx", b"");
    assert!(refusal(&empty).contains("empty"));

    let jpeg =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/coffee.jpg");
    assert!(refusal(&jpeg).contains("not a usable ONNX model"));
}

#[test]
fn inputs_that_are_not_one_nchw_rgb_image_are_refused_with_the_shape_found() {
    let dir = tempfile::tempdir().unwrap();
    let one_layer = [ConvLayer::patterned(3, 4, 1, 5)];
    for (dims, shown) in [
        (vec![Some(1), Some(3), Some(8)], "[1, 3, 8] F32"),
        (vec![Some(1), Some(8), Some(8), Some(3)], "[1, 8, 8, 3] F32"),
        (vec![Some(2), Some(3), Some(8), Some(8)], "[2, 3, 8, 8] F32"),
        (vec![Some(1), Some(3), None, None], "[1, 3, d2, d3] F32"),
    ] {
        let path = write(
            dir.path(),
            "shape.onnx",
            &tiny_onnx::model_with_input(&dims, &one_layer),
        );
        let message = refusal(&path);
        assert!(
            message.contains(&format!("unsupported input {shown}"))
                && message.contains("[1, 3, H, W]"),
            "{message}"
        );
    }
}

/// An output with infinite values is an error, not a stored vector.
#[test]
fn a_non_finite_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut layer = ConvLayer::patterned(3, 4, 1, 7);
    layer.bias[1] = f32::INFINITY;
    let path = write(
        dir.path(),
        "inf.onnx",
        &tiny_onnx::model(Batch::One, 8, 8, &[layer]),
    );
    let model = ImageEmbedder::load(&path, &SETTINGS).unwrap();
    let message = model.embed(&photo()).unwrap_err().to_string();
    assert!(message.contains("non-finite values out of 4"), "{message}");
}

/// A strided patch convolution (as a ViT's patch embedding) runs the same
/// in tract as in the reference loops.
#[test]
fn a_strided_patch_model_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let layers = [
        ConvLayer::patches(3, 7, 4, 9),
        ConvLayer::patterned(7, 6, 1, 10),
    ];
    let path = write(
        dir.path(),
        "patch.onnx",
        &tiny_onnx::model(Batch::One, 8, 8, &layers),
    );
    let model = ImageEmbedder::load(&path, &SETTINGS).unwrap();
    let img = photo();
    let want = unit(tiny_onnx::forward(&by_hand_input(&img), 8, 8, &layers));
    let got = model.embed(&img).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
}
