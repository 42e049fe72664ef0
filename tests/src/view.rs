//! An in-memory [`LogView`]: the logs a node holds, for rule tests.

use std::collections::HashMap;

use cbm_log::rules::LogView;
use cbm_wire::{EntryHash, EntryKind, SignatoryId, SignedEntry, SigningKeyInfo, StatusChange, Topic};

/// Entry hashes, sizes, rotated keys and statuses per signatory.
#[derive(Default)]
pub struct MemoryView {
    hashes: HashMap<(SignatoryId, u64), EntryHash>,
    sizes: HashMap<SignatoryId, u64>,
    keys: HashMap<SignatoryId, Vec<SigningKeyInfo>>,
    status: HashMap<(SignatoryId, Topic), StatusChange>,
}

impl MemoryView {
    /// Records `entry` as the next entry of its log.
    pub fn apply(&mut self, entry: &SignedEntry) {
        let who = entry.body.signatory.clone();
        self.hashes.insert((who.clone(), entry.body.index), entry.hash());
        *self.sizes.entry(who.clone()).or_default() += 1;
        match &entry.body.kind {
            EntryKind::KeyRotation { new_key, .. } => self.keys.entry(who).or_default().push(new_key.clone()),
            EntryKind::Status { topic, change, .. } => {
                self.status.insert((who, topic.clone()), *change);
            }
            _ => {}
        }
    }

    /// Pretends to hold `signatory`'s log of `size` entries, with entry
    /// `index` having hash `hash`.
    pub fn hold(&mut self, signatory: &SignatoryId, size: u64, index: u64, hash: EntryHash) {
        self.hashes.insert((signatory.clone(), index), hash);
        self.sizes.insert(signatory.clone(), size);
    }
}

impl LogView for MemoryView {
    fn size(&self, signatory: &SignatoryId) -> u64 {
        self.sizes.get(signatory).copied().unwrap_or(0)
    }
    fn entry_hash(&self, signatory: &SignatoryId, index: u64) -> Option<EntryHash> {
        self.hashes.get(&(signatory.clone(), index)).copied()
    }
    fn rotated_keys(&self, signatory: &SignatoryId) -> Vec<SigningKeyInfo> {
        self.keys.get(signatory).cloned().unwrap_or_default()
    }
    fn status(&self, signatory: &SignatoryId, topic: &Topic) -> Option<StatusChange> {
        self.status.get(&(signatory.clone(), topic.clone())).copied()
    }
}
