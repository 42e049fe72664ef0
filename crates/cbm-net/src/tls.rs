//! TLS for `cbm/1` (spec/transport.md §2): TLS 1.3 only, ALPN `cbm/1`, no
//! 0-RTT, and mutual authentication by Ed25519 transport keys pinned in the
//! roster, presented as RFC 7250 raw public keys. There are no certificates
//! and no certificate authorities: a peer is who its key says, and a key not
//! in the roster is refused during the handshake.

use std::sync::Arc;
use std::time::Duration;

use cbm_wire::PublicKey;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, verify_tls13_signature_with_raw_key};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The ALPN protocol id of this protocol version.
pub const ALPN: &[u8] = b"cbm/1";

/// The TLS server name clients send. Raw public keys carry no names; the
/// peer is identified by its key alone.
pub(crate) const SERVER_NAME: &str = "cbm";

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The key could not be encoded for TLS.
    #[error("transport key: {0}")]
    Key(String),
    /// quinn refused the TLS configuration.
    #[error("QUIC TLS configuration: {0}")]
    Quic(String),
}

/// Transport limits applied to every connection (spec/transport.md §4).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Requests a peer may have open at once on one connection.
    pub max_concurrent_streams: u32,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Bytes a peer may have in flight on one connection (QUIC flow control).
    pub max_bytes_in_flight: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { max_concurrent_streams: 64, idle_timeout: Duration::from_secs(30), max_bytes_in_flight: 32 << 20 }
    }
}

/// The one crypto provider compiled in: *ring*.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The DER SubjectPublicKeyInfo of an Ed25519 key: what a raw-public-key
/// peer presents in place of a certificate.
fn spki(key: &VerifyingKey) -> Result<Vec<u8>, TlsError> {
    Ok(key.to_public_key_der().map_err(|e| TlsError::Key(e.to_string()))?.into_vec())
}

/// The Ed25519 key a peer presented, if it presented exactly one.
fn presented_key(der: &[u8]) -> Option<PublicKey> {
    VerifyingKey::from_public_key_der(der).ok().map(|k| PublicKey(k.to_bytes()))
}

fn certified_key(key: &SigningKey) -> Result<Arc<CertifiedKey>, TlsError> {
    let der = key.to_pkcs8_der().map_err(|e| TlsError::Key(e.to_string()))?;
    let signer = rustls::crypto::ring::sign::any_eddsa_type(&PrivatePkcs8KeyDer::from(der.as_bytes()))?;
    Ok(Arc::new(CertifiedKey::new(vec![CertificateDer::from(spki(&key.verifying_key())?)], signer)))
}

/// Accepts exactly the pinned keys, as raw public keys, signing with Ed25519.
#[derive(Debug)]
struct PinnedKeys {
    allowed: Vec<PublicKey>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedKeys {
    fn new(allowed: Vec<PublicKey>) -> Self {
        Self { allowed, algorithms: provider().signature_verification_algorithms }
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), rustls::Error> {
        let pinned = intermediates.is_empty()
            && presented_key(end_entity.as_ref()).is_some_and(|key| self.allowed.contains(&key));
        if pinned { Ok(()) } else { Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) }
    }

    fn verify_signature(
        &self,
        message: &[u8],
        presented: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if dss.scheme != SignatureScheme::ED25519 {
            return Err(rustls::Error::InvalidCertificate(CertificateError::BadSignature));
        }
        verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(presented.as_ref()),
            dss,
            &self.algorithms,
        )
    }
}

fn tls12_refused() -> rustls::Error {
    rustls::Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered)
}

impl ServerCertVerifier for PinnedKeys {
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
        true
    }
}

impl ClientCertVerifier for PinnedKeys {
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
        true
    }
}

fn transport_config(limits: &ConnectionLimits) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(limits.max_concurrent_streams.into())
        .max_concurrent_uni_streams(0u32.into())
        .receive_window(limits.max_bytes_in_flight.into())
        .stream_receive_window((limits.max_bytes_in_flight / 2).into())
        .keep_alive_interval(Some(limits.idle_timeout / 3));
    if let Ok(idle) = quinn::IdleTimeout::try_from(limits.idle_timeout) {
        transport.max_idle_timeout(Some(idle));
    }
    Arc::new(transport)
}

/// The server side: accepts clients presenting any of `peers` (the roster's
/// transport keys), and presents `key`.
///
/// # Errors
/// If rustls or quinn refuse the configuration.
pub fn server_config(
    key: &SigningKey,
    peers: Vec<PublicKey>,
    limits: &ConnectionLimits,
) -> Result<quinn::ServerConfig, TlsError> {
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(PinnedKeys::new(peers)))
        .with_cert_resolver(Arc::new(rustls::server::AlwaysResolvesServerRawPublicKeys::new(certified_key(key)?)));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let quic = QuicServerConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    config.transport_config(transport_config(limits));
    Ok(config)
}

/// The client side: connects only to a server presenting `peer`, and
/// presents `key`.
///
/// # Errors
/// If rustls or quinn refuse the configuration.
pub fn client_config(
    key: &SigningKey,
    peer: PublicKey,
    limits: &ConnectionLimits,
) -> Result<quinn::ClientConfig, TlsError> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedKeys::new(vec![peer])))
        .with_client_cert_resolver(Arc::new(rustls::client::AlwaysResolvesClientRawPublicKeys::new(certified_key(
            key,
        )?)));
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = false;
    let quic = QuicClientConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport_config(limits));
    Ok(config)
}

/// The transport key the peer of an established connection presented.
pub fn peer_key(connection: &quinn::Connection) -> Option<PublicKey> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    match chain.as_slice() {
        [only] => presented_key(only.as_ref()),
        _ => None,
    }
}
