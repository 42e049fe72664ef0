//! Writing entries (spec/wire.md §4.2–4.3): a signatory's draft becomes a
//! signed entry, each committed field is salted and committed to, and the
//! openings for its recipients are returned to be sent privately.

use cbm_wire::{
    Bytes, Commitment, Entry, EntryKind, Field, FieldPosition, KeyId, Label, MediaType, Opening, Salt, SignatoryId,
    SignedEntry, SigningKey, Timestamp,
};
use rand_core::CryptoRngCore;

use crate::agreement::Agreement;

/// One field of a draft entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftField {
    /// A value every verifier sees.
    Plain {
        /// What it is.
        label: Label,
        /// How to read it.
        media_type: MediaType,
        /// The value.
        value: Vec<u8>,
    },
    /// A value the log carries only as a commitment; its opening goes to
    /// `recipients` alone.
    Committed {
        /// What it is.
        label: Label,
        /// How to read it.
        media_type: MediaType,
        /// The value.
        value: Vec<u8>,
        /// Who receives the opening.
        recipients: Vec<SignatoryId>,
    },
}

/// An entry as its author writes it, before it has a position and a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The kind of entry.
    pub kind: EntryKind,
    /// Its fields, in order.
    pub fields: Vec<DraftField>,
}

/// A signed entry and the openings of its committed fields, per recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authored {
    /// The entry.
    pub entry: SignedEntry,
    /// `(recipient, opening)` for every recipient of every committed field.
    pub openings: Vec<(SignatoryId, Opening)>,
}

/// Who signs, with which key.
#[derive(Debug)]
pub struct Author<'a> {
    /// The agreement.
    pub agreement: &'a Agreement,
    /// The signatory writing.
    pub signatory: &'a SignatoryId,
    /// The number of its signing key.
    pub key_id: KeyId,
    /// The signing key.
    pub key: &'a SigningKey,
}

/// A committed field's opening material, until the entry's hash is known.
type PendingOpening = (u32, Salt, Vec<u8>, Vec<SignatoryId>);

impl Author<'_> {
    /// Turns `draft` into entry `index` of the author's log, issued at
    /// `issued_at`, with fresh salts from `rng`. Whether the entry may stand
    /// there is for [`crate::rules::check_entry`] to say.
    pub fn write(&self, draft: Draft, index: u64, issued_at: Timestamp, rng: &mut impl CryptoRngCore) -> Authored {
        let (body, pending) = self.prepare(draft, index, issued_at, rng);
        let entry = SignedEntry::sign(body, self.agreement.hash(), self.key_id, self.key);
        self.finish(entry, pending)
    }

    /// Writes `drafts` as consecutive entries from `first_index`, signing
    /// them on every core: how a batch is written.
    pub fn write_all(
        &self,
        drafts: Vec<Draft>,
        first_index: u64,
        issued_at: Timestamp,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<Authored> {
        let (bodies, pending): (Vec<Entry>, Vec<Vec<PendingOpening>>) =
            (first_index..).zip(drafts).map(|(index, draft)| self.prepare(draft, index, issued_at, rng)).unzip();
        let entries = SignedEntry::sign_many(bodies, self.agreement.hash(), self.key_id, self.key);
        entries.into_iter().zip(pending).map(|(entry, pending)| self.finish(entry, pending)).collect()
    }

    /// The unsigned entry, and the openings of its committed fields.
    fn prepare(
        &self,
        draft: Draft,
        index: u64,
        issued_at: Timestamp,
        rng: &mut impl CryptoRngCore,
    ) -> (Entry, Vec<PendingOpening>) {
        let agreement = self.agreement.hash();
        let mut fields = Vec::with_capacity(draft.fields.len());
        let mut pending = Vec::new();
        for (number, field) in (0u32..).zip(draft.fields) {
            match field {
                DraftField::Plain { label, media_type, value } => {
                    fields.push(Field::Plain { label, media_type, value: Bytes(value) });
                }
                DraftField::Committed { label, media_type, value, recipients } => {
                    let mut salt = [0u8; 32];
                    rng.fill_bytes(&mut salt);
                    let salt = Salt(salt);
                    let position = FieldPosition {
                        agreement,
                        signatory: self.signatory,
                        index,
                        field: number,
                        label: &label,
                        media_type: &media_type,
                    };
                    let commitment = Commitment::compute(&salt, &position, &value);
                    fields.push(Field::Committed { label, media_type, commitment });
                    pending.push((number, salt, value, recipients));
                }
            }
        }
        let body = Entry {
            agreement: *agreement,
            signatory: self.signatory.clone(),
            index,
            issued_at,
            kind: draft.kind,
            fields,
        };
        (body, pending)
    }

    /// The openings of a signed entry's committed fields, per recipient.
    fn finish(&self, entry: SignedEntry, pending: Vec<PendingOpening>) -> Authored {
        let reference =
            cbm_wire::EntryRef { signatory: self.signatory.clone(), index: entry.body.index, hash: entry.hash() };
        let openings = pending
            .into_iter()
            .flat_map(|(field, salt, value, recipients)| {
                let opening = Opening { entry: reference.clone(), field, salt, value: Bytes(value) };
                recipients.into_iter().map(move |to| (to, opening.clone()))
            })
            .collect();
        Authored { entry, openings }
    }
}

/// The time an owner signs its next checkpoint at (spec/log.md §9.3 step
/// 6): its clock's `now`, but never before its latest checkpoint's time.
/// A clock that jumped forward once and came back would otherwise make
/// every later checkpoint out of time order, and freeze the log; this way
/// the log goes on, its checkpoints holding the later time until the clock
/// passes it.
#[must_use]
pub fn checkpoint_time(now: Timestamp, latest: Option<Timestamp>) -> Timestamp {
    latest.map_or(now, |latest| now.max(latest))
}
