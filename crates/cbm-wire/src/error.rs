//! Errors of the wire layer, grouped by who is at fault (spec/wire.md §7).
//!
//! Everything here is caused by the input — bytes from a peer or a file — or
//! by a signature that does not verify. No error here is a bug of the caller.

use std::fmt;

/// A rule of the canonical CBOR profile (spec/wire.md §2) that the input broke.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CanonicalRule {
    /// The whole object is larger than the limit for its type.
    TooLarge {
        /// Encoded length.
        len: u64,
        /// Limit for this object type.
        limit: u64,
    },
    /// The input ends inside a data item.
    Truncated,
    /// Bytes follow the single top-level data item.
    TrailingBytes,
    /// An integer, length or key is not in its shortest form.
    NonMinimalHead,
    /// An indefinite-length string, array or map.
    IndefiniteLength,
    /// Additional information 28–30, reserved by RFC 8949.
    ReservedAdditionalInfo,
    /// A floating-point value; the profile has none.
    Float,
    /// A tag; the profile has none.
    Tag,
    /// A simple value other than `false` and `true` (null, undefined, ...).
    SimpleValue {
        /// The simple value number.
        value: u64,
    },
    /// A map key that is not an unsigned integer.
    MapKeyNotUnsigned,
    /// A map key smaller than the one before it.
    UnsortedKeys {
        /// The key found.
        key: u64,
        /// The key before it.
        after: u64,
    },
    /// The same map key twice.
    DuplicateKey {
        /// The repeated key.
        key: u64,
    },
    /// Arrays and maps nested deeper than the limit.
    TooDeep {
        /// Deepest nesting allowed.
        limit: u64,
    },
    /// A string, array or map longer than the limit.
    LengthOverLimit {
        /// Declared length.
        len: u64,
        /// Limit.
        limit: u64,
    },
    /// A text string that is not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for CanonicalRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => write!(f, "object is {len} bytes, limit is {limit}"),
            Self::Truncated => f.write_str("input ends inside a data item"),
            Self::TrailingBytes => f.write_str("trailing bytes after the data item"),
            Self::NonMinimalHead => f.write_str("integer or length not in shortest form"),
            Self::IndefiniteLength => f.write_str("indefinite-length item"),
            Self::ReservedAdditionalInfo => f.write_str("reserved additional information 28-30"),
            Self::Float => f.write_str("floating-point value"),
            Self::Tag => f.write_str("tagged value"),
            Self::SimpleValue { value } => write!(f, "simple value {value}"),
            Self::MapKeyNotUnsigned => f.write_str("map key is not an unsigned integer"),
            Self::UnsortedKeys { key, after } => write!(f, "map key {key} after key {after}"),
            Self::DuplicateKey { key } => write!(f, "duplicate map key {key}"),
            Self::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
            Self::LengthOverLimit { len, limit } => write!(f, "length {len} over limit {limit}"),
            Self::InvalidUtf8 => f.write_str("text string is not valid UTF-8"),
        }
    }
}

/// A violation of the canonical profile, with the byte offset where it starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {rule}")]
pub struct CanonicalError {
    /// Offset of the offending head; for invalid UTF-8, of the first invalid
    /// byte; for truncation, the end of the input.
    pub offset: usize,
    /// The rule that was broken.
    pub rule: CanonicalRule,
}

impl CanonicalError {
    pub(crate) fn new(offset: usize, rule: CanonicalRule) -> Self {
        Self { offset, rule }
    }
}

/// Why bytes could not be decoded as a given object type.
///
/// `object` is the type being decoded (`"SignedEntry"`), `path` the chain of
/// integer field keys and array indices to the offending value, as listed in
/// spec/wire.md (`"0.5.1"`: key 0, then key 5, then element 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not in the canonical CBOR profile.
    #[error("{object}: not canonical CBOR {source}")]
    Canonical {
        /// Type being decoded.
        object: &'static str,
        /// The broken rule.
        source: CanonicalError,
    },
    /// A map key that the object's schema does not define.
    #[error("{object} at {path}: unknown field ({detail})")]
    UnknownField {
        /// Type being decoded.
        object: &'static str,
        /// Path to the map holding the unknown key.
        path: String,
        /// What was found and expected.
        detail: String,
    },
    /// A required field is absent.
    #[error("{object} at {path}: {detail}")]
    MissingField {
        /// Type being decoded.
        object: &'static str,
        /// Path to the map missing the field.
        path: String,
        /// Which field.
        detail: String,
    },
    /// A value of the wrong CBOR major type (an array where a byte string belongs, ...).
    #[error("{object} at {path}: wrong type ({detail})")]
    WrongType {
        /// Type being decoded.
        object: &'static str,
        /// Path to the value.
        path: String,
        /// What was found and expected.
        detail: String,
    },
    /// A value of the right type that breaks the schema: a hash of the wrong
    /// length, an identifier with forbidden characters, an integer out of range.
    #[error("{object} at {path}: invalid value ({detail})")]
    InvalidValue {
        /// Type being decoded.
        object: &'static str,
        /// Path to the value.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A field holds more items than the wire limits allow (spec/wire.md §6.3).
    #[error("{object}: field {field} has {len} items or bytes, limit is {limit}")]
    OverLimit {
        /// Type being decoded.
        object: &'static str,
        /// The field, by name (`"Entry.fields"`).
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit (spec/wire.md §6).
        limit: usize,
    },
    /// Well-formed and schema-valid, but not the one encoding of its value
    /// (a struct sent as an array, an enum variant sent by name, ...).
    #[error("{object}: not the canonical encoding of its value")]
    NotCanonicalValue {
        /// Type being decoded.
        object: &'static str,
    },
}

/// Why a signature, commitment opening or key was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The public key is not a valid Ed25519 point, or has small order.
    #[error("{what}: public key is not a valid Ed25519 key")]
    InvalidKey {
        /// What the key belongs to.
        what: &'static str,
    },
    /// The signer or key number is not known for this object.
    #[error("{what}: signer or key not listed")]
    UnknownKey {
        /// What was signed.
        what: &'static str,
    },
    /// The signature does not verify under `verify_strict` rules.
    #[error("{what}: signature does not verify")]
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// An opening does not match the commitment it claims to open.
    #[error("opening does not match the commitment of field {field}")]
    OpeningMismatch {
        /// Field index within the entry body.
        field: u32,
    },
    /// An opening names a field that is absent or not committed.
    #[error("entry has no committed field {field}")]
    NoSuchCommittedField {
        /// Field index within the entry body.
        field: u32,
    },
    /// An opening names another entry than the one given.
    #[error("opening is for another entry")]
    WrongEntry,
}
