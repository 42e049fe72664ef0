//! Entries: the leaves of a signatory's log (spec/wire.md §4.2).

use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;
use crate::codec::{Bounded, Wire, check_len};
use crate::error::{DecodeError, VerifyError};
use crate::ids::{AgreementHash, Commitment, EntryHash, Label, MediaType, Salt, SignatoryId, Text, Topic};
use crate::limits;
use crate::roster::SigningKeyInfo;
use crate::sign::{Signable, Signed, context, signing_message};
use crate::time::Timestamp;

/// One statement by a signatory, at a fixed position of its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The agreement it is made under.
    pub agreement: AgreementHash,
    /// Who makes it; owner of the log.
    pub signatory: SignatoryId,
    /// Its leaf index in the signatory's log.
    pub index: u64,
    /// When the signatory says it issued the entry. Deadlines are judged on
    /// receipts (cosignatures), never on this claim alone.
    pub issued_at: Timestamp,
    /// What kind of statement it is, with the kind's own data.
    pub kind: EntryKind,
    /// The content, as ordered fields.
    pub fields: Vec<Field>,
}

/// The kinds of entry and their kind-specific data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum EntryKind {
    /// The declaration due for `period` of the schedule for `topic`.
    Declaration {
        /// Scheduled topic.
        topic: Topic,
        /// Period number, counted from the schedule's start.
        period: u64,
    },
    /// "Nothing to report" for `period`: satisfies the schedule, and says
    /// explicitly that silence is not an omission.
    NoChange {
        /// Scheduled topic.
        topic: Topic,
        /// Period number.
        period: u64,
    },
    /// An unscheduled notification (an incident, a change of contact).
    Notification {
        /// Free topic.
        topic: Topic,
    },
    /// Replaces the content of an earlier entry of the same log; the
    /// original stays in the log.
    Amendment {
        /// The amended entry.
        amends: EntryRef,
        /// Why.
        reason: Text,
    },
    /// Disputes another signatory's entry ("cannot confirm").
    Objection {
        /// The disputed entry.
        cites: EntryRef,
        /// Grounds.
        reason: Text,
    },
    /// Answers an objection or a request.
    Response {
        /// The objection or request answered.
        cites: EntryRef,
    },
    /// Asks other signatories for information by a deadline.
    Request {
        /// Who is asked; empty means all other signatories.
        to: Vec<SignatoryId>,
        /// The reply is due by this instant.
        reply_by: Timestamp,
    },
    /// Suspends, resumes or withdraws the signatory's obligation on a topic.
    Status {
        /// The scheduled topic affected.
        topic: Topic,
        /// The change.
        change: StatusChange,
        /// When the change takes effect.
        effective_from: Timestamp,
    },
    /// Adds a signing key for the signatory; signed by a key already valid,
    /// and carrying the new key's own proof of possession.
    KeyRotation {
        /// The new key and its validity window.
        new_key: SigningKeyInfo,
        /// Signature by the new key, in context `cbm/1 key possession` under
        /// the new key's own id, over the new key info and the signatory
        /// announcing it ([`SigningKeyInfo::possession_message`]), so that
        /// no other signatory can copy it into its own log.
        possession: crate::ids::Signature,
    },
}

/// A change of obligation status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum StatusChange {
    /// Obligations pause from `effective_from`.
    Suspend,
    /// Obligations resume from `effective_from`.
    Resume,
    /// The signatory leaves the obligation for good.
    Withdraw,
}

/// A citation of an entry in some signatory's log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// The log owner.
    pub signatory: SignatoryId,
    /// The entry's index in that log.
    pub index: u64,
    /// Its leaf hash, so the citation pins its exact content.
    pub hash: EntryHash,
}

/// One field of an entry's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum Field {
    /// A value every verifier sees.
    Plain {
        /// What the value is.
        label: Label,
        /// How to read it.
        media_type: MediaType,
        /// The value.
        value: Bytes,
    },
    /// A value known only to chosen recipients; the log carries a commitment
    /// and the opening ([`Opening`]) is sent to them privately.
    Committed {
        /// What the value is.
        label: Label,
        /// How to read it.
        media_type: MediaType,
        /// Commitment to the value (see [`Commitment::compute`]).
        commitment: Commitment,
    },
}

impl Field {
    /// The field's label.
    pub fn label(&self) -> &Label {
        match self {
            Self::Plain { label, .. } | Self::Committed { label, .. } => label,
        }
    }
}

/// A signed entry: what a log leaf holds.
pub type SignedEntry = Signed<Entry>;

impl Signable for Entry {
    const CONTEXT: &'static str = context::ENTRY;
}

impl Bounded for Entry {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        check_len(object, "Entry.fields", self.fields.len(), limits::MAX_FIELDS)?;
        if let EntryKind::Request { to, .. } = &self.kind {
            check_len(object, "EntryKind.Request.to", to.len(), limits::MAX_RECIPIENTS)?;
        }
        Ok(())
    }
}

impl Wire for SignedEntry {
    const NAME: &'static str = "SignedEntry";
}

impl SignedEntry {
    /// Checks an entry nested in a larger object (a bundle record, a
    /// response, a proof) against the limit a standalone entry has: those
    /// objects are scanned with the larger frame limits. `encoded` is the
    /// entry's encoding where the caller has it at hand; otherwise the
    /// entry is encoded to measure it.
    ///
    /// # Errors
    /// [`DecodeError::OverLimit`] for an entry over [`limits::MAX_ENTRY_BYTES`].
    pub(crate) fn check_size(&self, object: &'static str, encoded: Option<&[u8]>) -> Result<(), DecodeError> {
        let len = encoded.map_or_else(|| self.encode().len(), <[u8]>::len);
        check_len(object, "SignedEntry (encoded bytes)", len, limits::MAX_ENTRY_BYTES)
    }
}

impl EntryHash {
    /// The Merkle leaf hash of a signed entry's canonical bytes:
    /// `BLAKE3(0x00 || bytes)` (spec/log.md, RFC 9162 §2.1.1 with BLAKE3).
    pub fn of_leaf(signed_entry_bytes: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[0x00]);
        hasher.update(signed_entry_bytes);
        Self(*hasher.finalize().as_bytes())
    }
}

impl SignedEntry {
    /// This entry's leaf hash.
    pub fn hash(&self) -> EntryHash {
        EntryHash::of_leaf(&self.encode())
    }
}

/// What a new key signs to prove possession (spec/wire.md §5.2): the key
/// info, bound to the signatory whose key-rotation entry announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KeyPossession<'a> {
    /// The signatory announcing the key.
    pub signatory: &'a SignatoryId,
    /// The new key and its validity window.
    pub key: &'a SigningKeyInfo,
}

impl SigningKeyInfo {
    /// The message a new key signs to prove possession in `signatory`'s
    /// key-rotation entry: context `cbm/1 key possession` over
    /// [`KeyPossession`].
    pub fn possession_message(&self, agreement: &AgreementHash, signatory: &SignatoryId) -> Vec<u8> {
        signing_message(context::KEY_POSSESSION, agreement, self.id, &KeyPossession { signatory, key: self })
    }
}

/// Where a committed field sits: everything its commitment is bound to
/// besides the value, so an opening for one field never opens another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPosition<'a> {
    /// The agreement.
    pub agreement: &'a AgreementHash,
    /// The log owner.
    pub signatory: &'a SignatoryId,
    /// The entry's index in the log.
    pub index: u64,
    /// The field's index in the entry.
    pub field: u32,
    /// The field's label.
    pub label: &'a Label,
    /// The field's media type.
    pub media_type: &'a MediaType,
}

impl Commitment {
    /// `BLAKE3-keyed(salt, "cbm/1 commitment" || 0x00 || agreement ||
    /// len-prefixed signatory || index || field || len-prefixed label ||
    /// len-prefixed media type || value)`; integers big-endian u64/u32,
    /// lengths u32 big-endian (spec/wire.md §4.3).
    pub fn compute(salt: &Salt, position: &FieldPosition<'_>, value: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new_keyed(salt.as_bytes());
        hasher.update(b"cbm/1 commitment\0");
        hasher.update(position.agreement.as_bytes());
        update_prefixed(&mut hasher, position.signatory.as_str().as_bytes());
        hasher.update(&position.index.to_be_bytes());
        hasher.update(&position.field.to_be_bytes());
        update_prefixed(&mut hasher, position.label.as_str().as_bytes());
        update_prefixed(&mut hasher, position.media_type.as_str().as_bytes());
        hasher.update(value);
        Self(*hasher.finalize().as_bytes())
    }
}

fn update_prefixed(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    // Every length is bounded far below 4 GiB by the wire limits.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(&len.to_be_bytes());
    hasher.update(bytes);
}

/// The private opening of one committed field, sent to chosen recipients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// The entry holding the committed field.
    pub entry: EntryRef,
    /// The field's index in the entry.
    pub field: u32,
    /// The commitment's salt.
    pub salt: Salt,
    /// The committed value.
    pub value: Bytes,
}

impl Bounded for Opening {}

impl Wire for Opening {
    const NAME: &'static str = "Opening";
}

impl Opening {
    /// Checks this opening against the entry it cites.
    ///
    /// # Errors
    /// [`VerifyError::WrongEntry`] if `entry` is not the cited entry,
    /// [`VerifyError::NoSuchCommittedField`] if the field is absent or plain,
    /// [`VerifyError::OpeningMismatch`] if the value does not match.
    pub fn verify(&self, entry: &SignedEntry) -> Result<(), VerifyError> {
        let body = &entry.body;
        if body.signatory != self.entry.signatory || body.index != self.entry.index || entry.hash() != self.entry.hash {
            return Err(VerifyError::WrongEntry);
        }
        let field = usize::try_from(self.field).ok().and_then(|i| body.fields.get(i));
        self.verify_field(&body.agreement, field)
    }

    /// Checks this opening against `field`, the field at `self.field` of
    /// the entry `self.entry` names under `agreement` — for a verifier that
    /// keeps committed fields but not whole entries, and has checked the
    /// entry's hash itself.
    ///
    /// # Errors
    /// [`VerifyError::NoSuchCommittedField`] if `field` is absent or plain,
    /// [`VerifyError::OpeningMismatch`] if the value does not match.
    pub fn verify_field(&self, agreement: &AgreementHash, field: Option<&Field>) -> Result<(), VerifyError> {
        let Some(Field::Committed { label, media_type, commitment }) = field else {
            return Err(VerifyError::NoSuchCommittedField { field: self.field });
        };
        let position = FieldPosition {
            agreement,
            signatory: &self.entry.signatory,
            index: self.entry.index,
            field: self.field,
            label,
            media_type,
        };
        if Commitment::compute(&self.salt, &position, self.value.as_slice()) != *commitment {
            return Err(VerifyError::OpeningMismatch { field: self.field });
        }
        Ok(())
    }
}
