//! The log-owner rules (spec/log.md §3.2): whether an entry may stand at the
//! next position of its signatory's log. Owners check before they sign and
//! append; witnesses check every mirrored entry before they cosign.

use std::collections::BTreeMap;

use cbm_wire::parallel::map_in_order;
use cbm_wire::{
    EntryHash, EntryKind, PublicKey, SignatoryId, SignedEntry, SigningKeyInfo, StatusChange, Topic, VerifyError, Wire,
    verify_message,
};

use crate::agreement::Agreement;
use crate::calendar::period_of;

/// What the rules need to know about the logs already held.
pub trait LogView {
    /// Number of entries held for `signatory`'s log: the next index.
    fn size(&self, signatory: &SignatoryId) -> u64;
    /// The hash of entry `index` of `signatory`'s log, if held.
    fn entry_hash(&self, signatory: &SignatoryId, index: u64) -> Option<EntryHash>;
    /// Keys `signatory` added by key-rotation entries so far.
    fn rotated_keys(&self, signatory: &SignatoryId) -> Vec<SigningKeyInfo>;
    /// The latest status change `signatory` declared for `topic`, if any.
    fn status(&self, signatory: &SignatoryId, topic: &Topic) -> Option<StatusChange>;
}

/// Why an entry may not be appended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The entry is bound to another agreement.
    #[error("entry is made under another agreement")]
    WrongAgreement,
    /// The signatory is not in the roster.
    #[error("{0} is not a signatory")]
    UnknownSignatory(SignatoryId),
    /// The entry is by another signatory than the owner of the log it is
    /// offered for.
    #[error("the entry is {author}'s, offered for {owner}'s log")]
    OtherLog {
        /// The owner of the log.
        owner: SignatoryId,
        /// The entry's signatory.
        author: SignatoryId,
    },
    /// The index is not the next leaf index.
    #[error("entry index {found}, the next index is {expected}")]
    WrongIndex {
        /// The next index.
        expected: u64,
        /// The entry's index.
        found: u64,
    },
    /// No key with the entry's key id may sign at its `issued_at`.
    #[error("no key {0} valid at the entry's time")]
    NoValidKey(cbm_wire::KeyId),
    /// The signature does not verify.
    #[error(transparent)]
    BadSignature(#[from] VerifyError),
    /// The encoded entry is larger than the roster allows.
    #[error("entry is {len} bytes, the roster allows {limit}")]
    TooLarge {
        /// Encoded size.
        len: usize,
        /// Roster limit.
        limit: usize,
    },
    /// A declaration, no-change or status for a topic with no schedule that binds the signatory.
    #[error("topic {0} has no schedule binding this signatory")]
    NotScheduled(Topic),
    /// A declaration for a period that has not begun at `issued_at`.
    #[error("period {period} has not begun (current period {current:?})")]
    FuturePeriod {
        /// The declared period.
        period: u64,
        /// The period of `issued_at`, if the schedule has started.
        current: Option<u64>,
    },
    /// A citation that does not match a held entry, or of the wrong log.
    #[error("cited entry: {0}")]
    BadCitation(&'static str),
    /// A malformed request.
    #[error("request: {0}")]
    BadRequest(&'static str),
    /// A status change that does not follow from the current status.
    #[error("status change: {0}")]
    BadStatus(&'static str),
    /// A malformed key rotation.
    #[error("key rotation: {0}")]
    BadKeyRotation(&'static str),
}

/// The part of checking an entry that needs no log state: its encoded
/// length, its leaf hash, and whether its signature verifies under the
/// roster key its key id names at its time. Computed ahead of the
/// sequential rules, on every core ([`Precheck::all`]); spec/log.md §7.4.
#[derive(Clone, Debug)]
pub struct Precheck {
    /// Length of the entry's canonical encoding.
    pub len: usize,
    /// The entry's leaf hash.
    pub hash: EntryHash,
    /// The roster key the signature verified under, if it did.
    verified: Option<PublicKey>,
}

impl Precheck {
    /// Prechecks one entry.
    pub fn of(agreement: &Agreement, entry: &SignedEntry) -> Self {
        Self::of_decoded(agreement, entry, &entry.encode())
    }

    /// Prechecks an entry decoded from `encoded`, its canonical encoding:
    /// nothing of it is encoded again.
    pub fn of_decoded(agreement: &Agreement, entry: &SignedEntry, encoded: &[u8]) -> Self {
        let verified = agreement
            .signing_key_at(&entry.body.signatory, &[], entry.key, entry.body.issued_at)
            .filter(|key| agreement.verify_signed_decoded(entry, encoded, &key.key).is_ok())
            .map(|key| key.key);
        Self { len: encoded.len(), hash: EntryHash::of_leaf(encoded), verified }
    }

    /// Prechecks `entries`, in order; spread over every core when there
    /// are many (see [`cbm_wire::parallel`]).
    pub fn all(agreement: &Agreement, entries: &[SignedEntry]) -> Vec<Self> {
        map_in_order(entries.iter().collect(), |entry| Self::of(agreement, entry))
    }
}

/// Checks `entry` against the agreement and the logs held (spec/log.md §3.2).
///
/// # Errors
/// The first rule the entry breaks.
pub fn check_entry(agreement: &Agreement, view: &impl LogView, entry: &SignedEntry) -> Result<(), EntryError> {
    check_prechecked(agreement, view, entry, &Precheck::of(agreement, entry))
}

/// [`check_entry`] given the entry's [`Precheck`]: if its signature
/// verified under the key the rules choose, it is not verified again;
/// otherwise (a rotated key, say) it is.
///
/// # Errors
/// As [`check_entry`].
pub fn check_prechecked(
    agreement: &Agreement,
    view: &impl LogView,
    entry: &SignedEntry,
    precheck: &Precheck,
) -> Result<(), EntryError> {
    let body = &entry.body;
    if body.agreement != *agreement.hash() {
        return Err(EntryError::WrongAgreement);
    }
    let signatory = agreement
        .roster()
        .signatory(&body.signatory)
        .ok_or_else(|| EntryError::UnknownSignatory(body.signatory.clone()))?;
    let expected = view.size(&body.signatory);
    if body.index != expected {
        return Err(EntryError::WrongIndex { expected, found: body.index });
    }
    let rotated = view.rotated_keys(&body.signatory);
    let key = agreement
        .signing_key_at(&signatory.id, &rotated, entry.key, body.issued_at)
        .ok_or(EntryError::NoValidKey(entry.key))?;
    if precheck.verified.as_ref() != Some(&key.key) {
        agreement.verify_signed(entry, &key.key)?;
    }
    let len = precheck.len;
    let limit = agreement.roster().limits.max_entry_bytes as usize;
    if len > limit {
        return Err(EntryError::TooLarge { len, limit });
    }
    check_kind(agreement, view, entry, &rotated)
}

fn binding_schedule<'a>(
    agreement: &'a Agreement,
    signatory: &SignatoryId,
    topic: &Topic,
) -> Result<&'a cbm_wire::Schedule, EntryError> {
    agreement
        .roster()
        .schedule(topic)
        .filter(|s| s.binds(signatory))
        .ok_or_else(|| EntryError::NotScheduled(topic.clone()))
}

fn check_kind(
    agreement: &Agreement,
    view: &impl LogView,
    entry: &SignedEntry,
    rotated: &[SigningKeyInfo],
) -> Result<(), EntryError> {
    let body = &entry.body;
    let own = &body.signatory;
    match &body.kind {
        EntryKind::Declaration { topic, period } | EntryKind::NoChange { topic, period } => {
            let schedule = binding_schedule(agreement, own, topic)?;
            let current = period_of(schedule, body.issued_at);
            if current.is_none_or(|current| *period > current) {
                return Err(EntryError::FuturePeriod { period: *period, current });
            }
        }
        EntryKind::Notification { .. } => {}
        EntryKind::Amendment { amends, .. } => {
            if amends.signatory != *own {
                return Err(EntryError::BadCitation("an amendment amends an entry of its own log"));
            }
            if view.entry_hash(own, amends.index) != Some(amends.hash) {
                return Err(EntryError::BadCitation("the amended entry is not held"));
            }
        }
        EntryKind::Objection { cites, .. } | EntryKind::Response { cites } => {
            if cites.signatory == *own {
                return Err(EntryError::BadCitation("objections and responses cite another signatory's entry"));
            }
            if view.entry_hash(&cites.signatory, cites.index) != Some(cites.hash) {
                return Err(EntryError::BadCitation("the cited entry is not held"));
            }
        }
        EntryKind::Request { to, reply_by } => {
            if *reply_by <= body.issued_at {
                return Err(EntryError::BadRequest("the reply-by time is not after the request"));
            }
            let mut seen = std::collections::BTreeSet::new();
            for recipient in to {
                if recipient == own || agreement.roster().signatory(recipient).is_none() || !seen.insert(recipient) {
                    return Err(EntryError::BadRequest("recipients must be distinct other signatories"));
                }
            }
        }
        EntryKind::Status { topic, change, .. } => {
            binding_schedule(agreement, own, topic)?;
            let allowed = match (view.status(own, topic), change) {
                (Some(StatusChange::Withdraw), _) => Err("the obligation was withdrawn"),
                (Some(StatusChange::Suspend), StatusChange::Suspend) => Err("already suspended"),
                (None | Some(StatusChange::Resume), StatusChange::Resume) => Err("not suspended"),
                _ => Ok(()),
            };
            allowed.map_err(EntryError::BadStatus)?;
        }
        EntryKind::KeyRotation { new_key, possession } => {
            let roster_keys = &agreement.roster().signatory(own).map(|s| s.signing_keys.clone()).unwrap_or_default();
            if roster_keys.iter().chain(rotated).any(|k| k.id == new_key.id || k.key == new_key.key) {
                return Err(EntryError::BadKeyRotation("the key id or key is already in use"));
            }
            // A key belongs to one signatory: none another lists or rotated in.
            let held_by_another = agreement.roster().signatories.iter().filter(|s| s.id != *own).any(|other| {
                other.signing_keys.iter().any(|k| k.key == new_key.key)
                    || view.rotated_keys(&other.id).iter().any(|k| k.key == new_key.key)
            });
            if held_by_another {
                return Err(EntryError::BadKeyRotation("the key is one another signatory holds or held"));
            }
            if new_key.valid_from < body.issued_at {
                return Err(EntryError::BadKeyRotation("a new key cannot be valid before its announcement"));
            }
            let message = new_key.possession_message(agreement.hash(), own);
            verify_message("key possession", &new_key.key, &message, possession)
                .map_err(|_| EntryError::BadKeyRotation("the proof of possession does not verify"))?;
        }
    }
    Ok(())
}

/// Entries of one log with their [`Precheck`]s: a batch ready for the
/// sequential rules, its costly part (signatures, hashes) done on every core.
#[derive(Clone, Debug, Default)]
pub struct Prechecked {
    entries: Vec<SignedEntry>,
    prechecks: Vec<Precheck>,
}

impl Prechecked {
    /// Prechecks `entries` on every core.
    pub fn new(agreement: &Agreement, entries: Vec<SignedEntry>) -> Self {
        let prechecks = Precheck::all(agreement, &entries);
        Self { entries, prechecks }
    }

    /// The entries.
    pub fn entries(&self) -> &[SignedEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the entries' canonical encodings.
    pub fn encoded_len(&self) -> usize {
        self.prechecks.iter().map(|p| p.len).sum()
    }

    /// Keeps the first `len` entries (and their prechecks).
    pub fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
        self.prechecks.truncate(len);
    }

    /// Appends `more` after these entries: a batch fetched in pages is
    /// prechecked page by page.
    pub fn extend(&mut self, more: Prechecked) {
        self.entries.extend(more.entries);
        self.prechecks.extend(more.prechecks);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Checks a batch of new entries of `owner`'s log, each against the logs
/// held plus the batch before it. Returns the entries' leaf hashes.
///
/// # Errors
/// The position in the batch of the first entry that breaks a rule, and the rule.
pub fn check_batch(
    agreement: &Agreement,
    view: &impl LogView,
    owner: &SignatoryId,
    batch: &Prechecked,
) -> Result<Vec<EntryHash>, (usize, EntryError)> {
    let mut held = WithBatch::new(view, owner);
    for (position, (entry, precheck)) in batch.entries.iter().zip(&batch.prechecks).enumerate() {
        if entry.body.signatory != *owner {
            let error = EntryError::OtherLog { owner: owner.clone(), author: entry.body.signatory.clone() };
            return Err((position, error));
        }
        check_prechecked(agreement, &held, entry, precheck).map_err(|error| (position, error))?;
        held.push(entry, precheck.hash);
    }
    Ok(batch.prechecks.iter().map(|p| p.hash).collect())
}

/// A view with a batch of new entries of one log appended: how the entries
/// of one append are checked, each against the logs plus the batch before it.
struct WithBatch<'a, V> {
    base: &'a V,
    owner: &'a SignatoryId,
    /// Leaf hashes of the batch's entries, by position.
    hashes: Vec<EntryHash>,
    /// Keys the batch's key rotations added.
    rotated: Vec<SigningKeyInfo>,
    /// The batch's latest status change per topic.
    status: BTreeMap<Topic, StatusChange>,
}

impl<'a, V: LogView> WithBatch<'a, V> {
    fn new(base: &'a V, owner: &'a SignatoryId) -> Self {
        Self { base, owner, hashes: Vec::new(), rotated: Vec::new(), status: BTreeMap::new() }
    }

    /// Appends `entry`, which has been checked, with its leaf hash.
    fn push(&mut self, entry: &SignedEntry, hash: EntryHash) {
        self.hashes.push(hash);
        match &entry.body.kind {
            EntryKind::KeyRotation { new_key, .. } => self.rotated.push(new_key.clone()),
            EntryKind::Status { topic, change, .. } => {
                self.status.insert(topic.clone(), *change);
            }
            _ => {}
        }
    }
}

impl<V: LogView> LogView for WithBatch<'_, V> {
    fn size(&self, signatory: &SignatoryId) -> u64 {
        let extra = if signatory == self.owner { self.hashes.len() as u64 } else { 0 };
        self.base.size(signatory) + extra
    }

    fn entry_hash(&self, signatory: &SignatoryId, index: u64) -> Option<EntryHash> {
        if signatory != self.owner {
            return self.base.entry_hash(signatory, index);
        }
        let held = self.base.size(signatory);
        match index.checked_sub(held) {
            Some(position) => self.hashes.get(usize::try_from(position).ok()?).copied(),
            None => self.base.entry_hash(signatory, index),
        }
    }

    fn rotated_keys(&self, signatory: &SignatoryId) -> Vec<SigningKeyInfo> {
        let mut keys = self.base.rotated_keys(signatory);
        if signatory == self.owner {
            keys.extend(self.rotated.iter().cloned());
        }
        keys
    }

    fn status(&self, signatory: &SignatoryId, topic: &Topic) -> Option<StatusChange> {
        let from_batch = (signatory == self.owner).then(|| self.status.get(topic).copied()).flatten();
        from_batch.or_else(|| self.base.status(signatory, topic))
    }
}
