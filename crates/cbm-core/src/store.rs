//! The node's store as the core sees it: the reads of
//! [`cbm_log::store::ReadStore`] and seven writes, each one durable
//! transaction that either commits whole or changes nothing. The core
//! never names SQLite: `cbm-net` gives it [`Store`], and the simulator a
//! store whose writes can be cut off by a simulated crash.

use cbm_log::store::{ReadStore, Store, StoreError};
use cbm_wire::{Cosignature, Digest, EquivocationEvidence, LogId, Opening, SignatoryId, SignedCheckpoint, SignedEntry};

/// What the core reads and writes. Each write is `Store`'s method of the
/// same name (spec/log.md §9), documented there; it returns once durable.
#[allow(missing_docs)] // ok: each write is `Store`'s method of the same name, documented there
pub trait NodeStore {
    /// What reads go through.
    type Reader: ReadStore + ?Sized;

    /// The store's reads.
    fn reader(&self) -> &Self::Reader;

    fn append_authored(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        openings: &[(SignatoryId, Opening)],
        key: Option<(&str, &Digest)>,
    ) -> Result<(), StoreError>;
    fn stage(&mut self, log: &LogId, entries: &[SignedEntry], target: &SignedCheckpoint) -> Result<(), StoreError>;
    fn append_cosigned(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        cosignature: &Cosignature,
    ) -> Result<(), StoreError>;
    fn add_checkpoint(&mut self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError>;
    fn add_evidence(&mut self, evidence: &EquivocationEvidence) -> Result<bool, StoreError>;
    fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<Vec<Option<bool>>, StoreError>;
    fn add_opening(&mut self, log: &LogId, recipient: &SignatoryId, opening: &Opening) -> Result<bool, StoreError>;
}

impl NodeStore for Store {
    type Reader = Store;

    fn reader(&self) -> &Store {
        self
    }
    fn append_authored(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        openings: &[(SignatoryId, Opening)],
        key: Option<(&str, &Digest)>,
    ) -> Result<(), StoreError> {
        Store::append_authored(self, log, entries, checkpoint, openings, key)
    }
    fn stage(&mut self, log: &LogId, entries: &[SignedEntry], target: &SignedCheckpoint) -> Result<(), StoreError> {
        Store::stage(self, log, entries, target)
    }
    fn append_cosigned(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        cosignature: &Cosignature,
    ) -> Result<(), StoreError> {
        Store::append_cosigned(self, log, entries, checkpoint, cosignature)
    }
    fn add_checkpoint(&mut self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError> {
        Store::add_checkpoint(self, checkpoint)
    }
    fn add_evidence(&mut self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        Store::add_evidence(self, evidence)
    }
    fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<Vec<Option<bool>>, StoreError> {
        Store::add_cosignatures(self, cosignatures)
    }
    fn add_opening(&mut self, log: &LogId, recipient: &SignatoryId, opening: &Opening) -> Result<bool, StoreError> {
        Store::add_opening(self, log, recipient, opening)
    }
}
