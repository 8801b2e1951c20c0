//! A 5×7 bitmap font of the product's own, for the labels drawn into
//! previews: A–Z, 0–9 and a few signs. Lower case is drawn in capitals;
//! anything else is drawn as `?`. No font file is shipped or loaded.

use image::{Rgb, RgbImage};

/// Glyph width in font pixels.
pub const GLYPH_W: u32 = 5;
/// Glyph height in font pixels.
pub const GLYPH_H: u32 = 7;
/// Advance from one glyph to the next, in font pixels (one blank column).
pub const ADVANCE: u32 = GLYPH_W + 1;

/// Seven rows per glyph, the top row first; bit 4 is the leftmost column.
fn rows(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ' ' => [0; 7],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '|' => [0x04; 7],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        '\'' => [0x04, 0x04, 0x08, 0, 0, 0, 0],
        '&' => [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

/// Whether the font pixel at (`col`, `row`) of `c` is ink.
pub fn ink(c: char, col: u32, row: u32) -> bool {
    col < GLYPH_W && row < GLYPH_H && rows(c)[row as usize] & (0x10 >> col) != 0
}

/// Width in image pixels of `text` drawn at `scale` (no trailing gap).
pub fn text_width(text: &str, scale: u32) -> u32 {
    let n = text.chars().count() as u32;
    (n * ADVANCE).saturating_sub(1) * scale
}

/// Draws `text` with its top-left corner at (`x`, `y`), each font pixel a
/// `scale`×`scale` square; what falls outside the image is clipped.
pub fn draw_text(img: &mut RgbImage, x: u32, y: u32, scale: u32, text: &str, colour: Rgb<u8>) {
    let (w, h) = img.dimensions();
    for (i, c) in text.chars().enumerate() {
        let gx = x + i as u32 * ADVANCE * scale;
        for row in 0..GLYPH_H {
            for col in 0..GLYPH_W {
                if !ink(c, col, row) {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (gx + col * scale + dx, y + row * scale + dy);
                        if px < w && py < h {
                            img.put_pixel(px, py, colour);
                        }
                    }
                }
            }
        }
    }
}

/// The longest prefix of `text` that fits in `width` pixels at `scale`,
/// ending in `..` when cut.
pub fn fit(text: &str, width: u32, scale: u32) -> String {
    if text_width(text, scale) <= width {
        return text.to_string();
    }
    let mut out: String = String::new();
    for c in text.chars() {
        let candidate = format!("{out}{c}..");
        if text_width(&candidate, scale) > width {
            break;
        }
        out.push(c);
    }
    format!("{out}..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const INK: Rgb<u8> = Rgb([0, 0, 0]);

    #[test]
    fn the_letter_a_is_drawn_where_its_rows_say() {
        // 'A' = .###. / #...# / #...# / ##### / #...# / #...# / #...#
        let mut img = RgbImage::from_pixel(20, 20, Rgb([255, 255, 255]));
        draw_text(&mut img, 3, 4, 2, "A", INK);
        let black = |x: u32, y: u32| img.get_pixel(x, y).0 == [0, 0, 0];
        // Top row: columns 1..=3 ink, 0 and 4 blank; each font pixel 2×2.
        assert!(!black(3, 4) && !black(4, 5));
        assert!(black(5, 4) && black(6, 5) && black(9, 4));
        assert!(!black(11, 4));
        // Row 3 (the bar) is ink across all five columns.
        assert!((3..13).all(|x| black(x, 4 + 6) && black(x, 4 + 7)));
        // Row 4: the inside is blank.
        assert!(black(3, 12) && !black(5, 12) && black(11, 12));
        // Nothing below row 6.
        assert!((0..20).all(|x| !black(x, 4 + 14)));
        let inked = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
        assert_eq!(inked, (3 + 2 + 2 + 5 + 2 + 2 + 2) * 4);
    }

    #[test]
    fn lower_case_is_drawn_in_capitals_and_unknown_signs_as_a_question_mark() {
        for (col, row) in [(0, 0), (1, 0), (0, 3), (4, 6)] {
            assert_eq!(ink('k', col, row), ink('K', col, row));
            assert_eq!(ink('é', col, row), ink('?', col, row));
        }
    }

    #[test]
    fn widths_and_fitting() {
        assert_eq!(text_width("AB", 3), (2 * 6 - 1) * 3);
        assert_eq!(text_width("", 3), 0);
        assert_eq!(fit("SHORT", 100, 1), "SHORT");
        let cut = fit("A VERY LONG PHOTO NAME.JPG", 60, 1);
        assert!(cut.ends_with(".."), "{cut}");
        assert!(text_width(&cut, 1) <= 60);
    }

    #[test]
    fn text_past_the_edge_is_clipped_not_a_panic() {
        let mut img = RgbImage::new(4, 4);
        draw_text(&mut img, 2, 2, 3, "WW", Rgb([1, 2, 3]));
    }
}
