//! Domain-separated Ed25519 signatures (spec/wire.md §5).
//!
//! Every signature covers `context || 0x00 || agreement hash || key id ||
//! canonical bytes of the object`, where the context names the object type
//! and the protocol version and the key id is a big-endian u32. Binding the
//! key id leaves no unauthenticated byte in a signed object. A signature for one object type, protocol version or
//! agreement therefore never verifies as another. Verification follows
//! `ed25519-dalek`'s `verify_strict`: small-order public keys and `R`
//! values and non-canonical `S` are rejected.

use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

use crate::codec::{Bounded, append_canonical};
use crate::error::{DecodeError, VerifyError};
use crate::ids::{AgreementHash, KeyId, PublicKey, Signature};
use crate::parallel::map_in_order;

/// The signing contexts of protocol version 1 (spec/wire.md §5).
pub mod context {
    /// Adoption signatures over a roster.
    pub const ROSTER: &str = "cbm/1 roster";
    /// A signatory's entry.
    pub const ENTRY: &str = "cbm/1 entry";
    /// A log owner's checkpoint.
    pub const CHECKPOINT: &str = "cbm/1 checkpoint";
    /// A witness's cosignature.
    pub const COSIGNATURE: &str = "cbm/1 cosignature";
    /// A new key's proof of possession in a key-rotation entry.
    pub const KEY_POSSESSION: &str = "cbm/1 key possession";
    /// A transport key's binding of a TLS certificate's key
    /// (spec/transport.md §2.3.2).
    pub const TLS_CERTIFICATE: &str = "cbm/1 tls certificate";
}

/// The signing context of an object type: `"cbm/1 <object>"`.
pub trait Signable: Serialize {
    /// The context string; never contains a NUL byte.
    const CONTEXT: &'static str;
}

/// The map key of [`Signed::body`] in a signed object's encoding.
const BODY_KEY: u64 = 0;

/// An object together with one signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct Signed<T> {
    /// The signed object.
    pub body: T,
    /// Which of the signer's keys signed.
    pub key: KeyId,
    /// Signature over [`signing_message`] of the body.
    pub signature: Signature,
}

impl<T: Bounded> Bounded for Signed<T> {
    fn check_limits(&self, object: &'static str) -> Result<(), DecodeError> {
        self.body.check_limits(object)
    }
}

/// The exact bytes an Ed25519 signature in context `context` by key number
/// `key` covers (spec/wire.md §5.1).
pub fn signing_message<T: Serialize + ?Sized>(
    context: &str,
    agreement: &AgreementHash,
    key: KeyId,
    body: &T,
) -> Vec<u8> {
    let mut message = message_head(context, agreement, key, 256);
    append_canonical(body, &mut message);
    message
}

/// What precedes the body in a signing message, with room for `body` more bytes.
fn message_head(context: &str, agreement: &AgreementHash, key: KeyId, body: usize) -> Vec<u8> {
    let mut message = Vec::with_capacity(context.len() + 1 + AgreementHash::LEN + 4 + body);
    message.extend_from_slice(context.as_bytes());
    message.push(0);
    message.extend_from_slice(agreement.as_bytes());
    message.extend_from_slice(&key.0.to_be_bytes());
    message
}

/// The bytes a transport key signs to bind a TLS certificate whose DER
/// `SubjectPublicKeyInfo` is `spki` (spec/transport.md §2.3.2): the signing
/// message of context `cbm/1 tls certificate`, key id 0, and the SPKI as a
/// byte string. A transport key has no key id; 0 is fixed.
pub fn certificate_binding_message(agreement: &AgreementHash, spki: &[u8]) -> Vec<u8> {
    signing_message(context::TLS_CERTIFICATE, agreement, KeyId(0), &crate::Bytes::from(spki))
}

/// Signs `message` with `key`.
pub fn sign_message(key: &SigningKey, message: &[u8]) -> Signature {
    Signature(key.sign(message).to_bytes())
}

/// Verifies `signature` over `message` under `public` with strict rules.
///
/// # Errors
/// [`VerifyError::InvalidKey`] if `public` is not a valid point or has small
/// order, [`VerifyError::BadSignature`] otherwise.
pub fn verify_message(
    what: &'static str,
    public: &PublicKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), VerifyError> {
    Verifier::new(what, public)?.verify(what, message, signature)
}

/// A public key checked once (a valid curve point, not of small order) and
/// kept decompressed, so that verifying many signatures under it does not
/// repeat that work. Verification is `verify_strict`, as [`verify_message`].
#[derive(Clone, Debug)]
pub struct Verifier(ed25519_dalek::VerifyingKey);

impl Verifier {
    /// Checks and decompresses `public`.
    ///
    /// # Errors
    /// [`VerifyError::InvalidKey`] if `public` is not a valid point or has small order.
    pub fn new(what: &'static str, public: &PublicKey) -> Result<Self, VerifyError> {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(public.as_bytes()).map_err(|_| VerifyError::InvalidKey { what })?;
        if key.is_weak() {
            return Err(VerifyError::InvalidKey { what });
        }
        Ok(Self(key))
    }

    /// Verifies `signature` over `message`.
    ///
    /// # Errors
    /// [`VerifyError::BadSignature`] if it does not verify.
    pub fn verify(&self, what: &'static str, message: &[u8], signature: &Signature) -> Result<(), VerifyError> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0.verify_strict(message, &signature).map_err(|_| VerifyError::BadSignature { what })
    }
}

impl PublicKey {
    /// The public half of `key`.
    pub fn of(key: &SigningKey) -> Self {
        Self(key.verifying_key().to_bytes())
    }
}

impl<T: Signable> Signed<T> {
    /// Signs `body` under `agreement` with `key`, recorded as key number `key_id`.
    pub fn sign(body: T, agreement: &AgreementHash, key_id: KeyId, key: &SigningKey) -> Self {
        let signature = sign_message(key, &signing_message(T::CONTEXT, agreement, key_id, &body));
        Self { body, key: key_id, signature }
    }

    /// Signs every body of `bodies` as [`Signed::sign`] does, in order;
    /// spread over the machine's cores when there are many (Ed25519 signing
    /// dominates a batch append), see [`crate::parallel`].
    pub fn sign_many(bodies: Vec<T>, agreement: &AgreementHash, key_id: KeyId, key: &SigningKey) -> Vec<Self>
    where
        T: Send,
    {
        map_in_order(bodies, |body| Self::sign(body, agreement, key_id, key))
    }

    /// Verifies the signature under `agreement` with the signer's `public` key.
    /// Finding the right key (by signer, [`Signed::key`] and time) is the
    /// caller's job; see `Roster::signing_key`.
    ///
    /// # Errors
    /// As [`verify_message`].
    pub fn verify(&self, agreement: &AgreementHash, public: &PublicKey) -> Result<(), VerifyError> {
        self.verify_with(agreement, &Verifier::new(T::CONTEXT, public)?)
    }

    /// [`Signed::verify`] under a key checked and decompressed before.
    ///
    /// # Errors
    /// [`VerifyError::BadSignature`] if the signature does not verify.
    pub fn verify_with(&self, agreement: &AgreementHash, verifier: &Verifier) -> Result<(), VerifyError> {
        let message = signing_message(T::CONTEXT, agreement, self.key, &self.body);
        verifier.verify(T::CONTEXT, &message, &self.signature)
    }

    /// [`Signed::verify_with`] for an object decoded from `encoded` (its
    /// canonical encoding, so the body's is inside it): the signing message
    /// takes the body's bytes from there instead of encoding the body again.
    ///
    /// # Errors
    /// As [`Signed::verify_with`].
    pub fn verify_decoded_with(
        &self,
        encoded: &[u8],
        agreement: &AgreementHash,
        verifier: &Verifier,
    ) -> Result<(), VerifyError> {
        let Some(body) = crate::codec::map_member(encoded, BODY_KEY, &crate::Limits::FRAME) else {
            return self.verify_with(agreement, verifier);
        };
        debug_assert_eq!(body, crate::codec::to_canonical(&self.body), "`encoded` encodes this object");
        let mut message = message_head(T::CONTEXT, agreement, self.key, body.len());
        message.extend_from_slice(body);
        verifier.verify(T::CONTEXT, &message, &self.signature)
    }
}
