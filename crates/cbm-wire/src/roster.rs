//! The roster: the agreement every signature is bound to (spec/wire.md §4.1).

use serde::{Deserialize, Serialize};

use crate::codec::{Bounded, Wire, check_len, to_canonical};
use crate::error::{DecodeError, VerifyError};
use crate::ids::{Address, AgreementHash, AgreementId, KeyId, LogId, PublicKey, SignatoryId, Signature, Text, Topic};
use crate::limits::{self, Limits};
use crate::sign::{context, sign_message, signing_message, verify_message};
use crate::time::{TimeSpan, Timestamp};
use ed25519_dalek::SigningKey;

/// The agreement: who signs, what they owe each other and when, and how many
/// cosignatures settle a checkpoint. Its hash is the [`AgreementHash`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// The agreement's name.
    pub agreement: AgreementId,
    /// Version of this roster; a later version supersedes an earlier one.
    pub version: u64,
    /// Human title of the agreement.
    pub title: Text,
    /// The parties, in a fixed order.
    pub signatories: Vec<Signatory>,
    /// What each party must declare, and when.
    pub schedules: Vec<Schedule>,
    /// How many cosignatures settle a checkpoint.
    pub quorum: QuorumPolicy,
    /// Agreement-specific limits, never looser than the wire limits.
    pub limits: RosterLimits,
    /// Hash of the roster version this one replaces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<AgreementHash>,
    /// Notification topics with their own acknowledgement window (an
    /// incident topic: minutes or hours); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// One party to the agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    /// Short identifier, unique within the roster.
    pub id: SignatoryId,
    /// Human name ("Republic of Austria, CERT.at").
    pub name: Text,
    /// Keys that sign entries, checkpoints and cosignatures.
    pub signing_keys: Vec<SigningKeyInfo>,
    /// Key that authenticates the node's QUIC connections: as an RFC 7250 raw
    /// public key, or by binding a TLS certificate (spec/transport.md §2.3).
    pub transport_key: PublicKey,
    /// Where the node listens.
    pub addresses: Vec<Address>,
}

/// A signing key and the window in which it may sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct SigningKeyInfo {
    /// Number of the key, unique for the signatory.
    pub id: KeyId,
    /// The Ed25519 public key.
    pub key: PublicKey,
    /// First instant at which the key may sign.
    pub valid_from: Timestamp,
    /// First instant at which it may no longer sign; open-ended if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

impl SigningKeyInfo {
    /// Whether the key may sign at `at`.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|until| at < until)
    }
}

/// A periodic obligation: declare on `topic` once per period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Declaration topic this schedule governs.
    pub topic: Topic,
    /// Length of a period.
    pub cadence: Cadence,
    /// Start of period 0.
    pub start: Timestamp,
    /// The declaration for a period is due this long after the period starts.
    pub due_offset: TimeSpan,
    /// Each other signatory must acknowledge (cosign) an entry within this
    /// long of receiving its checkpoint.
    pub ack_window: TimeSpan,
    /// Signatories bound by this schedule; all of them if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<Vec<SignatoryId>>,
}

/// A notification topic whose notifications every other signatory must
/// acknowledge (cosign) within a window: the hotline's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The notification topic.
    pub topic: Topic,
    /// Each other signatory must acknowledge a notification on the topic
    /// within this long of its publication.
    pub ack_window: TimeSpan,
}

/// How periods are counted from a schedule's start.
///
/// Like every enum on the wire, variants carry named fields: `serde_cbor`
/// writes newtype variants by name even in packed form (spec/wire.md §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub enum Cadence {
    /// Fixed-length periods.
    Every {
        /// Length of each period.
        span: TimeSpan,
    },
    /// Calendar months (UTC): 1 monthly, 3 quarterly, 12 yearly.
    Months {
        /// Months per period.
        months: u32,
    },
}

/// Settlement rule: a checkpoint is settled once `threshold` signatories other
/// than the log owner have cosigned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct QuorumPolicy {
    /// Cosignatures needed.
    pub threshold: u32,
}

/// Limits an agreement sets for itself (never looser than spec/wire.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct RosterLimits {
    /// Largest encoded signed entry, in bytes.
    pub max_entry_bytes: u32,
    /// Largest network frame, in bytes.
    pub max_frame_bytes: u32,
    /// Most entries one network response may carry.
    pub max_page_entries: u32,
    /// How far ahead of a witness's clock an entry's `issued_at` or a
    /// checkpoint's `timestamp` may be and still be cosigned.
    pub max_clock_skew: TimeSpan,
}

impl Default for RosterLimits {
    fn default() -> Self {
        Self {
            max_entry_bytes: 64 * 1024,
            max_frame_bytes: limits::MAX_FRAME_BYTES as u32,
            max_page_entries: 1024,
            max_clock_skew: TimeSpan::from_secs(600),
        }
    }
}

/// A roster with the signatures of its signatories over it. A roster is in
/// force only once every signatory listed has signed it (checked in cbm-log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct SignedRoster {
    /// The agreement.
    pub roster: Roster,
    /// Adoption signatures, one per signatory, in roster order.
    pub signatures: Vec<RosterSignature>,
}

/// One signatory's adoption signature over a roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct RosterSignature {
    /// Who signs.
    pub signatory: SignatoryId,
    /// With which of the signing keys the roster lists for them.
    pub key: KeyId,
    /// Signature in the roster context (spec/wire.md §5).
    pub signature: Signature,
}

impl Schedule {
    /// A monthly obligation on `topic` for every signatory, from `start`.
    pub fn monthly(topic: Topic, start: Timestamp, due_offset: TimeSpan, ack_window: TimeSpan) -> Self {
        Self { topic, cadence: Cadence::Months { months: 1 }, start, due_offset, ack_window, applies_to: None }
    }

    /// Whether this schedule binds `signatory`: it lists no signatories, or lists it.
    pub fn binds(&self, signatory: &SignatoryId) -> bool {
        self.applies_to.as_ref().is_none_or(|list| list.contains(signatory))
    }
}

impl Roster {
    /// The agreement hash: BLAKE3 of this roster's canonical encoding.
    pub fn agreement_hash(&self) -> AgreementHash {
        AgreementHash(*blake3::hash(&to_canonical(self)).as_bytes())
    }

    /// Looks up a signatory by id.
    pub fn signatory(&self, id: &SignatoryId) -> Option<&Signatory> {
        self.signatories.iter().find(|s| &s.id == id)
    }

    /// The roster signing key `key` of `signatory`, if it may sign at `at`.
    pub fn signing_key(&self, signatory: &SignatoryId, key: KeyId, at: Timestamp) -> Option<&PublicKey> {
        let info = self.signatory(signatory)?.signing_keys.iter().find(|k| k.id == key)?;
        info.is_valid_at(at).then_some(&info.key)
    }

    /// The schedule for `topic`, if the topic is scheduled.
    pub fn schedule(&self, topic: &Topic) -> Option<&Schedule> {
        self.schedules.iter().find(|s| &s.topic == topic)
    }

    /// The notice for `topic`, if notifications on it have their own window.
    pub fn notice(&self, topic: &Topic) -> Option<&Notice> {
        self.notices.iter().find(|n| &n.topic == topic)
    }
}

impl Roster {
    /// `signatory`'s adoption signature over this roster, made with its
    /// listed signing key `key_id` (spec/wire.md §5).
    pub fn sign_adoption(&self, signatory: &SignatoryId, key_id: KeyId, key: &SigningKey) -> RosterSignature {
        let message = signing_message(context::ROSTER, &self.agreement_hash(), key_id, self);
        RosterSignature { signatory: signatory.clone(), key: key_id, signature: sign_message(key, &message) }
    }

    /// Verifies one adoption signature. The key must be one this roster lists
    /// for the signer; its validity window is not consulted, since adoption
    /// has no time of its own.
    ///
    /// # Errors
    /// [`VerifyError::UnknownKey`] if the roster lists no such signatory or
    /// key, otherwise as [`verify_message`].
    pub fn verify_adoption(&self, signature: &RosterSignature) -> Result<(), VerifyError> {
        let key = self
            .signatory(&signature.signatory)
            .and_then(|s| s.signing_keys.iter().find(|k| k.id == signature.key))
            .ok_or(VerifyError::UnknownKey { what: context::ROSTER })?;
        let message = signing_message(context::ROSTER, &self.agreement_hash(), signature.key, self);
        verify_message(context::ROSTER, &key.key, &message, &signature.signature)
    }
}

impl LogId {
    /// The id of `signatory`'s log under `agreement` (spec/wire.md §3.2):
    /// BLAKE3 in derive-key mode with context `"cbm/1 log id"` over the
    /// agreement hash followed by the signatory id.
    pub fn derive(agreement: &AgreementHash, signatory: &SignatoryId) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key("cbm/1 log id");
        hasher.update(agreement.as_bytes());
        hasher.update(signatory.as_str().as_bytes());
        Self(*hasher.finalize().as_bytes())
    }
}

impl Bounded for Roster {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        check_len(object, "Roster.signatories", self.signatories.len(), limits::MAX_SIGNATORIES)?;
        check_len(object, "Roster.schedules", self.schedules.len(), limits::MAX_SCHEDULES)?;
        check_len(object, "Roster.notices", self.notices.len(), limits::MAX_NOTICES)?;
        for signatory in &self.signatories {
            check_len(object, "Signatory.signing_keys", signatory.signing_keys.len(), limits::MAX_KEYS_PER_SIGNATORY)?;
            check_len(object, "Signatory.addresses", signatory.addresses.len(), limits::MAX_ADDRESSES)?;
        }
        for schedule in &self.schedules {
            let applies = schedule.applies_to.as_ref().map_or(0, Vec::len);
            check_len(object, "Schedule.applies_to", applies, limits::MAX_SIGNATORIES)?;
        }
        Ok(())
    }
}

impl Bounded for SignedRoster {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        self.roster.check_limits(object)?;
        check_len(object, "SignedRoster.signatures", self.signatures.len(), limits::MAX_SIGNATORIES)
    }
}

impl Wire for SignedRoster {
    const NAME: &'static str = "SignedRoster";
    const LIMITS: Limits = Limits::FRAME;
}
