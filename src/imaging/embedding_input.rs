//! The input an image model sees: a render resized and cropped to the
//! model's `H × W`, scaled to 0–1 and normalised per channel, laid out as
//! one NCHW float32 batch `[1, 3, H, W]`.
//!
//! It follows CLIP's preprocessing (OpenAI's `clip.load` transform):
//! bicubic resize so the image covers `H × W` (for a square model, the
//! shorter side becomes `H`), centre crop, `x / 255`, then
//! `(x - mean[c]) / std[c]`. Differences worth knowing: the resize is the
//! `image` crate's Catmull-Rom (bicubic with a = -0.5, as PIL's BICUBIC,
//! also widened when shrinking); the crop offset is `(extra / 2)` rounded
//! down, where torchvision rounds half to even; when the image already has
//! the covering size nothing is resampled, so its pixels reach the model
//! unchanged.

use image::RgbImage;
use image::imageops::{self, FilterType};

/// Per-channel (R, G, B) normalisation of the 0–1 pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    /// Subtracted from each channel.
    pub mean: [f32; 3],
    /// Each channel is divided by this (every value above 0).
    pub std: [f32; 3],
}

/// The `[1, 3, height, width]` tensor of `rgb`, channel-major (all R rows,
/// then G, then B), as the module doc describes. `height` and `width` must
/// be at least 1; an empty image gives an all-`-mean/std` tensor.
pub fn model_input(rgb: &RgbImage, height: u32, width: u32, norm: &Normalisation) -> Vec<f32> {
    let covered = cover_and_crop(rgb, height, width);
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0.0f32; 3 * h * w];
    for (x, y, pixel) in covered.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let unit = f32::from(pixel[c]) / 255.0;
            out[c * h * w + y * w + x] = (unit - norm.mean[c]) / norm.std[c];
        }
    }
    out
}

/// `rgb` resized (bicubic) to the smallest size that covers
/// `width × height` with its aspect ratio kept, then centre-cropped to it.
fn cover_and_crop(rgb: &RgbImage, height: u32, width: u32) -> RgbImage {
    let (w0, h0) = rgb.dimensions();
    if w0 == 0 || h0 == 0 {
        return RgbImage::new(width, height);
    }
    let scale = (f64::from(width) / f64::from(w0)).max(f64::from(height) / f64::from(h0));
    let nw = ((f64::from(w0) * scale).round() as u32).max(width);
    let nh = ((f64::from(h0) * scale).round() as u32).max(height);
    let resized;
    let source = if (nw, nh) == (w0, h0) {
        rgb
    } else {
        resized = imageops::resize(rgb, nw, nh, FilterType::CatmullRom);
        &resized
    };
    let (left, top) = ((nw - width) / 2, (nh - height) / 2);
    imageops::crop_imm(source, left, top, width, height).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Normalisation = Normalisation {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 10) as u8, (y * 10) as u8, 7]))
    }

    /// A 12 × 8 image for an 8 × 8 model: no resize, columns 2..10 kept;
    /// channel-major layout and the normalisation checked value by value.
    #[test]
    fn a_wide_image_is_centre_cropped_and_laid_out_channel_major() {
        let img = gradient(12, 8);
        let norm = Normalisation {
            mean: [0.5, 0.25, 0.0],
            std: [0.5, 2.0, 0.1],
        };
        let t = model_input(&img, 8, 8, &norm);
        assert_eq!(t.len(), 3 * 64);
        for y in 0..8usize {
            for x in 0..8usize {
                let r = ((x + 2) * 10) as f32 / 255.0;
                let g = (y * 10) as f32 / 255.0;
                let b = 7.0 / 255.0;
                assert_eq!(t[y * 8 + x], (r - 0.5) / 0.5);
                assert_eq!(t[64 + y * 8 + x], (g - 0.25) / 2.0);
                assert_eq!(t[128 + y * 8 + x], b / 0.1);
            }
        }
    }

    /// A tall image keeps its middle rows (rows 3..11 of 15, rounding down).
    #[test]
    fn a_tall_image_keeps_its_middle_rows() {
        let img = gradient(8, 15);
        let t = model_input(&img, 8, 8, &UNIT);
        assert_eq!(t[64], 30.0 / 255.0, "first G row is source row 3");
        assert_eq!(t[64 + 7 * 8], 100.0 / 255.0, "last G row is source row 10");
    }

    /// Shrinking: the shorter side becomes the model's side and a flat
    /// colour stays that colour (the filter's weights sum to one).
    #[test]
    fn a_large_flat_image_is_shrunk_to_the_same_colour() {
        let img = RgbImage::from_pixel(640, 480, image::Rgb([200, 100, 50]));
        let covered = cover_and_crop(&img, 8, 8);
        assert_eq!(covered.dimensions(), (8, 8));
        let t = model_input(&img, 8, 8, &UNIT);
        assert!(t[..64].iter().all(|v| (v - 200.0 / 255.0).abs() < 1e-6));
        assert!(t[128..].iter().all(|v| (v - 50.0 / 255.0).abs() < 1e-6));
    }

    /// A non-square model gets its own height and width: 20 × 10 into
    /// 4 wide × 6 high scales by 0.6 (the height binds) to 12 × 6, then
    /// crops 4 columns.
    #[test]
    fn a_non_square_model_gets_its_height_and_width() {
        let img = gradient(20, 10);
        assert_eq!(cover_and_crop(&img, 5, 5).dimensions(), (5, 5));
        assert_eq!(cover_and_crop(&img, 6, 4).dimensions(), (4, 6));
    }
}
