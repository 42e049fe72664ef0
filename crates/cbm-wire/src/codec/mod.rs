//! The one place where cbm touches a CBOR library (spec/wire.md §2).
//!
//! Encoding goes through `serde_cbor` in packed form (struct fields keyed by
//! their integer index, enum variants by index). Decoding is strict, in three
//! steps, all before the value reaches any other code:
//!
//! 1. [`scan::check`] walks the raw bytes and enforces the canonical profile
//!    and the [`Limits`] — nothing is allocated for a forged length;
//! 2. `serde_cbor` builds the typed value, rejecting unknown fields, missing
//!    fields and wrong major types;
//! 3. the value is re-encoded and must reproduce the input byte for byte, so
//!    that exactly one encoding of each value is ever accepted.
//!
//! `serde_cbor` is unmaintained (RUSTSEC-2021-0127). Nothing outside this
//! module names it, so it can be swapped without touching the object types.

mod scan;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CanonicalError, DecodeError};
use crate::limits::Limits;

/// Item-count limits that CBOR structure alone cannot express
/// (spec/wire.md §6), checked after decoding and before the value is used.
pub trait Bounded {
    /// Checks every field's item count against its limit.
    ///
    /// # Errors
    /// [`DecodeError::OverLimit`] naming the field, reported under `object`.
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        let _ = object;
        Ok(())
    }

    /// [`Bounded::check_limits`] of a value decoded from `encoded`, its
    /// canonical encoding: a limit on the encoded size of a member can
    /// measure it there instead of encoding the member again.
    ///
    /// # Errors
    /// As [`Bounded::check_limits`].
    fn check_decoded_limits(&self, object: &'static str, encoded: &[u8]) -> Result<(), DecodeError> {
        let _ = encoded;
        self.check_limits(object)
    }
}

/// A top-level protocol object with one canonical CBOR encoding.
pub trait Wire: Serialize + DeserializeOwned + Bounded {
    /// The object's name in errors and in the spec.
    const NAME: &'static str;
    /// The limits its decoder enforces.
    const LIMITS: Limits = Limits::ENTRY;

    /// The canonical encoding.
    fn encode(&self) -> Vec<u8> {
        to_canonical(self)
    }

    /// Decodes `bytes`, accepting only the canonical encoding of a valid value.
    ///
    /// # Errors
    /// The first problem found; see [`DecodeError`].
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value: Self = from_canonical(bytes, Self::NAME, &Self::LIMITS)?;
        value.check_decoded_limits(Self::NAME, bytes)?;
        Ok(value)
    }

    /// Whether this value, encoded, is within its own limits as a
    /// top-level object: whether [`Wire::decode`] accepts its encoding. An
    /// object that arrived inside a larger one (an opening in a response
    /// frame) may pass that frame's limits and not its own; storing it
    /// would make every later read of it fail.
    ///
    /// # Errors
    /// What [`Wire::decode`] would report.
    fn check_own_limits(&self) -> Result<(), DecodeError> {
        Self::decode(&self.encode()).map(|_| ())
    }
}

/// Fails with [`DecodeError::OverLimit`] if `len` exceeds `limit`.
pub(crate) fn check_len(
    object: &'static str,
    field: &'static str,
    len: usize,
    limit: usize,
) -> Result<(), DecodeError> {
    if len > limit {
        return Err(DecodeError::OverLimit { object, field, len, limit });
    }
    Ok(())
}

/// Checks that `bytes` is one data item in the canonical profile, within `limits`.
///
/// # Errors
/// The first rule broken, with its byte offset.
pub fn check_canonical(bytes: &[u8], limits: &Limits) -> Result<(), CanonicalError> {
    scan::check(bytes, limits)
}

/// The length of the first data item in `bytes`, for reading CBOR sequences
/// (RFC 8742) one item at a time.
///
/// # Errors
/// [`CanonicalRule::Truncated`](crate::CanonicalRule::Truncated) if `bytes`
/// ends inside the item (read more and retry), or the rule the item breaks.
pub fn first_item_len(bytes: &[u8], limits: &Limits) -> Result<usize, CanonicalError> {
    scan::first_item_len(bytes, limits)
}

/// The encoding of the member under integer key `key` of the map that
/// `bytes` encodes: for an object decoded from `bytes` (so `bytes` is its
/// canonical encoding), the canonical encoding of that member, found without
/// encoding it again. `None` if `bytes` does not start with a map within
/// `limits` that has the key.
pub fn map_member<'a>(bytes: &'a [u8], key: u64, limits: &Limits) -> Option<&'a [u8]> {
    scan::map_member(bytes, key, limits)
}

/// Encodes `value` canonically. Only for cbm's own wire types, whose
/// serialization cannot fail.
pub(crate) fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    append_canonical(value, &mut out);
    out
}

/// Encodes `value` canonically, appending to `out`.
pub(crate) fn append_canonical<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let mut serializer = serde_cbor::Serializer::new(&mut *out).packed_format();
    value.serialize(&mut serializer).expect("wire types serialize infallibly into a Vec"); // ok: invariant of the types
}

/// Strictly decodes `bytes` as a `T` (steps 1–3 of the module docs).
pub(crate) fn from_canonical<T>(bytes: &[u8], object: &'static str, limits: &Limits) -> Result<T, DecodeError>
where
    T: Serialize + DeserializeOwned,
{
    scan::check(bytes, limits).map_err(|source| DecodeError::Canonical { object, source })?;
    let value: T = match serde_cbor::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => return Err(explain::<T>(bytes, object)),
    };
    // Re-encoding is cheap next to decoding and rules out every alternative
    // encoding that serde would otherwise accept (struct as array, variant by
    // name).
    let mut reencoded = Vec::with_capacity(bytes.len());
    append_canonical(&value, &mut reencoded);
    if reencoded != bytes {
        return Err(DecodeError::NotCanonicalValue { object });
    }
    Ok(value)
}

/// Decodes again, slowly, to say where and why decoding failed. Only runs on
/// the error path, so the tracking costs nothing on valid input.
fn explain<T: DeserializeOwned>(bytes: &[u8], object: &'static str) -> DecodeError {
    let mut deserializer = serde_cbor::Deserializer::from_slice(bytes);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(_) => return DecodeError::NotCanonicalValue { object },
        Err(error) => error,
    };
    let path = match error.path().to_string() {
        p if p == "." => "top level".to_owned(),
        p => format!("field {p}"),
    };
    let detail = error.inner().to_string();
    // serde's derive reports schema mismatches through the standard
    // `de::Error` constructors, whose messages are stable; map them to kinds.
    if detail.starts_with("missing field") {
        DecodeError::MissingField { object, path, detail }
    } else if detail.contains("expected field index") || detail.contains("expected variant index") {
        DecodeError::UnknownField { object, path, detail }
    } else if detail.starts_with("invalid type") {
        DecodeError::WrongType { object, path, detail }
    } else {
        DecodeError::InvalidValue { object, path, detail }
    }
}
