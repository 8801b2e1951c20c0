//! `latina history` and `latina show`: what was tried, how it was rated,
//! and where its files are.
//!
//! History rows are handed to the caller one at a time as the store reads
//! them, so printing the first lines of a huge history costs only those
//! lines. Times given on the command line are turned here into the UTC text
//! the store compares with; the store owns the SQL, the CLI the printing.

use serde::Serialize;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::store::{
    ContextDetail, ExperimentDetail, HistoryOrder, HistoryQuery, HistoryRow, RatedFilter, Store,
};

/// The start of a `--since` window, as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// An instant, in milliseconds since the Unix epoch (UTC).
    At(i64),
    /// That long before now.
    Ago(Duration),
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
    /// The instant this window starts at, as the store writes timestamps
    /// (`YYYY-MM-DDTHH:MM:SS.sssZ`), `now_ms` being the current Unix time in ms.
    pub fn resolve(self, now_ms: i64) -> String {
        let at = match self {
            Since::At(ms) => ms,
            Since::Ago(age) => now_ms.saturating_sub(age.as_millis().min(i64::MAX as u128) as i64),
        };
        format_utc_ms(at)
    }
}

/// `24h`, `7d`, `2w`: `Some(None)` for an age that overflows, `None` when
/// the text is not an age at all.
fn parse_age(t: &str) -> Option<Option<Duration>> {
    let unit = t.chars().last()?;
    let seconds_per = match unit {
        'h' => 3_600u64,
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
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(seconds_per))
            .map(Duration::from_secs),
    )
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time, to Unix ms.
fn parse_instant(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let date = parse_date(b.get(..10)?)?;
    if b.len() == 10 {
        return Some(date * 86_400_000);
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let rest = &b[11..];
    let hh = two_digits(rest.get(0..2)?)?;
    let mm = two_digits(rest.get(3..5)?)?;
    let ss = two_digits(rest.get(6..8)?)?;
    if rest[2] != b':' || rest[5] != b':' || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 8;
    let mut millis = 0i64;
    if rest.get(i) == Some(&b'.') {
        let digits = rest[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        for (k, c) in rest[i + 1..i + 1 + digits].iter().take(3).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][k];
        }
        i += 1 + digits;
    }
    let offset_minutes = match rest.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = two_digits(&[*h1, *h2])?;
            let m = two_digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let seconds = date * 86_400 + hh * 3_600 + mm * 60 + ss - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// `YYYY-MM-DD` to days since 1970-01-01, checking the day exists.
fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?;
    let month = two_digits(&b[5..7])?;
    let day = two_digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn two_digits(b: &[u8]) -> Option<i64> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(i64::from(a - b'0') * 10 + i64::from(c - b'0'))
        }
        _ => None,
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`] (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Unix ms as `YYYY-MM-DDTHH:MM:SS.sssZ`, the store's timestamp text.
pub fn format_utc_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
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
    /// The store query, with `--since` resolved against `now_ms`.
    pub fn query(&self, now_ms: i64) -> HistoryQuery {
        HistoryQuery {
            provider: self.provider.clone(),
            prompt_version: self.prompt_version.clone(),
            rated: self.rated,
            since: self.since.map(|s| s.resolve(now_ms)),
            rated_by: self.rated_by.clone(),
            order: self.order,
            limit: self.limit,
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
}

/// The experiment whose id or unique id prefix is `id`, in full.
///
/// # Errors
/// [`Error::UnknownExperiment`], [`Error::AmbiguousExperiment`], database errors.
pub fn show(store: &Store, id: &str) -> Result<ExperimentReport> {
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
        let meta = path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
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
    Ok(ExperimentReport {
        detail,
        context,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        match text.parse::<Since>().unwrap() {
            Since::At(ms) => ms,
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
        assert_eq!("24h".parse(), Ok(Since::Ago(Duration::from_secs(86_400))));
        assert_eq!("7d".parse(), Ok(Since::Ago(Duration::from_secs(604_800))));
        assert_eq!("2w".parse(), Ok(Since::Ago(Duration::from_secs(1_209_600))));
        let now = at("2026-11-26T12:00:00Z");
        assert_eq!(
            Since::Ago(Duration::from_secs(2 * 86_400)).resolve(now),
            "2026-11-24T12:00:00.000Z"
        );
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
            "99999999999999999999d",
        ] {
            assert!(bad.parse::<Since>().is_err(), "{bad:?} accepted");
        }
        assert!(at("2024-02-29") > 0, "leap day");
    }

    #[test]
    fn formatting_writes_the_stores_timestamp_text() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc_ms(-1), "1969-12-31T23:59:59.999Z");
        let ms = at("2026-11-26T21:48:31.123Z");
        assert_eq!(format_utc_ms(ms), "2026-11-26T21:48:31.123Z");
        assert_eq!(Since::At(ms).resolve(0), "2026-11-26T21:48:31.123Z");
    }
}
