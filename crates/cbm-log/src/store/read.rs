//! What a node reads of its store, as a trait: the node's protocol core
//! (`cbm-core`) reads through it, and the entry rules' view of held logs
//! ([`crate::held::StoreView`]) is built on it, so that neither names
//! SQLite. [`Store`] implements it with the checked reads of this module's
//! parent; each method is documented there.

use cbm_wire::{
    Checkpoint, ConsistencyProof, Cosignature, Digest, EntryHash, EquivocationEvidence, InclusionProof, LogId,
    SignatoryId, SignedCheckpoint, SignedEntry,
};

use super::{EvidencePage, OpeningsPage, Publication, Store, StoreError};
use crate::merkle::Frontier;

/// The reads a signatory node makes of its store. Every read is of
/// committed state and checked as [`Store`]'s are.
#[allow(missing_docs)] // ok: each method is `Store`'s method of the same name, documented there
pub trait ReadStore {
    fn size(&self, log: &LogId) -> Result<u64, StoreError>;
    fn leaf_hash(&self, log: &LogId, index: u64) -> Result<Option<EntryHash>, StoreError>;
    fn entry(&self, log: &LogId, index: u64) -> Result<SignedEntry, StoreError>;
    fn entries(&self, log: &LogId, start: u64, count: u64) -> Result<Vec<SignedEntry>, StoreError>;
    fn latest_checkpoint(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError>;
    fn recent_checkpoints(&self, log: &LogId, count: usize) -> Result<Vec<SignedCheckpoint>, StoreError>;
    fn staged(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError>;
    fn frontier(&self, log: &LogId) -> Result<Frontier, StoreError>;
    fn root_at(&self, log: &LogId, size: u64) -> Result<cbm_wire::RootHash, StoreError>;
    fn inclusion_proof(&self, log: &LogId, index: u64, size: u64) -> Result<InclusionProof, StoreError>;
    fn consistency_proof(&self, log: &LogId, old_size: u64, new_size: u64) -> Result<ConsistencyProof, StoreError>;
    fn cosignatures_of(&self, body: &Checkpoint) -> Result<Vec<Cosignature>, StoreError>;
    fn cosignatures_at(&self, log: &LogId, size: u64) -> Result<Vec<Cosignature>, StoreError>;
    fn settled_size(&self, log: &LogId, threshold: u32) -> Result<u64, StoreError>;
    fn holds_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError>;
    fn holds_checkpoint_body(&self, body: &Checkpoint) -> Result<bool, StoreError>;
    fn holds_receipt(&self, cosignature: &Cosignature) -> Result<bool, StoreError>;
    fn wants_evidence(&self, evidence: &EquivocationEvidence) -> Result<bool, StoreError>;
    fn evidence_page(&self, after: Option<&Digest>, max_bytes: usize) -> Result<EvidencePage, StoreError>;
    fn evidence(&self) -> Result<Vec<EquivocationEvidence>, StoreError>;
    fn openings(
        &self,
        log: &LogId,
        start: u64,
        recipient: Option<&SignatoryId>,
        max_bytes: usize,
    ) -> Result<OpeningsPage, StoreError>;
    fn published_under(&self, key: &str) -> Result<Option<Publication>, StoreError>;
}

impl ReadStore for Store {
    fn size(&self, log: &LogId) -> Result<u64, StoreError> {
        Store::size(self, log)
    }
    fn leaf_hash(&self, log: &LogId, index: u64) -> Result<Option<EntryHash>, StoreError> {
        Store::leaf_hash(self, log, index)
    }
    fn entry(&self, log: &LogId, index: u64) -> Result<SignedEntry, StoreError> {
        Store::entry(self, log, index)
    }
    fn entries(&self, log: &LogId, start: u64, count: u64) -> Result<Vec<SignedEntry>, StoreError> {
        Store::entries(self, log, start, count)
    }
    fn latest_checkpoint(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError> {
        Store::latest_checkpoint(self, log)
    }
    fn recent_checkpoints(&self, log: &LogId, count: usize) -> Result<Vec<SignedCheckpoint>, StoreError> {
        Store::recent_checkpoints(self, log, count)
    }
    fn staged(&self, log: &LogId) -> Result<Option<SignedCheckpoint>, StoreError> {
        Store::staged(self, log)
    }
    fn frontier(&self, log: &LogId) -> Result<Frontier, StoreError> {
        Store::frontier(self, log)
    }
    fn root_at(&self, log: &LogId, size: u64) -> Result<cbm_wire::RootHash, StoreError> {
        Store::root_at(self, log, size)
    }
    fn inclusion_proof(&self, log: &LogId, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        Store::inclusion_proof(self, log, index, size)
    }
    fn consistency_proof(&self, log: &LogId, old_size: u64, new_size: u64) -> Result<ConsistencyProof, StoreError> {
        Store::consistency_proof(self, log, old_size, new_size)
    }
    fn cosignatures_of(&self, body: &Checkpoint) -> Result<Vec<Cosignature>, StoreError> {
        Store::cosignatures_of(self, body)
    }
    fn cosignatures_at(&self, log: &LogId, size: u64) -> Result<Vec<Cosignature>, StoreError> {
        Store::cosignatures_at(self, log, size)
    }
    fn settled_size(&self, log: &LogId, threshold: u32) -> Result<u64, StoreError> {
        Store::settled_size(self, log, threshold)
    }
    fn holds_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError> {
        Store::holds_checkpoint(self, checkpoint)
    }
    fn holds_checkpoint_body(&self, body: &Checkpoint) -> Result<bool, StoreError> {
        Store::holds_checkpoint_body(self, body)
    }
    fn holds_receipt(&self, cosignature: &Cosignature) -> Result<bool, StoreError> {
        Store::holds_receipt(self, cosignature)
    }
    fn wants_evidence(&self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        Store::wants_evidence(self, evidence)
    }
    fn evidence_page(&self, after: Option<&Digest>, max_bytes: usize) -> Result<EvidencePage, StoreError> {
        Store::evidence_page(self, after, max_bytes)
    }
    fn evidence(&self) -> Result<Vec<EquivocationEvidence>, StoreError> {
        Store::evidence(self)
    }
    fn openings(
        &self,
        log: &LogId,
        start: u64,
        recipient: Option<&SignatoryId>,
        max_bytes: usize,
    ) -> Result<OpeningsPage, StoreError> {
        Store::openings(self, log, start, recipient, max_bytes)
    }
    fn published_under(&self, key: &str) -> Result<Option<Publication>, StoreError> {
        Store::published_under(self, key)
    }
}
