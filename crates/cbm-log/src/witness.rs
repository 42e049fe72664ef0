//! The witness rules (spec/log.md §3.3): may this signatory cosign a peer's
//! new checkpoint? One pure function of what the witness cosigned before,
//! the new checkpoint, and the new entries it fetched.
//!
//! A witness cosigns only a checkpoint whose tree it has recomputed from
//! entries it checked, extending the tree it cosigned before. It therefore
//! never cosigns two checkpoints of one log that are inconsistent with each
//! other; a conflict it sees instead becomes [`Decision::Equivocation`].

use cbm_wire::{CosignBody, SignatoryId, SignedCheckpoint, SignedEntry, Timestamp, TreeHash, VerifyError};

use crate::agreement::Agreement;
use crate::evidence::same_size;
use crate::merkle::Frontier;
use crate::rules::{EntryError, LogView, WithBatch, check_entry};

/// What the witness should do with a new checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Cosign: sign this body, after storing the new entries and checkpoint.
    Cosign(CosignBody),
    /// The witness already cosigned this very tree; nothing to do.
    AlreadyCosigned,
    /// The owner signed a checkpoint conflicting with the one cosigned:
    /// keep this evidence, gossip it, and do not cosign the new one.
    Equivocation(Box<cbm_wire::EquivocationEvidence>),
}

/// Why a checkpoint cannot be cosigned (and proves nothing by itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The checkpoint's log is no signatory's log, or is the witness's own.
    #[error("the checkpoint is not of a peer's log")]
    NotAPeerLog,
    /// The checkpoint's signature does not verify under the owner's key.
    #[error("checkpoint signature: {0}")]
    BadSignature(VerifyError),
    /// The checkpoint is smaller than the one cosigned before.
    #[error("checkpoint of size {size} is older than the cosigned size {cosigned}")]
    Stale {
        /// Its size.
        size: u64,
        /// Size cosigned before.
        cosigned: u64,
    },
    /// The entries given do not cover exactly the new part of the log.
    #[error("expected entries {from}..{to}")]
    MissingEntries {
        /// First index needed.
        from: u64,
        /// One past the last index needed.
        to: u64,
    },
    /// A new entry breaks the log-owner rules.
    #[error("entry {index}: {error}")]
    BadEntry {
        /// Its index.
        index: u64,
        /// The rule it breaks.
        error: EntryError,
    },
    /// The held tree (or the cosigned checkpoint) passed in is not the one
    /// cosigned before for this log: the caller's state is inconsistent.
    #[error("the held tree does not match the cosigned checkpoint")]
    HeldTreeMismatch,
    /// The entries do not produce the checkpoint's root. This is not yet
    /// proof of equivocation: ask the owner for a consistency proof from the
    /// cosigned size (see [`crate::evidence::inconsistent`]).
    #[error("the entries do not produce the checkpoint's root")]
    RootMismatch,
}

/// Decides whether `witness` may cosign `new` (spec/log.md §3.3).
///
/// - `cosigned`: the latest checkpoint of this log the witness cosigned, and
///   `held`, the frontier of the tree it holds for that checkpoint;
/// - `entries`: the entries from the cosigned size up to `new`'s size,
///   fetched from the owner or any mirror;
/// - `view`: the logs the witness holds, for citations and keys;
/// - `now`: the witness's clock, the time of the cosignature.
///
/// # Errors
/// Why it may not cosign; see [`WitnessError`].
#[allow(clippy::too_many_arguments)] // ok: each input is one the rule needs, and naming them keeps it pure
pub fn review(
    agreement: &Agreement,
    witness: &SignatoryId,
    cosigned: Option<&SignedCheckpoint>,
    held: &Frontier,
    new: &SignedCheckpoint,
    entries: &[SignedEntry],
    view: &impl LogView,
    now: Timestamp,
) -> Result<Decision, WitnessError> {
    let owner = agreement.owner_of(&new.body.log).filter(|o| o.id != *witness).ok_or(WitnessError::NotAPeerLog)?;
    agreement.verify_checkpoint(new).map_err(WitnessError::BadSignature)?;

    if cosigned.is_some_and(|c| c.body.log != new.body.log) {
        return Err(WitnessError::HeldTreeMismatch);
    }
    let cosigned_size = cosigned.map_or(0, |c| c.body.size);
    if let Some(previous) = cosigned {
        if let Some(evidence) = same_size(previous, new) {
            return Ok(Decision::Equivocation(Box::new(evidence)));
        }
        if new.body.size < previous.body.size {
            return Err(WitnessError::Stale { size: new.body.size, cosigned: previous.body.size });
        }
        if new.body.size == previous.body.size {
            return Ok(Decision::AlreadyCosigned);
        }
    }
    let (from, to) = (cosigned_size, new.body.size);
    if held.size() != from || entries.len() as u64 != to - from {
        return Err(WitnessError::MissingEntries { from, to });
    }
    // The held tree must be the one cosigned: the caller's state is checked, not trusted.
    if cosigned.is_some_and(|c| held.root().0 != c.body.root.0) {
        return Err(WitnessError::HeldTreeMismatch);
    }
    let mut frontier = held.clone();
    let mut overlay = WithBatch::new(view, &owner.id);
    let mut created = Vec::new();
    for entry in entries {
        let index = entry.body.index;
        if entry.body.signatory != owner.id {
            return Err(WitnessError::BadEntry {
                index,
                error: EntryError::UnknownSignatory(entry.body.signatory.clone()),
            });
        }
        check_entry(agreement, &overlay, entry).map_err(|error| WitnessError::BadEntry { index, error })?;
        overlay.push(entry);
        frontier.push(TreeHash(entry.hash().0), &mut created);
        created.clear();
    }
    if frontier.root().0 != new.body.root.0 {
        return Err(WitnessError::RootMismatch);
    }
    Ok(Decision::Cosign(CosignBody { witness: witness.clone(), checkpoint: new.body.clone(), cosigned_at: now }))
}
