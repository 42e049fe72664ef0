//! Equivocation evidence (spec/wire.md §4.8): two checkpoints of one log that
//! cannot both be honest. Checkable offline with only the roster (cbm-log).

use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::codec::{Bounded, Wire};
use crate::error::DecodeError;
use crate::proof::ConsistencyProof;

/// Proof that a log owner showed two incompatible views of its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum EquivocationEvidence {
    /// Two signed checkpoints of the same size with different roots.
    SameSize {
        /// One checkpoint.
        first: SignedCheckpoint,
        /// The other.
        second: SignedCheckpoint,
    },
    /// A consistency proof from `older` to `newer` that reproduces `newer`'s
    /// signed root but an older root different from `older`'s signed root.
    Inconsistent {
        /// The smaller checkpoint.
        older: SignedCheckpoint,
        /// The larger checkpoint.
        newer: SignedCheckpoint,
        /// Consistency proof from `older.size` to `newer.size`.
        proof: ConsistencyProof,
    },
    /// Two signed checkpoints whose times run against their sizes: the
    /// smaller is timed after the larger. An owner's clock claims only ever
    /// move forward with its log, so one of the two times is false.
    OutOfTimeOrder {
        /// The checkpoint of the smaller size, with the later time.
        smaller: SignedCheckpoint,
        /// The checkpoint of the larger size, with the earlier time.
        larger: SignedCheckpoint,
    },
}

impl Bounded for EquivocationEvidence {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        match self {
            Self::SameSize { .. } | Self::OutOfTimeOrder { .. } => Ok(()),
            Self::Inconsistent { proof, .. } => proof.check_limits(object),
        }
    }
}

impl Wire for EquivocationEvidence {
    const NAME: &'static str = "EquivocationEvidence";
}
