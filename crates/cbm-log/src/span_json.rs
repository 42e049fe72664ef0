//! A duration in a report (spec/log.md §7.2): an object holding the exact
//! value, in integer milliseconds, beside the human text,
//! `{"ms": 14400000, "text": "4 h"}`. For the audit report's JSON; wire
//! objects encode spans as bare integers (spec/wire.md §3.3).

use cbm_wire::TimeSpan;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shown {
    ms: u64,
    text: String,
}

/// Serializes `span` as `{"ms", "text"}`.
///
/// # Errors
/// As the serializer.
pub fn serialize<S: Serializer>(span: &TimeSpan, serializer: S) -> Result<S::Ok, S::Error> {
    Shown { ms: span.0, text: crate::words::span_words(*span) }.serialize(serializer)
}

/// Reads `{"ms", "text"}`: the milliseconds are the value, and the text,
/// for people, is not read.
///
/// # Errors
/// If the object is malformed.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeSpan, D::Error> {
    Shown::deserialize(deserializer).map(Shown::span)
}

impl Shown {
    /// The span: its milliseconds.
    fn span(self) -> TimeSpan {
        TimeSpan(self.ms)
    }
}

/// The same for an optional span: `null` when absent.
pub mod option {
    use super::{Deserialize, Deserializer, Serializer, Shown, TimeSpan};

    /// Serializes `span` as `{"ms", "text"}`, or `null`.
    ///
    /// # Errors
    /// As the serializer.
    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub fn serialize<S: Serializer>(span: &Option<TimeSpan>, serializer: S) -> Result<S::Ok, S::Error> {
        match span {
            Some(span) => super::serialize(span, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `{"ms", "text"}` or `null`.
    ///
    /// # Errors
    /// If the object is malformed.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<TimeSpan>, D::Error> {
        Ok(Option::<Shown>::deserialize(deserializer)?.map(Shown::span))
    }
}
