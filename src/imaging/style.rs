//! The prompt vocabulary the built-in engines understand.
//!
//! The offline engines cannot follow free text, but they read the phrases
//! below so that an evolved prompt changes what they render, as it would on
//! a real model. Each phrase nudges one or more intents in [-1, 1]. Phrases
//! in the negative prompt count against their intents at half weight
//! ("oversaturated" there means: less saturation). Matching is
//! case-insensitive, on word boundaries, longest phrase first, and each piece
//! of text is used by one phrase only ("soft natural light" is not also
//! "natural light"). The table is printed in README.md.

/// What a prompt asks of the look, each in [-1, 1]; 0 is neutral.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StyleIntent {
    /// + warm (amber) light, − cool (blue) light.
    pub warmth: f32,
    /// + brighter, airier exposure, − darker, moodier.
    pub light: f32,
    /// + more global contrast.
    pub contrast: f32,
    /// + soft, diffused light: gentler contrast, lifted shadows.
    pub softness: f32,
    /// + richer colour, − muted colour.
    pub saturation: f32,
    /// + neutral, accurate white balance.
    pub color_accuracy: f32,
    /// + deeper shadows.
    pub shadow_depth: f32,
    /// + crisper fine texture.
    pub crispness: f32,
    /// + stronger sense of depth (local contrast, gentle vignette).
    pub depth: f32,
    /// + balanced exposure: recover highlights and shadows (HDR-like).
    pub balance: f32,
}

/// Which intent a phrase moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// [`StyleIntent::warmth`]
    Warmth,
    /// [`StyleIntent::light`]
    Light,
    /// [`StyleIntent::contrast`]
    Contrast,
    /// [`StyleIntent::softness`]
    Softness,
    /// [`StyleIntent::saturation`]
    Saturation,
    /// [`StyleIntent::color_accuracy`]
    ColorAccuracy,
    /// [`StyleIntent::shadow_depth`]
    ShadowDepth,
    /// [`StyleIntent::crispness`]
    Crispness,
    /// [`StyleIntent::depth`]
    Depth,
    /// [`StyleIntent::balance`]
    Balance,
}

use Intent::*;

/// The vocabulary: phrase → (intent, amount) pairs.
pub const VOCABULARY: &[(&str, &[(Intent, f32)])] = &[
    ("warm light", &[(Warmth, 0.8)]),
    ("warm tones", &[(Warmth, 0.8)]),
    ("warm", &[(Warmth, 0.5)]),
    ("golden hour", &[(Warmth, 1.0), (Light, 0.2)]),
    ("cozy", &[(Warmth, 0.4), (Softness, 0.3)]),
    ("cool tones", &[(Warmth, -0.8)]),
    ("cool light", &[(Warmth, -0.8)]),
    ("soft natural light", &[(Softness, 0.8), (Light, 0.4)]),
    ("soft light", &[(Softness, 0.8)]),
    ("soft lighting", &[(Softness, 0.8)]),
    ("diffused light", &[(Softness, 0.9)]),
    ("natural light", &[(Light, 0.4), (ColorAccuracy, 0.3)]),
    ("natural lighting", &[(Light, 0.4), (ColorAccuracy, 0.3)]),
    ("daylight", &[(Light, 0.5), (ColorAccuracy, 0.3)]),
    ("sunlight", &[(Light, 0.5), (Warmth, 0.3)]),
    ("bright", &[(Light, 0.6)]),
    ("airy", &[(Light, 0.5), (Softness, 0.3)]),
    ("well-lit", &[(Light, 0.6)]),
    ("moody", &[(Light, -0.6), (Contrast, 0.4)]),
    (
        "dramatic lighting",
        &[(Light, -0.3), (Contrast, 0.8), (ShadowDepth, 0.4)],
    ),
    ("dim", &[(Light, -0.6)]),
    ("high contrast", &[(Contrast, 1.0)]),
    ("punchy", &[(Contrast, 0.7), (Saturation, 0.3)]),
    ("low contrast", &[(Contrast, -1.0)]),
    ("flat lighting", &[(Contrast, -0.8), (Depth, -0.5)]),
    ("flat", &[(Contrast, -0.5), (Depth, -0.5)]),
    ("vibrant colors", &[(Saturation, 1.0)]),
    ("vibrant", &[(Saturation, 0.8)]),
    ("rich colors", &[(Saturation, 0.8)]),
    ("vivid", &[(Saturation, 0.8)]),
    ("saturated colors", &[(Saturation, 0.9)]),
    ("oversaturated", &[(Saturation, 1.0)]),
    ("muted colors", &[(Saturation, -0.8)]),
    ("muted", &[(Saturation, -0.6)]),
    ("desaturated", &[(Saturation, -0.8)]),
    ("washed out", &[(Saturation, -0.8), (Contrast, -0.5)]),
    ("true-to-life colors", &[(ColorAccuracy, 1.0)]),
    ("accurate colors", &[(ColorAccuracy, 1.0)]),
    ("natural colors", &[(ColorAccuracy, 0.8)]),
    ("neutral white balance", &[(ColorAccuracy, 1.0)]),
    ("color cast", &[(ColorAccuracy, -0.8)]),
    ("deep shadows", &[(ShadowDepth, 1.0)]),
    ("strong shadows", &[(ShadowDepth, 0.8)]),
    ("dramatic shadows", &[(ShadowDepth, 1.0), (Contrast, 0.3)]),
    (
        "realistic soft shadows",
        &[(ShadowDepth, 0.3), (Softness, 0.3)],
    ),
    ("realistic shadows", &[(ShadowDepth, 0.4)]),
    ("crisp textures", &[(Crispness, 1.0)]),
    ("crisp", &[(Crispness, 0.7)]),
    ("sharp focus", &[(Crispness, 0.8)]),
    ("sharp", &[(Crispness, 0.6)]),
    ("fine detail", &[(Crispness, 0.8)]),
    ("detailed textures", &[(Crispness, 0.9)]),
    ("high detail", &[(Crispness, 0.8)]),
    ("blurry", &[(Crispness, -1.0)]),
    ("soft focus", &[(Crispness, -0.8)]),
    ("sense of depth", &[(Depth, 1.0)]),
    ("depth", &[(Depth, 0.7)]),
    ("three-dimensional", &[(Depth, 0.8)]),
    ("volumetric", &[(Depth, 0.6)]),
    ("balanced exposure", &[(Balance, 1.0)]),
    ("hdr", &[(Balance, 0.8)]),
    ("even lighting", &[(Balance, 0.7), (Softness, 0.3)]),
    ("blown-out windows", &[(Balance, 1.0)]),
    ("blown-out highlights", &[(Balance, 1.0)]),
    ("crushed shadows", &[(Balance, 0.6), (ShadowDepth, 0.5)]),
];

impl StyleIntent {
    /// Reads the intents from a prompt and its negative prompt.
    pub fn from_prompt(prompt: &str, negative_prompt: &str) -> Self {
        let mut intent = StyleIntent::default();
        for (phrase_effects, weight) in matches(prompt)
            .into_iter()
            .map(|e| (e, 1.0))
            .chain(matches(negative_prompt).into_iter().map(|e| (e, -0.5)))
        {
            for &(which, amount) in phrase_effects {
                *intent.slot(which) += weight * amount;
            }
        }
        for value in intent.slots_mut() {
            *value = value.clamp(-1.0, 1.0);
        }
        intent
    }

    fn slot(&mut self, which: Intent) -> &mut f32 {
        match which {
            Warmth => &mut self.warmth,
            Light => &mut self.light,
            Contrast => &mut self.contrast,
            Softness => &mut self.softness,
            Saturation => &mut self.saturation,
            ColorAccuracy => &mut self.color_accuracy,
            ShadowDepth => &mut self.shadow_depth,
            Crispness => &mut self.crispness,
            Depth => &mut self.depth,
            Balance => &mut self.balance,
        }
    }

    fn slots_mut(&mut self) -> [&mut f32; 10] {
        [
            &mut self.warmth,
            &mut self.light,
            &mut self.contrast,
            &mut self.softness,
            &mut self.saturation,
            &mut self.color_accuracy,
            &mut self.shadow_depth,
            &mut self.crispness,
            &mut self.depth,
            &mut self.balance,
        ]
    }
}

/// The effects of every vocabulary phrase found in `text`, longest phrases
/// first, each character used once.
fn matches(text: &str) -> Vec<&'static [(Intent, f32)]> {
    let mut text: Vec<char> = text.to_lowercase().chars().collect();
    let mut phrases: Vec<_> = VOCABULARY.iter().collect();
    phrases.sort_by_key(|(p, _)| std::cmp::Reverse(p.chars().count()));
    let mut found = Vec::new();
    for (phrase, effects) in phrases {
        let needle: Vec<char> = phrase.chars().collect();
        let mut start = 0;
        while start + needle.len() <= text.len() {
            let end = start + needle.len();
            let boundary_before = start == 0 || !text[start - 1].is_alphanumeric();
            let boundary_after = end == text.len() || !text[end].is_alphanumeric();
            if text[start..end] == needle[..] && boundary_before && boundary_after {
                found.push(*effects);
                // Blank the span so shorter phrases inside it do not match again.
                text[start..end].iter_mut().for_each(|c| *c = '\u{0}');
                start = end;
            } else {
                start += 1;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_set_their_intents() {
        let s = StyleIntent::from_prompt("Warm light, VIBRANT colors and deep shadows", "");
        assert!((s.warmth - 0.8).abs() < 1e-6);
        assert!((s.saturation - 1.0).abs() < 1e-6);
        assert!((s.shadow_depth - 1.0).abs() < 1e-6);
        assert_eq!(s.crispness, 0.0);
    }

    #[test]
    fn longest_phrase_wins_and_text_is_used_once() {
        let s = StyleIntent::from_prompt("soft natural light", "");
        assert!((s.softness - 0.8).abs() < 1e-6);
        assert!(
            (s.light - 0.4).abs() < 1e-6,
            "natural light not counted twice"
        );
        assert_eq!(s.color_accuracy, 0.0);
    }

    #[test]
    fn words_match_only_on_boundaries() {
        let s = StyleIntent::from_prompt("sharpened warmth, underdepthness", "");
        assert_eq!(s, StyleIntent::default());
    }

    #[test]
    fn negative_prompt_counts_against_at_half_weight() {
        let s = StyleIntent::from_prompt("", "oversaturated, blurry");
        assert!((s.saturation + 0.5).abs() < 1e-6);
        assert!((s.crispness - 0.5).abs() < 1e-6);
    }

    #[test]
    fn intents_are_clamped() {
        let s = StyleIntent::from_prompt("vibrant vibrant vibrant vivid rich colors", "");
        assert_eq!(s.saturation, 1.0);
    }
}
