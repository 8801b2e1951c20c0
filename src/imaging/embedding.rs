//! Learned embeddings of renders from an image model the user supplies as
//! an ONNX file (e.g. CLIP ViT-B/32's image tower), run in pure Rust by
//! `tract-onnx`. Nothing is ever downloaded: the model is the user's file.
//!
//! The model must take one float32 input of shape `[1, 3, H, W]` (NCHW; a
//! symbolic batch dimension is fixed to 1). It is parsed, typed and
//! optimised once, in [`ImageEmbedder::load`]; [`ImageEmbedder::embed`]
//! prepares the render as `embedding_input` describes (CLIP's resize,
//! crop and normalisation), runs the model, flattens its first output and
//! L2-normalises it, so cosine similarity is a dot product (a zero output
//! stays zero). What the file says about itself is checked before use and
//! every failure is an [`EmbeddingProblem`]; tract reports through
//! `Result`, and a panic inside it is caught and reported the same way.

use image::RgbImage;
use sha2::{Digest, Sha256};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::embedding_input::{Normalisation, model_input};
use crate::error::{EmbeddingProblem, Error, Result};

/// How renders are normalised before the model sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingSettings {
    /// Per-channel (R, G, B) mean subtracted from the 0–1 pixels.
    pub mean: [f32; 3],
    /// Per-channel (R, G, B) standard deviation, each above 0.
    pub std: [f32; 3],
}

impl Default for EmbeddingSettings {
    /// CLIP's normalisation.
    fn default() -> Self {
        let f = |v: [f64; 3]| v.map(|x| x as f32);
        EmbeddingSettings {
            mean: f(crate::config::CLIP_MEAN),
            std: f(crate::config::CLIP_STD),
        }
    }
}

/// A loaded, optimised ONNX image model and what is known about it.
#[derive(Debug, Clone)]
pub struct ImageEmbedder {
    path: PathBuf,
    sha256: String,
    height: u32,
    width: u32,
    dims: usize,
    norm: Normalisation,
    plan: Arc<TypedRunnableModel>,
}

impl ImageEmbedder {
    /// Reads, checks and optimises the model at `path`.
    ///
    /// # Errors
    /// [`Error::EmbeddingModel`] when the file is missing or unreadable, not
    /// ONNX (or damaged, or truncated), has an input other than one float32
    /// `[1, 3, H, W]`, or cannot be built for that input.
    pub fn load(path: &Path, settings: &EmbeddingSettings) -> Result<ImageEmbedder> {
        let fail = |problem| Error::EmbeddingModel {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|e| {
            fail(match e.kind() {
                std::io::ErrorKind::NotFound => EmbeddingProblem::Missing,
                _ => EmbeddingProblem::Unreadable(e.to_string()),
            })
        })?;
        if bytes.is_empty() {
            return Err(fail(EmbeddingProblem::NotOnnx("the file is empty".into())));
        }
        let sha256 = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = path.parent().and_then(Path::to_str).map(str::to_string);
        let built =
            guarded(|| build(&bytes, dir.as_deref()), EmbeddingProblem::NotOnnx).map_err(fail)?;
        Ok(ImageEmbedder {
            path: path.to_path_buf(),
            sha256,
            height: built.height,
            width: built.width,
            dims: built.dims,
            norm: Normalisation {
                mean: settings.mean,
                std: settings.std,
            },
            plan: built.plan,
        })
    }

    /// The unit-length embedding of `rgb` (all zeros if the model's output
    /// is all zeros), [`Self::dims`] long.
    ///
    /// # Errors
    /// [`Error::EmbeddingModel`] when the model fails on it or its output
    /// holds NaN or infinite values.
    pub fn embed(&self, rgb: &RgbImage) -> Result<Vec<f32>> {
        let input = model_input(rgb, self.height, self.width, &self.norm);
        self.embed_input(input)
    }

    /// Runs the model on an already prepared `[1, 3, H, W]` tensor.
    fn embed_input(&self, input: Vec<f32>) -> Result<Vec<f32>> {
        let fail = |problem| Error::EmbeddingModel {
            path: self.path.clone(),
            problem,
        };
        let shape = [1, 3, self.height as usize, self.width as usize];
        let run = || -> TractResult<Vec<f32>> {
            let tensor = Tensor::from_shape(&shape, &input)?;
            let outputs = self.plan.run(tvec!(tensor.into_tvalue()))?;
            let first = outputs
                .first()
                .ok_or_else(|| anyhow::anyhow!("the model has no output"))?;
            let values = first.cast_to::<f32>()?;
            Ok(values
                .to_plain_array_view::<f32>()?
                .iter()
                .copied()
                .collect())
        };
        let mut values = guarded(
            || run().map_err(|e| EmbeddingProblem::Runtime(format!("{e:#}"))),
            EmbeddingProblem::Runtime,
        )
        .map_err(fail)?;
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(fail(EmbeddingProblem::NotFinite {
                bad,
                total: values.len(),
            }));
        }
        normalise(&mut values);
        Ok(values)
    }

    /// The file the model was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SHA-256 of the ONNX file, lowercase hex: which model an embedding
    /// came from (a changed file is a different model).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The model's input size, `(height, width)` in pixels.
    pub fn input_size(&self) -> (u32, u32) {
        (self.height, self.width)
    }

    /// Length of every embedding (the first output's element count).
    pub fn dims(&self) -> usize {
        self.dims
    }
}

/// Scales `v` to unit Euclidean length; a zero vector stays zero.
fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
}

/// What `build` made of the file.
struct Built {
    height: u32,
    width: u32,
    dims: usize,
    plan: Arc<TypedRunnableModel>,
}

/// Runs `f`, turning a panic inside tract into the problem `on_panic`
/// makes of its message: a malformed graph must be a message, never a crash.
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, EmbeddingProblem>,
    on_panic: fn(String) -> EmbeddingProblem,
) -> std::result::Result<T, EmbeddingProblem> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(on_panic(format!("tract failed on this model: {what}")))
    })
}

/// Parses the protobuf, checks the input, fixes it to `[1, 3, H, W]`
/// float32, and optimises the graph for it.
fn build(bytes: &[u8], dir: Option<&str>) -> std::result::Result<Built, EmbeddingProblem> {
    let onnx = tract_onnx::onnx();
    let not_onnx = |e: TractError| EmbeddingProblem::NotOnnx(format!("{e:#}"));
    let proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| EmbeddingProblem::NotOnnx(format!("not an ONNX protobuf ({e:#})")))?;
    if proto.graph.as_ref().is_none_or(|g| g.node.is_empty()) {
        return Err(EmbeddingProblem::NotOnnx("it holds no graph".into()));
    }
    let parsed = onnx.parse(&proto, dir).map_err(not_onnx)?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(EmbeddingProblem::NotOnnx(format!(
            "inputs it never defines: {}",
            parsed.unresolved_inputs.join(", ")
        )));
    }
    let mut model = parsed.model;
    let inputs = model.input_outlets().map_err(not_onnx)?.len();
    if inputs != 1 {
        return Err(EmbeddingProblem::UnsupportedInput {
            found: format!("{inputs} inputs"),
        });
    }
    let fact = model.input_fact(0).map_err(not_onnx)?;
    let (height, width) = image_input(fact)?;
    let fixed = InferenceFact::dt_shape(
        f32::datum_type(),
        tvec!(1usize, 3, height as usize, width as usize),
    );
    model.set_input_fact(0, fixed).map_err(not_onnx)?;
    let typed = model.into_optimized().map_err(not_onnx)?;
    let dims = typed
        .output_outlets()
        .map_err(not_onnx)?
        .first()
        .and_then(|o| typed.outlet_fact(*o).ok())
        .and_then(|f| f.shape.as_concrete().map(|s| s.iter().product::<usize>()));
    let plan = typed.into_runnable().map_err(not_onnx)?;
    let dims = match dims {
        Some(d) if d > 0 => d,
        Some(_) => {
            return Err(EmbeddingProblem::NotOnnx(
                "its first output is empty".into(),
            ));
        }
        None => {
            return Err(EmbeddingProblem::NotOnnx(
                "the size of its first output does not follow from a [1, 3, H, W] input".into(),
            ));
        }
    };
    Ok(Built {
        height,
        width,
        dims,
        plan,
    })
}

/// `(H, W)` of an input declared as `[1 or a symbol, 3, H, W]` float32 (or
/// of unknown type); anything else is refused, naming what was found.
fn image_input(fact: &InferenceFact) -> std::result::Result<(u32, u32), EmbeddingProblem> {
    let found = || EmbeddingProblem::UnsupportedInput {
        found: describe(fact),
    };
    if let Some(dt) = fact.datum_type.concretize()
        && dt != f32::datum_type()
    {
        return Err(found());
    }
    if fact.shape.is_open() {
        return Err(found());
    }
    let dims: Vec<Option<TDim>> = fact.shape.dims().map(|d| d.concretize()).collect();
    let [batch, channels, height, width] = dims.as_slice() else {
        return Err(found());
    };
    let fixed = |d: &Option<TDim>| d.as_ref().and_then(|d| d.to_i64().ok());
    let batch_ok = match batch {
        None => true,
        Some(d) => d.to_i64().map_or(true, |n| n == 1),
    };
    let side = |d: &Option<TDim>| {
        fixed(d)
            .filter(|n| (1..=8192).contains(n))
            .map(|n| n as u32)
    };
    match (batch_ok, fixed(channels), side(height), side(width)) {
        (true, Some(3), Some(h), Some(w)) => Ok((h, w)),
        _ => Err(found()),
    }
}

/// The declared input, e.g. `[1, 224, 224, 3] F32` or `[batch, 3, ?, ?] F32`
/// (a symbol by its name, an unknown dimension as `?`).
fn describe(fact: &InferenceFact) -> String {
    let dims: Vec<String> = if fact.shape.is_open() {
        vec!["rank unknown".into()]
    } else {
        fact.shape
            .dims()
            .map(|d| {
                d.concretize()
                    .map_or_else(|| "?".to_string(), |t| t.to_string())
            })
            .collect()
    };
    let dt = fact
        .datum_type
        .concretize()
        .map_or_else(|| "type unknown".to_string(), |t| format!("{t:?}"));
    format!("[{}] {dt}", dims.join(", "))
}
