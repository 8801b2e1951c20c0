//! The side-by-side preview: original | A | B | …, all at one height,
//! labelled above each panel and titled with the photo's name below.

use image::{Rgb, RgbImage, imageops};
use rayon::prelude::*;

use super::font;

/// White space between panels, in pixels.
pub const GAP: u32 = 12;
/// Each font pixel of the labels is this many image pixels wide and high.
pub const LABEL_SCALE: u32 = 3;
/// Height of the label band above the panels and of the title band below
/// them: the text, and one gap (the panels keep their own gap too).
pub const BAND: u32 = font::GLYPH_H * LABEL_SCALE + GAP;
const INK: Rgb<u8> = Rgb([25, 25, 25]);

/// The labelled preview: [`side_by_side`] with `labels[i]` drawn above
/// panel `i` (cut with `..` when wider than the panel) and `title` (the
/// photo's name) below. Its size is the side-by-side's plus `2 × BAND`
/// in height: `height + 2·GAP + 2·BAND` = `height + 90` pixels high when
/// no photo is smaller than `height`.
pub fn labelled(panels: &[&RgbImage], labels: &[&str], title: &str, height: u32) -> RgbImage {
    let (sheet, xs) = layout(panels, height);
    let mut canvas = RgbImage::from_pixel(
        sheet.width(),
        sheet.height() + 2 * BAND,
        Rgb([255, 255, 255]),
    );
    imageops::replace(&mut canvas, &sheet, 0, BAND as i64);
    for (i, label) in labels.iter().enumerate().take(xs.len()) {
        let room = xs
            .get(i + 1)
            .map_or(sheet.width() - GAP, |next| next - GAP)
            .saturating_sub(xs[i]);
        let text = font::fit(label, room, LABEL_SCALE);
        font::draw_text(&mut canvas, xs[i], GAP, LABEL_SCALE, &text, INK);
    }
    let title = font::fit(title, sheet.width().saturating_sub(2 * GAP), LABEL_SCALE);
    let title_y = BAND + sheet.height();
    font::draw_text(&mut canvas, GAP, title_y, LABEL_SCALE, &title, INK);
    canvas
}

/// Lays `panels` side by side, each scaled (down only) to `height` keeping
/// its aspect ratio, on a white background.
pub fn side_by_side(panels: &[&RgbImage], height: u32) -> RgbImage {
    layout(panels, height).0
}

/// The side-by-side sheet and the left edge of each panel on it.
fn layout(panels: &[&RgbImage], height: u32) -> (RgbImage, Vec<u32>) {
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
    let mut xs = Vec::with_capacity(scaled.len());
    for panel in &scaled {
        imageops::replace(&mut canvas, panel, x as i64, GAP as i64);
        xs.push(x);
        x += panel.width() + GAP;
    }
    (canvas, xs)
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

    /// The labels' ink lands where the font puts it: the top bar of `A`
    /// (font columns 1–3 of row 0) starts `LABEL_SCALE` pixels right of
    /// panel A's left edge, `GAP` pixels from the top.
    #[test]
    fn labels_sit_above_their_panels_and_the_title_below() {
        let photo = RgbImage::from_pixel(800, 400, Rgb([0, 200, 0]));
        let render = RgbImage::from_pixel(800, 400, Rgb([0, 0, 200]));
        let out = labelled(
            &[&photo, &render, &render],
            &["ORIGINAL", "A", "B"],
            "kitchen.jpg",
            200,
        );
        // Documented size: panels 400×200 each.
        assert_eq!(
            out.dimensions(),
            (3 * 400 + 4 * GAP, 200 + 2 * GAP + 2 * BAND)
        );
        assert_eq!(out.height(), 200 + 90);
        let ink = |x: u32, y: u32| out.get_pixel(x, y).0 == INK.0;
        let s = LABEL_SCALE;
        let a_x = GAP + 400 + GAP;
        let b_x = a_x + 400 + GAP;
        // 'A' row 0 = .###.
        assert!(!ink(a_x, GAP) && ink(a_x + s, GAP) && ink(a_x + 3 * s + s - 1, GAP));
        assert!(!ink(a_x + 4 * s, GAP));
        // 'A' row 3 = ##### ; 'B' row 0 = ####.
        assert!((0..5 * s).all(|dx| ink(a_x + dx, GAP + 3 * s)));
        assert!((0..4 * s).all(|dx| ink(b_x + dx, GAP)) && !ink(b_x + 4 * s, GAP));
        // 'O' of ORIGINAL at the first panel: row 1 = #...#
        assert!(ink(GAP, GAP + s) && !ink(GAP + s, GAP + s) && ink(GAP + 4 * s, GAP + s));
        // The panels start below the label band, untouched by ink.
        assert_eq!(out.get_pixel(GAP, BAND + GAP).0, [0, 200, 0]);
        assert_eq!(out.get_pixel(a_x, BAND + GAP).0, [0, 0, 200]);
        // Title 'K' (drawn in capitals) below the panels: row 0 = #...#
        let ty = BAND + 200 + 2 * GAP;
        assert!(ink(GAP, ty) && !ink(GAP + s, ty) && ink(GAP + 4 * s, ty));
        // No ink outside the two bands.
        let band_ink = (0..out.width())
            .flat_map(|x| (BAND..BAND + 200 + 2 * GAP).map(move |y| (x, y)))
            .filter(|&(x, y)| ink(x, y))
            .count();
        assert_eq!(band_ink, 0);
    }

    #[test]
    fn a_label_wider_than_its_panel_is_cut() {
        let small = RgbImage::from_pixel(40, 40, Rgb([9, 9, 9]));
        let out = labelled(&[&small, &small], &["ORIGINAL", "A"], "x", 480);
        // Nothing of ORIGINAL spills over panel A's left edge area.
        let a_x = GAP + 40 + GAP;
        assert!(
            (0..GAP).all(|dx| (GAP..GAP + 21).all(|y| out.get_pixel(a_x - GAP + dx, y).0 != INK.0))
        );
    }

    #[test]
    fn small_photos_are_not_upscaled() {
        let small = RgbImage::new(64, 48);
        assert_eq!(side_by_side(&[&small, &small], 480).height(), 48 + 2 * GAP);
    }
}
