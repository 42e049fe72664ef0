//! Single-entry proofs (spec/log.md §6.1): "X declared this, and the quorum
//! had it by T" — checked offline with nothing but the proof itself.

use std::collections::BTreeSet;

use cbm_wire::{AgreementHash, EntryProof, SignatoryId, Timestamp, VerifyError};

use crate::agreement::{Agreement, RosterError};
use crate::merkle::{ProofError, TreeHead, verify_inclusion};

/// What a valid entry proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenEntry {
    /// Who made the entry.
    pub signatory: SignatoryId,
    /// Its index in their log.
    pub index: u64,
    /// When they say they issued it.
    pub issued_at: Timestamp,
    /// When the quorum had received it: the quorum-th earliest cosignature.
    pub delivered: Timestamp,
    /// The witnesses whose valid cosignatures the proof carries.
    pub witnesses: Vec<SignatoryId>,
}

/// Why an entry proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryProofError {
    /// The roster is not adopted by all its signatories, or is malformed.
    #[error("roster: {0}")]
    Roster(#[from] RosterError),
    /// The proof's roster is not the agreement the verifier expects.
    #[error("the proof is of agreement {found}, not the expected {expected}")]
    NotExpectedAgreement {
        /// The agreement hash of the proof's roster.
        found: AgreementHash,
        /// The agreement hash the verifier expects.
        expected: AgreementHash,
    },
    /// The entry is not by a signatory, or not under this agreement.
    #[error("the entry is not by a signatory of this agreement")]
    NotInAgreement,
    /// A signature does not verify under the signer's roster key valid at its time.
    #[error("{what} signature: {source}")]
    BadSignature {
        /// Which object.
        what: &'static str,
        /// Why.
        source: VerifyError,
    },
    /// The checkpoint is of another log.
    #[error("the checkpoint is of another log")]
    WrongLog,
    /// The inclusion proof is for another leaf than the entry's index.
    #[error("the inclusion proof is for leaf {proof}, the entry has index {entry}")]
    IndexMismatch {
        /// The entry's index.
        entry: u64,
        /// The leaf the inclusion proof is for.
        proof: u64,
    },
    /// The inclusion proof does not place the entry in the checkpoint's tree.
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
    /// A cosignature is of another checkpoint, by a non-signatory, by the owner, or repeated.
    #[error("cosignature {0} does not count")]
    BadCosignature(usize),
    /// Fewer valid cosignatures than the quorum.
    #[error("{have} cosignatures, the quorum is {need}")]
    NoQuorum {
        /// Valid cosignatures.
        have: usize,
        /// Quorum threshold.
        need: usize,
    },
}

/// Verifies `proof` as one of the agreement `expected`, whose hash the
/// verifier obtained through a channel it trusts (spec/log.md §6.1,
/// VERIFY-PINNED-ENTRY-PROOF): a proof under any other roster fails, however
/// well it verifies under its own.
///
/// # Errors
/// [`EntryProofError::NotExpectedAgreement`], or what
/// [`verify_entry_proof`] finds.
pub fn verify_pinned_entry_proof(proof: &EntryProof, expected: &AgreementHash) -> Result<ProvenEntry, EntryProofError> {
    let found = proof.roster.roster.agreement_hash();
    if found != *expected {
        return Err(EntryProofError::NotExpectedAgreement { found, expected: *expected });
    }
    verify_entry_proof(proof)
}

/// Verifies `proof` (spec/log.md §6.1). Unpinned: it shows only that some
/// roster, adopted by its own keys, says so; see
/// [`verify_pinned_entry_proof`]. Keys come from the proof's roster
/// only: an entry signed with a key added by a key rotation is not provable
/// this way in this version.
///
/// # Errors
/// The first check that fails.
pub fn verify_entry_proof(proof: &EntryProof) -> Result<ProvenEntry, EntryProofError> {
    let agreement = Agreement::adopt(&proof.roster)?;
    let roster = agreement.roster();
    let entry = &proof.entry;
    let owner = &entry.body.signatory;
    if entry.body.agreement != *agreement.hash() || roster.signatory(owner).is_none() {
        return Err(EntryProofError::NotInAgreement);
    }
    let check =
        |what, signer: &SignatoryId, key, at, result: &dyn Fn(&cbm_wire::PublicKey) -> Result<(), VerifyError>| {
            let public = roster
                .signing_key(signer, key, at)
                .ok_or(EntryProofError::BadSignature { what, source: VerifyError::UnknownKey { what } })?;
            result(public).map_err(|source| EntryProofError::BadSignature { what, source })
        };
    check("entry", owner, entry.key, entry.body.issued_at, &|k| entry.verify(agreement.hash(), k))?;
    let checkpoint = &proof.checkpoint;
    if checkpoint.body.log != agreement.log_of(owner) {
        return Err(EntryProofError::WrongLog);
    }
    check("checkpoint", owner, checkpoint.key, checkpoint.body.timestamp, &|k| checkpoint.verify(agreement.hash(), k))?;
    if proof.inclusion.index != entry.body.index {
        return Err(EntryProofError::IndexMismatch { entry: entry.body.index, proof: proof.inclusion.index });
    }
    let head = TreeHead { size: checkpoint.body.size, root: checkpoint.body.root };
    verify_inclusion(&entry.hash(), &proof.inclusion, &head)?;

    let mut witnesses = BTreeSet::new();
    let mut times = Vec::new();
    for (i, cosignature) in proof.cosignatures.iter().enumerate() {
        let body = &cosignature.body;
        let counts = body.checkpoint == checkpoint.body
            && body.witness != *owner
            && roster.signatory(&body.witness).is_some()
            && witnesses.insert(body.witness.clone());
        if !counts {
            return Err(EntryProofError::BadCosignature(i));
        }
        check("cosignature", &body.witness, cosignature.key, body.cosigned_at, &|k| {
            cosignature.verify(agreement.hash(), k)
        })?;
        times.push(body.cosigned_at);
    }
    let need = roster.quorum.threshold as usize;
    times.sort();
    let delivered = need.checked_sub(1).and_then(|i| times.get(i)).copied();
    let delivered = delivered.ok_or(EntryProofError::NoQuorum { have: times.len(), need })?;
    Ok(ProvenEntry {
        signatory: owner.clone(),
        index: entry.body.index,
        issued_at: entry.body.issued_at,
        delivered,
        witnesses: witnesses.into_iter().collect(),
    })
}
