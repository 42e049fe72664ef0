//! One server port for both forms (spec/transport.md §2.3): rustls fixes a
//! server's certificate type per configuration, so a session here waits
//! for the client's whole `ClientHello`, reads which server certificate
//! types it offers, and hands the hello to the rustls session of the form
//! chosen: raw public keys if the client offers them, the certificate form
//! otherwise. Every other call goes to that session unchanged; before the
//! choice, the raw-key session stands in, having seen nothing.

use std::any::Any;
use std::sync::Arc;

use quinn::ConnectionId;
use quinn::crypto::rustls::QuicServerConfig;
use quinn::crypto::{
    ExportKeyingMaterialError, HeaderKey, KeyPair, Keys, PacketKey, ServerConfig, Session, UnsupportedVersion,
};
use quinn_proto::transport_parameters::TransportParameters;
use quinn_proto::{Side, TransportError};
use rustls::server::CertificateType;

use super::Form;

/// A `ClientHello` longer than this is not waited for: the raw-key session
/// gets it as it is, and refuses what it cannot take.
const MAX_HELLO: usize = 64 << 10;

/// The TLS handshake message type of a `ClientHello`.
const CLIENT_HELLO: u8 = 1;

/// A server configuration that serves each client in the form it offers.
pub(super) struct EitherForm {
    raw: Arc<QuicServerConfig>,
    certificate: Arc<QuicServerConfig>,
}

impl EitherForm {
    pub(super) fn new(raw: QuicServerConfig, certificate: QuicServerConfig) -> Self {
        Self { raw: Arc::new(raw), certificate: Arc::new(certificate) }
    }
}

impl ServerConfig for EitherForm {
    fn initial_keys(&self, version: u32, dst_cid: &ConnectionId) -> Result<Keys, UnsupportedVersion> {
        self.raw.initial_keys(version, dst_cid)
    }

    fn retry_tag(&self, version: u32, orig_dst_cid: &ConnectionId, packet: &[u8]) -> [u8; 16] {
        self.raw.retry_tag(version, orig_dst_cid, packet)
    }

    fn start_session(self: Arc<Self>, version: u32, params: &TransportParameters) -> Box<dyn Session> {
        let session = self.raw.clone().start_session(version, params);
        Box::new(Choosing { config: self, version, params: *params, hello: Some(Vec::new()), session })
    }
}

/// A server session that chooses its form at the client's hello.
struct Choosing {
    config: Arc<EitherForm>,
    version: u32,
    params: TransportParameters,
    /// The hello so far; `None` once the form is chosen.
    hello: Option<Vec<u8>>,
    session: Box<dyn Session>,
}

/// The length of the first handshake message in `bytes`, once it is all
/// there; at once if `bytes` cannot begin a `ClientHello` we should wait for.
fn complete_hello(bytes: &[u8]) -> Option<usize> {
    if bytes.first().is_some_and(|&kind| kind != CLIENT_HELLO) || bytes.len() > MAX_HELLO {
        return Some(bytes.len());
    }
    let header = bytes.get(..4)?;
    let total = 4 + (usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]));
    (bytes.len() >= total).then_some(total)
}

/// The form a server that speaks both serves a client in, given the first
/// bytes of the client's handshake (its `ClientHello` so far): `None` while
/// the hello is incomplete; raw public keys if it offers them as the
/// server's certificate type, or if it is no hello rustls can read (the
/// raw-key session then refuses it); the certificate form otherwise
/// (spec/transport.md §2.3.3).
pub fn form_asked(hello_so_far: &[u8]) -> Option<Form> {
    let length = complete_hello(hello_so_far)?;
    Some(if offers_raw_public_keys(&hello_so_far[..length]) { Form::RawPublicKey } else { Form::Certificate })
}

/// Whether the `ClientHello` `hello` offers raw public keys as the server's
/// certificate type. rustls reads it, wrapped in TLS records.
fn offers_raw_public_keys(hello: &[u8]) -> bool {
    let mut acceptor = rustls::server::Acceptor::default();
    for chunk in hello.chunks(16 << 10) {
        let length = u16::try_from(chunk.len()).unwrap_or(u16::MAX).to_be_bytes();
        let record: Vec<u8> = [22, 3, 1, length[0], length[1]].into_iter().chain(chunk.iter().copied()).collect();
        let mut rest = &record[..];
        while !rest.is_empty() {
            if acceptor.read_tls(&mut rest).is_err() {
                return true;
            }
            // rustls takes a record at a time into a buffer that grows only
            // as it joins a message across records: let it, before the next.
            match acceptor.accept() {
                Ok(Some(accepted)) => {
                    let types = accepted.client_hello().server_cert_types().map(<[CertificateType]>::to_vec);
                    return types.is_some_and(|types| types.contains(&CertificateType::RawPublicKey));
                }
                Ok(None) => {}
                // Not a hello rustls can read: the raw-key session refuses it.
                Err(_) => return true,
            }
        }
    }
    true
}

impl Session for Choosing {
    fn initial_keys(&self, dst_cid: &ConnectionId, side: Side) -> Keys {
        self.session.initial_keys(dst_cid, side)
    }

    fn handshake_data(&self) -> Option<Box<dyn Any>> {
        self.session.handshake_data()
    }

    fn peer_identity(&self) -> Option<Box<dyn Any>> {
        self.session.peer_identity()
    }

    fn early_crypto(&self) -> Option<(Box<dyn HeaderKey>, Box<dyn PacketKey>)> {
        self.session.early_crypto()
    }

    fn early_data_accepted(&self) -> Option<bool> {
        self.session.early_data_accepted()
    }

    fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    fn read_handshake(&mut self, buf: &[u8]) -> Result<bool, TransportError> {
        let Some(hello) = &mut self.hello else {
            return self.session.read_handshake(buf);
        };
        hello.extend_from_slice(buf);
        let Some(form) = form_asked(hello) else {
            return Ok(false);
        };
        let hello = self.hello.take().unwrap_or_default();
        if form == Form::Certificate {
            self.session = self.config.certificate.clone().start_session(self.version, &self.params);
        }
        self.session.read_handshake(&hello)
    }

    fn transport_parameters(&self) -> Result<Option<TransportParameters>, TransportError> {
        self.session.transport_parameters()
    }

    fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<Keys> {
        self.session.write_handshake(buf)
    }

    fn next_1rtt_keys(&mut self) -> Option<KeyPair<Box<dyn PacketKey>>> {
        self.session.next_1rtt_keys()
    }

    fn is_valid_retry(&self, orig_dst_cid: &ConnectionId, header: &[u8], payload: &[u8]) -> bool {
        self.session.is_valid_retry(orig_dst_cid, header, payload)
    }

    fn export_keying_material(
        &self,
        output: &mut [u8],
        label: &[u8],
        context: &[u8],
    ) -> Result<(), ExportKeyingMaterialError> {
        self.session.export_keying_material(output, label, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_is_waited_for_until_it_is_whole_and_no_longer() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(complete_hello(&[]), None);
        assert_eq!(complete_hello(&[1, 0, 0]), None);
        assert_eq!(complete_hello(&[1, 0, 0, 2, 9]), None);
        assert_eq!(complete_hello(&[1, 0, 0, 2, 9, 9, 7]), Some(6));
        // Not a ClientHello: handed on at once, to be refused.
        assert_eq!(complete_hello(&[2, 0]), Some(2));
        // A length beyond the cap is not waited for.
        let mut long = vec![1, 0xff, 0xff, 0xff];
        long.resize(MAX_HELLO + 1, 0);
        assert_eq!(complete_hello(&long), Some(MAX_HELLO + 1));
        Ok(())
    }

    #[test]
    fn bytes_that_are_no_hello_go_to_the_raw_key_session() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(form_asked(&[1, 0, 0, 1, 0]), Some(Form::RawPublicKey));
        assert_eq!(form_asked(&[22, 3, 1]), Some(Form::RawPublicKey));
        Ok(())
    }

    /// The `ClientHello` a client of `form` sends, without its record header.
    fn hello_of(form: Form) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let transport = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let identity = super::super::Identity::new(&transport, cbm_wire::AgreementHash([2; 32]))?;
        let peer = cbm_wire::PublicKey([3; 32]);
        let config = Arc::new(super::super::rustls_client(&identity, peer, form)?);
        let name = rustls::pki_types::ServerName::try_from(super::super::SERVER_NAME)?;
        let mut client = rustls::ClientConnection::new(config, name)?;
        let mut records = Vec::new();
        client.write_tls(&mut records)?;
        Ok(records[5..].to_vec())
    }

    /// `hello` with an extension of `padding` bytes added (type 0xfafa, a
    /// GREASE value every receiver ignores), its lengths fixed up.
    fn padded(hello: &[u8], padding: usize) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let u16_at = |i: usize| usize::from(u16::from_be_bytes([hello[i], hello[i + 1]]));
        let mut at = 4 + 2 + 32;
        at += 1 + usize::from(hello[at]); // session id
        at += 2 + u16_at(at); // cipher suites
        at += 1 + usize::from(hello[at]); // compression methods
        let extensions = u16_at(at) + 4 + padding;
        let mut out = hello[..at].to_vec();
        out.extend_from_slice(&u16::try_from(extensions)?.to_be_bytes());
        out.extend_from_slice(&hello[at + 2..]);
        out.extend_from_slice(&[0xfa, 0xfa]);
        out.extend_from_slice(&u16::try_from(padding)?.to_be_bytes());
        out.resize(out.len() + padding, 0);
        let body = u32::try_from(out.len() - 4)?.to_be_bytes();
        out[1..4].copy_from_slice(&body[1..]);
        Ok(out)
    }

    #[test]
    fn a_hello_longer_than_a_record_is_read_whole() -> Result<(), Box<dyn std::error::Error>> {
        for form in [Form::RawPublicKey, Form::Certificate] {
            let hello = padded(&hello_of(form)?, 40 << 10)?;
            assert!(hello.len() > 2 * (16 << 10));
            assert_eq!(form_asked(&hello), Some(form), "{form:?}");
        }
        Ok(())
    }

    #[test]
    fn a_hello_offering_raw_keys_is_served_raw_and_any_other_by_certificate() -> Result<(), Box<dyn std::error::Error>>
    {
        for form in [Form::RawPublicKey, Form::Certificate] {
            let hello = hello_of(form)?;
            assert_eq!(form_asked(&hello), Some(form));
            // Split anywhere, it is waited for until it is whole.
            for cut in [1, 4, hello.len() / 2, hello.len() - 1] {
                assert_eq!(form_asked(&hello[..cut]), None, "{form:?} cut at {cut}");
            }
        }
        Ok(())
    }
}
