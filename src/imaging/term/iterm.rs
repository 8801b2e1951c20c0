//! iTerm2's inline images (also understood by WezTerm):
//! `ESC ] 1337 ; File=inline=1;size=<bytes>[;width=<cells>] : <base64> BEL`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The escape sequence that shows the image file `bytes` (PNG here),
/// `columns` cells wide when given, keeping its aspect ratio.
pub fn encode(bytes: &[u8], columns: Option<u16>) -> Vec<u8> {
    let mut out = format!("\x1b]1337;File=inline=1;size={}", bytes.len()).into_bytes();
    if let Some(c) = columns {
        out.extend_from_slice(format!(";width={c};preserveAspectRatio=1").as_bytes());
    }
    out.push(b':');
    out.extend_from_slice(STANDARD.encode(bytes).as_bytes());
    out.push(0x07);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn the_sequence_carries_the_size_and_the_png() {
        let img = RgbImage::from_fn(2, 2, |x, y| Rgb([x as u8 * 200, y as u8 * 100, 7]));
        let png = super::super::png(&img);
        let text = String::from_utf8(encode(&png, None)).unwrap();
        let prefix = format!("\x1b]1337;File=inline=1;size={}:", png.len());
        let body = text
            .strip_prefix(&prefix)
            .and_then(|t| t.strip_suffix('\x07'))
            .unwrap_or_else(|| panic!("not an OSC 1337 File: {text:?}"));
        let back = image::load_from_memory(&STANDARD.decode(body).unwrap())
            .unwrap()
            .into_rgb8();
        assert_eq!(back, img);
    }

    #[test]
    fn a_width_in_cells_is_an_argument_before_the_colon() {
        let text = String::from_utf8(encode(b"abc", Some(100))).unwrap();
        assert_eq!(
            text,
            "\x1b]1337;File=inline=1;size=3;width=100;preserveAspectRatio=1:YWJj\x07"
        );
    }
}
