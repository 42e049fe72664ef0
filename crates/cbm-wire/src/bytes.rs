//! Byte-valued types: fixed-size hashes and keys, and variable payloads.
//!
//! In CBOR they are byte strings (major type 2). In human-readable formats
//! (JSON reports, test vectors) and in `Display` they are lowercase hex,
//! the one human form of every byte-valued identifier (spec/wire.md §3).

use std::fmt;
use std::str::FromStr;

use serde::de::Visitor;
use serde::{Deserializer, Serializer};

/// Error parsing the hex form of a byte-valued identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {len} bytes as {hex_len} lowercase hex digits")]
pub struct ParseHexError {
    what: &'static str,
    len: usize,
    hex_len: usize,
}

/// Serializes bytes as a CBOR byte string or, for human-readable formats, hex.
pub(crate) fn serialize_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&hex::encode(bytes))
    } else {
        serializer.serialize_bytes(bytes)
    }
}

/// Deserializes a byte string (or, for human-readable formats, hex) and hands it to `build`.
pub(crate) fn deserialize_bytes<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    build: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct BytesVisitor<F> {
        expecting: &'static str,
        build: F,
    }
    impl<T, F: FnOnce(&[u8]) -> Option<T>> Visitor<'_> for BytesVisitor<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
            let expecting = self.expecting;
            (self.build)(v).ok_or_else(|| E::invalid_length(v.len(), &expecting))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            let expecting = self.expecting;
            let bytes =
                decode_lower_hex(v).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &expecting))?;
            self.visit_bytes(&bytes)
        }
    }
    let visitor = BytesVisitor { expecting, build };
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(visitor)
    } else {
        deserializer.deserialize_bytes(visitor)
    }
}

/// Defines a fixed-size byte identifier: a 32-byte hash, key or salt.
macro_rules! fixed_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr, $expecting:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::bytes::ParseHexError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::bytes::parse_hex(s, $expecting).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::bytes::serialize_bytes(&self.0, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::bytes::deserialize_bytes(deserializer, $expecting, |bytes| {
                    <[u8; $len]>::try_from(bytes).ok().map(Self)
                })
            }
        }
    };
}
pub(crate) use fixed_bytes;

/// Decodes lowercase hex, the one human form of bytes; uppercase is refused
/// so that each value has one text form too.
fn decode_lower_hex(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(s).ok()
}

/// Parses exactly `N` bytes from lowercase hex.
pub(crate) fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], ParseHexError> {
    let error = ParseHexError { what, len: N, hex_len: 2 * N };
    decode_lower_hex(s).and_then(|bytes| <[u8; N]>::try_from(bytes).ok()).ok_or(error)
}

/// A variable-length byte payload: the value of a plain field or an opening.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The raw bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({})", hex::encode(&self.0))
    }
}

impl FromStr for Bytes {
    type Err = ParseHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = ParseHexError { what: "bytes", len: s.len() / 2, hex_len: s.len() };
        decode_lower_hex(s).map(Self).ok_or(error)
    }
}

impl serde::Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_bytes(&self.0, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_bytes(deserializer, "a byte string", |bytes| Some(Self(bytes.to_vec())))
    }
}
