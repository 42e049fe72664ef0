//! The one verifier of both sides and both forms: a peer is accepted only
//! if it proves one of the pinned transport keys (spec/transport.md §2.3,
//! §2.4), and its handshake signature is Ed25519 by the key it presented.

use cbm_wire::{AgreementHash, PublicKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls13_signature_with_raw_key};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use super::certificate::{self, CertificateProblem};
use super::{Form, provider, raw_key};

/// Accepts exactly the pinned keys, presented in one form.
#[derive(Debug)]
pub(super) struct Pinned {
    allowed: Vec<PublicKey>,
    form: Form,
    agreement: AgreementHash,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    pub(super) fn new(allowed: Vec<PublicKey>, form: Form, agreement: AgreementHash) -> Self {
        Self { allowed, form, agreement, algorithms: provider().signature_verification_algorithms }
    }

    /// Accepts a presented chain only if it proves a pinned key. In the
    /// certificate form the key the binding names is looked up before its
    /// signature is checked (spec/transport.md §2.3.2 rules 4 and 5), so a
    /// stranger costs no signature verification.
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), rustls::Error> {
        let unknown = || rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let bad = |problem: CertificateProblem| {
            tracing::debug!("refused a peer's certificate: {problem}");
            rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
        };
        match self.form {
            Form::RawPublicKey => match raw_key::presented_key(end_entity.as_ref()) {
                Some(key) if intermediates.is_empty() && self.allowed.contains(&key) => Ok(()),
                _ => Err(unknown()),
            },
            Form::Certificate => {
                if !intermediates.is_empty() {
                    return Err(bad(CertificateProblem::NotACertificate("more than one certificate".into())));
                }
                let binding = certificate::binding(end_entity.as_ref()).map_err(bad)?;
                if !self.allowed.contains(&binding.key) {
                    return Err(unknown());
                }
                certificate::verify_binding(&binding, &self.agreement).map(|_| ()).map_err(bad)
            }
        }
    }

    /// Checks the peer's `CertificateVerify`: Ed25519, by the key it
    /// presented (the raw key, or the certificate's own key).
    fn verify_signature(
        &self,
        message: &[u8],
        presented: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if dss.scheme != SignatureScheme::ED25519 {
            return Err(rustls::Error::InvalidCertificate(CertificateError::BadSignature));
        }
        let spki = match self.form {
            Form::RawPublicKey => presented.as_ref().to_vec(),
            Form::Certificate => certificate::subject_public_key_info(presented.as_ref())
                .ok_or(rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?,
        };
        verify_tls13_signature_with_raw_key(message, &SubjectPublicKeyInfoDer::from(spki), dss, &self.algorithms)
    }
}

fn tls12_refused() -> rustls::Error {
    rustls::Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered)
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates).map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.form == Form::RawPublicKey
    }
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates).map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.form == Form::RawPublicKey
    }
}
