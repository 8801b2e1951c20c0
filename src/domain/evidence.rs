//! What the learning model learns from: renders in their room's context,
//! each designer's latest stars for each render, and preferences between
//! two renders.
//!
//! One latent quality per render; every designer's judgement is evidence on
//! it. A designer's stars never overwrite another designer's: an
//! observation is (render, designer, stars), and only a designer's own
//! re-rating replaces their earlier stars.

use serde::{Deserialize, Serialize};

use super::{ExperimentId, Stars, Trial};

/// The name of ratings given without `--by` (and without `rating.designer`
/// in the config): one more designer to the model, shown as "unnamed".
pub const UNNAMED_DESIGNER: &str = "";

/// Measured features of a room photo, each scaled to 0–1 so they can be
/// model inputs beside the unit-scaled parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhotoFeatures {
    /// Mean luminance (0 black, 1 white).
    pub brightness: f64,
    /// Spread of luminance (RMS contrast, scaled).
    pub contrast: f64,
    /// Colour temperature: 0 cool/blue, 0.5 neutral, 1 warm/orange.
    pub warmth: f64,
    /// Hasler–Süsstrunk colourfulness, scaled.
    pub colourfulness: f64,
    /// Edge density: how cluttered the room looks.
    pub clutter: f64,
    /// Share of the picture that is window or sky light (near-white, bright regions).
    pub window_light: f64,
}

impl PhotoFeatures {
    /// How many features there are (model input dimensions).
    pub const COUNT: usize = 6;

    /// The features in a fixed order, for the model.
    pub fn as_array(&self) -> [f64; Self::COUNT] {
        [
            self.brightness,
            self.contrast,
            self.warmth,
            self.colourfulness,
            self.clutter,
            self.window_light,
        ]
    }

    /// The names in the same order, for `status`, `--context` and JSON.
    pub const NAMES: [&'static str; Self::COUNT] = [
        "brightness",
        "contrast",
        "warmth",
        "colourfulness",
        "clutter",
        "window_light",
    ];
}

/// The room a render was made for: the photo's measured features (absent
/// for a `suggest` with no photo) and the designer's tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomContext {
    /// Features of the photo, if there was one.
    pub features: Option<PhotoFeatures>,
    /// `--room` (kitchen, living room, …).
    pub room: Option<String>,
    /// `--style` (nordic, industrial, …).
    pub style: Option<String>,
}

/// A render (or a proposed parameter set) the model has evidence on.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderPoint {
    /// The experiment.
    pub id: ExperimentId,
    /// Provider arm and parameters.
    pub trial: Trial,
    /// The room it was made for.
    pub context: RoomContext,
}

/// One designer's latest stars for one render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StarJudgement {
    /// Index into [`Evidence::renders`].
    pub render: usize,
    /// Index into [`Evidence::designers`].
    pub designer: usize,
    /// The stars.
    pub stars: Stars,
}

/// One designer's latest preference between two renders of one photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreferenceJudgement {
    /// Index into [`Evidence::renders`] of the render preferred (either one for a tie).
    pub better: usize,
    /// Index into [`Evidence::renders`] of the other render.
    pub worse: usize,
    /// Index into [`Evidence::designers`].
    pub designer: usize,
    /// "Same": neither was better.
    pub tie: bool,
}

/// Everything the learning model is told, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Renders with at least one judgement.
    pub renders: Vec<RenderPoint>,
    /// Designer names ([`UNNAMED_DESIGNER`] for ratings without a name).
    pub designers: Vec<String>,
    /// Each designer's latest stars per render.
    pub stars: Vec<StarJudgement>,
    /// Each designer's latest preference per pair of renders.
    pub preferences: Vec<PreferenceJudgement>,
}

impl Evidence {
    /// The index of a designer, added if new.
    pub fn designer_index(&mut self, name: &str) -> usize {
        match self.designers.iter().position(|d| d == name) {
            Some(i) => i,
            None => {
                self.designers.push(name.to_string());
                self.designers.len() - 1
            }
        }
    }

    /// The index of a render, added if new.
    pub fn render_index(&mut self, point: RenderPoint) -> usize {
        match self.renders.iter().position(|r| r.id == point.id) {
            Some(i) => i,
            None => {
                self.renders.push(point);
                self.renders.len() - 1
            }
        }
    }

    /// How many judgements (stars and preferences) there are.
    pub fn judgements(&self) -> usize {
        self.stars.len() + self.preferences.len()
    }
}
