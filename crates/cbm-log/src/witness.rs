//! The witness rules (spec/log.md §3.3): may this signatory cosign a peer's
//! new checkpoint? One pure function of what the witness cosigned before,
//! the new checkpoint, and the new entries it fetched.
//!
//! A witness cosigns only a checkpoint whose tree it has recomputed from
//! entries it checked, extending the tree it cosigned before. It therefore
//! never cosigns two checkpoints of one log that are inconsistent with each
//! other; a conflict it sees instead becomes [`Decision::Equivocation`].

use cbm_wire::{
    ConsistencyProof, CosignBody, RootHash, SignatoryId, SignedCheckpoint, Timestamp, TreeHash, VerifyError,
};

use crate::agreement::Agreement;
use crate::evidence::{out_of_time_order, same_size};
use crate::merkle::{Frontier, TreeHead, verify_consistency};
use crate::rules::{EntryError, LogView, Prechecked, check_batch};

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
    /// The checkpoint's timestamp is beyond the witness's clock plus the
    /// roster's `max_clock_skew`; it may be cosigned once that time comes.
    #[error("the checkpoint is timed {claimed}, beyond this witness's clock plus the allowed skew ({limit})")]
    CheckpointFromTheFuture {
        /// Its timestamp.
        claimed: Timestamp,
        /// The latest time the witness accepts.
        limit: Timestamp,
    },
    /// A new entry's `issued_at` is beyond the witness's clock plus the
    /// roster's `max_clock_skew`.
    #[error("entry {index} is issued {claimed}, beyond this witness's clock plus the allowed skew ({limit})")]
    EntryFromTheFuture {
        /// Its index.
        index: u64,
        /// Its `issued_at`.
        claimed: Timestamp,
        /// The latest time the witness accepts.
        limit: Timestamp,
    },
}

/// The latest claimed time a witness whose clock reads `now` accepts.
fn latest_acceptable(agreement: &Agreement, now: Timestamp) -> Timestamp {
    now.saturating_add(agreement.roster().limits.max_clock_skew)
}

/// Decides whether `witness` may cosign `new` (spec/log.md §3.3).
///
/// - `cosigned`: the latest checkpoint of this log the witness cosigned;
/// - `held`: the frontier of the tree the witness holds for this log — the
///   cosigned tree, plus any entries staged toward `new` after
///   [`check_segment`] passed them;
/// - `entries`: the entries from `held`'s size up to `new`'s size,
///   fetched from the owner or any mirror, prechecked;
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
    entries: &Prechecked,
    view: &impl LogView,
    now: Timestamp,
) -> Result<Decision, WitnessError> {
    let owner = peer_owner(agreement, witness, new)?;
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
        // Larger, but timed before what was cosigned: the owner signed
        // times that run against its log.
        if let Some(evidence) = out_of_time_order(previous, new) {
            return Ok(Decision::Equivocation(Box::new(evidence)));
        }
    }
    let limit = latest_acceptable(agreement, now);
    if new.body.timestamp > limit {
        return Err(WitnessError::CheckpointFromTheFuture { claimed: new.body.timestamp, limit });
    }
    let (from, to) = (held.size(), new.body.size);
    if from < cosigned_size || from > to || entries.len() as u64 != to - from {
        return Err(WitnessError::MissingEntries { from: from.max(cosigned_size), to });
    }
    // With nothing staged, the held tree must be the one cosigned: the
    // caller's state is checked, not trusted.
    if from == cosigned_size && cosigned.is_some_and(|c| held.root().0 != c.body.root.0) {
        return Err(WitnessError::HeldTreeMismatch);
    }
    let frontier = extend(agreement, view, &owner, held, entries, now)?;
    if frontier.root().0 != new.body.root.0 {
        return Err(WitnessError::RootMismatch);
    }
    Ok(Decision::Cosign(CosignBody { witness: witness.clone(), checkpoint: new.body.clone(), cosigned_at: now }))
}

/// Checks one segment of the entries a witness fetches toward `target`
/// when they are too many to check in one piece (spec/log.md §3.3.1): the
/// entries continue `held`, follow the entry rules, stop short of
/// `target`'s size, and `proof` — a consistency proof from the size they
/// reach to `target`'s — shows the tree they make is a prefix of
/// `target`'s. Returns that tree; the caller stages the entries
/// ([`crate::store::Store::stage`]) and goes on from there.
///
/// # Errors
/// [`WitnessError::RootMismatch`] if the proof does not show it (the caller
/// then looks for a fork, as after [`review`]); otherwise as [`review`].
#[allow(clippy::too_many_arguments)] // ok: as for `review`, each input is one the rule needs
pub fn check_segment(
    agreement: &Agreement,
    witness: &SignatoryId,
    target: &SignedCheckpoint,
    held: &Frontier,
    entries: &Prechecked,
    proof: &ConsistencyProof,
    view: &impl LogView,
    now: Timestamp,
) -> Result<Frontier, WitnessError> {
    let owner = peer_owner(agreement, witness, target)?;
    let to = held.size() + entries.len() as u64;
    if entries.is_empty() || to >= target.body.size {
        return Err(WitnessError::MissingEntries { from: held.size(), to: target.body.size });
    }
    let frontier = extend(agreement, view, &owner, held, entries, now)?;
    let prefix = TreeHead { size: to, root: RootHash(frontier.root().0) };
    let whole = TreeHead { size: target.body.size, root: target.body.root };
    verify_consistency(proof, &prefix, &whole).map_err(|_| WitnessError::RootMismatch)?;
    Ok(frontier)
}

/// The owner of `checkpoint`'s log, if it is a peer's log and the
/// checkpoint is signed by its owner.
fn peer_owner(
    agreement: &Agreement,
    witness: &SignatoryId,
    checkpoint: &SignedCheckpoint,
) -> Result<SignatoryId, WitnessError> {
    let owner = agreement
        .owner_of(&checkpoint.body.log)
        .filter(|o| o.id != *witness)
        .ok_or(WitnessError::NotAPeerLog)?
        .id
        .clone();
    agreement.verify_checkpoint(checkpoint).map_err(WitnessError::BadSignature)?;
    Ok(owner)
}

/// `held` extended by `entries` of `owner`'s log, which must follow the
/// entry rules and be issued no later than the witness accepts at `now`.
fn extend(
    agreement: &Agreement,
    view: &impl LogView,
    owner: &SignatoryId,
    held: &Frontier,
    entries: &Prechecked,
    now: Timestamp,
) -> Result<Frontier, WitnessError> {
    let from = held.size();
    let limit = latest_acceptable(agreement, now);
    if let Some(early) = entries.entries().iter().find(|e| e.body.issued_at > limit) {
        return Err(WitnessError::EntryFromTheFuture { index: early.body.index, claimed: early.body.issued_at, limit });
    }
    let hashes = check_batch(agreement, view, owner, entries)
        .map_err(|(position, error)| WitnessError::BadEntry { index: from + position as u64, error })?;
    let mut frontier = held.clone();
    let mut created = Vec::new();
    for hash in hashes {
        frontier.push(TreeHash(hash.0), &mut created);
        created.clear();
    }
    Ok(frontier)
}
