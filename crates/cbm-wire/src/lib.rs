//! # cbm-wire
//!
//! The protocol objects of cbm, a verification protocol for confidence-building
//! measures between states, and their one canonical encoding.
//!
//! This crate defines every object that is signed, stored or sent — the
//! [`Roster`], [`Entry`], [`Checkpoint`], [`Cosignature`],
//! [`EquivocationEvidence`], Merkle proofs, bundle records and network
//! messages — together with:
//!
//! - the canonical CBOR profile (RFC 8949 §4.2.1 core deterministic encoding,
//!   integer keys, no floats or tags): [`Wire::encode`] writes it and
//!   [`Wire::decode`] accepts nothing else (spec/wire.md §2);
//! - domain-separated Ed25519 signatures with `verify_strict` semantics
//!   ([`Signed`], spec/wire.md §5);
//! - keyed-BLAKE3 commitments for confidential fields and their openings
//!   ([`Commitment`], [`Opening`], spec/wire.md §4.3);
//! - the hard limits every decoder enforces ([`limits`], spec/wire.md §6).
//!
//! It does no I/O, reads no clock and draws no randomness: callers pass in
//! time, keys and salts. Merkle trees, storage, witness rules and audits live
//! in `cbm-log`; networking in `cbm-net`.
#![forbid(unsafe_code)]

mod bundle;
mod bytes;
mod checkpoint;
mod codec;
mod entry;
mod error;
mod evidence;
mod ids;
pub mod limits;
mod message;
pub mod parallel;
mod proof;
mod roster;
mod sign;
mod time;

#[cfg(any(test, feature = "arbitrary"))]
mod arbitrary_support;

pub use bundle::{BUNDLE_FORMAT_VERSION, BundleEnd, BundleHeader, BundleRecord};
pub use bytes::{Bytes, ParseHexError};
pub use checkpoint::{Checkpoint, CosignBody, Cosignature, SignedCheckpoint};
pub use codec::{Bounded, Wire, check_canonical, first_item_len, map_member};
pub use entry::{Entry, EntryKind, EntryRef, Field, FieldPosition, KeyPossession, Opening, SignedEntry, StatusChange};
pub use error::{CanonicalError, CanonicalRule, DecodeError, VerifyError};
pub use evidence::EquivocationEvidence;
pub use ids::{
    Address, AgreementHash, AgreementId, Commitment, Digest, EntryHash, KeyId, Label, LogId, MediaType, ParseIdError,
    PublicKey, RootHash, Salt, SignatoryId, Signature, Text, Topic, TreeHash,
};
pub use limits::Limits;
pub use message::{ErrorCode, Request, Response};
pub use proof::{ConsistencyProof, EntryProof, InclusionProof};
pub use roster::{
    Cadence, Notice, QuorumPolicy, Roster, RosterLimits, RosterSignature, Schedule, Signatory, SignedRoster,
    SigningKeyInfo,
};
pub use sign::{
    Signable, Signed, Verifier, certificate_binding_message, context, sign_message, signing_message, verify_message,
};
pub use time::{ParseTimeError, TimeSpan, Timestamp};

/// The Ed25519 secret key type used for signing (re-exported from `ed25519-dalek`).
pub use ed25519_dalek::SigningKey;

#[cfg(test)]
mod tests;
