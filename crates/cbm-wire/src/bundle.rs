//! Bundle records (spec/wire.md §4.9): a bundle is a CBOR sequence (RFC 8742)
//! of records, read one at a time so memory stays independent of its length.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Cosignature, SignedCheckpoint};
use crate::codec::{Bounded, Wire};
use crate::entry::{Opening, SignedEntry};
use crate::error::DecodeError;
use crate::evidence::EquivocationEvidence;
use crate::ids::Digest;
use crate::limits::Limits;
use crate::roster::SignedRoster;
use crate::time::Timestamp;

/// Version of the bundle format this crate writes and reads.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

/// The first record of every bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    /// Must be [`BUNDLE_FORMAT_VERSION`].
    pub format_version: u32,
    /// When the bundle was exported.
    pub created_at: Timestamp,
    /// Whether openings of committed fields were left out.
    pub public: bool,
}

/// The last record of every bundle: it makes truncation at a record
/// boundary and accidental damage detectable. It is not signed: whoever
/// passes a bundle on can drop records and write a matching end record;
/// what the records say is protected by their own signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct BundleEnd {
    /// Number of records before this one.
    pub records: u64,
    /// BLAKE3 of every byte before this record.
    pub digest: Digest,
}

/// One record of a bundle. A bundle is a header, the roster, any number of
/// the other records in the order spec/log.md prescribes, and an end record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum BundleRecord {
    /// Format version and export metadata; always first.
    Header {
        /// The header.
        header: BundleHeader,
    },
    /// The agreement; always second.
    Roster {
        /// The signed roster.
        roster: SignedRoster,
    },
    /// An entry of some log.
    Entry {
        /// The entry.
        entry: SignedEntry,
    },
    /// A checkpoint of some log.
    Checkpoint {
        /// The checkpoint.
        checkpoint: SignedCheckpoint,
    },
    /// A cosignature of some checkpoint.
    Cosignature {
        /// The cosignature.
        cosignature: Cosignature,
    },
    /// Evidence that some log equivocated.
    Evidence {
        /// The evidence.
        evidence: EquivocationEvidence,
    },
    /// The opening of a committed field (absent from public bundles).
    Opening {
        /// The opening.
        opening: Opening,
    },
    /// The end of the bundle; always last.
    End {
        /// The record count and digest of everything before.
        end: BundleEnd,
    },
}

impl BundleRecord {
    /// The variant number of [`BundleRecord::Entry`] in the encoding.
    const ENTRY_VARIANT: u64 = 2;

    /// The encoding of the entry inside `bytes`, the canonical encoding of
    /// an entry record (as [`Wire::decode`] accepted it): the entry's own
    /// canonical encoding, found without encoding the entry again. `None`
    /// for a record of another kind.
    pub fn entry_encoding(bytes: &[u8]) -> Option<&[u8]> {
        let variant = crate::codec::map_member(bytes, Self::ENTRY_VARIANT, &Limits::FRAME)?;
        crate::codec::map_member(variant, 0, &Limits::FRAME)
    }
}

impl Bounded for BundleRecord {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        match self {
            Self::Roster { roster } => roster.check_limits(object),
            Self::Entry { entry } => entry.check_limits(object).and_then(|()| entry.check_size(object, None)),
            Self::Evidence { evidence } => evidence.check_limits(object),
            Self::Header { .. }
            | Self::Checkpoint { .. }
            | Self::Cosignature { .. }
            | Self::Opening { .. }
            | Self::End { .. } => Ok(()),
        }
    }

    fn check_decoded_limits(&self, object: &'static str, encoded: &[u8]) -> Result<(), DecodeError> {
        match self {
            Self::Entry { entry } => {
                entry.check_limits(object).and_then(|()| entry.check_size(object, Self::entry_encoding(encoded)))
            }
            _ => self.check_limits(object),
        }
    }
}

impl Wire for BundleRecord {
    const NAME: &'static str = "BundleRecord";
    const LIMITS: Limits = Limits::FRAME;
}
