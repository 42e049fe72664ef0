//! The raw-public-key form (RFC 7250, spec/transport.md §2.3.1): an
//! endpoint presents the DER `SubjectPublicKeyInfo` of its transport key in
//! place of a certificate.

use std::sync::Arc;

use cbm_wire::PublicKey;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::TlsError;

/// The DER SubjectPublicKeyInfo of an Ed25519 key.
pub(super) fn spki(key: &VerifyingKey) -> Result<Vec<u8>, TlsError> {
    Ok(key.to_public_key_der().map_err(|e| TlsError::Key(e.to_string()))?.into_vec())
}

/// The Ed25519 key a raw-public-key peer presented, if `der` is one.
pub(super) fn presented_key(der: &[u8]) -> Option<PublicKey> {
    VerifyingKey::from_public_key_der(der).ok().map(|k| PublicKey(k.to_bytes()))
}

/// The PKCS#8 DER of an Ed25519 key, as TLS stacks take it.
pub(super) fn pkcs8(key: &SigningKey) -> Result<PrivatePkcs8KeyDer<'static>, TlsError> {
    let der = key.to_pkcs8_der().map_err(|e| TlsError::Key(e.to_string()))?;
    Ok(PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()))
}

/// `key` as rustls presents a raw public key and signs with it.
pub(super) fn certified_key(key: &SigningKey) -> Result<Arc<CertifiedKey>, TlsError> {
    let signer = rustls::crypto::ring::sign::any_eddsa_type(&pkcs8(key)?)?;
    Ok(Arc::new(CertifiedKey::new(vec![CertificateDer::from(spki(&key.verifying_key())?)], signer)))
}
