//! A test log writer: signed entries and matching checkpoints for one log.

use cbm_log::merkle::Frontier;
use cbm_wire::{
    AgreementHash, Bytes, Checkpoint, Entry, EntryKind, Field, KeyId, Label, LogId, MediaType, RootHash, SignatoryId,
    Signed, SignedCheckpoint, SignedEntry, SigningKey, Timestamp, Topic, TreeHash, Wire,
};

/// Writes a synthetic log: each batch continues the previous one.
pub struct LogWriter {
    key: SigningKey,
    agreement: AgreementHash,
    signatory: SignatoryId,
    /// The log being written.
    pub log: LogId,
    frontier: Frontier,
    clock: u64,
}

impl LogWriter {
    /// A writer for signatory `name`, signing with the key from `seed`, starting at `size` 0.
    pub fn new(name: &str, seed: u8) -> Self {
        let agreement = AgreementHash([0x42; 32]);
        let signatory = SignatoryId::new(name).expect("valid name");
        let log = LogId::derive(&agreement, &signatory);
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            agreement,
            signatory,
            log,
            frontier: Frontier::empty(),
            clock: 1_767_225_600_000,
        }
    }

    /// Next leaf index.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The entry at `index` as this writer makes it (deterministic).
    pub fn entry(&self, index: u64) -> SignedEntry {
        let body = Entry {
            agreement: self.agreement,
            signatory: self.signatory.clone(),
            index,
            issued_at: Timestamp(1_767_225_600_000 + index),
            kind: EntryKind::Notification {
                topic: Topic::new("load").expect("topic"),
            },
            fields: vec![Field::Plain {
                label: Label::new("payload").expect("label"),
                media_type: MediaType::new("text/plain").expect("media type"),
                value: Bytes::from(format!("notification number {index:>12}, padded to a realistic size").as_bytes()),
            }],
        };
        Signed::sign(body, &self.agreement, KeyId(0), &self.key)
    }

    /// The next `count` entries and the checkpoint over the log after them.
    pub fn batch(&mut self, count: u64) -> (Vec<SignedEntry>, SignedCheckpoint) {
        let start = self.size();
        let entries: Vec<SignedEntry> = (start..start + count).map(|i| self.entry(i)).collect();
        let mut created = Vec::new();
        for entry in &entries {
            self.frontier
                .push(TreeHash(cbm_wire::EntryHash::of_leaf(&entry.encode()).0), &mut created);
        }
        (entries, self.checkpoint())
    }

    /// A checkpoint over the log as it stands, one millisecond after the last.
    pub fn checkpoint(&mut self) -> SignedCheckpoint {
        self.clock += 1;
        let body = Checkpoint {
            log: self.log,
            size: self.size(),
            root: RootHash(self.frontier.root().0),
            timestamp: Timestamp(self.clock),
        };
        Signed::sign(body, &self.agreement, KeyId(0), &self.key)
    }

    /// Resumes writing a log that holds `size` entries and whose latest
    /// checkpoint is from `last_checkpoint` (recomputing the frontier).
    pub fn resume(&mut self, size: u64, last_checkpoint: Timestamp) {
        self.clock = self.clock.max(last_checkpoint.0);
        self.reset_to(size);
    }

    /// Rewinds or advances the writer to `size` entries (recomputing the frontier).
    pub fn reset_to(&mut self, size: u64) {
        self.frontier = Frontier::empty();
        let mut created = Vec::new();
        for i in 0..size {
            self.frontier.push(
                TreeHash(cbm_wire::EntryHash::of_leaf(&self.entry(i).encode()).0),
                &mut created,
            );
        }
    }
}
