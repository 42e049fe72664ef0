//! Typed identifiers (spec/wire.md §3). None of them is a bare byte array or
//! string in the API, so a root can never be passed where an entry hash belongs.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::bytes::fixed_bytes;

fixed_bytes!(
    /// BLAKE3 hash of a roster's canonical encoding: binds every signature
    /// made under the agreement, so none can be replayed under another.
    AgreementHash, 32, "an agreement hash (32-byte string)"
);
fixed_bytes!(
    /// Identifies one signatory's log within one agreement (spec/wire.md §3.2).
    LogId, 32, "a log id (32-byte string)"
);
fixed_bytes!(
    /// The Merkle leaf hash of a signed entry; how other entries cite it.
    EntryHash, 32, "an entry hash (32-byte string)"
);
fixed_bytes!(
    /// The Merkle root of a log of a given size.
    RootHash, 32, "a root hash (32-byte string)"
);
fixed_bytes!(
    /// An interior or leaf hash of a Merkle tree, as carried in proofs.
    TreeHash, 32, "a tree hash (32-byte string)"
);
fixed_bytes!(
    /// BLAKE3 of a run of bytes, such as everything in a bundle before its end record.
    Digest, 32, "a digest (32-byte string)"
);
fixed_bytes!(
    /// Keyed-BLAKE3 commitment to the value of a committed field.
    Commitment, 32, "a commitment (32-byte string)"
);
fixed_bytes!(
    /// The 32 random bytes that key a field commitment.
    Salt, 32, "a salt (32-byte string)"
);
fixed_bytes!(
    /// An Ed25519 public key (RFC 8032 encoding), for signing or transport.
    PublicKey, 32, "an Ed25519 public key (32-byte string)"
);
fixed_bytes!(
    /// An Ed25519 signature (RFC 8032 encoding).
    Signature, 64, "an Ed25519 signature (64-byte string)"
);

/// Which of a signatory's signing keys made a signature. Numbers are assigned
/// by the roster and by key-rotation entries, and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(transparent)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key#{}", self.0)
    }
}

/// Error for a text identifier that breaks its syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {rule}")]
pub struct ParseIdError {
    what: &'static str,
    value: String,
    rule: &'static str,
}

/// Checks token syntax: 1..=max bytes of `[A-Za-z0-9._-]`, starting with a
/// letter or digit; `extra` lists further allowed punctuation.
fn check_token(what: &'static str, value: &str, max: usize, extra: &[u8]) -> Result<(), ParseIdError> {
    let error = |rule| Err(ParseIdError { what, value: value.chars().take(80).collect(), rule });
    let bytes = value.as_bytes();
    match bytes.first() {
        None => return error("must not be empty"),
        Some(b) if !b.is_ascii_alphanumeric() => return error("must start with a letter or digit"),
        Some(_) => {}
    }
    if bytes.len() > max {
        return error("too long");
    }
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"._-".contains(b) || extra.contains(b);
    if !bytes.iter().all(allowed) {
        return error("contains a character other than letters, digits and . _ -");
    }
    Ok(())
}

/// Defines a text identifier with token syntax and a maximum length.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, max = $max:expr, extra = $extra:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Longest allowed value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps `value`.
            ///
            /// # Errors
            /// If `value` breaks the syntax of spec/wire.md §3.1.
            pub fn new(value: impl Into<String>) -> Result<Self, ParseIdError> {
                let value = value.into();
                check_token($what, &value, $max, $extra)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(D::Error::custom)
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<'a> arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                Ok(Self(crate::arbitrary_support::token(u, $max, $extra)?))
            }
        }
    };
}

text_id!(
    /// A signatory's short name within an agreement, such as `AT` or `de-cert`.
    /// Up to 32 bytes of `[A-Za-z0-9._-]`, starting with a letter or digit.
    SignatoryId, "signatory id", max = 32, extra = b""
);
text_id!(
    /// The name of an agreement, such as `osce-cyber-cbm`. Up to 64 bytes.
    AgreementId, "agreement id", max = 64, extra = b""
);
text_id!(
    /// A scheduled or free declaration topic, such as `points-of-contact`.
    /// Up to 64 bytes.
    Topic, "topic", max = 64, extra = b""
);
text_id!(
    /// The label of an entry field, such as `contact.email`. Up to 64 bytes.
    Label, "field label", max = 64, extra = b""
);
text_id!(
    /// A media type (RFC 6838) such as `text/plain` or `application/json`.
    /// Up to 127 bytes; `/` and `+` are allowed after the first character.
    MediaType, "media type", max = 127, extra = b"/+"
);
text_id!(
    /// A network address of a node: `host:port`, with an IPv4 address or a
    /// DNS name as host (bracketed IPv6 is not accepted yet). Up to 255 bytes.
    Address, "address", max = 255, extra = b":[]"
);

/// Free text for humans (titles, names, reasons): any UTF-8 up to
/// [`crate::limits::MAX_TEXT_BYTES`] bytes.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(String);

impl Text {
    /// Wraps `value` if it fits the length limit.
    ///
    /// # Errors
    /// If `value` is longer than [`crate::limits::MAX_TEXT_BYTES`].
    pub fn new(value: impl Into<String>) -> Result<Self, ParseIdError> {
        let value = value.into();
        if value.len() > crate::limits::MAX_TEXT_BYTES {
            return Err(ParseIdError { what: "text", value: value.chars().take(80).collect(), rule: "too long" });
        }
        Ok(Self(value))
    }

    /// Wraps the longest prefix of `value` that fits the length limit, cut
    /// on a character boundary: for text that only informs (an error a peer
    /// caused, a reason), where losing its tail beats losing all of it.
    pub fn truncated(value: &str) -> Self {
        let mut end = value.len().min(crate::limits::MAX_TEXT_BYTES);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        Self(value[..end].to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for Text {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'a> arbitrary::Arbitrary<'a> for Text {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut s = String::arbitrary(u)?;
        while s.len() > crate::limits::MAX_TEXT_BYTES {
            s.pop();
        }
        Ok(Self(s))
    }
}
