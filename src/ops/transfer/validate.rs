//! The checks a record passes before it is imported: shapes (hex ids,
//! timestamps, canonical versions), ranges and required fields, each
//! problem named with its field.

use super::format::PARAM_LIMITS;
use crate::domain::{ArmRule, ExperimentStatus, Method};
use crate::evolve::version::Version;
use crate::store::{
    BatchRow, EmbeddingRow, EvolutionRow, ExperimentRow, ImageRow, PreferenceRow,
    PromptDecisionRow, PromptVersionRow, RatingRow,
};

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, as SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ')`
/// writes it: one shape, so times compare correctly as text.
fn is_timestamp(text: &str) -> bool {
    crate::domain::time::parse(text).is_ok()
}

/// Collects one line's problems.
#[derive(Default)]
struct Check(Vec<String>);

impl Check {
    fn fail(&mut self, message: String) {
        self.0.push(message);
    }
    fn hex(&mut self, field: &str, value: &str, len: usize) {
        if !is_hex(value, len) {
            self.fail(format!(
                "{field} {value:?} is not {len} lowercase hex digits"
            ));
        }
    }
    fn time(&mut self, field: &str, value: &str) {
        if !is_timestamp(value) {
            self.fail(format!(
                "{field} {value:?} is not a UTC time like 2026-11-26T21:48:31.123Z"
            ));
        }
    }
    fn opt_time(&mut self, field: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.time(field, v);
        }
    }
    fn version(&mut self, field: &str, value: &str) {
        match value.parse::<Version>() {
            Ok(v) if v.to_string() == value => {}
            _ => self.fail(format!("{field} {value:?} is not a version like 1.2.3")),
        }
    }
    fn one_of(&mut self, field: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.fail(format!(
                "{field} {value:?} is not one of {}",
                allowed.join(", ")
            ));
        }
    }
    fn not_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(format!("{field} is empty"));
        }
    }
    fn range_f(&mut self, field: &str, value: f64, low: f64, high: f64) {
        if !(value.is_finite() && (low..=high).contains(&value)) {
            self.fail(format!("{field} {value} out of range {low}–{high}"));
        }
    }
    fn non_negative(&mut self, field: &str, value: Option<f64>) {
        if let Some(v) = value
            && !(v.is_finite() && v >= 0.0)
        {
            self.fail(format!("{field} {v} is not a finite number ≥ 0"));
        }
    }
    fn at_least(&mut self, field: &str, value: i64, low: i64) {
        if value < low {
            self.fail(format!("{field} {value} is below {low}"));
        }
    }
    fn done(self) -> Vec<String> {
        self.0
    }
}

pub(super) fn validate_image(r: &ImageRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("sha256", &r.sha256, 64);
    c.not_empty("stored_path", &r.stored_path);
    c.not_empty("format", &r.format);
    c.at_least("width", r.width, 1);
    c.at_least("height", r.height, 1);
    c.at_least("bytes", r.bytes, 1);
    c.time("created_at", &r.created_at);
    if let Some(f) = &r.features {
        for (name, value) in crate::domain::evidence::PhotoFeatures::NAMES
            .iter()
            .zip(f.as_array())
        {
            c.range_f(&format!("features.{name}"), value, 0.0, 1.0);
        }
    }
    c.done()
}

pub(super) fn validate_prompt_version(r: &PromptVersionRow) -> Vec<String> {
    let mut c = Check::default();
    c.version("version", &r.version);
    if let Some(parent) = &r.parent {
        c.version("parent", parent);
        if parent == &r.version {
            c.fail("parent is the version itself".into());
        }
    }
    c.not_empty("prompt", &r.prompt);
    c.one_of(
        "status",
        &r.status,
        &["champion", "challenger", "retired", "rejected"],
    );
    c.time("created_at", &r.created_at);
    c.done()
}

pub(super) fn validate_batch(r: &BatchRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("id", &r.id, 32);
    if let Some(sha) = &r.image_sha256 {
        c.hex("image_sha256", sha, 64);
    }
    c.time("created_at", &r.created_at);
    c.done()
}

pub(super) fn validate_experiment(r: &ExperimentRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("id", &r.id, 32);
    c.hex("batch_id", &r.batch_id, 32);
    c.not_empty("option", &r.option);
    c.not_empty("provider", &r.provider);
    let values = [r.init_strength, r.guidance_scale, r.controlnet_weight];
    for ((field, low, high), value) in PARAM_LIMITS.iter().zip(values) {
        c.range_f(field, value, *low, *high);
    }
    c.version("prompt_version", &r.prompt_version);
    if Method::parse(&r.method).is_none() {
        c.one_of(
            "method",
            &r.method,
            &[
                "initial_design",
                "random",
                "gp_ei",
                "gp_exploit",
                "gp_eubo",
                "space_filling",
            ],
        );
    }
    if ExperimentStatus::parse(&r.status).is_none() {
        c.one_of(
            "status",
            &r.status,
            &["proposed", "running", "done", "failed"],
        );
    }
    if let Some(rule) = &r.arm_rule
        && ArmRule::parse(rule).is_none()
    {
        c.one_of(
            "arm_rule",
            rule,
            &[
                "design",
                "thompson",
                "posterior_maximum",
                "ucb1",
                "acquisition",
                "best_prediction",
                "warmup",
                "second_look",
            ],
        );
    }
    if let Some(ms) = r.latency_ms {
        c.at_least("latency_ms", ms, 0);
    }
    c.non_negative("cost_usd", r.cost_usd);
    if let Some(f) = &r.render_features {
        for (name, value) in crate::domain::RenderFeatures::NAMES
            .iter()
            .zip(f.as_array())
        {
            c.range_f(&format!("render_features.{name}"), value, 0.0, 1.0);
        }
    }
    if let Some(s) = &r.shortlist {
        if s.shown && s.guarded {
            c.fail("shortlist: a guarded render cannot have been shown".to_string());
        }
        if let Some(reason) = &s.reason
            && reason.chars().count() > MAX_REASON_CHARS
        {
            c.fail(format!(
                "shortlist.reason longer than {MAX_REASON_CHARS} characters"
            ));
        }
        if let Some(mean) = s.reward_mean {
            c.range_f("shortlist.reward_mean", mean, -10.0, 20.0);
        }
        c.non_negative("shortlist.reward_sd", s.reward_sd);
        for (field, value) in [
            ("shortlist.guard_structure", s.guard_structure),
            ("shortlist.guard_threshold", s.guard_threshold),
        ] {
            if let Some(v) = value {
                c.range_f(field, v, -1.0, 1.0);
            }
        }
    }
    c.non_negative("predicted_sd", r.predicted_sd);
    c.non_negative("expected_improvement", r.expected_improvement);
    for (field, value) in [
        ("arm_score", r.arm_score),
        ("predicted_mean", r.predicted_mean),
    ] {
        if let Some(v) = value
            && !v.is_finite()
        {
            c.fail(format!("{field} {v} is not a finite number"));
        }
    }
    c.time("created_at", &r.created_at);
    c.opt_time("finished_at", &r.finished_at);
    c.done()
}

/// The longest shortlist reason an import accepts (latina writes one line).
const MAX_REASON_CHARS: usize = 1000;

/// The most values an imported embedding may hold (CLIP ViT-L/14 has 768;
/// anything far past that is not an image embedding).
const MAX_EMBEDDING_DIMS: usize = 16_384;

pub(super) fn validate_embedding(r: &EmbeddingRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("experiment_id", &r.experiment_id, 32);
    c.hex("model_sha256", &r.model_sha256, 64);
    if r.values.is_empty() {
        c.fail("values is empty".to_string());
    }
    if r.values.len() > MAX_EMBEDDING_DIMS {
        c.fail(format!(
            "values holds {} numbers, more than {MAX_EMBEDDING_DIMS}",
            r.values.len()
        ));
    }
    if r.values.iter().any(|v| !v.is_finite()) {
        c.fail("values holds a number that is not finite".to_string());
    }
    c.time("measured_at", &r.measured_at);
    c.done()
}

pub(super) fn validate_rating(r: &RatingRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("experiment_id", &r.experiment_id, 32);
    if !(1..=5).contains(&r.stars) {
        c.fail(format!("stars {} out of range 1–5", r.stars));
    }
    if let Some(comment) = &r.comment
        && comment.chars().count() > crate::ops::rate::MAX_COMMENT_CHARS
    {
        c.fail(format!(
            "comment longer than {} characters",
            crate::ops::rate::MAX_COMMENT_CHARS
        ));
    }
    if let Some(by) = &r.rated_by {
        c.not_empty("rated_by", by);
    }
    c.time("rated_at", &r.rated_at);
    c.done()
}

pub(super) fn validate_preference(r: &PreferenceRow) -> Vec<String> {
    let mut c = Check::default();
    c.hex("better_id", &r.better_id, 32);
    c.hex("worse_id", &r.worse_id, 32);
    if r.better_id == r.worse_id {
        c.fail("better_id and worse_id are the same experiment".to_string());
    }
    if let Some(comment) = &r.comment
        && comment.chars().count() > crate::ops::rate::MAX_COMMENT_CHARS
    {
        c.fail(format!(
            "comment longer than {} characters",
            crate::ops::rate::MAX_COMMENT_CHARS
        ));
    }
    if let Some(by) = &r.rated_by {
        c.not_empty("rated_by", by);
    }
    c.time("rated_at", &r.rated_at);
    c.done()
}

pub(super) fn validate_evolution(r: &EvolutionRow) -> Vec<String> {
    let mut c = Check::default();
    c.at_least("trigger_sample", r.trigger_sample, 0);
    c.version("parent_version", &r.parent_version);
    if let Some(v) = &r.new_version {
        c.version("new_version", v);
    }
    c.not_empty("evolver", &r.evolver);
    c.one_of(
        "outcome",
        &r.outcome,
        &["pending", "created", "failed", "skipped"],
    );
    if r.outcome == "created" && r.new_version.is_none() {
        c.fail("outcome created without a new_version".into());
    }
    c.time("created_at", &r.created_at);
    c.opt_time("finished_at", &r.finished_at);
    c.done()
}

pub(super) fn validate_decision(r: &PromptDecisionRow) -> Vec<String> {
    let mut c = Check::default();
    c.version("champion", &r.champion);
    c.version("challenger", &r.challenger);
    c.one_of(
        "decision",
        &r.decision,
        &["promote", "reject", "expire", "activate", "rollback"],
    );
    c.at_least("champion_n", r.champion_n, 0);
    c.at_least("challenger_n", r.challenger_n, 0);
    c.range_f("champion_mean", r.champion_mean, 0.0, 5.0);
    c.range_f("challenger_mean", r.challenger_mean, 0.0, 5.0);
    if let Some(p) = r.prob_better {
        c.range_f("prob_better", p, 0.0, 1.0);
    }
    for (field, value) in [("difference", r.difference), ("t", r.t), ("df", r.df)] {
        if let Some(v) = value
            && !v.is_finite()
        {
            c.fail(format!("{field} {v} is not a finite number"));
        }
    }
    c.time("created_at", &r.created_at);
    c.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_have_the_databases_shape_and_a_real_date() {
        assert!(is_timestamp("2026-11-26T21:48:31.123Z"));
        assert!(is_timestamp("2024-02-29T00:00:00.000Z"));
        for bad in [
            "2026-11-26T21:48:31Z",
            "2026-11-26 21:48:31.123Z",
            "2023-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-26T24:00:00.000Z",
            "yesterday",
            "2026-11-26T21:48:31.123+01:00",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }

    #[test]
    fn a_rating_out_of_range_is_named_with_its_field() {
        let row = RatingRow {
            experiment_id: "0".repeat(32),
            stars: 7,
            comment: None,
            rated_by: Some("  ".into()),
            rated_at: "2026-11-26T21:48:31.123Z".into(),
        };
        assert_eq!(
            validate_rating(&row),
            ["stars 7 out of range 1–5", "rated_by is empty"]
        );
    }

    #[test]
    fn versions_must_be_written_canonically() {
        let mut c = Check::default();
        c.version("v", "1.2.3");
        c.version("v", "v1.2.3");
        c.version("v", "1.2");
        assert_eq!(c.done().len(), 2);
    }
}
