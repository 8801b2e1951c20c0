//! Checks on a parsed config that types cannot express: ranges, names,
//! URLs, uniqueness, at least one provider; and, apart, the one check that
//! looks at the disk (the ONNX model named by `reward.embedding_model`).
//!
//! The per-key checks are one table (`key_rules`) of (key, passes,
//! message), built with `within` for the plain ranges, so a new key is one
//! line and every range message has the same shape; the first failing row,
//! in table order, is the error.

use std::fmt::Display;
use std::ops::RangeInclusive;

use super::Config;
use super::providers::{self, ProviderConfig};
use crate::error::{Error, Result};

/// Checks what types cannot: ranges, uniqueness, at least one provider.
pub(super) fn validate(config: &Config, label: &str) -> Result<()> {
    let fail = |key: &str, message: String| Error::Config {
        source_label: label.to_string(),
        location: format!("key `{key}`: "),
        message,
    };
    if let Some(rule) = key_rules(config).into_iter().find(|r| !r.ok) {
        return Err(fail(rule.key, rule.expected));
    }
    if config.providers.is_empty() {
        return Err(fail(
            "providers",
            "expected at least one [[providers]] entry".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for provider in &config.providers {
        let name = provider.name();
        let valid = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(fail(
                "providers.name",
                format!("expected 1-40 letters, digits, '-' or '_', got {name:?}"),
            ));
        }
        validate_provider(provider).map_err(|message| {
            fail(
                "providers",
                format!("provider {name:?} ({}): {message}", provider.kind()),
            )
        })?;
        if !seen.insert(name) {
            return Err(fail(
                "providers.name",
                format!("provider name {name:?} is used twice"),
            ));
        }
    }
    Ok(())
}

/// One key's check: the key, whether its value passes, and what was
/// expected (the error message when it does not).
struct KeyRule {
    key: &'static str,
    ok: bool,
    expected: String,
}

/// `key` must lie in `range`: "expected LOW to HIGH[unit], got VALUE".
/// NaN is never in a range, and every range here is bounded, so an infinite
/// value fails too.
fn within<T: PartialOrd + Display>(
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
    unit: &str,
) -> KeyRule {
    let expected = format!(
        "expected {} to {}{unit}, got {value}",
        range.start(),
        range.end()
    );
    KeyRule {
        key,
        ok: range.contains(&value),
        expected,
    }
}

/// `key` passes when `ok`; otherwise `expected` is the message.
fn rule(key: &'static str, ok: bool, expected: impl Into<String>) -> KeyRule {
    KeyRule {
        key,
        ok,
        expected: expected.into(),
    }
}

/// Whether `url` is an http:// or https:// URL.
fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Every per-key check of `[enhance]`, `[optimizer]` and `[evolution]`, in
/// the order they are reported.
fn key_rules(config: &Config) -> Vec<KeyRule> {
    let e = &config.enhance;
    let o = &config.optimizer;
    let v = &config.evolution;
    let llm = &v.llm;
    let fallback_ok = e.fallback.as_ref().is_none_or(|fallback| {
        config
            .providers
            .iter()
            .any(|p| p.name() == fallback && p.is_builtin())
    });
    let mut rules = vec![
        within("enhance.variants", e.variants, 1..=8, ""),
        rule(
            "enhance.candidates",
            e.candidates.is_none_or(|n| (e.variants..=32).contains(&n)),
            format!(
                "expected {} to 32 (at least as many as are shown, enhance.show = {}), got {}",
                e.variants,
                e.variants,
                e.candidates.unwrap_or_default()
            ),
        ),
        rule(
            "enhance.budget_usd",
            e.budget_usd.is_none_or(|b| b.is_finite() && b >= 0.0),
            format!(
                "expected a number of US dollars, 0 or more, got {}",
                e.budget_usd.unwrap_or_default()
            ),
        ),
        within("enhance.jpeg_quality", e.jpeg_quality, 50..=100, ""),
        within("enhance.preview_height", e.preview_height, 64..=4096, ""),
        rule(
            "enhance.max_megapixels",
            e.max_megapixels > 0.0 && e.max_megapixels <= 400.0,
            format!(
                "expected a number above 0 and at most 400, got {}",
                e.max_megapixels
            ),
        ),
        rule("enhance.min_side", e.min_side > 0, "expected at least 1"),
        rule(
            "enhance.max_file_mb",
            e.max_file_mb > 0,
            "expected at least 1",
        ),
        within("enhance.concurrency", e.concurrency, 1..=16, ""),
        rule(
            "enhance.fallback",
            fallback_ok,
            format!(
                "expected the name of a built-in provider arm, got {:?}",
                e.fallback.as_deref().unwrap_or_default()
            ),
        ),
    ];
    for (key, [low, high], (floor, ceiling)) in [
        ("optimizer.init_strength", o.init_strength, (0.0, 1.0)),
        ("optimizer.guidance_scale", o.guidance_scale, (1.0, 30.0)),
        (
            "optimizer.controlnet_weight",
            o.controlnet_weight,
            (0.0, 2.0),
        ),
    ] {
        rules.push(rule(
            key,
            low.is_finite() && high.is_finite() && low < high && low >= floor && high <= ceiling,
            format!(
                "expected [low, high] with {floor} <= low < high <= {ceiling}, got [{low}, {high}]"
            ),
        ));
    }
    rules.extend([
        rule(
            "guard.min_structure",
            config
                .guard
                .min_structure
                .is_none_or(|v| (0.0..=1.0).contains(&v)),
            format!(
                "expected a structure agreement from 0 to 1, got {}",
                config.guard.min_structure.unwrap_or_default()
            ),
        ),
        within("optimizer.xi", o.xi, 0.0..=2.0, " stars"),
        within("optimizer.space_filling", o.space_filling, 0.0..=1.0, ""),
        within(
            "optimizer.max_model_points",
            o.max_model_points,
            50..=5000,
            "",
        ),
        within("optimizer.candidates", o.candidates, 16..=4096, ""),
        within("optimizer.arm_warmup", o.arm_warmup, 0..=1000, " renders"),
        within("optimizer.second_look", o.second_look, 0..=1000, " renders"),
        rule("evolution.every", v.every >= 1, "expected at least 1"),
        rule(
            "evolution.skip_above",
            (1.0..=5.0).contains(&v.skip_above),
            "expected 1 to 5 stars",
        ),
        rule(
            "evolution.challenger_share",
            v.challenger_share > 0.0 && v.challenger_share < 1.0,
            "expected a share above 0 and below 1",
        ),
        rule(
            "evolution.min_ratings",
            v.min_ratings >= 2 && v.min_ratings <= v.max_ratings,
            "expected at least 2 and at most max_ratings",
        ),
        rule(
            "evolution.promote_margin",
            (0.0..=4.0).contains(&v.promote_margin),
            "expected 0 to 4 stars",
        ),
        rule(
            "evolution.reject_margin",
            (-4.0..=0.0).contains(&v.reject_margin),
            "expected -4 to 0 stars",
        ),
        rule(
            "evolution.confidence",
            (0.5..1.0).contains(&v.confidence),
            "expected at least 0.5 and below 1",
        ),
        rule(
            "evolution.llm.base_url",
            is_http(&llm.base_url),
            "expected an http:// or https:// URL",
        ),
        rule(
            "evolution.llm.model",
            !llm.model.trim().is_empty(),
            "expected a model name",
        ),
        rule(
            "evolution.llm.temperature",
            (0.0..=2.0).contains(&llm.temperature),
            "expected 0 to 2",
        ),
        rule(
            "evolution.llm.max_attempts",
            (1..=10).contains(&llm.max_attempts) && llm.max_tokens >= 1,
            "expected max_attempts 1 to 10 and max_tokens at least 1",
        ),
        rule(
            "evolution.llm.timeout_secs",
            llm.timeout_secs > 0,
            "expected at least 1",
        ),
    ]);
    let r = &config.reward;
    for (key, values, positive) in [
        ("reward.embedding_mean", r.embedding_mean, false),
        ("reward.embedding_std", r.embedding_std, true),
    ] {
        rules.push(rule(
            key,
            values
                .iter()
                .all(|x| x.is_finite() && (!positive || *x > 0.0)),
            if positive {
                format!("expected three finite numbers above 0 (R, G, B), got {values:?}")
            } else {
                format!("expected three finite numbers (R, G, B), got {values:?}")
            },
        ));
    }
    rules.push(rule(
        "reward.embedding_model",
        r.embedding_model
            .as_ref()
            .is_none_or(|p| !p.as_os_str().is_empty()),
        "expected the path of an .onnx file",
    ));
    if let Some(em) = &v.embeddings {
        rules.extend([
            rule(
                "evolution.embeddings.base_url",
                is_http(&em.base_url),
                "expected an http:// or https:// URL",
            ),
            rule(
                "evolution.embeddings.model",
                !em.model.trim().is_empty(),
                "expected a model name",
            ),
            rule(
                "evolution.embeddings.threshold",
                (-1.0..=1.0).contains(&em.threshold),
                "expected a cosine similarity from -1 to 1",
            ),
            rule(
                "evolution.embeddings.timeout_secs",
                em.timeout_secs > 0,
                "expected at least 1",
            ),
        ]);
    }
    rules
}

/// Checks what needs the file system, once relative paths are resolved:
/// `reward.embedding_model` must name an existing regular file (the model
/// is only parsed when it is used, by `latina doctor` and `enhance`).
pub(super) fn validate_files(config: &Config, label: &str) -> Result<()> {
    let Some(path) = &config.reward.embedding_model else {
        return Ok(());
    };
    let problem = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(meta) if meta.is_dir() => "is a directory",
        Ok(_) => "is not a regular file",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist",
        Err(_) => "cannot be read",
    };
    Err(Error::Config {
        source_label: label.to_string(),
        location: "key `reward.embedding_model`: ".into(),
        message: format!(
            "{} {problem}: expected the path of an .onnx file (relative paths start at the config file's folder; latina never downloads a model)",
            path.display()
        ),
    })
}

/// Checks one provider's settings; the message says what was expected.
fn validate_provider(provider: &ProviderConfig) -> std::result::Result<(), String> {
    if let Some(url) = provider.base_url()
        && !is_http(url)
    {
        return Err(format!(
            "base_url: expected an http:// or https:// URL, got {url:?}"
        ));
    }
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    let price = |p: Option<f64>| p.is_none_or(|v| v.is_finite() && v >= 0.0);
    match provider {
        ProviderConfig::BuiltinTone(_) | ProviderConfig::BuiltinDetail(_) => Ok(()),
        ProviderConfig::SdWebui(c) => {
            check(
                (1..=150).contains(&c.steps)
                    && (64..=4096).contains(&c.max_side)
                    && c.timeout_secs > 0,
                "expected steps 1-150, max_side 64-4096, timeout_secs > 0",
            )?;
            check(
                price(c.price_per_image),
                "price_per_image: expected a number >= 0",
            )
        }
        ProviderConfig::Leonardo(c) => {
            check(
                (10..=60).contains(&c.steps),
                "steps: expected 10-60 (num_inference_steps)",
            )?;
            check(
                (64..=1536).contains(&c.max_side),
                "max_side: expected 64-1536",
            )?;
            check(
                c.poll_interval_secs.is_finite()
                    && (0.01..=60.0).contains(&c.poll_interval_secs)
                    && c.timeout_secs > 0,
                "expected poll_interval_secs 0.01-60 and timeout_secs > 0",
            )?;
            check(
                !c.model_id.trim().is_empty(),
                "model_id: expected a model id",
            )?;
            check(
                !c.api_key_env.is_empty(),
                "api_key_env: expected a variable name",
            )?;
            check(
                price(c.price_per_image),
                "price_per_image: expected a number >= 0",
            )
        }
        ProviderConfig::Replicate(c) => {
            check(
                !(c.version.is_some() && c.model.is_some()),
                "set either version or model, not both",
            )?;
            check(
                !c.schema.is_flux() || c.version.is_some() || c.model.is_some(),
                "a FLUX schema needs model (e.g. \"black-forest-labs/flux-kontext-pro\") or version",
            )?;
            if let Some(model) = &c.model {
                check(
                    model.split('/').count() == 2 && !model.contains(':'),
                    "model: expected owner/name (an official model)",
                )?;
            }
            if let Some(version) = &c.version {
                let hex = version.rsplit(':').next().unwrap_or_default();
                check(
                    hex.len() == 64 && hex.chars().all(|ch| ch.is_ascii_hexdigit()),
                    "version: expected owner/name:<64 hex digits> or the 64 hex digits",
                )?;
            }
            check(
                (1..=500).contains(&c.steps) && (64..=2048).contains(&c.max_side),
                "expected steps 1-500 and max_side 64-2048",
            )?;
            check((1..=60).contains(&c.wait_secs), "wait_secs: expected 1-60")?;
            check(
                c.poll_interval_secs.is_finite()
                    && (0.01..=60.0).contains(&c.poll_interval_secs)
                    && c.timeout_secs > 0,
                "expected poll_interval_secs 0.01-60 and timeout_secs > 0",
            )?;
            check(
                !c.token_env.is_empty(),
                "token_env: expected a variable name",
            )?;
            if let Some(key) = c
                .extra_input
                .keys()
                .find(|k| providers::REPLICATE_RESERVED_INPUTS.contains(&k.as_str()))
            {
                return Err(format!(
                    "extra_input.{key}: latina sets this input (from the photo, the prompts, \
                     the optimizer or `steps`); remove it"
                ));
            }
            check(
                price(c.price_per_image) && price(c.price_per_second),
                "price_per_image / price_per_second: expected numbers >= 0",
            )
        }
        ProviderConfig::Stability(c) => {
            check(
                (64..=4096).contains(&c.max_side) && c.timeout_secs > 0,
                "expected max_side 64-4096 and timeout_secs > 0",
            )?;
            check(
                providers::STABILITY_OUTPUT_FORMATS.contains(&c.output_format.as_str()),
                "output_format: expected png, jpeg or webp",
            )?;
            check(
                !c.api_key_env.is_empty(),
                "api_key_env: expected a variable name",
            )?;
            check(
                price(c.price_per_image),
                "price_per_image: expected a number >= 0",
            )
        }
        ProviderConfig::Comfyui(c) => c.check(),
        ProviderConfig::Bfl(c) => {
            check(
                (64..=4096).contains(&c.max_side) && (1..=50).contains(&c.steps),
                "expected max_side 64-4096 and steps 1-50",
            )?;
            let most = c.model.max_safety_tolerance();
            if c.safety_tolerance > most {
                return Err(format!(
                    "safety_tolerance: expected 0-{most} for {}",
                    c.model.endpoint()
                ));
            }
            check(
                providers::STABILITY_OUTPUT_FORMATS.contains(&c.output_format.as_str()),
                "output_format: expected png, jpeg or webp",
            )?;
            check(
                c.poll_interval_secs.is_finite()
                    && (0.01..=60.0).contains(&c.poll_interval_secs)
                    && c.timeout_secs > 0,
                "expected poll_interval_secs 0.01-60 and timeout_secs > 0",
            )?;
            check(
                !c.api_key_env.is_empty(),
                "api_key_env: expected a variable name",
            )?;
            check(
                price(c.price_per_image) && price(Some(c.usd_per_credit)),
                "price_per_image / usd_per_credit: expected numbers >= 0",
            )
        }
    }
}
