//! Checkpoints and cosignatures (spec/wire.md §4.4–4.5).

use serde::{Deserialize, Serialize};

use crate::codec::{Bounded, Wire};
use crate::ids::{LogId, RootHash, SignatoryId};
use crate::sign::{Signable, Signed, context};
use crate::time::Timestamp;

/// A log owner's statement of its log's size and root at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Which log.
    pub log: LogId,
    /// Number of entries.
    pub size: u64,
    /// Merkle root of those entries.
    pub root: RootHash,
    /// When the owner signed it.
    pub timestamp: Timestamp,
}

/// A checkpoint signed by its log's owner.
pub type SignedCheckpoint = Signed<Checkpoint>;

impl Signable for Checkpoint {
    const CONTEXT: &'static str = context::CHECKPOINT;
}

impl Bounded for Checkpoint {}

impl Wire for SignedCheckpoint {
    const NAME: &'static str = "SignedCheckpoint";
}

/// What a witness states by cosigning: "as of `cosigned_at` I hold and have
/// verified `checkpoint`'s log up to its size". The first cosignature by a
/// witness covering an entry is that entry's receipt for the witness.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct CosignBody {
    /// The cosigning signatory.
    pub witness: SignatoryId,
    /// The checkpoint cosigned, exactly as its owner signed it.
    pub checkpoint: Checkpoint,
    /// When the witness cosigned.
    pub cosigned_at: Timestamp,
}

/// A cosignature: the witness's signed [`CosignBody`].
pub type Cosignature = Signed<CosignBody>;

impl Signable for CosignBody {
    const CONTEXT: &'static str = context::COSIGNATURE;
}

impl Bounded for CosignBody {}

impl Wire for Cosignature {
    const NAME: &'static str = "Cosignature";
}
