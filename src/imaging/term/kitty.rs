//! kitty's terminal graphics protocol: the PNG sent with `a=T` (transmit
//! and display) and `f=100` (PNG), base64 in chunks of at most 4096 bytes,
//! each chunk its own APC `ESC _ G <keys> ; <payload> ESC \`, all but the
//! last marked `m=1`, the last `m=0`. `q=2` keeps the terminal from
//! answering on stdin, where the answer would land in the rating prompt.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Largest base64 payload of one escape sequence, as the protocol allows.
pub const CHUNK: usize = 4096;

/// The escape sequences that show `png`, scaled to `columns` cells wide
/// when given (`c=`).
pub fn encode(png: &[u8], columns: Option<u16>) -> Vec<u8> {
    let data = STANDARD.encode(png);
    let chunks: Vec<&[u8]> = data.as_bytes().chunks(CHUNK).collect();
    let mut out = Vec::with_capacity(data.len() + chunks.len() * 16 + 32);
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.iter().enumerate() {
        let more = u8::from(i < last);
        out.extend_from_slice(b"\x1b_G");
        if i == 0 {
            out.extend_from_slice(b"a=T,f=100,");
            if let Some(c) = columns {
                out.extend_from_slice(format!("c={c},").as_bytes());
            }
        }
        out.extend_from_slice(format!("q=2,m={more};").as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\x1b\\");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn tiny() -> RgbImage {
        RgbImage::from_fn(2, 2, |x, y| match (x, y) {
            (0, 0) => Rgb([255, 0, 0]),
            (1, 0) => Rgb([0, 0, 255]),
            (0, 1) => Rgb([255, 0, 0]),
            _ => Rgb([255, 255, 255]),
        })
    }

    #[test]
    fn a_small_image_is_one_escape_sequence_whose_payload_is_the_png() {
        let img = tiny();
        let bytes = encode(&super::super::png(&img), None);
        let text = String::from_utf8(bytes).unwrap();
        let body = text
            .strip_prefix("\x1b_Ga=T,f=100,q=2,m=0;")
            .and_then(|t| t.strip_suffix("\x1b\\"))
            .unwrap_or_else(|| panic!("not one kitty APC: {text:?}"));
        let png = STANDARD.decode(body).unwrap();
        let back = image::load_from_memory(&png).unwrap().into_rgb8();
        assert_eq!(back, img);
    }

    #[test]
    fn a_large_payload_is_chunked_at_4096_with_m_flags() {
        // 6000 payload bytes → 8000 base64 bytes → chunks of 4096 and 3904.
        let payload: Vec<u8> = (0..6000u32).map(|i| (i * 7 % 251) as u8).collect();
        let text = String::from_utf8(encode(&payload, Some(80))).unwrap();
        let parts: Vec<&str> = text.split("\x1b\\").filter(|p| !p.is_empty()).collect();
        assert_eq!(parts.len(), 2);
        let (keys0, data0) = parts[0]
            .strip_prefix("\x1b_G")
            .unwrap()
            .split_once(';')
            .unwrap();
        let (keys1, data1) = parts[1]
            .strip_prefix("\x1b_G")
            .unwrap()
            .split_once(';')
            .unwrap();
        assert_eq!(keys0, "a=T,f=100,c=80,q=2,m=1");
        assert_eq!(keys1, "q=2,m=0");
        assert_eq!((data0.len(), data1.len()), (4096, 3904));
        assert_eq!(STANDARD.decode(format!("{data0}{data1}")).unwrap(), payload);
    }
}
