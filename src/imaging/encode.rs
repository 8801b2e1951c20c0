//! Encoding renders and previews.

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

/// Encodes as baseline JPEG at `quality` (1–100), without metadata: the
/// pixels are already upright, so no orientation tag is written.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(img)
        .expect("encoding an in-memory RGB8 image into a Vec cannot fail");
    out
}
