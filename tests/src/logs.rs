//! A test log writer: signed entries and matching checkpoints for one log.

use cbm_log::merkle::{MemoryTree, root};
use cbm_wire::{
    AgreementHash, Bytes, Checkpoint, Entry, EntryKind, Field, KeyId, Label, LogId, MediaType, SignatoryId, Signed,
    SignedCheckpoint, SignedEntry, SigningKey, Timestamp, Topic, TreeHash,
};

/// Writes a synthetic log: each batch continues the previous one.
pub struct LogWriter {
    key: SigningKey,
    agreement: AgreementHash,
    signatory: SignatoryId,
    /// The log being written.
    pub log: LogId,
    tree: MemoryTree,
    clock: u64,
    flavour: &'static str,
}

impl LogWriter {
    /// A writer for signatory `name`, signing with the key from `seed`.
    pub fn new(name: &str, seed: u8) -> Self {
        Self::with_agreement(name, seed, AgreementHash([0x42; 32]), "notification")
    }

    /// A writer under `agreement`; `flavour` goes into every entry, so two
    /// writers with different flavours sign different logs with one key.
    pub fn with_agreement(name: &str, seed: u8, agreement: AgreementHash, flavour: &'static str) -> Self {
        let signatory = SignatoryId::new(name).expect("valid name");
        let log = LogId::derive(&agreement, &signatory);
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            agreement,
            signatory,
            log,
            tree: MemoryTree::new(),
            clock: 1_767_225_600_000,
            flavour,
        }
    }

    /// Next leaf index.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The tree of every entry written so far.
    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    /// The entry at `index` as this writer makes it (deterministic).
    pub fn entry(&self, index: u64) -> SignedEntry {
        let text = format!("{} number {index:>12}, padded to a realistic size", self.flavour);
        let body = Entry {
            agreement: self.agreement,
            signatory: self.signatory.clone(),
            index,
            issued_at: Timestamp(1_767_225_600_000 + index),
            kind: EntryKind::Notification { topic: Topic::new("load").expect("topic") },
            fields: vec![Field::Plain {
                label: Label::new("payload").expect("label"),
                media_type: MediaType::new("text/plain").expect("media type"),
                value: Bytes::from(text.as_bytes()),
            }],
        };
        Signed::sign(body, &self.agreement, KeyId(0), &self.key)
    }

    /// The next `count` entries and the checkpoint over the log after them.
    pub fn batch(&mut self, count: u64) -> (Vec<SignedEntry>, SignedCheckpoint) {
        let start = self.size();
        let entries: Vec<SignedEntry> = (start..start + count).map(|i| self.entry(i)).collect();
        let leaves: Vec<TreeHash> = entries.iter().map(|e| TreeHash(e.hash().0)).collect();
        self.tree.push_leaves(&leaves);
        (entries, self.checkpoint())
    }

    /// A checkpoint over the log as it stands, one millisecond after the last.
    pub fn checkpoint(&mut self) -> SignedCheckpoint {
        self.clock += 1;
        let body = Checkpoint {
            log: self.log,
            size: self.size(),
            root: root(&self.tree, self.size()).expect("in-memory tree"),
            timestamp: Timestamp(self.clock),
        };
        Signed::sign(body, &self.agreement, KeyId(0), &self.key)
    }

    /// A checkpoint of the first `size` entries written, signed at
    /// `timestamp`: an old size re-signed, as an owner may sign one (and a
    /// hostile one time it as it likes).
    pub fn checkpoint_at(&self, size: u64, timestamp: Timestamp) -> SignedCheckpoint {
        let body = Checkpoint { log: self.log, size, root: root(&self.tree, size).expect("in-memory tree"), timestamp };
        Signed::sign(body, &self.agreement, KeyId(0), &self.key)
    }

    /// Resumes writing a log that holds `size` entries and whose latest
    /// checkpoint is from `last_checkpoint` (recomputing the tree).
    pub fn resume(&mut self, size: u64, last_checkpoint: Timestamp) {
        self.clock = self.clock.max(last_checkpoint.0);
        self.tree = MemoryTree::new();
        let leaves: Vec<TreeHash> = (0..size).map(|i| TreeHash(self.entry(i).hash().0)).collect();
        self.tree.push_leaves(&leaves);
    }
}
