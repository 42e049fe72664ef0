//! TLS for `cbm/1` (spec/transport.md §2): TLS 1.3 only, ALPN `cbm/1`, no
//! 0-RTT, and mutual authentication by the Ed25519 transport keys the
//! roster pins. A peer proves its transport key in one of two forms
//! (§2.3): as an RFC 7250 raw public key, or by a self-signed X.509
//! certificate whose subject alternative name carries the transport key's
//! signature over the certificate's key — the form TLS stacks without raw
//! public keys (Go, Python, Java, Node) can use. There are no certificate
//! authorities: a peer is who its transport key says, and a key not in the
//! roster is refused during the handshake.
//!
//! A node's server speaks both forms on one port, choosing by what the
//! client's hello offers ([`either`]); its client offers raw public keys
//! first and falls back to the certificate form once for a peer that does
//! not speak them.

mod certificate;
mod either;
mod pinned;
mod raw_key;

use std::sync::Arc;
use std::time::Duration;

use cbm_wire::{AgreementHash, PublicKey};
use ed25519_dalek::SigningKey;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

pub use certificate::{BINDING_URI_PREFIX, Certificate, CertificateProblem, bound_key};
pub use either::form_asked;

use pinned::Pinned;

/// The ALPN protocol id of this protocol version.
pub const ALPN: &[u8] = b"cbm/1";

/// The TLS server name clients send. It carries no meaning: the peer is
/// identified by its transport key alone.
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
    /// The certificate could not be made.
    #[error("TLS certificate: {0}")]
    Certificate(String),
    /// quinn refused the TLS configuration.
    #[error("QUIC TLS configuration: {0}")]
    Quic(String),
}

/// How an endpoint proves its transport key in the handshake
/// (spec/transport.md §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// RFC 7250: the transport key itself, as a raw public key.
    RawPublicKey,
    /// A self-signed X.509 certificate whose key the transport key signed.
    Certificate,
}

impl Form {
    /// The other form: what a client tries when a handshake in this one
    /// was refused.
    pub fn other(self) -> Self {
        match self {
            Self::RawPublicKey => Self::Certificate,
            Self::Certificate => Self::RawPublicKey,
        }
    }
}

/// Transport limits applied to every connection (spec/transport.md §4).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Requests a peer may have open at once on one connection.
    pub max_concurrent_streams: u32,
    /// A connection with no traffic for this long is closed (no keep-alive
    /// is sent); the next request to the peer dials again.
    pub idle_timeout: Duration,
    /// Bytes a peer may have in flight on one connection (QUIC flow control).
    pub max_bytes_in_flight: u32,
    /// A handshake not done in this long is abandoned, and dialled again
    /// afresh while the request's time lasts: a first flight lost to a peer
    /// that was not yet listening is not waited on until the idle timeout.
    pub handshake_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_concurrent_streams: 64,
            idle_timeout: Duration::from_secs(30),
            max_bytes_in_flight: 32 << 20,
            handshake_timeout: Duration::from_secs(3),
        }
    }
}

/// What a node presents in its handshakes, in both forms: its transport
/// key, and a certificate made at start for a fresh key that the transport
/// key signed under the agreement.
#[derive(Debug)]
pub struct Identity {
    agreement: AgreementHash,
    transport_key: SigningKey,
    certificate: Certificate,
}

impl Identity {
    /// The identity of the node whose transport key is `transport_key`, in
    /// the agreement `agreement`, with a certificate for a fresh key.
    ///
    /// # Errors
    /// If the certificate cannot be made.
    pub fn new(transport_key: &SigningKey, agreement: AgreementHash) -> Result<Self, TlsError> {
        let certificate = Certificate::new(&SigningKey::generate(&mut rand_core::OsRng), transport_key, &agreement)?;
        Ok(Self::with_certificate(transport_key, agreement, certificate))
    }

    /// The identity presenting `certificate` in the certificate form (which
    /// a test may have made wrong on purpose).
    pub fn with_certificate(transport_key: &SigningKey, agreement: AgreementHash, certificate: Certificate) -> Self {
        Self { agreement, transport_key: transport_key.clone(), certificate }
    }
}

/// The one crypto provider compiled in: *ring*.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport_config(limits: &ConnectionLimits) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(limits.max_concurrent_streams.into())
        .max_concurrent_uni_streams(0u32.into())
        .receive_window(limits.max_bytes_in_flight.into())
        .stream_receive_window((limits.max_bytes_in_flight / 2).into())
        // No keep-alive: a connection with nothing to carry for the idle
        // timeout closes, and the next request dials again. A node of a
        // large agreement talks to a few partners an interval (the gossip
        // fanout), so it holds live connections to those, not to every
        // signatory (spec/transport.md §4.1).
        .keep_alive_interval(None);
    if let Ok(idle) = quinn::IdleTimeout::try_from(limits.idle_timeout) {
        transport.max_idle_timeout(Some(idle));
    }
    Arc::new(transport)
}

/// The rustls server side of one form: accepts clients presenting any of
/// `peers` in that form, and presents `identity` in it.
fn rustls_server(identity: &Identity, peers: &[PublicKey], form: Form) -> Result<QuicServerConfig, TlsError> {
    let verifier = Arc::new(Pinned::new(peers.to_vec(), form, identity.agreement));
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier);
    let mut tls = match form {
        Form::RawPublicKey => builder.with_cert_resolver(Arc::new(
            rustls::server::AlwaysResolvesServerRawPublicKeys::new(raw_key::certified_key(&identity.transport_key)?),
        )),
        Form::Certificate => builder.with_single_cert(identity.certificate.chain(), identity.certificate.key())?,
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    QuicServerConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))
}

fn quinn_server(crypto: Arc<dyn quinn::crypto::ServerConfig>, limits: &ConnectionLimits) -> quinn::ServerConfig {
    let mut config = quinn::ServerConfig::with_crypto(crypto);
    config.transport_config(transport_config(limits));
    config
}

/// The server side of a node: accepts clients presenting any of `peers`
/// (the roster's transport keys) in either form, choosing the form by the
/// client's hello, and presents `identity` in that form.
///
/// # Errors
/// If rustls or quinn refuse the configuration.
pub fn server_config(
    identity: &Identity,
    peers: Vec<PublicKey>,
    limits: &ConnectionLimits,
) -> Result<quinn::ServerConfig, TlsError> {
    let raw = rustls_server(identity, &peers, Form::RawPublicKey)?;
    let certificate = rustls_server(identity, &peers, Form::Certificate)?;
    Ok(quinn_server(Arc::new(either::EitherForm::new(raw, certificate)), limits))
}

/// A server that speaks only `form`: what a node built on a stack with one
/// form looks like to ours (for tests of interoperation).
///
/// # Errors
/// If rustls or quinn refuse the configuration.
pub fn single_form_server_config(
    identity: &Identity,
    peers: Vec<PublicKey>,
    form: Form,
    limits: &ConnectionLimits,
) -> Result<quinn::ServerConfig, TlsError> {
    Ok(quinn_server(Arc::new(rustls_server(identity, &peers, form)?), limits))
}

/// The rustls client side of one form: connects only to a server proving
/// `peer`, and presents `identity`, both in `form`.
fn rustls_client(identity: &Identity, peer: PublicKey, form: Form) -> Result<rustls::ClientConfig, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned::new(vec![peer], form, identity.agreement)));
    let mut tls = match form {
        Form::RawPublicKey => builder.with_client_cert_resolver(Arc::new(
            rustls::client::AlwaysResolvesClientRawPublicKeys::new(raw_key::certified_key(&identity.transport_key)?),
        )),
        Form::Certificate => builder.with_client_auth_cert(identity.certificate.chain(), identity.certificate.key())?,
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = false;
    Ok(tls)
}

/// The client side: connects only to a server proving `peer`, and
/// presents `identity`, both in `form`.
///
/// # Errors
/// If rustls or quinn refuse the configuration.
pub fn client_config(
    identity: &Identity,
    peer: PublicKey,
    form: Form,
    limits: &ConnectionLimits,
) -> Result<quinn::ClientConfig, TlsError> {
    let quic =
        QuicClientConfig::try_from(rustls_client(identity, peer, form)?).map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport_config(limits));
    Ok(config)
}

/// The transport key the peer of an established connection proved, in
/// whichever form it used.
pub fn peer_key(connection: &quinn::Connection) -> Option<PublicKey> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    match chain.as_slice() {
        [only] => {
            raw_key::presented_key(only.as_ref()).or_else(|| certificate::binding(only.as_ref()).ok().map(|b| b.key))
        }
        _ => None,
    }
}

/// Whether a failed connection attempt was refused in the TLS handshake
/// (a QUIC crypto error, RFC 9001 §4.8), by either side: the failure a
/// client answers by trying the other form once.
pub fn refused_in_handshake(error: &quinn::ConnectionError) -> bool {
    let crypto = |code: u64| (0x100..0x200).contains(&code);
    match error {
        quinn::ConnectionError::TransportError(e) => crypto(e.code.into()),
        quinn::ConnectionError::ConnectionClosed(close) => crypto(close.error_code.into()),
        _ => false,
    }
}
