//! Time on the wire: instants and spans in milliseconds (spec/wire.md §3.3).
//!
//! Core code never reads a clock; every "now" is passed in by the caller.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant: milliseconds since 1970-01-01T00:00:00Z, leap seconds ignored.
/// Shown as RFC 3339 UTC (`2026-11-26T14:15:00.000Z`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct Timestamp(pub u64);

/// A length of time in milliseconds. Shown as humantime does (`1day 2h 3m`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct TimeSpan(pub u64);

/// Error parsing a timestamp or span from text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: expected {expected}")]
pub struct ParseTimeError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// Converts a wall-clock time (for callers at the I/O edge).
    /// Times before the epoch clamp to 0; times past year 584 million saturate.
    pub fn from_system_time(time: SystemTime) -> Self {
        let millis = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Self(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// This instant plus `span`, saturating at the end of time.
    pub fn saturating_add(self, span: TimeSpan) -> Self {
        Self(self.0.saturating_add(span.0))
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> TimeSpan {
        TimeSpan(self.0.saturating_sub(earlier.0))
    }
}

impl TimeSpan {
    /// A span of whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// A span of whole hours.
    pub const fn from_hours(hours: u64) -> Self {
        Self::from_secs(hours.saturating_mul(3600))
    }

    /// A span of whole days.
    pub const fn from_days(days: u64) -> Self {
        Self::from_hours(days.saturating_mul(24))
    }

    /// Milliseconds.
    pub fn millis(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // humantime cannot show years past 9999; fall back to the raw number.
        match SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(self.0)) {
            Some(t) if self.0 < 253_402_300_800_000 => {
                write!(f, "{}", humantime::format_rfc3339_millis(t))
            }
            _ => write!(f, "@{}ms", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ParseTimeError {
            what: "timestamp",
            value: s.to_owned(),
            expected: "RFC 3339 UTC, e.g. 2026-01-31T12:00:00Z",
        };
        // The display form of instants past year 9999.
        if let Some(millis) = s.strip_prefix('@').and_then(|rest| rest.strip_suffix("ms")) {
            return millis.parse().map(Self).map_err(|_| error());
        }
        let time = humantime::parse_rfc3339(s).map_err(|_| error())?;
        Ok(Self::from_system_time(time))
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(Duration::from_millis(self.0)))
    }
}

impl fmt::Debug for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeSpan({self})")
    }
}

impl FromStr for TimeSpan {
    type Err = ParseTimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error =
            || ParseTimeError { what: "time span", value: s.to_owned(), expected: "a span such as 48h, 30d or 1h 30m" };
        let span = humantime::parse_duration(s).map_err(|_| error())?;
        u64::try_from(span.as_millis()).map(Self).map_err(|_| error())
    }
}

/// Serde for both types: an unsigned integer in CBOR, the display text in
/// human-readable formats.
macro_rules! serde_as_millis {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(self)
                } else {
                    serializer.serialize_u64(self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    String::deserialize(deserializer)?.parse().map_err(D::Error::custom)
                } else {
                    u64::deserialize(deserializer).map(Self)
                }
            }
        }
    };
}
serde_as_millis!(Timestamp);
serde_as_millis!(TimeSpan);
