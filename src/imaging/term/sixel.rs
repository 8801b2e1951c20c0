//! DEC sixel graphics: `ESC P q`, raster attributes `"1;1;W;H` (square
//! pixels), the palette as `#i;2;r;g;b` (percent), then the image in bands
//! of six rows: for each colour used in the band, `#i` and one character
//! per column (63 + a bit per row, the top row bit 0), colours separated
//! by `$` (back to the band's start), bands by `-`; runs of four or more
//! equal characters as `!<n><c>`; `ESC \` ends it.
//!
//! Colours are quantised to the 6×6×6 cube (216 entries, index
//! `36 r + 6 g + b`, each level rounded to 0..=5); only the entries the
//! image uses are defined.

use image::RgbImage;

/// One channel's level in the 6-step cube.
fn level(v: u8) -> usize {
    (v as usize * 5 + 127) / 255
}

/// Palette index of a pixel.
fn index(p: [u8; 3]) -> usize {
    36 * level(p[0]) + 6 * level(p[1]) + level(p[2])
}

/// The sixel sequence of `img`, pixel for pixel.
pub fn encode(img: &RgbImage) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let indices: Vec<usize> = img.pixels().map(|p| index(p.0)).collect();
    let mut used = [false; 216];
    for &i in &indices {
        used[i] = true;
    }
    let mut out = format!("\x1bPq\"1;1;{w};{h}").into_bytes();
    for (i, _) in used.iter().enumerate().filter(|(_, u)| **u) {
        let (r, g, b) = (i / 36, i / 6 % 6, i % 6);
        out.extend_from_slice(format!("#{i};2;{};{};{}", r * 20, g * 20, b * 20).as_bytes());
    }
    let w = w as usize;
    for (band, top) in (0..h as usize).step_by(6).enumerate() {
        if band > 0 {
            out.push(b'-');
        }
        let rows = (h as usize - top).min(6);
        // Each colour's sixels across the band, in palette order.
        let mut sixels: Vec<Option<Vec<u8>>> = vec![None; 216];
        for dy in 0..rows {
            for x in 0..w {
                let i = indices[(top + dy) * w + x];
                sixels[i].get_or_insert_with(|| vec![0u8; w])[x] |= 1 << dy;
            }
        }
        let mut first = true;
        for (i, bits) in sixels.iter().enumerate() {
            let Some(bits) = bits else { continue };
            if !first {
                out.push(b'$');
            }
            first = false;
            out.extend_from_slice(format!("#{i}").as_bytes());
            // Trailing empty columns need not be sent: `$` or `-` follows.
            let end = bits.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            run_length(&bits[..end], &mut out);
        }
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

/// Writes the sixel characters of `bits`, runs of four or more as `!n c`.
fn run_length(bits: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < bits.len() {
        let c = 63 + bits[i];
        let run = bits[i..].iter().take_while(|&&b| b == bits[i]).count();
        if run >= 4 {
            out.extend_from_slice(format!("!{run}").as_bytes());
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n(c, run));
        }
        i += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// Worked by hand: red (255,0,0) → levels (5,0,0) → #180; blue → #5;
    /// white → #215. One band (rows 0–1). Blue: column 1 row 0 → bit 0
    /// → '@' (64), column 0 empty → '?'. Red: column 0 rows 0 and 1 →
    /// bits 0+1 → 'B' (66), column 1 empty and trailing → dropped. White:
    /// column 1 row 1 → bit 1 → 'A' (65) after an empty '?'.
    #[test]
    fn a_two_by_two_image_matches_the_hand_computed_sequence() {
        let img = RgbImage::from_fn(2, 2, |x, y| match (x, y) {
            (0, _) => Rgb([255, 0, 0]),
            (1, 0) => Rgb([0, 0, 255]),
            _ => Rgb([255, 255, 255]),
        });
        let expected = "\x1bPq\"1;1;2;2#5;2;0;0;100#180;2;100;0;0#215;2;100;100;100\
                        #5?@$#180B$#215?A\x1b\\";
        assert_eq!(String::from_utf8(encode(&img)).unwrap(), expected);
    }

    /// Eight rows make two bands; a run of eight columns is `!8`.
    #[test]
    fn bands_of_six_rows_and_run_lengths() {
        let img = RgbImage::from_pixel(8, 8, Rgb([0, 0, 0]));
        // Band 0: six rows → bits 0..5 = 63 → '~' (126); band 1: two rows → 3 → 'B'.
        let expected = "\x1bPq\"1;1;8;8#0;2;0;0;0#0!8~-#0!8B\x1b\\";
        assert_eq!(String::from_utf8(encode(&img)).unwrap(), expected);
    }

    #[test]
    fn quantisation_rounds_to_the_nearest_level() {
        assert_eq!(level(0), 0);
        assert_eq!(level(25), 0);
        assert_eq!(level(26), 1);
        assert_eq!(level(51), 1);
        assert_eq!(level(255), 5);
        assert_eq!(index([255, 255, 255]), 215);
        assert_eq!(index([128, 128, 128]), 36 * 3 + 6 * 3 + 3);
    }
}
