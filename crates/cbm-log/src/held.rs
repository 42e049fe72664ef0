//! What a node knows about the logs it holds, for the entry rules
//! ([`LogView`]): entry hashes and sizes come from the store (any
//! [`ReadStore`]); the keys
//! each signatory rotated in and the latest status per topic are kept in
//! [`LogFacts`], built once from the stored entries and updated on every
//! append, so that checking an entry never rescans a log.

use std::collections::BTreeMap;

use cbm_wire::{EntryHash, EntryKind, SignatoryId, SignedEntry, SigningKeyInfo, StatusChange, Topic};

use crate::agreement::Agreement;
use crate::rules::LogView;
use crate::store::{ReadStore, StoreError};

/// Entries read per query while building [`LogFacts`].
const PAGE: u64 = 1024;

/// Rotated keys and statuses per signatory, from the entries seen so far.
#[derive(Clone, Debug, Default)]
pub struct LogFacts {
    keys: BTreeMap<SignatoryId, Vec<SigningKeyInfo>>,
    status: BTreeMap<(SignatoryId, Topic), StatusChange>,
}

impl LogFacts {
    /// Reads every log of `agreement` held in `store`, entry by entry.
    ///
    /// # Errors
    /// On a store failure.
    pub fn load(store: &(impl ReadStore + ?Sized), agreement: &Agreement) -> Result<Self, StoreError> {
        let mut facts = Self::default();
        for signatory in &agreement.roster().signatories {
            let log = agreement.log_of(&signatory.id);
            let size = store.size(&log)?;
            let mut next = 0;
            while next < size {
                let page = store.entries(&log, next, PAGE)?;
                next += page.len() as u64;
                page.iter().for_each(|entry| facts.observe(entry));
            }
        }
        Ok(facts)
    }

    /// Takes note of `entry`, the next entry of its log.
    pub fn observe(&mut self, entry: &SignedEntry) {
        let who = &entry.body.signatory;
        match &entry.body.kind {
            EntryKind::KeyRotation { new_key, .. } => self.keys.entry(who.clone()).or_default().push(new_key.clone()),
            EntryKind::Status { topic, change, .. } => {
                self.status.insert((who.clone(), topic.clone()), *change);
            }
            _ => {}
        }
    }
}

/// The logs held in a store, as the entry rules see them.
#[derive(Debug)]
pub struct StoreView<'a, S: ReadStore + ?Sized> {
    /// The store.
    pub store: &'a S,
    /// The agreement, to find each signatory's log.
    pub agreement: &'a Agreement,
    /// Rotated keys and statuses.
    pub facts: &'a LogFacts,
}

impl<S: ReadStore + ?Sized> LogView for StoreView<'_, S> {
    fn size(&self, signatory: &SignatoryId) -> u64 {
        // A failing read is taken as an empty log. That only ever makes
        // the rules refuse more: an entry then passes only if it is a first
        // entry that cites nothing held, and the append that would store it
        // checks the log's size itself (spec/log.md §9.3 step 4.1).
        self.store.size(&self.agreement.log_of(signatory)).unwrap_or(0)
    }

    fn entry_hash(&self, signatory: &SignatoryId, index: u64) -> Option<EntryHash> {
        self.store.leaf_hash(&self.agreement.log_of(signatory), index).ok().flatten()
    }

    fn rotated_keys(&self, signatory: &SignatoryId) -> Vec<SigningKeyInfo> {
        self.facts.keys.get(signatory).cloned().unwrap_or_default()
    }

    fn status(&self, signatory: &SignatoryId, topic: &Topic) -> Option<StatusChange> {
        self.facts.status.get(&(signatory.clone(), topic.clone())).copied()
    }
}
