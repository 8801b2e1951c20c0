//! Reading a designer's photo safely: content sniffing, size limits before
//! decoding, truncation checks (markers and scan coverage), EXIF orientation, and conversion to 8-bit RGB.
//!
//! Conversions, documented because they change pixels: 16-bit channels are
//! rounded to 8 bits (`round(v * 255 / 65535)`); an alpha channel is
//! composited onto white (a photo's transparent corners become white paper,
//! not black); grey images stay grey through the whole pipeline; CMYK JPEGs
//! are converted to RGB by the decoder.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::Path;

use super::jpeg_markers::{self, JpegStructure};
use super::jpeg_scan::{self, Coverage};
use crate::error::{Error, ImageProblem, Result};

/// Limits checked before and while decoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadLimits {
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Smallest accepted width or height.
    pub min_side: u32,
    /// Largest accepted file size in bytes.
    pub max_file_bytes: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_pixels: 64_000_000,
            min_side: 32,
            max_file_bytes: 100 * 1024 * 1024,
        }
    }
}

/// A decoded, upright, 8-bit RGB photo with the facts recorded about it.
pub struct LoadedImage {
    /// The pixels, upright (EXIF orientation applied).
    pub rgb: RgbImage,
    /// The file's bytes, as read.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The detected format.
    pub format: ImageFormat,
    /// True when the source had no colour (grey or grey+alpha).
    pub grayscale: bool,
    /// True when an alpha channel was composited onto white.
    pub flattened_alpha: bool,
}

impl LoadedImage {
    /// Lowercase extension for the format, e.g. `jpg`.
    pub fn extension(&self) -> &'static str {
        match self.format {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::WebP => "webp",
            _ => "img",
        }
    }
}

/// Reads, checks and decodes `path`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Image`] naming the file
/// and the problem for anything that is not a usable photo.
pub fn load(path: &Path, limits: &LoadLimits) -> Result<LoadedImage> {
    let reject = |problem: ImageProblem| Error::Image {
        path: path.to_path_buf(),
        problem,
    };
    let metadata = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if let Some(kind) = not_regular(&metadata) {
        return Err(reject(ImageProblem::NotAnImage(kind.into())));
    }
    let mut file = open_regular(path).map_err(|e| Error::io("cannot read", path, e))?;
    // The handle's own type: the path may have been swapped since the check above.
    let metadata = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if let Some(kind) = not_regular(&metadata) {
        return Err(reject(ImageProblem::NotAnImage(kind.into())));
    }
    let too_large = |len: u64| {
        reject(ImageProblem::TooLarge(format!(
            "the file is {} MB, the limit is {} MB (enhance.max_file_mb)",
            len / (1024 * 1024),
            limits.max_file_bytes / (1024 * 1024)
        )))
    };
    if metadata.len() > limits.max_file_bytes {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while it is read stops at the limit.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut file, limits.max_file_bytes + 1),
        &mut bytes,
    )
    .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    let image = decode(&bytes, limits).map_err(reject)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let (rgb, grayscale, flattened_alpha, format) = image;
    Ok(LoadedImage {
        rgb,
        bytes,
        sha256,
        format,
        grayscale,
        flattened_alpha,
    })
}

/// What a path is when it is not a regular file: a FIFO or a device would
/// block a read forever (or never end), so only regular files are read.
fn not_regular(metadata: &std::fs::Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("it is a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("it is a FIFO (named pipe), not a regular file");
        }
        if kind.is_socket() {
            return Some("it is a socket, not a regular file");
        }
        if kind.is_block_device() || kind.is_char_device() {
            return Some("it is a device, not a regular file");
        }
    }
    Some("not a regular file")
}

/// Opens for reading without blocking: opening a FIFO that no one writes
/// to would otherwise wait forever, before the handle's type can be checked.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

type Decoded = (RgbImage, bool, bool, ImageFormat);

/// Decodes in-memory bytes with all checks; errors carry no path.
pub fn decode(bytes: &[u8], limits: &LoadLimits) -> Result<Decoded, ImageProblem> {
    let format = image::guess_format(bytes)
        .map_err(|_| ImageProblem::NotAnImage("unrecognised content".into()))?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(ImageProblem::NotAnImage(format!(
            "{} files are not supported",
            format.extensions_str().first().unwrap_or(&"this format")
        )));
    }
    if format == ImageFormat::Jpeg {
        match jpeg_markers::check(bytes) {
            JpegStructure::Complete => {}
            JpegStructure::Truncated => return Err(ImageProblem::Truncated),
            JpegStructure::Malformed => {
                return Err(ImageProblem::Corrupt("broken JPEG marker structure".into()));
            }
        }
        // A cut file with a fake end marker passes the marker walk; its
        // scan data does not cover the image.
        match jpeg_scan::coverage(bytes) {
            Coverage::EndsEarly { decoded, expected } => {
                tracing::debug!(decoded, expected, "JPEG scan data ends early");
                return Err(ImageProblem::Truncated);
            }
            // The decoder judges what the walk cannot follow.
            Coverage::Corrupt | Coverage::Unchecked | Coverage::Complete => {}
        }
    }

    let reader = || {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        let mut l = image::Limits::default();
        // Enough for the largest accepted image in RGBA16 plus decoder buffers.
        l.max_alloc = Some((limits.max_pixels * 8 + (64 << 20)).max(512 << 20));
        r.limits(l);
        r
    };
    let (width, height) = reader().into_dimensions().map_err(describe)?;
    let pixels = width as u64 * height as u64;
    if pixels > limits.max_pixels {
        return Err(ImageProblem::TooLarge(format!(
            "{width}x{height} is {:.1} megapixels, the limit is {:.1} (enhance.max_megapixels)",
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    if width.max(height) > super::encode::MAX_JPEG_SIDE {
        return Err(ImageProblem::TooLarge(format!(
            "{width}x{height}: a side above {} pixels cannot be written as JPEG",
            super::encode::MAX_JPEG_SIDE
        )));
    }
    if width.min(height) < limits.min_side {
        return Err(ImageProblem::TooSmall {
            width,
            height,
            min_side: limits.min_side,
        });
    }

    let mut decoder = reader().into_decoder().map_err(describe)?;
    let orientation = decoder.orientation().map_err(describe)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(describe)?;
    image.apply_orientation(orientation);

    let color = image.color();
    let grayscale = !color.has_color();
    let flattened_alpha = color.has_alpha();
    let rgb = if flattened_alpha {
        flatten_onto_white(&image)
    } else {
        image.into_rgb8()
    };
    Ok((rgb, grayscale, flattened_alpha, format))
}

/// Composites any image with alpha onto an opaque white background.
fn flatten_onto_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba32f();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = src.0[3].clamp(0.0, 1.0);
        for c in 0..3 {
            let v = src.0[c].clamp(0.0, 1.0) * a + (1.0 - a);
            dst.0[c] = (v * 255.0).round() as u8;
        }
    }
    out
}

fn describe(err: image::ImageError) -> ImageProblem {
    use image::ImageError as E;
    match err {
        E::Limits(l) => {
            ImageProblem::TooLarge(format!("decoding would exceed the memory limit ({l})"))
        }
        E::Unsupported(u) => ImageProblem::NotAnImage(u.to_string()),
        E::Decoding(d) => ImageProblem::Corrupt(d.to_string()),
        other => ImageProblem::Corrupt(other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn problem(name: &str) -> ImageProblem {
        match load(&fixture(name), &LoadLimits::default()) {
            Err(Error::Image { problem, .. }) => problem,
            Err(other) => panic!("{name}: unexpected error {other}"),
            Ok(_) => panic!("{name} was accepted"),
        }
    }

    #[test]
    fn bad_files_are_rejected_for_the_right_reason() {
        assert_eq!(
            problem("edge/corrupt_truncated.jpg"),
            ImageProblem::Truncated
        );
        assert!(matches!(
            problem("edge/not_an_image.jpg"),
            ImageProblem::NotAnImage(_)
        ));
        assert!(matches!(
            problem("edge/bomb_30000x30000.png"),
            ImageProblem::TooLarge(_)
        ));
        assert!(matches!(
            problem("edge/bomb_header_100000x100000.png"),
            ImageProblem::TooLarge(_)
        ));
        assert!(matches!(
            problem("edge/tiny_1x1.png"),
            ImageProblem::TooSmall { .. }
        ));
        assert!(matches!(
            problem("edge/tiny_1x1.jpg"),
            ImageProblem::TooSmall { .. }
        ));
    }

    #[test]
    fn exif_orientation_is_applied_once() {
        let img = load(
            &fixture("edge/exif_orientation6.jpg"),
            &LoadLimits::default(),
        )
        .unwrap();
        assert_eq!(img.rgb.dimensions(), (800, 600));
        let upright = load(
            &fixture("images/room_hotel_desk.jpg"),
            &LoadLimits::default(),
        )
        .unwrap();
        // Same scene upright: mean absolute difference is small (JPEG re-encoding only).
        let mad: f64 = img
            .rgb
            .as_raw()
            .iter()
            .zip(upright.rgb.as_raw())
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / img.rgb.as_raw().len() as f64;
        assert!(mad < 8.0, "mean abs diff {mad}");
    }

    #[test]
    fn sixteen_bit_png_is_rounded_to_8_bits() {
        let img = load(&fixture("edge/rgb16.png"), &LoadLimits::default()).unwrap();
        assert_eq!(img.rgb.dimensions(), (512, 256));
        let raw = image::open(fixture("edge/rgb16.png")).unwrap().into_rgb16();
        for (a, b) in img.rgb.as_raw().iter().zip(raw.as_raw()).take(5000) {
            let expected = (*b as f64 * 255.0 / 65535.0).round() as u8;
            assert_eq!(*a, expected);
        }
    }

    #[test]
    fn alpha_is_flattened_onto_white() {
        let img = load(&fixture("edge/alpha_rgba.png"), &LoadLimits::default()).unwrap();
        assert!(img.flattened_alpha);
        assert_eq!(
            img.rgb.get_pixel(0, 0).0,
            [255, 255, 255],
            "transparent corner"
        );
    }

    #[test]
    fn grayscale_cmyk_and_progressive_are_accepted() {
        let grey = load(&fixture("edge/grayscale.jpg"), &LoadLimits::default()).unwrap();
        assert!(grey.grayscale);
        let cmyk = load(&fixture("edge/cmyk.jpg"), &LoadLimits::default()).unwrap();
        assert!(!cmyk.grayscale);
        let progressive = load(&fixture("edge/progressive.jpg"), &LoadLimits::default()).unwrap();
        let baseline = load(&fixture("images/coffee.jpg"), &LoadLimits::default()).unwrap();
        assert_eq!(progressive.rgb, baseline.rgb);
    }

    #[test]
    fn a_limit_below_the_image_rejects_it_before_decoding() {
        let limits = LoadLimits {
            max_pixels: 100_000,
            ..LoadLimits::default()
        };
        let err = load(&fixture("images/room_hotel_desk.jpg"), &limits)
            .err()
            .unwrap();
        assert!(err.to_string().contains("800x600"), "{err}");
    }
}
