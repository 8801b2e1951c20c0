//! Inline images for terminals: pure encoders from an image to the bytes
//! of one terminal graphics protocol. Which protocol a terminal speaks is
//! decided by the CLI (it reads the environment); these only encode.

pub mod iterm;
pub mod kitty;
pub mod sixel;

use image::RgbImage;

/// A terminal graphics protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// kitty's graphics protocol (APC `ESC _ G`), PNG payload.
    Kitty,
    /// iTerm2's inline images (OSC 1337 `File=`), also WezTerm's.
    Iterm,
    /// DEC sixel graphics (DCS `ESC P q`), 216-colour palette.
    Sixel,
}

/// The escape sequence that shows `img` with `protocol`; `columns`, when
/// known, is the width in character cells to scale it to (kitty and iTerm2
/// scale; sixel draws pixels as they are, so size the image first).
pub fn encode(protocol: Protocol, img: &RgbImage, columns: Option<u16>) -> Vec<u8> {
    match protocol {
        Protocol::Kitty => kitty::encode(&png(img), columns),
        Protocol::Iterm => iterm::encode(&png(img), columns),
        Protocol::Sixel => sixel::encode(img),
    }
}

/// `img` as PNG bytes.
///
/// # Panics
/// Never: encoding an in-memory RGB8 image into a `Vec` cannot fail.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG-encoding an in-memory RGB image into a Vec cannot fail");
    out.into_inner()
}
