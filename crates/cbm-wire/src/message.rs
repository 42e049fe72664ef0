//! Network requests and responses (spec/transport.md). One request and one
//! response per QUIC bidirectional stream, each a length-prefixed frame
//! holding one canonical CBOR message.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Cosignature, SignedCheckpoint};
use crate::codec::{Bounded, Wire, check_len};
use crate::entry::{Opening, SignedEntry};
use crate::error::DecodeError;
use crate::evidence::EquivocationEvidence;
use crate::ids::{Digest, LogId, RootHash, Text};
use crate::limits::{self, Limits};
use crate::proof::{ConsistencyProof, InclusionProof};

/// A request from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum Request {
    /// The newest checkpoint the server holds for `log`.
    LatestCheckpoint {
        /// Which log.
        log: LogId,
    },
    /// Entries `start .. start + count` of `log`; the server may return fewer.
    Entries {
        /// Which log.
        log: LogId,
        /// First index.
        start: u64,
        /// How many, at most the roster's page size.
        count: u32,
    },
    /// Inclusion proof of entry `index` in the tree of `size` entries.
    InclusionProof {
        /// Which log.
        log: LogId,
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// Consistency proof between two sizes of `log`.
    ConsistencyProof {
        /// Which log.
        log: LogId,
        /// Older size.
        old_size: u64,
        /// Newer size.
        new_size: u64,
    },
    /// The owner announces a new checkpoint of its own log.
    PushCheckpoint {
        /// The checkpoint.
        checkpoint: SignedCheckpoint,
    },
    /// A witness hands its cosignature to the log owner (or a mirror).
    PushCosignature {
        /// The cosignature.
        cosignature: Cosignature,
    },
    /// Cosignatures the server holds for one checkpoint.
    Cosignatures {
        /// Which log.
        log: LogId,
        /// Checkpoint size.
        size: u64,
        /// Checkpoint root.
        root: RootHash,
    },
    /// The caller's view, for split-view detection; the server answers with its own.
    Gossip {
        /// Newest checkpoint the caller holds per log.
        checkpoints: Vec<SignedCheckpoint>,
        /// Cosignatures of those checkpoints the caller holds.
        cosignatures: Vec<Cosignature>,
    },
    /// A page of the equivocation evidence the server holds: the items
    /// whose digests (BLAKE3 of their encodings) follow `after`, in digest
    /// order; from the first if `after` is absent.
    Evidence {
        /// The digest of the last item of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Digest>,
    },
    /// Openings of committed fields in `log` addressed to the caller,
    /// for entries from `start` on.
    Openings {
        /// Which log.
        log: LogId,
        /// First entry index of interest.
        start: u64,
    },
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum Response {
    /// The newest checkpoint, if the server holds any for the log.
    Checkpoint {
        /// The checkpoint; absent if the server holds none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<SignedCheckpoint>,
    },
    /// Entries from the requested start, in index order.
    Entries {
        /// The entries.
        entries: Vec<SignedEntry>,
    },
    /// An inclusion proof.
    InclusionProof {
        /// The proof.
        proof: InclusionProof,
    },
    /// A consistency proof.
    ConsistencyProof {
        /// The proof.
        proof: ConsistencyProof,
    },
    /// A pushed checkpoint's signature verified and it was taken for
    /// mirroring (cosigning follows once its entries check out), or a pushed
    /// cosignature verified and was stored.
    Accepted,
    /// Cosignatures of the requested checkpoint.
    Cosignatures {
        /// The cosignatures.
        cosignatures: Vec<Cosignature>,
    },
    /// The server's view, answering [`Request::Gossip`].
    Gossip {
        /// Newest checkpoint the server holds per log.
        checkpoints: Vec<SignedCheckpoint>,
        /// Cosignatures of those checkpoints the server holds.
        cosignatures: Vec<Cosignature>,
    },
    /// Equivocation evidence.
    Evidence {
        /// The evidence.
        evidence: Vec<EquivocationEvidence>,
    },
    /// Openings addressed to the caller.
    Openings {
        /// The openings.
        openings: Vec<Opening>,
    },
    /// The request failed.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail.
        message: Text,
    },
}

/// Why a request failed (spec/transport.md lists when each is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum ErrorCode {
    /// The request was not a valid canonical message.
    Malformed,
    /// The server does not hold the log or the item.
    NotFound,
    /// The request is valid but out of range (index past the size, ...).
    OutOfRange,
    /// A pushed object failed verification.
    Rejected,
    /// A pushed checkpoint conflicts with one seen before; evidence was stored.
    Equivocation,
    /// The caller exceeded a rate or size limit.
    RateLimited,
    /// The server failed internally.
    Internal,
}

impl Bounded for Request {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        match self {
            Self::Gossip { checkpoints, cosignatures } => {
                check_len(object, "Request.Gossip.checkpoints", checkpoints.len(), limits::MAX_PAGE_ITEMS)?;
                check_len(object, "Request.Gossip.cosignatures", cosignatures.len(), limits::MAX_PAGE_ITEMS)
            }
            _ => Ok(()),
        }
    }
}

impl Bounded for Response {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        match self {
            Self::Entries { entries } => {
                entries.iter().try_for_each(|e| e.check_limits(object).and_then(|()| e.check_size(object, None)))
            }
            Self::InclusionProof { proof } => proof.check_limits(object),
            Self::ConsistencyProof { proof } => proof.check_limits(object),
            Self::Evidence { evidence } => evidence.iter().try_for_each(|e| e.check_limits(object)),
            _ => Ok(()),
        }
    }
}

impl Wire for Request {
    const NAME: &'static str = "Request";
    const LIMITS: Limits = Limits::FRAME;
}

impl Wire for Response {
    const NAME: &'static str = "Response";
    const LIMITS: Limits = Limits::FRAME;
}
