//! `latina history` and `latina show`: what was tried, how it was rated,
//! and where its files are.
//!
//! History rows are handed to the caller one at a time as the store reads
//! them, so printing the first lines of a huge history costs only those
//! lines. Times given on the command line are turned here into the instant
//! the store compares with; the store owns the SQL, the CLI the printing.

use crate::storage::Storage;
use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::str::FromStr;

use crate::domain::RenderFeatures;
use crate::error::{Error, Result};
use crate::store::{
    ContextDetail, ExperimentDetail, HistoryOrder, HistoryQuery, HistoryRow, RatedFilter,
    RenderEmbedding, Store,
};

/// The start of a `--since` window, as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// An instant.
    At(Timestamp),
    /// That long before now.
    Ago(SignedDuration),
}

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a time: expected a date (2026-11-20, UTC), an RFC 3339 time \
     (2026-11-20T09:30:00Z or with an offset like +01:00) or an age (24h, 7d, 2w)"
)]
pub struct BadSince(pub String);

impl FromStr for Since {
    type Err = BadSince;

    fn from_str(text: &str) -> std::result::Result<Self, BadSince> {
        let t = text.trim();
        let bad = || BadSince(text.to_string());
        if let Some(age) = parse_age(t) {
            return age.map(Since::Ago).ok_or_else(bad);
        }
        parse_instant(t).map(Since::At).ok_or_else(bad)
    }
}

impl Since {
    /// The instant this window starts at, an age counted back from `now`
    /// (an age reaching before any representable time starts at the first).
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            Since::At(at) => at,
            Since::Ago(age) => now.checked_sub(age).unwrap_or(Timestamp::MIN),
        }
    }
}

/// `24h`, `7d`, `2w`: `Some(None)` for an age that overflows, `None` when
/// the text is not an age at all.
fn parse_age(t: &str) -> Option<Option<SignedDuration>> {
    let unit = t.chars().last()?;
    let seconds_per = match unit {
        'h' => 3_600i64,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(seconds_per))
            .map(SignedDuration::from_secs),
    )
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time. jiff reads more
/// forms than these (no seconds, the basic form, `±HH` offsets); only what
/// `--since` documents is let through to it.
fn parse_instant(t: &str) -> Option<Timestamp> {
    let b = t.as_bytes();
    let date_shape = |b: &[u8]| {
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            })
    };
    if b.len() == 10 {
        if !date_shape(b) {
            return None;
        }
        let date: Date = t.parse().ok()?;
        return Offset::UTC
            .to_timestamp(date.to_datetime(Time::midnight()))
            .ok();
    }
    if b.len() < 20 || !date_shape(&b[..10]) {
        return None;
    }
    let clock = b[10..19].iter().enumerate().all(|(i, c)| match i {
        0 => matches!(c, b'T' | b't' | b' '),
        3 | 6 => *c == b':',
        _ => c.is_ascii_digit(),
    });
    let mut rest = &b[19..];
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !(clock && offset) {
        return None;
    }
    t.parse().ok()
}

/// What `latina history` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Only this provider arm.
    pub provider: Option<String>,
    /// Only this prompt version.
    pub prompt_version: Option<String>,
    /// Only rated, or only unrated, experiments.
    pub rated: Option<RatedFilter>,
    /// Only experiments created since then.
    pub since: Option<Since>,
    /// Only experiments this rater rated.
    pub rated_by: Option<String>,
    /// Newest or oldest first.
    pub order: HistoryOrder,
    /// At most this many rows (`None`: all).
    pub limit: Option<u64>,
}

impl HistoryOptions {
    /// The store query, with `--since` resolved against `now`.
    pub fn query(&self, now: Timestamp) -> HistoryQuery {
        HistoryQuery {
            provider: self.provider.clone(),
            prompt_version: self.prompt_version.clone(),
            rated: self.rated,
            since: self.since.map(|s| s.resolve(now)),
            rated_by: self.rated_by.clone(),
            order: self.order,
            limit: self.limit,
            ..HistoryQuery::default()
        }
    }
}

/// Hands every selected experiment to `each`, in order, as it is read; an
/// error from `each` (a closed stdout, say) stops the listing and is returned.
///
/// # Errors
/// Database errors, or `each`'s first error.
pub fn history<E: From<Error>>(
    store: &Store,
    query: &HistoryQuery,
    each: impl FnMut(HistoryRow) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    store.for_each_history(query, each)
}

/// How many experiments the query selects, whatever its limit.
pub fn count(store: &Store, query: &HistoryQuery) -> Result<u64> {
    store.count_history(query)
}

/// Which of an experiment's files an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The render the provider produced.
    Render,
    /// latina's copy of the designer's photo.
    Original,
    /// The batch's side-by-side preview (original | A | B …).
    Preview,
}

impl FileRole {
    /// The word shown to people and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Render => "render",
            FileRole::Original => "original",
            FileRole::Preview => "preview",
        }
    }
}

/// One of an experiment's files and whether it is still there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Which file.
    pub role: FileRole,
    /// Where it was recorded; `None` when there is none (a failed render,
    /// parameters from `suggest`, a preview not written).
    pub path: Option<String>,
    /// Whether a regular file is there now.
    pub exists: bool,
    /// Its size now, bytes.
    pub bytes: Option<u64>,
}

/// Everything about one experiment, with its files checked on disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentReport {
    /// What the database records.
    #[serde(flatten)]
    pub detail: ExperimentDetail,
    /// The room it was made for: tags, the features it was asked for,
    /// the photo's measured features and the ones set by hand.
    pub context: ContextDetail,
    /// The render, the stored original and the batch preview.
    pub files: Vec<FileEntry>,
    /// Whether the designer was shown it, why, and the structure guard's
    /// verdict (best k of N).
    pub shortlist: crate::store::ShortlistRecord,
    /// What the render looks like, measured against its photo; `None`
    /// when there is no render or it has not been measured yet.
    pub render_features: Option<RenderFeatures>,
    /// The render's embeddings by the user's ONNX image model(s), one per
    /// model file (`reward.embedding_model`); empty without one.
    pub embeddings: Vec<RenderEmbedding>,
}

/// The experiment whose id or unique id prefix is `id`, in full.
///
/// # Errors
/// [`Error::UnknownExperiment`], [`Error::AmbiguousExperiment`], database errors.
pub fn show(storage: &Storage, store: &Store, id: &str) -> Result<ExperimentReport> {
    let id = store.resolve_experiment(id)?;
    let detail = store.experiment_detail(&id)?;
    let files = [
        (FileRole::Render, detail.row.output_path.clone()),
        (
            FileRole::Original,
            detail.image_info.as_ref().map(|i| i.stored_path.clone()),
        ),
        (FileRole::Preview, detail.batch.preview_path.clone()),
    ]
    .into_iter()
    .map(|(role, path)| {
        // A file in a bucket counts as there once this client has a copy
        // (downloaded now on a miss); one that cannot be fetched does not.
        let meta = path
            .as_deref()
            .and_then(|p| match storage.local_copy(p) {
                Ok(local) => std::fs::metadata(local).ok(),
                Err(e) => {
                    tracing::warn!("show: {}", crate::http::redact::scrub(&e.to_string()));
                    None
                }
            })
            .filter(|m| m.is_file());
        FileEntry {
            role,
            exists: meta.is_some(),
            bytes: meta.map(|m| m.len()),
            path,
        }
    })
    .collect();
    let context = store.experiment_context(&id)?.unwrap_or_default();
    let shortlist = store.shortlist_record(&id)?;
    let render_features = store.render_features_of(&id)?;
    let embeddings = store.render_embeddings_of(&id)?;
    Ok(ExperimentReport {
        detail,
        context,
        files,
        shortlist,
        render_features,
        embeddings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    /// The instant `text` names, in Unix milliseconds.
    fn at(text: &str) -> i64 {
        match text.parse::<Since>().unwrap() {
            Since::At(at) => at.as_millisecond(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(at("1970-01-01"), 0);
        // 2000-03-01: 30 years of 365 days + 7 leap days (72..96) + 31 + 29.
        assert_eq!(at("2000-03-01"), (30 * 365 + 7 + 31 + 29) * 86_400_000);
        assert_eq!(at("1969-12-31"), -86_400_000);
    }

    #[test]
    fn rfc3339_times_honour_fractions_and_offsets() {
        assert_eq!(at("1970-01-01T00:00:01Z"), 1000);
        assert_eq!(at("1970-01-01T00:00:01.25Z"), 1250);
        assert_eq!(at("1970-01-01T00:00:01.123456z"), 1123);
        assert_eq!(at("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(at("1970-01-01 00:00:00-00:30"), 30 * 60_000);
    }

    #[test]
    fn ages_count_back_from_now() {
        let hours = |h: i64| Since::Ago(SignedDuration::from_hours(h));
        assert_eq!("24h".parse(), Ok(hours(24)));
        assert_eq!("7d".parse(), Ok(hours(7 * 24)));
        assert_eq!("2w".parse(), Ok(hours(14 * 24)));
        let now = time::parse("2026-11-26T12:00:00.000Z").unwrap();
        assert_eq!(
            time::format(hours(48).resolve(now)),
            "2026-11-24T12:00:00.000Z"
        );
        // An age older than time itself starts at the first instant.
        let ages = Since::Ago(SignedDuration::from_secs(i64::MAX / 2));
        assert_eq!(ages.resolve(now), Timestamp::MIN);
    }

    #[test]
    fn nonsense_and_impossible_dates_are_refused() {
        for bad in [
            "",
            "yesterday",
            "7",
            "d",
            "-7d",
            "7 d",
            "7m",
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "2026-11-20T25:00:00Z",
            "2026-11-20T10:00:00",
            "2026-11-20T10:00Z",
            "2026-11-20T10:00:00.Z",
            "2026-11-20T10:00:00+1:00",
            "2026-11-20T10:00:00+01",
            "20261120T100000Z",
            "99999999999999999999d",
        ] {
            assert!(bad.parse::<Since>().is_err(), "{bad:?} accepted");
        }
        assert!(at("2024-02-29") > 0, "leap day");
    }

    #[test]
    fn an_instant_is_compared_as_the_stores_timestamp_text() {
        let ms = at("2026-11-26T21:48:31.123Z");
        let since = Since::At(Timestamp::from_millisecond(ms).unwrap());
        assert_eq!(
            time::format(since.resolve(Timestamp::UNIX_EPOCH)),
            "2026-11-26T21:48:31.123Z"
        );
    }
}
