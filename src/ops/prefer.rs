//! `latina prefer`: record that a designer preferred one render of a photo
//! over another (or found them the same), then run the learning step that
//! follows ratings ([`super::rate::learn`]).
//!
//! The learning step is shared as is: judging the prompt trial compares
//! prompt versions by stars and ignores preferences (both renders of a
//! batch use one prompt version, so a choice between them says nothing
//! about the prompt); an evolution that is due runs as after a rating.

use serde::Serialize;

use super::Workspace;
use super::evolve::AfterRating;
use super::rate::{EnvLookup, clean_comment, learn};
use crate::domain::ExperimentId;
use crate::error::Result;
use crate::store::{NewPreference, Store};

/// One preference as typed by the designer.
#[derive(Debug, Clone, Copy)]
pub struct PreferenceInput<'a> {
    /// The better render: an experiment id or a unique prefix.
    pub better: &'a str,
    /// The other render: an experiment id or a unique prefix.
    pub worse: &'a str,
    /// "Same": neither is better (the order of the two ids then says nothing).
    pub tie: bool,
    /// Why.
    pub comment: Option<&'a str>,
    /// Who chose.
    pub rated_by: Option<&'a str>,
}

/// What was recorded.
#[derive(Debug, Clone, Serialize)]
pub struct PreferenceReceipt {
    /// The full id of the render preferred (the first named, for a tie).
    pub better_id: ExperimentId,
    /// Its option label within its batch.
    pub better_option: String,
    /// The full id of the other render.
    pub worse_id: ExperimentId,
    /// Its option label.
    pub worse_option: String,
    /// True for "same".
    pub tie: bool,
    /// The comment as stored.
    pub comment: Option<String>,
    /// Who chose (`null`: unnamed).
    pub rated_by: Option<String>,
    /// When (UTC).
    pub rated_at: String,
    /// True if this designer's earlier choice between the same two renders
    /// was superseded (it stays in the history).
    pub replaced_earlier: bool,
}

/// Records one preference, committed durably before this returns.
///
/// # Errors
/// Unknown or ambiguous ids; the same experiment twice; renders of
/// different photos; failed or unfinished renders; database errors.
/// Nothing is written on any of them.
pub fn prefer(store: &mut Store, input: &PreferenceInput<'_>) -> Result<PreferenceReceipt> {
    let better = store.resolve_experiment(input.better)?;
    let worse = store.resolve_experiment(input.worse)?;
    let comment = input.comment.and_then(clean_comment);
    let rated_by = input.rated_by.map(str::trim).filter(|s| !s.is_empty());
    let record = store.add_preference(&NewPreference {
        better: &better,
        worse: &worse,
        tie: input.tie,
        comment: comment.as_deref(),
        rated_by,
    })?;
    let better_option = store.experiment(&better)?.option;
    let worse_option = store.experiment(&worse)?.option;
    Ok(PreferenceReceipt {
        better_id: record.better_id,
        better_option,
        worse_id: record.worse_id,
        worse_option,
        tie: record.tie,
        comment: record.comment,
        rated_by: record.rated_by,
        rated_at: record.rated_at,
        replaced_earlier: record.previous > 0,
    })
}

/// Records one preference ([`prefer`]) and runs the learning step
/// ([`learn`]), exactly as `rate` does after a rating.
///
/// # Errors
/// As [`prefer`]; the learning step's failures are in the [`AfterRating`]
/// (the preference is saved either way).
pub fn prefer_and_learn(
    ws: &Workspace,
    store: &mut Store,
    input: &PreferenceInput<'_>,
    env: EnvLookup<'_>,
) -> Result<(PreferenceReceipt, AfterRating)> {
    let receipt = prefer(store, input)?;
    Ok((receipt, learn(ws, store, env)))
}
