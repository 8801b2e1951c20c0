//! Encoding renders and previews as JPEG.
//!
//! `jpeg-encoder` (SIMD DCT, runtime CPU detection) rather than the `image`
//! crate's encoder: on a 12-megapixel render it is several times faster,
//! which is most of the enhance command's budget.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// The largest side a JPEG can hold.
pub const MAX_JPEG_SIDE: u32 = u16::MAX as u32;

/// Encodes as baseline JPEG at `quality` (1–100) with 4:2:0 chroma
/// subsampling, as cameras do, and no metadata: the pixels are already
/// upright, so no orientation tag is written.
///
/// # Panics
/// Never for images whose sides are at most [`MAX_JPEG_SIDE`]; the loader
/// rejects larger inputs, and renders keep the input's size.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 10);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    let (w, h) = img.dimensions();
    let (w, h) = (
        u16::try_from(w).expect("width checked by the loader"),
        u16::try_from(h).expect("height checked by the loader"),
    );
    encoder
        .encode(img.as_raw(), w, h, ColorType::Rgb)
        .expect("encoding an in-memory RGB8 image of valid size cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_render_decodes_to_the_same_size_and_close_pixels() {
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
        let bytes = jpeg(&img, 90);
        let back = image::load_from_memory(&bytes).unwrap().into_rgb8();
        assert_eq!(back.dimensions(), (64, 48));
        let mad: f64 = img
            .as_raw()
            .iter()
            .zip(back.as_raw())
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(mad < 3.0, "mean abs error {mad}");
    }
}
