//! Merkle proofs and the single-entry proof (spec/wire.md §4.6–4.7).
//! Their verification is in cbm-log; these are the carried forms.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Cosignature, SignedCheckpoint};
use crate::codec::{Bounded, Wire, check_len};
use crate::entry::SignedEntry;
use crate::error::DecodeError;
use crate::ids::TreeHash;
use crate::limits::{self, Limits};
use crate::roster::SignedRoster;

/// Proof that the leaf at `index` is in the tree of `size` leaves
/// (RFC 9162 §2.1.3, BLAKE3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// Sibling hashes from the leaf upwards.
    pub path: Vec<TreeHash>,
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of
/// `new_size` leaves (RFC 9162 §2.1.4, BLAKE3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// The proof hashes.
    pub path: Vec<TreeHash>,
}

impl Bounded for InclusionProof {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        check_len(object, "InclusionProof.path", self.path.len(), limits::MAX_PROOF_HASHES)
    }
}

impl Bounded for ConsistencyProof {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        // RFC 9162 consistency proofs reach 65 hashes for trees past 2^63 leaves;
        // seeded paths in evidence (spec/log.md §2.5) never exceed that either.
        check_len(object, "ConsistencyProof.path", self.path.len(), limits::MAX_PROOF_HASHES + 1)
    }
}

/// Everything an offline verifier needs to be convinced that one entry was
/// declared: "X declared this, and the quorum had it by T".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct EntryProof {
    /// The agreement, with its adoption signatures.
    pub roster: SignedRoster,
    /// The entry.
    pub entry: SignedEntry,
    /// Its inclusion in the checkpoint's tree.
    pub inclusion: InclusionProof,
    /// The owner's checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Cosignatures of that checkpoint, at least the roster's quorum.
    pub cosignatures: Vec<Cosignature>,
}

impl Bounded for EntryProof {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        self.roster.check_limits(object)?;
        self.entry.check_limits(object)?;
        self.entry.check_size(object, None)?;
        self.inclusion.check_limits(object)?;
        check_len(object, "EntryProof.cosignatures", self.cosignatures.len(), limits::MAX_SIGNATORIES)
    }
}

impl Wire for EntryProof {
    const NAME: &'static str = "EntryProof";
    const LIMITS: Limits = Limits::FRAME;
}
