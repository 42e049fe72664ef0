//! The certificate form (spec/transport.md §2.3.2), for TLS stacks without
//! raw public keys: a self-signed X.509 v3 certificate for a fresh Ed25519
//! key, whose subject alternative name is the URI
//! `cbm:tls:<transport key>:<signature>` (lowercase hex), the signature
//! being the transport key's over the certificate's `SubjectPublicKeyInfo`
//! in context `cbm/1 tls certificate` under the agreement. The handshake's
//! `CertificateVerify` proves the certificate's key; the binding proves
//! that the transport key chose it. The shape is libp2p's TLS handshake;
//! the container is a subject alternative name, which every stack can both
//! write and read, rather than a private extension, whose OID no arc short
//! of a registered enterprise number lets every stack encode.

use std::fmt;

use cbm_wire::{AgreementHash, PublicKey, Signature, certificate_binding_message, sign_message, verify_message};
use ed25519_dalek::SigningKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Version};

use super::{TlsError, raw_key};

/// How a binding URI begins; the transport key and the signature follow,
/// in lowercase hex, separated by `:`.
pub const BINDING_URI_PREFIX: &str = "cbm:tls:";

/// The OID of Ed25519 keys (RFC 8410).
const ED25519: &str = "1.3.101.112";

/// The DER of an Ed25519 `SubjectPublicKeyInfo` before its 32 key bytes
/// (RFC 8410): the one encoding accepted, without algorithm parameters.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Why a presented certificate proves no transport key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// The bytes are not one DER X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    NotACertificate(String),
    /// The certificate is not version 3.
    #[error("not an X.509 version 3 certificate")]
    NotVersion3,
    /// The certificate's key is not an Ed25519 key in the one encoding of
    /// RFC 8410 (44 bytes, no algorithm parameters).
    #[error("the certificate's key is not an Ed25519 key encoded as RFC 8410 says")]
    NotEd25519,
    /// No subject alternative name is a binding URI.
    #[error("no subject alternative name is a `{BINDING_URI_PREFIX}` binding")]
    NoBinding,
    /// More than one subject alternative name is a binding URI.
    #[error("more than one subject alternative name is a `{BINDING_URI_PREFIX}` binding")]
    SeveralBindings,
    /// The binding URI is not `cbm:tls:<64 hex>:<128 hex>` in lowercase.
    #[error("the binding {0:?} is not `{BINDING_URI_PREFIX}<transport key>:<signature>` in lowercase hex")]
    MalformedBinding(String),
    /// The binding's signature does not verify under the key it names.
    #[error("the binding's signature is not the transport key's over this certificate's key in this agreement")]
    BadSignature,
}

/// What a certificate claims: the transport key, its signature, and the
/// certificate's own `SubjectPublicKeyInfo` that the signature covers.
pub(super) struct Binding {
    /// The transport key the certificate names.
    pub(super) key: PublicKey,
    signature: Signature,
    spki: Vec<u8>,
}

/// A certificate of the certificate form, with the private key of the
/// certificate's own key.
pub struct Certificate {
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate").field("der", &hex::encode(&self.der)).finish_non_exhaustive()
    }
}

impl Certificate {
    /// The certificate of `certificate_key`, bound by `transport_key` under
    /// `agreement`. The same inputs always make the same bytes.
    ///
    /// # Errors
    /// If the keys cannot be encoded or the certificate made.
    pub fn new(
        certificate_key: &SigningKey,
        transport_key: &SigningKey,
        agreement: &AgreementHash,
    ) -> Result<Self, TlsError> {
        let spki = raw_key::spki(&certificate_key.verifying_key())?;
        let signature = sign_message(transport_key, &certificate_binding_message(agreement, &spki));
        Self::with_binding(certificate_key, &binding_uri(&PublicKey::of(transport_key), &signature))
    }

    /// The certificate of `certificate_key` whose subject alternative name
    /// is `uri`, whatever it says: how a test makes a wrong binding.
    ///
    /// # Errors
    /// If the key cannot be encoded, `uri` is not ASCII, or the certificate
    /// cannot be made.
    pub fn with_binding(certificate_key: &SigningKey, uri: &str) -> Result<Self, TlsError> {
        let failed = |e: rcgen::Error| TlsError::Certificate(e.to_string());
        let key = raw_key::pkcs8(certificate_key)?;
        let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key, &rcgen::PKCS_ED25519).map_err(failed)?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.serial_number = Some(rcgen::SerialNumber::from(vec![1]));
        params.subject_alt_names = vec![rcgen::SanType::URI(uri.try_into().map_err(failed)?)];
        let der = params.self_signed(&pair).map_err(failed)?.der().clone();
        Ok(Self { der, key })
    }

    /// The DER certificate.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The chain presented: this certificate alone.
    pub(super) fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.der.clone()]
    }

    /// The certificate key's private key, as rustls takes it.
    pub(super) fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// The binding URI naming `key` with `signature`.
fn binding_uri(key: &PublicKey, signature: &Signature) -> String {
    format!("{BINDING_URI_PREFIX}{key}:{signature}")
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CertificateProblem> {
    match X509Certificate::from_der(der) {
        Ok(([], certificate)) => Ok(certificate),
        Ok((rest, _)) => Err(CertificateProblem::NotACertificate(format!("{} bytes after it", rest.len()))),
        Err(e) => Err(CertificateProblem::NotACertificate(e.to_string())),
    }
}

/// The DER `SubjectPublicKeyInfo` of a certificate's own key, if `der` is a
/// certificate with an Ed25519 key.
pub(super) fn subject_public_key_info(der: &[u8]) -> Option<Vec<u8>> {
    let certificate = parse(der).ok()?;
    let spki = certificate.public_key();
    (spki.algorithm.algorithm.to_id_string() == ED25519).then(|| spki.raw.to_vec())
}

/// What the certificate `der` claims, checked for form but not signature.
pub(super) fn binding(der: &[u8]) -> Result<Binding, CertificateProblem> {
    let certificate = parse(der)?;
    if certificate.version() != X509Version::V3 {
        return Err(CertificateProblem::NotVersion3);
    }
    let spki = certificate.public_key();
    let exact = spki.raw.len() == ED25519_SPKI_PREFIX.len() + 32 && spki.raw.starts_with(&ED25519_SPKI_PREFIX);
    if spki.algorithm.algorithm.to_id_string() != ED25519 || !exact {
        return Err(CertificateProblem::NotEd25519);
    }
    let names = certificate
        .subject_alternative_name()
        .map_err(|e| CertificateProblem::NotACertificate(e.to_string()))?
        .map(|san| san.value.general_names.clone())
        .unwrap_or_default();
    let mut uris = names.iter().filter_map(|name| match name {
        GeneralName::URI(uri) if uri.starts_with(BINDING_URI_PREFIX) => Some(*uri),
        _ => None,
    });
    let uri = uris.next().ok_or(CertificateProblem::NoBinding)?;
    if uris.next().is_some() {
        return Err(CertificateProblem::SeveralBindings);
    }
    let malformed = || CertificateProblem::MalformedBinding(uri.chars().take(300).collect());
    let (key, signature) = uri[BINDING_URI_PREFIX.len()..].split_once(':').ok_or_else(malformed)?;
    Ok(Binding {
        key: key.parse().map_err(|_| malformed())?,
        signature: signature.parse().map_err(|_| malformed())?,
        spki: spki.raw.to_vec(),
    })
}

/// The transport key that the certificate `der` proves under `agreement`:
/// the one its binding names, if the binding's signature by that key over
/// the certificate's own key verifies. Whether that key is one the roster
/// pins is the caller's question.
///
/// # Errors
/// What is wrong with the certificate.
pub fn bound_key(der: &[u8], agreement: &AgreementHash) -> Result<PublicKey, CertificateProblem> {
    verify_binding(&binding(der)?, agreement)
}

/// The transport key `binding` names, if its signature verifies under
/// `agreement` (spec/transport.md §2.3.2 rule 5).
pub(super) fn verify_binding(binding: &Binding, agreement: &AgreementHash) -> Result<PublicKey, CertificateProblem> {
    let message = certificate_binding_message(agreement, &binding.spki);
    verify_message("TLS certificate binding", &binding.key, &message, &binding.signature)
        .map_err(|_| CertificateProblem::BadSignature)?;
    Ok(binding.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (SigningKey, SigningKey, AgreementHash) {
        (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]), AgreementHash([3; 32]))
    }

    #[test]
    fn a_certificate_proves_the_transport_key_that_bound_it_and_is_the_same_bytes_each_time()
    -> Result<(), Box<dyn std::error::Error>> {
        let (certificate_key, transport_key, agreement) = keys();
        let certificate = Certificate::new(&certificate_key, &transport_key, &agreement)?;
        assert_eq!(bound_key(certificate.der(), &agreement), Ok(PublicKey::of(&transport_key)));
        let again = Certificate::new(&certificate_key, &transport_key, &agreement)?;
        assert_eq!(certificate.der(), again.der());
        // The certificate's own key is what the handshake signature uses.
        let spki = subject_public_key_info(certificate.der()).ok_or("not an Ed25519 certificate")?;
        assert_eq!(spki, raw_key::spki(&certificate_key.verifying_key())?);
        Ok(())
    }

    #[test]
    fn a_binding_made_for_another_agreement_proves_nothing() -> Result<(), Box<dyn std::error::Error>> {
        let (certificate_key, transport_key, agreement) = keys();
        let certificate = Certificate::new(&certificate_key, &transport_key, &agreement)?;
        assert_eq!(bound_key(certificate.der(), &AgreementHash([4; 32])), Err(CertificateProblem::BadSignature));
        Ok(())
    }

    #[test]
    fn a_binding_that_names_one_key_but_is_signed_by_another_proves_nothing() -> Result<(), Box<dyn std::error::Error>>
    {
        let (certificate_key, transport_key, agreement) = keys();
        let spki = raw_key::spki(&certificate_key.verifying_key())?;
        let forged = sign_message(&SigningKey::from_bytes(&[9; 32]), &certificate_binding_message(&agreement, &spki));
        let uri = binding_uri(&PublicKey::of(&transport_key), &forged);
        let certificate = Certificate::with_binding(&certificate_key, &uri)?;
        assert_eq!(bound_key(certificate.der(), &agreement), Err(CertificateProblem::BadSignature));
        Ok(())
    }

    #[test]
    fn a_binding_of_another_certificate_key_proves_nothing() -> Result<(), Box<dyn std::error::Error>> {
        let (certificate_key, transport_key, agreement) = keys();
        let other = SigningKey::from_bytes(&[5; 32]);
        let spki = raw_key::spki(&other.verifying_key())?;
        let signature = sign_message(&transport_key, &certificate_binding_message(&agreement, &spki));
        let uri = binding_uri(&PublicKey::of(&transport_key), &signature);
        let certificate = Certificate::with_binding(&certificate_key, &uri)?;
        assert_eq!(bound_key(certificate.der(), &agreement), Err(CertificateProblem::BadSignature));
        Ok(())
    }

    #[test]
    fn a_binding_not_in_its_one_text_form_is_malformed() -> Result<(), Box<dyn std::error::Error>> {
        let (certificate_key, transport_key, agreement) = keys();
        let good = Certificate::new(&certificate_key, &transport_key, &agreement)?;
        let binding = binding(good.der())?;
        let canonical = binding_uri(&binding.key, &binding.signature);
        for uri in [
            canonical.to_uppercase().replace("CBM:TLS:", BINDING_URI_PREFIX),
            format!("{canonical}:"),
            canonical[..canonical.len() - 2].to_owned(),
            canonical.replacen(':', "", 3).replacen("cbmtls", BINDING_URI_PREFIX, 1),
        ] {
            let certificate = Certificate::with_binding(&certificate_key, &uri)?;
            assert!(
                matches!(bound_key(certificate.der(), &agreement), Err(CertificateProblem::MalformedBinding(_))),
                "{uri}"
            );
        }
        let other = Certificate::with_binding(&certificate_key, "https://example.org/")?;
        assert_eq!(bound_key(other.der(), &agreement), Err(CertificateProblem::NoBinding));
        Ok(())
    }

    #[test]
    fn bytes_that_are_no_certificate_are_refused_by_name() -> Result<(), Box<dyn std::error::Error>> {
        let (_, _, agreement) = keys();
        assert!(matches!(bound_key(b"\x30\x03\x02\x01\x01", &agreement), Err(CertificateProblem::NotACertificate(_))));
        let (certificate_key, transport_key, _) = keys();
        let mut trailing = Certificate::new(&certificate_key, &transport_key, &agreement)?.der().to_vec();
        trailing.push(0);
        assert!(matches!(bound_key(&trailing, &agreement), Err(CertificateProblem::NotACertificate(_))));
        Ok(())
    }
}
