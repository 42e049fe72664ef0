//! Equivocation evidence (spec/log.md §4): building it from two conflicting
//! checkpoints, and checking it offline with nothing but the roster.
//!
//! Evidence is transferable: anyone holding the roster can check it, and
//! valid evidence proves that the log owner signed two checkpoints that
//! cannot both describe one append-only log, or whose times run against
//! their sizes.

use cbm_wire::{
    AgreementHash, ConsistencyProof, EquivocationEvidence, LogId, Roster, SignatoryId, SignedCheckpoint, TreeHash,
    VerifyError,
};

use crate::merkle::{ProofError, consistency_roots};

/// Why evidence does not prove equivocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The two checkpoints are of different logs.
    #[error("the checkpoints are of different logs")]
    DifferentLogs,
    /// The log belongs to no signatory of the roster.
    #[error("log {0} belongs to no signatory of the roster")]
    UnknownLog(LogId),
    /// A checkpoint's signature does not verify under the owner's roster key
    /// valid at its timestamp.
    #[error("{which} checkpoint: {source}")]
    BadSignature {
        /// "first", "second", "older", "newer", "smaller" or "larger".
        which: &'static str,
        /// Why.
        source: VerifyError,
    },
    /// Evidence whose checkpoints do not conflict the way its kind claims.
    #[error("the checkpoints do not conflict: {0}")]
    NoConflict(&'static str),
    /// The consistency proof is malformed for the two sizes.
    #[error("consistency proof: {0}")]
    Proof(#[from] ProofError),
}

/// The signatory whose log is `log` under `agreement`.
fn owner_of<'a>(roster: &'a Roster, agreement: &AgreementHash, log: &LogId) -> Option<&'a SignatoryId> {
    roster.signatories.iter().map(|s| &s.id).find(|id| LogId::derive(agreement, id) == *log)
}

/// Verifies a checkpoint's signature with the owner's roster key valid at its timestamp.
fn verify_checkpoint(
    roster: &Roster,
    agreement: &AgreementHash,
    owner: &SignatoryId,
    checkpoint: &SignedCheckpoint,
    which: &'static str,
) -> Result<(), EvidenceError> {
    let key = roster
        .signing_key(owner, checkpoint.key, checkpoint.body.timestamp)
        .ok_or(EvidenceError::BadSignature { which, source: VerifyError::UnknownKey { what: "checkpoint" } })?;
    checkpoint.verify(agreement, key).map_err(|source| EvidenceError::BadSignature { which, source })
}

/// The log an item of evidence is about, and its kind: its wire variant
/// number (spec/wire.md §4.8) — 0 `SameSize`, 1 `Inconsistent`, 2
/// `OutOfTimeOrder` — which is also the second byte of its canonical
/// encoding, a one-member map.
pub fn log_and_kind(evidence: &EquivocationEvidence) -> (LogId, u8) {
    match evidence {
        EquivocationEvidence::SameSize { first, .. } => (first.body.log, 0),
        EquivocationEvidence::Inconsistent { older, .. } => (older.body.log, 1),
        EquivocationEvidence::OutOfTimeOrder { smaller, .. } => (smaller.body.log, 2),
    }
}

/// Checks `evidence` offline (spec/log.md §4.2): both checkpoints are signed
/// by the same log's owner, and they cannot both be honest.
///
/// # Errors
/// Why the evidence does not prove equivocation.
pub fn verify_evidence(roster: &Roster, evidence: &EquivocationEvidence) -> Result<SignatoryId, EvidenceError> {
    let agreement = roster.agreement_hash();
    let (a, b, names) = match evidence {
        EquivocationEvidence::SameSize { first, second } => (first, second, ("first", "second")),
        EquivocationEvidence::Inconsistent { older, newer, .. } => (older, newer, ("older", "newer")),
        EquivocationEvidence::OutOfTimeOrder { smaller, larger } => (smaller, larger, ("smaller", "larger")),
    };
    if a.body.log != b.body.log {
        return Err(EvidenceError::DifferentLogs);
    }
    let owner = owner_of(roster, &agreement, &a.body.log).ok_or(EvidenceError::UnknownLog(a.body.log))?;
    verify_checkpoint(roster, &agreement, owner, a, names.0)?;
    verify_checkpoint(roster, &agreement, owner, b, names.1)?;
    match evidence {
        EquivocationEvidence::SameSize { first, second } => {
            if first.body.size != second.body.size {
                return Err(EvidenceError::NoConflict("sizes differ"));
            }
            if first.body.root == second.body.root {
                return Err(EvidenceError::NoConflict("roots are equal"));
            }
        }
        EquivocationEvidence::Inconsistent { older, newer, proof } => {
            if proof.old_size != older.body.size {
                return Err(ProofError::SizeMismatch { proof: proof.old_size, head: older.body.size }.into());
            }
            if proof.new_size != newer.body.size {
                return Err(ProofError::SizeMismatch { proof: proof.new_size, head: newer.body.size }.into());
            }
            let (old_root, new_root) = consistency_roots(proof.old_size, proof.new_size, &proof.path)?;
            if new_root != newer.body.root {
                return Err(EvidenceError::NoConflict("the proof does not lead to the newer root"));
            }
            if old_root == older.body.root {
                return Err(EvidenceError::NoConflict("the proof shows the checkpoints are consistent"));
            }
        }
        EquivocationEvidence::OutOfTimeOrder { smaller, larger } => {
            if smaller.body.size >= larger.body.size {
                return Err(EvidenceError::NoConflict("the smaller checkpoint is not smaller"));
            }
            if smaller.body.timestamp <= larger.body.timestamp {
                return Err(EvidenceError::NoConflict("the times follow the sizes"));
            }
        }
    }
    Ok(owner.clone())
}

/// Builds same-size evidence if the two checkpoints conflict that way.
pub fn same_size(first: &SignedCheckpoint, second: &SignedCheckpoint) -> Option<EquivocationEvidence> {
    let conflict =
        first.body.log == second.body.log && first.body.size == second.body.size && first.body.root != second.body.root;
    conflict.then(|| EquivocationEvidence::SameSize { first: first.clone(), second: second.clone() })
}

/// Builds out-of-time-order evidence if one of the two checkpoints is
/// smaller than the other but timed after it (either order).
pub fn out_of_time_order(a: &SignedCheckpoint, b: &SignedCheckpoint) -> Option<EquivocationEvidence> {
    let (smaller, larger) = if a.body.size < b.body.size { (a, b) } else { (b, a) };
    let conflict = a.body.log == b.body.log
        && smaller.body.size < larger.body.size
        && smaller.body.timestamp > larger.body.timestamp;
    conflict.then(|| EquivocationEvidence::OutOfTimeOrder { smaller: smaller.clone(), larger: larger.clone() })
}

/// Builds inconsistency evidence from an older checkpoint, a newer one, and
/// a consistency proof the owner (or a mirror) served between their sizes
/// that leads to the newer root but not to the older one. For an older size
/// that is a power of two, `old_subtree` is the hash the newer tree holds
/// for the first `older.size` leaves (RFC 9162 leaves it out of the proof;
/// evidence must carry it, spec/log.md §2.5).
pub fn inconsistent(
    older: &SignedCheckpoint,
    newer: &SignedCheckpoint,
    proof: &ConsistencyProof,
    old_subtree: Option<TreeHash>,
) -> Option<EquivocationEvidence> {
    if proof.old_size != older.body.size || proof.new_size != newer.body.size {
        return None;
    }
    let mut path = Vec::with_capacity(proof.path.len() + 1);
    if proof.old_size.is_power_of_two() {
        path.push(old_subtree?);
    }
    path.extend_from_slice(&proof.path);
    let seeded = ConsistencyProof { old_size: proof.old_size, new_size: proof.new_size, path };
    let (old_root, new_root) = consistency_roots(seeded.old_size, seeded.new_size, &seeded.path).ok()?;
    let conflict = older.body.log == newer.body.log && new_root == newer.body.root && old_root != older.body.root;
    conflict.then(|| EquivocationEvidence::Inconsistent { older: older.clone(), newer: newer.clone(), proof: seeded })
}
