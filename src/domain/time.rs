//! Instants on the wire are RFC 3339 UTC with whole seconds: `2027-11-24T00:00:00Z`.
//! Parsing accepts only that exact form, so a parsed value re-serializes to the same bytes —
//! required because signed objects (grants) are verified over their re-serialized JCS form.

use super::DomainError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::{OffsetDateTime, format_description::FormatItem, macros::format_description};

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Bounds keep every value representable in the 4-digit-year wire form.
    const MIN: i64 = 0; // 1970-01-01
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

    pub fn from_unix(secs: i64) -> Result<Self, DomainError> {
        if (Self::MIN..=Self::MAX).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(DomainError::invalid("bad_time", "time out of range"))
        }
    }

    /// For clocks: clamps into the representable range instead of failing.
    pub fn from_unix_clamped(secs: i64) -> Self {
        Self(secs.clamp(Self::MIN, Self::MAX))
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    /// `self + secs`, saturating at the representable maximum.
    pub fn plus(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs).clamp(Self::MIN, Self::MAX))
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bad = || {
            DomainError::invalid(
                "bad_time",
                format!(
                    "`{}` is not an RFC 3339 UTC time like 2027-11-24T00:00:00Z",
                    s.chars().take(40).collect::<String>()
                ),
            )
        };
        // `[year]` would also take a sign (`+2027-…`): only the exact 20-byte form is accepted.
        if s.len() != 20 || !s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let dt = time::PrimitiveDateTime::parse(s, FORMAT).map_err(|_| bad())?;
        Self::from_unix(dt.assume_utc().unix_timestamp()).map_err(|_| bad())
    }

    /// The calendar day, `YYYY-MM-DD` (for people).
    pub fn date(self) -> String {
        self.to_rfc3339().chars().take(10).collect()
    }

    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|dt| dt.format(FORMAT).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exact_form_only() {
        let t = Timestamp::parse("2027-11-24T00:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2027-11-24T00:00:00Z");
        assert_eq!(t.unix(), 1_827_014_400);
        for bad in [
            "2027-11-24T00:00:00+00:00",
            "2027-11-24T00:00:00.5Z",
            "2027-11-24",
            "x",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert!(Timestamp::from_unix(-1).is_err());
    }
}
