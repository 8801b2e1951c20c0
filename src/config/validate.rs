//! Checks on a parsed config that types cannot express: ranges, names,
//! URLs, uniqueness, at least one provider.

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
    let e = &config.enhance;
    if !(1..=8).contains(&e.variants) {
        return Err(fail(
            "enhance.variants",
            format!("expected 1 to 8, got {}", e.variants),
        ));
    }
    if !(50..=100).contains(&e.jpeg_quality) {
        return Err(fail(
            "enhance.jpeg_quality",
            format!("expected 50 to 100, got {}", e.jpeg_quality),
        ));
    }
    if !(64..=4096).contains(&e.preview_height) {
        return Err(fail(
            "enhance.preview_height",
            format!("expected 64 to 4096, got {}", e.preview_height),
        ));
    }
    if !(e.max_megapixels.is_finite() && e.max_megapixels > 0.0 && e.max_megapixels <= 400.0) {
        return Err(fail(
            "enhance.max_megapixels",
            format!(
                "expected a number above 0 and at most 400, got {}",
                e.max_megapixels
            ),
        ));
    }
    if e.min_side == 0 {
        return Err(fail("enhance.min_side", "expected at least 1".into()));
    }
    if e.max_file_mb == 0 {
        return Err(fail("enhance.max_file_mb", "expected at least 1".into()));
    }
    if !(1..=16).contains(&e.concurrency) {
        return Err(fail(
            "enhance.concurrency",
            format!("expected 1 to 16, got {}", e.concurrency),
        ));
    }
    if let Some(fallback) = &e.fallback {
        let builtin = config
            .providers
            .iter()
            .any(|p| p.name() == fallback && p.is_builtin());
        if !builtin {
            return Err(fail(
                "enhance.fallback",
                format!("expected the name of a built-in provider arm, got {fallback:?}"),
            ));
        }
    }
    let o = &config.optimizer;
    for (key, [low, high], (floor, ceiling)) in [
        ("optimizer.init_strength", o.init_strength, (0.0, 1.0)),
        ("optimizer.guidance_scale", o.guidance_scale, (1.0, 30.0)),
        (
            "optimizer.controlnet_weight",
            o.controlnet_weight,
            (0.0, 2.0),
        ),
    ] {
        if !(low.is_finite() && high.is_finite() && low < high && low >= floor && high <= ceiling) {
            return Err(fail(
                key,
                format!(
                    "expected [low, high] with {floor} <= low < high <= {ceiling}, got [{low}, {high}]"
                ),
            ));
        }
    }
    if !(o.xi.is_finite() && (0.0..=2.0).contains(&o.xi)) {
        return Err(fail(
            "optimizer.xi",
            format!("expected 0 to 2 stars, got {}", o.xi),
        ));
    }
    if !(o.space_filling.is_finite() && (0.0..=1.0).contains(&o.space_filling)) {
        return Err(fail(
            "optimizer.space_filling",
            format!("expected 0 to 1, got {}", o.space_filling),
        ));
    }
    if !(50..=5000).contains(&o.max_model_points) {
        return Err(fail(
            "optimizer.max_model_points",
            format!("expected 50 to 5000, got {}", o.max_model_points),
        ));
    }
    if !(16..=4096).contains(&o.candidates) {
        return Err(fail(
            "optimizer.candidates",
            format!("expected 16 to 4096, got {}", o.candidates),
        ));
    }
    let v = &config.evolution;
    let checks: [(&str, bool, &str); 7] = [
        ("evolution.every", v.every >= 1, "expected at least 1"),
        (
            "evolution.skip_above",
            v.skip_above.is_finite() && (1.0..=5.0).contains(&v.skip_above),
            "expected 1 to 5 stars",
        ),
        (
            "evolution.challenger_share",
            v.challenger_share.is_finite() && v.challenger_share > 0.0 && v.challenger_share < 1.0,
            "expected a share above 0 and below 1",
        ),
        (
            "evolution.min_ratings",
            v.min_ratings >= 2 && v.min_ratings <= v.max_ratings,
            "expected at least 2 and at most max_ratings",
        ),
        (
            "evolution.promote_margin",
            v.promote_margin.is_finite() && (0.0..=4.0).contains(&v.promote_margin),
            "expected 0 to 4 stars",
        ),
        (
            "evolution.reject_margin",
            v.reject_margin.is_finite() && (-4.0..=0.0).contains(&v.reject_margin),
            "expected -4 to 0 stars",
        ),
        (
            "evolution.confidence",
            v.confidence.is_finite() && (0.5..1.0).contains(&v.confidence),
            "expected at least 0.5 and below 1",
        ),
    ];
    for (key, ok, expected) in checks {
        if !ok {
            return Err(fail(key, expected.to_string()));
        }
    }
    let llm = &v.llm;
    let llm_checks: [(&str, bool, &str); 5] = [
        (
            "evolution.llm.base_url",
            llm.base_url.starts_with("http://") || llm.base_url.starts_with("https://"),
            "expected an http:// or https:// URL",
        ),
        (
            "evolution.llm.model",
            !llm.model.trim().is_empty(),
            "expected a model name",
        ),
        (
            "evolution.llm.temperature",
            llm.temperature.is_finite() && (0.0..=2.0).contains(&llm.temperature),
            "expected 0 to 2",
        ),
        (
            "evolution.llm.max_attempts",
            (1..=10).contains(&llm.max_attempts) && llm.max_tokens >= 1,
            "expected max_attempts 1 to 10 and max_tokens at least 1",
        ),
        (
            "evolution.llm.timeout_secs",
            llm.timeout_secs > 0,
            "expected at least 1",
        ),
    ];
    for (key, ok, expected) in llm_checks {
        if !ok {
            return Err(fail(key, expected.to_string()));
        }
    }
    if let Some(e) = &v.embeddings {
        let embeddings_checks: [(&str, bool, &str); 4] = [
            (
                "evolution.embeddings.base_url",
                e.base_url.starts_with("http://") || e.base_url.starts_with("https://"),
                "expected an http:// or https:// URL",
            ),
            (
                "evolution.embeddings.model",
                !e.model.trim().is_empty(),
                "expected a model name",
            ),
            (
                "evolution.embeddings.threshold",
                e.threshold.is_finite() && (-1.0..=1.0).contains(&e.threshold),
                "expected a cosine similarity from -1 to 1",
            ),
            (
                "evolution.embeddings.timeout_secs",
                e.timeout_secs > 0,
                "expected at least 1",
            ),
        ];
        for (key, ok, expected) in embeddings_checks {
            if !ok {
                return Err(fail(key, expected.to_string()));
            }
        }
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

/// Checks one provider's settings; the message says what was expected.
fn validate_provider(provider: &ProviderConfig) -> std::result::Result<(), String> {
    if let Some(url) = provider.base_url()
        && !(url.starts_with("http://") || url.starts_with("https://"))
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
    }
}
