//! The side-by-side preview: original | A | B | …, all at one height.

use image::{Rgb, RgbImage, imageops};
use rayon::prelude::*;

/// White space between panels, in pixels.
const GAP: u32 = 12;

/// Lays `panels` side by side, each scaled (down only) to `height` keeping
/// its aspect ratio, on a white background.
pub fn side_by_side(panels: &[&RgbImage], height: u32) -> RgbImage {
    let height = panels
        .iter()
        .map(|p| p.height())
        .min()
        .unwrap_or(height)
        .min(height)
        .max(1);
    let scaled: Vec<RgbImage> = panels
        .par_iter()
        .map(|p| {
            let width =
                ((p.width() as f64 * height as f64 / p.height() as f64).round() as u32).max(1);
            if (width, height) == p.dimensions() {
                (*p).clone()
            } else {
                imageops::thumbnail(*p, width, height)
            }
        })
        .collect();
    let total_width =
        scaled.iter().map(RgbImage::width).sum::<u32>() + GAP * (scaled.len() as u32 + 1);
    let mut canvas = RgbImage::from_pixel(total_width, height + 2 * GAP, Rgb([255, 255, 255]));
    let mut x = GAP;
    for panel in &scaled {
        imageops::replace(&mut canvas, panel, x as i64, GAP as i64);
        x += panel.width() + GAP;
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_share_one_height_and_keep_their_aspect() {
        let wide = RgbImage::from_pixel(2000, 1000, Rgb([10, 20, 30]));
        let other = RgbImage::from_pixel(1000, 500, Rgb([200, 0, 0]));
        let out = side_by_side(&[&wide, &other, &other], 480);
        assert_eq!(out.height(), 480 + 2 * GAP);
        assert_eq!(out.width(), 3 * 960 + 4 * GAP);
        assert_eq!(out.get_pixel(GAP + 5, GAP + 5).0, [10, 20, 30]);
        assert_eq!(out.get_pixel(2 * GAP + 960 + 5, GAP + 5).0, [200, 0, 0]);
    }

    #[test]
    fn small_photos_are_not_upscaled() {
        let small = RgbImage::new(64, 48);
        assert_eq!(side_by_side(&[&small, &small], 480).height(), 48 + 2 * GAP);
    }
}
