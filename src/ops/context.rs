//! The room context of a batch, from the designer's flags and the photo:
//! `--context key=value` checked into [`ContextOverrides`], `--room` and
//! `--style` merged with it, the photo measured (imaging::context) and the
//! overrides applied, photos stored before features existed measured late
//! ([`backfill_photo_features`]), and the one place where a batch's context
//! meets the optimizer ([`ask_in_context`]).
//!
//! Storing is the store's; the numbers' definitions are imaging's.

use super::Workspace;
use crate::domain::ImageMeta;
use crate::domain::evidence::{PhotoFeatures, RoomContext};
use crate::error::{ContextProblem, Error, Result};
use crate::imaging::{LoadLimits, context, load};
use crate::optim::ModelQuery;
use crate::optim::Suggestion;
use crate::store::Store;

/// `status` counts a photo as dark below this brightness …
pub const DARK_BELOW: f64 = 0.3;
/// … and as bright from this brightness on (normal in between).
pub const BRIGHT_FROM: f64 = 0.6;

/// `dark`, `normal` or `bright`: the bucket `status` counts a photo in.
pub fn brightness_bucket(brightness: f64) -> &'static str {
    if brightness < DARK_BELOW {
        "dark"
    } else if brightness < BRIGHT_FROM {
        "normal"
    } else {
        "bright"
    }
}

/// What `--context key=value` settings ask for, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextOverrides {
    /// `room=…`.
    pub room: Option<String>,
    /// `style=…`.
    pub style: Option<String>,
    /// A value in 0–1 per feature, in [`PhotoFeatures::NAMES`] order.
    pub features: [Option<f64>; PhotoFeatures::COUNT],
}

impl ContextOverrides {
    /// Checks `key=value` settings. Keys: `room`, `style` and the feature
    /// names; feature values are numbers in 0–1.
    ///
    /// # Errors
    /// [`Error::Context`] for a malformed pair, an unknown key, a value out
    /// of range, an empty tag, or a key given twice with different values.
    pub fn parse(pairs: &[String]) -> Result<ContextOverrides> {
        let mut out = ContextOverrides::default();
        for pair in pairs {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| problem(ContextProblem::NotKeyValue(pair.clone())))?;
            let (key, value) = (key.trim(), value.trim());
            match key {
                "room" => set_tag(&mut out.room, "room", value)?,
                "style" => set_tag(&mut out.style, "style", value)?,
                _ => {
                    let index = PhotoFeatures::NAMES
                        .iter()
                        .position(|n| *n == key)
                        .ok_or_else(|| {
                            problem(ContextProblem::UnknownKey {
                                key: key.to_string(),
                            })
                        })?;
                    let name = PhotoFeatures::NAMES[index];
                    let number = value
                        .parse::<f64>()
                        .ok()
                        .filter(|v| (0.0..=1.0).contains(v))
                        .ok_or_else(|| {
                            problem(ContextProblem::NotInUnitRange {
                                key: name,
                                value: value.to_string(),
                            })
                        })?;
                    match out.features[index] {
                        Some(first) if first != number => {
                            return Err(problem(ContextProblem::Conflicting {
                                key: name,
                                first: first.to_string(),
                                second: number.to_string(),
                            }));
                        }
                        _ => out.features[index] = Some(number),
                    }
                }
            }
        }
        Ok(out)
    }

    /// The names of the features set, in [`PhotoFeatures::NAMES`] order.
    pub fn overridden(&self) -> Vec<String> {
        PhotoFeatures::NAMES
            .iter()
            .zip(&self.features)
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| n.to_string())
            .collect()
    }

    /// The designer's metadata with `room=`/`style=` merged in.
    ///
    /// # Errors
    /// [`ContextProblem::Conflicting`] when `--room` (or `--style`) and
    /// `--context room=` disagree.
    pub fn tags(&self, meta: &ImageMeta) -> Result<ImageMeta> {
        let merge = |key: &'static str, flag: &Option<String>, context: &Option<String>| match (
            flag, context,
        ) {
            (Some(a), Some(b)) if a != b => Err(problem(ContextProblem::Conflicting {
                key,
                first: a.clone(),
                second: b.clone(),
            })),
            (a, b) => Ok(a.clone().or_else(|| b.clone())),
        };
        Ok(ImageMeta {
            room: merge("room", &meta.room, &self.room)?,
            style: merge("style", &meta.style, &self.style)?,
            ..meta.clone()
        })
    }

    /// The features a batch is proposed for: the measured ones with the
    /// overrides applied; without a photo, only all six set by hand.
    ///
    /// # Errors
    /// [`ContextProblem::PartialFeatures`] when some but not all features
    /// are set and there is no photo.
    pub fn features(&self, measured: Option<PhotoFeatures>) -> Result<Option<PhotoFeatures>> {
        let base = match measured {
            Some(m) => m.as_array(),
            None if self.features.iter().all(Option::is_none) => return Ok(None),
            None if self.features.iter().all(Option::is_some) => [0.0; PhotoFeatures::COUNT],
            None => {
                return Err(problem(ContextProblem::PartialFeatures {
                    given: self.overridden().join(", "),
                }));
            }
        };
        let v: Vec<f64> = base
            .iter()
            .zip(&self.features)
            .map(|(m, o)| o.unwrap_or(*m))
            .collect();
        Ok(Some(PhotoFeatures {
            brightness: v[0],
            contrast: v[1],
            warmth: v[2],
            colourfulness: v[3],
            clutter: v[4],
            window_light: v[5],
        }))
    }
}

fn set_tag(slot: &mut Option<String>, key: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(problem(ContextProblem::EmptyTag { key }));
    }
    match slot {
        Some(first) if first != value => Err(problem(ContextProblem::Conflicting {
            key,
            first: first.clone(),
            second: value.to_string(),
        })),
        _ => {
            *slot = Some(value.to_string());
            Ok(())
        }
    }
}

fn problem(p: ContextProblem) -> Error {
    Error::Context(p)
}

/// The limits a designer's photo is loaded with (`enhance` settings).
pub fn photo_limits(ws: &Workspace) -> LoadLimits {
    let cfg = &ws.config.enhance;
    LoadLimits {
        max_pixels: (cfg.max_megapixels * 1e6) as u64,
        min_side: cfg.min_side,
        max_file_bytes: cfg.max_file_mb * 1024 * 1024,
    }
}

/// Measures the photos recorded without features (stored before schema
/// 0012) from latina's copy of each, and records them; returns how many
/// were measured. A copy that is gone or unreadable is skipped with a
/// warning (its renders keep no features) and tried again next time.
pub fn backfill_photo_features(ws: &Workspace, store: &mut Store) -> Result<usize> {
    let missing = store.images_without_features()?;
    if missing.is_empty() {
        return Ok(0);
    }
    let limits = photo_limits(ws);
    let started = std::time::Instant::now();
    let mut measured = 0;
    for image in missing {
        match ws
            .storage
            .local_copy(&image.stored_path)
            .and_then(|local| load::load(&local, &limits))
        {
            Ok(loaded) => {
                let features = context::photo_features(&loaded.rgb);
                if store.set_photo_features(image.id, &features)? {
                    measured += 1;
                }
            }
            Err(e) => tracing::warn!(
                "cannot measure the room context of a stored photo: {}",
                crate::http::redact::scrub(&e.to_string())
            ),
        }
    }
    tracing::info!(
        photos = measured,
        ms = started.elapsed().as_millis() as u64,
        "measured the room context of photos stored before features existed"
    );
    Ok(measured)
}

/// Asks the optimizer for `count` suggestions for a batch in `context`,
/// for `designer` (their scale and taste; `None`: the studio's view).
///
/// This is the boundary where the room's context meets the learning model:
/// the studio model predicts in this room, so what was learned on rooms
/// like it serves this one.
pub fn ask_in_context(
    ws: &Workspace,
    store: &mut Store,
    count: usize,
    context: &RoomContext,
    designer: Option<&str>,
) -> Result<Vec<Suggestion>> {
    tracing::info!(
        room = context.room.as_deref().unwrap_or("-"),
        style = context.style.as_deref().unwrap_or("-"),
        features = ?context.features.map(|f| f.as_array()),
        designer = designer.unwrap_or("-"),
        "asking the optimizer in this room context"
    );
    let query = ModelQuery {
        designer: designer.map(str::to_string),
        context: context.clone(),
    };
    ws.ask_for(store, count, &query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[&str]) -> Result<ContextOverrides> {
        ContextOverrides::parse(&pairs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn measured() -> PhotoFeatures {
        PhotoFeatures {
            brightness: 0.5,
            contrast: 0.4,
            warmth: 0.6,
            colourfulness: 0.3,
            clutter: 0.1,
            window_light: 0.05,
        }
    }

    #[test]
    fn tags_and_features_are_parsed_and_applied() {
        let o = parse(&["room=kitchen", "brightness=0.2", "style = nordic"]).unwrap();
        assert_eq!(o.room.as_deref(), Some("kitchen"));
        assert_eq!(o.style.as_deref(), Some("nordic"));
        assert_eq!(o.overridden(), vec!["brightness".to_string()]);
        let f = o.features(Some(measured())).unwrap().unwrap();
        assert_eq!(f.brightness, 0.2);
        assert_eq!(f.contrast, 0.4);
        assert!(
            o.features(None)
                .unwrap_err()
                .to_string()
                .contains("--image")
        );
        assert_eq!(parse(&[]).unwrap().features(None).unwrap(), None);
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let err = |pairs: &[&str]| parse(pairs).unwrap_err().to_string();
        assert!(err(&["mood=calm"]).contains("known keys: room, style, brightness"));
        assert!(err(&["brightness=1.5"]).contains("from 0 to 1"));
        assert!(err(&["brightness=NaN"]).contains("from 0 to 1"));
        assert!(err(&["brightness"]).contains("key=value"));
        assert!(err(&["room="]).contains("needs a value"));
        assert!(err(&["room=a", "room=b"]).contains("given twice"));
        let o = parse(&["room=bath"]).unwrap();
        let meta = ImageMeta {
            room: Some("kitchen".into()),
            ..ImageMeta::default()
        };
        assert!(
            o.tags(&meta)
                .unwrap_err()
                .to_string()
                .contains("given twice")
        );
    }

    #[test]
    fn all_six_features_need_no_photo() {
        let o = parse(&[
            "brightness=0.1",
            "contrast=0.2",
            "warmth=0.3",
            "colourfulness=0.4",
            "clutter=0.5",
            "window_light=0.6",
        ])
        .unwrap();
        let f = o.features(None).unwrap().unwrap();
        assert_eq!(f.as_array(), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    }
}
