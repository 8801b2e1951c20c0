//! A walk over a JPEG's marker segments to tell a complete file from a truncated one.
//!
//! The `image` crate decodes a JPEG cut in half without an error and fills
//! the missing rows with grey, so latina checks the structure itself: from
//! SOI, each marker segment is skipped by its length (so an EXIF thumbnail's
//! own end marker inside APP1 is never mistaken for the end), entropy-coded
//! data after each SOS is scanned for the next marker, and the file is
//! complete only if the walk reaches EOI. Data after EOI (some cameras append
//! more) is allowed.

/// Why a JPEG is not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegStructure {
    /// SOI … EOI found.
    Complete,
    /// The data ends before EOI.
    Truncated,
    /// Not a JPEG marker stream (no SOI, or garbage where a marker must be).
    Malformed,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

/// Walks the marker structure of `data`.
pub fn check(data: &[u8]) -> JpegStructure {
    if data.len() < 4 || data[0] != 0xFF || data[1] != SOI {
        return JpegStructure::Malformed;
    }
    let mut i = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if i >= data.len() {
            return JpegStructure::Truncated;
        }
        if data[i] != 0xFF {
            return JpegStructure::Malformed;
        }
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return JpegStructure::Truncated;
        };
        i += 1;
        match marker {
            EOI => return JpegStructure::Complete,
            0x01 | 0xD0..=0xD7 => continue, // standalone: TEM, RSTn
            0x00 => return JpegStructure::Malformed,
            _ => {}
        }
        let Some(len) = data
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        else {
            return JpegStructure::Truncated;
        };
        if len < 2 {
            return JpegStructure::Malformed;
        }
        i += len;
        if i > data.len() {
            return JpegStructure::Truncated;
        }
        if marker == SOS {
            // Entropy-coded data: 0xFF00 is a stuffed byte, 0xFFD0–D7 a restart marker.
            loop {
                let Some(pos) = data[i..].iter().position(|&b| b == 0xFF) else {
                    return JpegStructure::Truncated;
                };
                i += pos;
                match data.get(i + 1) {
                    None => return JpegStructure::Truncated,
                    Some(0x00) | Some(0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn complete_jpegs_of_every_kind_reach_eoi() {
        for name in [
            "images/room_hotel_desk.jpg",
            "images/coffee.jpg",
            "edge/progressive.jpg",
            "edge/grayscale.jpg",
            "edge/cmyk.jpg",
            "edge/exif_orientation6.jpg",
            "edge/tiny_1x1.jpg",
        ] {
            assert_eq!(check(&fixture(name)), JpegStructure::Complete, "{name}");
        }
    }

    #[test]
    fn truncated_fixture_is_truncated() {
        assert_eq!(
            check(&fixture("edge/corrupt_truncated.jpg")),
            JpegStructure::Truncated
        );
    }

    #[test]
    fn every_cut_of_a_real_photo_is_caught() {
        let full = fixture("images/coffee.jpg");
        for cut in (4..full.len() - 2).step_by(997) {
            assert_ne!(check(&full[..cut]), JpegStructure::Complete, "cut at {cut}");
        }
    }

    #[test]
    fn trailing_data_after_eoi_is_allowed() {
        let mut data = fixture("images/coffee.jpg");
        data.extend_from_slice(b"appended by some camera");
        assert_eq!(check(&data), JpegStructure::Complete);
    }

    #[test]
    fn text_is_malformed() {
        assert_eq!(check(b"hello, I am not a jpeg"), JpegStructure::Malformed);
    }
}
