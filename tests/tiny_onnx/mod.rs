//! Builds small ONNX image models in the test itself, with tract-onnx's
//! protobuf types, so the embedding path is tested on a real ONNX file
//! without downloading one: `[1, 3, H, W]` → (Conv → Relu)* →
//! GlobalAveragePool → Flatten. Also the reference forward pass of the
//! same network in plain loops, to check tract's answer independently.
//!
//! Shared by `tests/embedding.rs`, the CLI suite and
//! `examples/bench_embedding.rs` (each includes it with `#[path]`).
#![allow(dead_code)] // each user takes a different part

use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};

/// One convolution: `out × inp × k × k` weights (row-major, as ONNX's
/// OIHW), a bias per output channel, a stride and zero padding on each
/// side, then ReLU.
#[derive(Debug, Clone)]
pub struct ConvLayer {
    /// Output channels.
    pub out: usize,
    /// Input channels.
    pub inp: usize,
    /// Kernel side.
    pub k: usize,
    /// Step between windows.
    pub stride: usize,
    /// Zeros added on each side.
    pub pad: usize,
    /// `out * inp * k * k` weights.
    pub weights: Vec<f32>,
    /// `out` biases.
    pub bias: Vec<f32>,
}

impl ConvLayer {
    /// A stride-1 layer with `k / 2` padding (same size out as in, for odd
    /// `k`) whose weights follow a fixed, sign-mixed pattern from `seed` (no
    /// RNG needed: the values only have to be known and varied), scaled as
    /// He-uniform so activations neither vanish nor blow up in a deep stack.
    pub fn patterned(inp: usize, out: usize, k: usize, seed: u32) -> ConvLayer {
        let n = out * inp * k * k;
        let scale = (6.0 / (inp * k * k) as f32).sqrt();
        let weights = (0..n)
            .map(|i| {
                let h = (i as u32)
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed * 40_503);
                ((h >> 8) % 2001) as f32 / 1000.0 - 1.0
            })
            .map(|v| v * scale)
            .collect();
        let bias = (0..out).map(|o| 0.05 * (o as f32 % 3.0 - 1.0)).collect();
        ConvLayer {
            out,
            inp,
            k,
            stride: 1,
            pad: k / 2,
            weights,
            bias,
        }
    }

    /// A ViT-style patch embedding: a `p × p` kernel with stride `p`, no padding.
    pub fn patches(inp: usize, out: usize, p: usize, seed: u32) -> ConvLayer {
        ConvLayer {
            stride: p,
            pad: 0,
            ..ConvLayer::patterned(inp, out, p, seed)
        }
    }

    /// Number of parameters.
    pub fn params(&self) -> usize {
        self.weights.len() + self.bias.len()
    }
}

/// The batch dimension as the file declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// `1`.
    One,
    /// A named symbol (`batch`), as exporters write a dynamic batch.
    Dynamic,
}

fn dim_value(n: i64) -> Dimension {
    Dimension {
        denotation: String::new(),
        value: Some(dimension::Value::DimValue(n)),
    }
}

fn value_info(name: &str, dims: Vec<Dimension>) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim: dims }),
            })),
        }),
        doc_string: String::new(),
    }
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: values.to_vec(),
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn node(
    op: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

/// The encoded ONNX model: input `pixels` of `input_dims` (each `None` is a
/// named symbol) → the conv layers → GlobalAveragePool → Flatten →
/// `embedding` `[1, last layer's out]`.
pub fn model_with_input(input_dims: &[Option<i64>], layers: &[ConvLayer]) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut initializer = Vec::new();
    let mut current = "pixels".to_string();
    for (i, l) in layers.iter().enumerate() {
        let (w, b, conv, relu) = (
            format!("w{i}"),
            format!("b{i}"),
            format!("conv{i}"),
            format!("relu{i}"),
        );
        initializer.push(tensor(&w, &[l.out, l.inp, l.k, l.k], &l.weights));
        initializer.push(tensor(&b, &[l.out], &l.bias));
        let (pad, stride) = (l.pad as i64, l.stride as i64);
        nodes.push(node(
            "Conv",
            &[&current, &w, &b],
            &conv,
            vec![
                ints("kernel_shape", &[l.k as i64, l.k as i64]),
                ints("pads", &[pad, pad, pad, pad]),
                ints("strides", &[stride, stride]),
            ],
        ));
        nodes.push(node("Relu", &[&conv], &relu, vec![]));
        current = relu;
    }
    nodes.push(node("GlobalAveragePool", &[&current], "pooled", vec![]));
    nodes.push(node("Flatten", &["pooled"], "embedding", vec![]));
    let out = layers.last().map_or(3, |l| l.out) as i64;
    let input = input_dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(n) => dim_value(*n),
            None => Dimension {
                denotation: String::new(),
                value: Some(dimension::Value::DimParam(format!("d{i}"))),
            },
        })
        .collect();
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "latina tests".into(),
        graph: Some(pb::GraphProto {
            name: "tiny".into(),
            node: nodes,
            initializer,
            input: vec![value_info("pixels", input)],
            output: vec![value_info("embedding", vec![dim_value(1), dim_value(out)])],
            ..Default::default()
        }),
        ..Default::default()
    };
    model.encode_to_vec()
}

/// The encoded model for an `h × w` image with the given batch dimension.
pub fn model(batch: Batch, h: usize, w: usize, layers: &[ConvLayer]) -> Vec<u8> {
    let b = match batch {
        Batch::One => Some(1),
        Batch::Dynamic => None,
    };
    model_with_input(&[b, Some(3), Some(h as i64), Some(w as i64)], layers)
}

/// The same network in plain loops on a CHW input: the reference.
pub fn forward(input: &[f32], h: usize, w: usize, layers: &[ConvLayer]) -> Vec<f32> {
    let mut x = input.to_vec();
    let (mut channels, mut h, mut w) = (3, h, w);
    for l in layers {
        assert_eq!(l.inp, channels);
        let (pad, s) = (l.pad as isize, l.stride);
        let oh = (h + 2 * l.pad - l.k) / s + 1;
        let ow = (w + 2 * l.pad - l.k) / s + 1;
        let mut y = vec![0.0f32; l.out * oh * ow];
        for o in 0..l.out {
            for r in 0..oh {
                for c in 0..ow {
                    let mut sum = l.bias[o] as f64;
                    for i in 0..l.inp {
                        for kr in 0..l.k {
                            for kc in 0..l.k {
                                let sr = (r * s + kr) as isize - pad;
                                let sc = (c * s + kc) as isize - pad;
                                if sr < 0 || sc < 0 || sr >= h as isize || sc >= w as isize {
                                    continue;
                                }
                                let wt = l.weights[((o * l.inp + i) * l.k + kr) * l.k + kc];
                                let v = x[(i * h + sr as usize) * w + sc as usize];
                                sum += f64::from(wt) * f64::from(v);
                            }
                        }
                    }
                    y[(o * oh + r) * ow + c] = (sum as f32).max(0.0);
                }
            }
        }
        (x, channels, h, w) = (y, l.out, oh, ow);
    }
    (0..channels)
        .map(|c| {
            let s: f64 = x[c * h * w..(c + 1) * h * w]
                .iter()
                .map(|v| f64::from(*v))
                .sum();
            (s / (h * w) as f64) as f32
        })
        .collect()
}
