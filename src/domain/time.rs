//! Instants as the product records them: a [`jiff::Timestamp`] in UTC,
//! written as `YYYY-MM-DDTHH:MM:SS.sssZ` (always three fraction digits and
//! `Z`), which is what the database's `strftime('%Y-%m-%dT%H:%M:%fZ','now')`
//! defaults write. One text form means text order is time order in SQL and
//! old databases read as they are; arithmetic (ages, windows, ordering) is
//! done on the `Timestamp`, never on the text.
//!
//! The store binds and reads these through `store::columns`; JSON output
//! uses the serde adapters [`millis`] and [`millis_opt`] so it stays in the
//! same text.

use jiff::Timestamp;
use jiff::tz::Offset;

/// Why a text is not a timestamp in the product's form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a UTC time like 2026-11-26T21:48:31.123Z")]
pub struct BadTimestamp(pub String);

/// The current instant.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// `at` as a UTC calendar date and clock time, for display.
pub fn utc(at: Timestamp) -> jiff::civil::DateTime {
    Offset::UTC.to_datetime(at)
}

/// `at` as `YYYY-MM-DDTHH:MM:SS.sssZ`, UTC, cut (not rounded) to the
/// millisecond, as SQLite's `%f` does.
pub fn format(at: Timestamp) -> String {
    let t = utc(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.subsec_nanosecond() / 1_000_000
    )
}

/// Reads exactly the form [`format`] writes; anything else (no fraction,
/// another precision, an offset, a day that does not exist) is refused, so
/// what was read writes back byte for byte.
///
/// # Errors
/// [`BadTimestamp`] naming the text.
pub fn parse(text: &str) -> Result<Timestamp, BadTimestamp> {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    let bad = || BadTimestamp(text.to_string());
    // jiff reads a leap second as :59; the database never writes one.
    if !shape || b[17] >= b'6' {
        return Err(bad());
    }
    text.parse::<Timestamp>().map_err(|_| bad())
}

/// Serde adapter: a [`Timestamp`] as the product's timestamp text.
pub mod millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes [`super::format`]'s text.
    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*at))
    }

    /// Reads what [`super::parse`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter: an optional [`Timestamp`] as the timestamp text or null.
pub mod millis_opt {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the text, or null.
    pub fn serialize<S: Serializer>(at: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format(*at)),
            None => s.serialize_none(),
        }
    }

    /// Reads the text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_round_trips_to_the_millisecond() {
        for text in [
            "2026-11-26T21:48:31.123Z",
            "1970-01-01T00:00:00.000Z",
            "2024-02-29T23:59:59.999Z",
        ] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
        let at = Timestamp::from_millisecond(-1).unwrap();
        assert_eq!(format(at), "1969-12-31T23:59:59.999Z");
        // Finer than a millisecond is cut, as SQLite's %f does.
        let fine: Timestamp = "2026-11-26T21:48:31.123987Z".parse().unwrap();
        assert_eq!(format(fine), "2026-11-26T21:48:31.123Z");
    }

    #[test]
    fn other_forms_and_impossible_days_are_refused() {
        for bad in [
            "2026-11-26T21:48:31Z",
            "2026-11-26 21:48:31.123Z",
            "2026-11-26T21:48:31.12Z",
            "2026-11-26T21:48:31.123+01:00",
            "2023-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-26T24:00:00.000Z",
            "2026-12-31T23:59:60.000Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse(bad), Err(BadTimestamp(bad.to_string())), "{bad}");
        }
    }
}
