//! What a render looks like, measured: [`RenderFeatures`], the reward
//! model's pixel inputs and the structure guard's evidence.
//!
//! Each feature is a plain number on a fixed, documented scale, roughly
//! 0–1 with "higher = more of the property", so the reward model can take
//! them as inputs beside the unit-scaled parameters. How they are measured
//! is `imaging::quality`'s business; how they are stored, the store's.
//! Features that compare with the original photo (blur, halo, colour
//! shift, structure, edge agreement) are measured against the photo the
//! render was made from, at a fixed working scale, so a provider that
//! returns another resolution is measured the same way.

use serde::{Deserialize, Serialize};

/// Measured properties of one render, each on the scale its field states.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenderFeatures {
    /// Mean Rec. 709 luma of the render, 0 black – 1 white.
    pub exposure: f64,
    /// Share of pixels blown out: every channel at least 250 of 255 (0–1).
    pub highlight_clipping: f64,
    /// Share of pixels crushed to black: every channel at most 5 of 255 (0–1).
    pub shadow_clipping: f64,
    /// RMS contrast: the population standard deviation of luma (0–1)
    /// divided by 0.5, its largest possible value (0–1).
    pub contrast: f64,
    /// Hasler–Süsstrunk colourfulness M (0–255 values) divided by 110 and
    /// clamped to 1 (0 for a grey render).
    pub colourfulness: f64,
    /// Fine detail: `log10(1 + var)/4`, clamped to 0–1, where `var` is the
    /// variance of the 4-neighbour Laplacian of luma (0–255) on the
    /// working copy (long side 512): 0 flat, about 0.5 a soft photo, 1 a
    /// very busy or noisy one.
    pub sharpness: f64,
    /// Loss of fine detail against the original, 0–1: one minus the ratio
    /// of (Laplacian sd / luma sd) render to original, clamped; 0 when the
    /// render is at least as crisp, whatever its tones.
    pub blur: f64,
    /// Immerkær (1996) fast noise estimate σ of luma (0–255) on the working
    /// copy, divided by 25 and clamped to 1.
    pub noise: f64,
    /// Over-processing: halos and ringing next to strong edges. `log2` of
    /// how much the band-pass detail energy within a few pixels of the
    /// original's strong edges grew, relative to the growth of global
    /// contrast, divided by 2 and clamped to 0–1 (0 for a pure tone change
    /// or a softer render, 1 for four times the edge detail).
    pub halo: f64,
    /// Colour cast: the distance of the mean opponent chroma
    /// (`R − G`, `(R + G)/2 − B`, 0–255 values) from neutral grey, divided
    /// by 64 and clamped to 1 (0 for grey-world balance).
    pub colour_cast: f64,
    /// Change of the mean opponent chroma against the original, on the
    /// same scale as [`colour_cast`](Self::colour_cast) (0: same white balance).
    pub colour_shift: f64,
    /// Structure agreement with the original at the room's layout scale:
    /// the mean SSIM structure term of luma copies with long side 256,
    /// clamped to 0–1 (1 for the same layout whatever the tones).
    pub structure: f64,
    /// The weakest part of the room: the lowest mean structure term among
    /// a 4×4 grid of tiles of the layout copy, clamped to 0–1. An object
    /// pasted in or lost, or a bent wall, shows here even when the rest of
    /// the room is intact and the mean [`structure`](Self::structure) hardly moves.
    pub structure_local: f64,
    /// Edge-map agreement with the original at layout scale: F1 (Dice) of
    /// the two maps of strongest Sobel edges after a small blur, an edge
    /// counting as matched within one pixel (0–1; 1 on itself).
    pub edge_agreement: f64,
}

impl RenderFeatures {
    /// How many features there are (reward model input dimensions).
    pub const COUNT: usize = 14;

    /// The names in [`as_array`](Self::as_array) order, for JSON, `show`
    /// and the store's columns.
    pub const NAMES: [&'static str; Self::COUNT] = [
        "exposure",
        "highlight_clipping",
        "shadow_clipping",
        "contrast",
        "colourfulness",
        "sharpness",
        "blur",
        "noise",
        "halo",
        "colour_cast",
        "colour_shift",
        "structure",
        "structure_local",
        "edge_agreement",
    ];

    /// The features in a fixed order, for the model.
    pub fn as_array(&self) -> [f64; Self::COUNT] {
        [
            self.exposure,
            self.highlight_clipping,
            self.shadow_clipping,
            self.contrast,
            self.colourfulness,
            self.sharpness,
            self.blur,
            self.noise,
            self.halo,
            self.colour_cast,
            self.colour_shift,
            self.structure,
            self.structure_local,
            self.edge_agreement,
        ]
    }

    /// The inverse of [`as_array`](Self::as_array).
    pub fn from_array(values: [f64; Self::COUNT]) -> Self {
        let [
            exposure,
            highlight_clipping,
            shadow_clipping,
            contrast,
            colourfulness,
            sharpness,
            blur,
            noise,
            halo,
            colour_cast,
            colour_shift,
            structure,
            structure_local,
            edge_agreement,
        ] = values;
        RenderFeatures {
            exposure,
            highlight_clipping,
            shadow_clipping,
            contrast,
            colourfulness,
            sharpness,
            blur,
            noise,
            halo,
            colour_cast,
            colour_shift,
            structure,
            structure_local,
            edge_agreement,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_order_matches_the_names_and_round_trips() {
        let values: [f64; RenderFeatures::COUNT] = std::array::from_fn(|i| i as f64 / 20.0);
        let features = RenderFeatures::from_array(values);
        assert_eq!(features.as_array(), values);
        // The serialised field names are the NAMES, in order.
        let json = serde_json::to_value(features).unwrap();
        for (i, name) in RenderFeatures::NAMES.iter().enumerate() {
            assert_eq!(json[name].as_f64(), Some(values[i]), "{name}");
        }
        assert_eq!(json.as_object().unwrap().len(), RenderFeatures::COUNT);
    }
}
