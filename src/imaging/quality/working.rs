//! The copies every render feature is measured on: a working copy (long
//! side at most [`WORK_SIDE`]) for tones, detail and noise, and a layout
//! copy (long side at most [`LAYOUT_SIDE`]) for the room's structure.
//!
//! The original is reduced once per photo; a render the same size as its
//! original is reduced the same way (whole-pixel block averages), so the
//! two copies line up pixel for pixel. A render of another size or aspect
//! (a provider may return another resolution) is reduced to about the
//! working size and then resampled to exactly the original's working
//! dimensions: a different aspect ratio becomes a stretch, which the
//! structure features see as a loss.

use image::RgbImage;
use image::imageops::{self, FilterType};

use crate::imaging::blur::Plane;
use crate::imaging::context::{LUMA_709, block_average};

/// Long side, in pixels, of the working copy (tones, detail, noise, halos).
pub const WORK_SIDE: u32 = 512;

/// Long side, in pixels, of the layout copy (structure, edges): the scale
/// of walls and furniture, where a provider's redrawn textures no longer
/// count.
pub const LAYOUT_SIDE: u32 = 256;

/// The integer block size that brings `(width, height)` to a long side of
/// at most `side`.
pub fn block_factor(width: u32, height: u32, side: u32) -> u32 {
    width.max(height).div_ceil(side).max(1)
}

/// The working copy of an original photo.
pub fn reduce_original(photo: &RgbImage) -> RgbImage {
    let factor = block_factor(photo.width(), photo.height(), WORK_SIDE);
    if factor == 1 {
        return photo.clone();
    }
    block_average(photo, factor)
}

/// The working copy of a render of the photo whose original is
/// `original_size` and whose working copy is `work_size`.
pub fn reduce_render(
    render: &RgbImage,
    original_size: (u32, u32),
    work_size: (u32, u32),
) -> RgbImage {
    if render.dimensions() == original_size {
        return reduce_original(render);
    }
    // Block-average down to no less than the working size, then resample.
    let long = render.width().max(render.height());
    let factor = (long / WORK_SIDE.max(1)).max(1);
    let reduced = if factor > 1 {
        block_average(render, factor)
    } else {
        render.clone()
    };
    if reduced.dimensions() == work_size {
        return reduced;
    }
    imageops::resize(
        &reduced,
        work_size.0.max(1),
        work_size.1.max(1),
        FilterType::Triangle,
    )
}

/// The layout copy of a working copy.
pub fn layout_copy(work: &RgbImage) -> RgbImage {
    let factor = block_factor(work.width(), work.height(), LAYOUT_SIDE);
    if factor == 1 {
        return work.clone();
    }
    block_average(work, factor)
}

/// Rec. 709 luma on 0–255 (gamma-encoded values, as in `context`).
pub fn luma_plane(rgb: &RgbImage) -> Plane {
    Plane {
        width: rgb.width() as usize,
        height: rgb.height() as usize,
        data: rgb
            .pixels()
            .map(|p| {
                (LUMA_709[0] * p.0[0] as f64
                    + LUMA_709[1] * p.0[1] as f64
                    + LUMA_709[2] * p.0[2] as f64) as f32
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn a_same_size_render_lines_up_with_its_original() {
        let photo = RgbImage::from_fn(1500, 1000, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 9])
        });
        let work = reduce_original(&photo);
        // 1500 / ceil(1500 / 512) = 1500 / 3 = 500 × 334 (a ragged last row).
        assert_eq!(work.dimensions(), (500, 334));
        assert_eq!(reduce_render(&photo, (1500, 1000), work.dimensions()), work);
        assert_eq!(layout_copy(&work).dimensions(), (250, 167));
    }

    #[test]
    fn a_render_of_another_size_or_aspect_is_brought_to_the_working_size() {
        let work_size = (500, 334);
        for size in [(1024, 683), (1024, 1024), (300, 200), (1, 1)] {
            let render = RgbImage::from_pixel(size.0, size.1, Rgb([10, 20, 30]));
            let reduced = reduce_render(&render, (1500, 1000), work_size);
            assert_eq!(reduced.dimensions(), work_size, "{size:?}");
            assert_eq!(reduced.get_pixel(7, 7).0, [10, 20, 30]);
        }
    }
}
