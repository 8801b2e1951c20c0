//! Image processing: loading with safety checks, the built-in enhancement
//! pipeline, quality metrics, the room's measured context, previews,
//! encoding, and embeddings from the user's own ONNX image model.
//!
//! All pixel work is synchronous and CPU-bound; callers run it on blocking
//! threads. Luma is Rec. 601 (`0.299 R + 0.587 G + 0.114 B`) on the stored
//! (gamma-encoded) 8-bit values everywhere in this module, the same
//! convention as Pillow's `L` mode and OpenCV's grey conversion; only the
//! room-context features (`context`) use Rec. 709, as their definition says.

pub mod analysis;
pub mod blur;
pub mod context;
pub mod embedding;
pub mod embedding_input;
pub mod encode;
pub mod engine;
pub mod font;
pub mod jpeg_markers;
pub mod jpeg_scan;
pub mod load;
pub mod metrics;
pub mod preview;
pub mod quality;
pub mod render;
pub mod style;
pub mod term;

pub use analysis::Analysis;
pub use embedding::{EmbeddingSettings, ImageEmbedder};
pub use engine::Engine;
pub use load::{LoadLimits, LoadedImage};
pub use style::StyleIntent;

/// Rec. 601 luma weights for R, G, B.
pub const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// Luma of one 8-bit RGB pixel, in 0..=255.
#[inline]
pub fn luma(rgb: [u8; 3]) -> f32 {
    LUMA[0] * rgb[0] as f32 + LUMA[1] * rgb[1] as f32 + LUMA[2] * rgb[2] as f32
}
