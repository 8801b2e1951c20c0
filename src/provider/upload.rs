//! The photo as hosted providers receive it: scaled down to the render size
//! (Leonardo distorts when the init image's aspect differs from the requested
//! size, and sending 12 megapixels to get 1 back wastes the designer's
//! upload), sides in multiples of 8, JPEG.

use image::RgbImage;
use image::imageops;

use crate::imaging::encode;

/// JPEG quality of uploads: high enough that the provider sees no artefacts.
const UPLOAD_QUALITY: u8 = 92;

/// A scaled, encoded copy of the photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadImage {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels, a multiple of 8.
    pub width: u32,
    /// Height in pixels, a multiple of 8.
    pub height: u32,
}

impl UploadImage {
    /// Scales `rgb` so its longest side is at most `max_side` (never
    /// enlarging) and both sides are multiples of 8, keeping the aspect.
    pub fn of(rgb: &RgbImage, max_side: u32) -> Self {
        let (width, height) = fit_size(rgb.width(), rgb.height(), max_side);
        let scaled = if (width, height) == rgb.dimensions() {
            rgb.clone()
        } else {
            // Area averaging: anti-aliased like a triangle filter when
            // shrinking, and about twice as fast on a 12-megapixel photo.
            imageops::thumbnail(rgb, width, height)
        };
        UploadImage {
            jpeg: encode::jpeg(&scaled, UPLOAD_QUALITY),
            width,
            height,
        }
    }
}

/// The size an image of `width × height` is sent at: longest side at most
/// `max_side`, both sides rounded to multiples of 8 (at least 8).
pub fn fit_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height).max(1) as f64;
    let scale = (max_side as f64 / longest).min(1.0);
    let round8 = |v: f64| ((v / 8.0).round() as u32).max(1) * 8;
    (round8(width as f64 * scale), round8(height as f64 * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_longest_side_in_multiples_of_8_and_never_enlarges() {
        assert_eq!(fit_size(4000, 3000, 1024), (1024, 768));
        assert_eq!(fit_size(3000, 4000, 1024), (768, 1024));
        assert_eq!(fit_size(640, 480, 1024), (640, 480));
        assert_eq!(fit_size(1001, 333, 1024), (1000, 336));
        assert_eq!(fit_size(5000, 10, 1024), (1024, 8));
    }

    #[test]
    fn the_upload_is_a_jpeg_of_the_fitted_size() {
        let rgb = RgbImage::from_pixel(400, 300, image::Rgb([200, 120, 40]));
        let up = UploadImage::of(&rgb, 200);
        assert_eq!((up.width, up.height), (200, 152));
        let decoded = image::load_from_memory(&up.jpeg).unwrap().into_rgb8();
        assert_eq!(decoded.dimensions(), (200, 152));
        let p = decoded.get_pixel(100, 76);
        assert!((p[0] as i32 - 200).abs() < 6 && (p[2] as i32 - 40).abs() < 6);
    }
}
