//! The QUIC endpoint's own configuration (spec/transport.md §4): its
//! stateless-reset key is derived from the node's transport key, so a node
//! that restarts can reset, at the first packet, every connection its
//! previous run left open at its peers: they see the reset at once instead
//! of waiting for their idle timeout.

use std::sync::Arc;

use cbm_wire::SigningKey;
use quinn::crypto::{CryptoError, HmacKey};

/// The BLAKE3 key-derivation context of the stateless-reset key.
const RESET_KEY_CONTEXT: &str = "cbm/1 QUIC stateless reset key";

/// The endpoint configuration of a node whose transport key is `key`.
pub fn endpoint_config(key: &SigningKey) -> quinn::EndpointConfig {
    quinn::EndpointConfig::new(Arc::new(ResetKey::derive(key)))
}

/// A keyed BLAKE3 MAC that makes the endpoint's stateless-reset tokens.
struct ResetKey([u8; 32]);

impl ResetKey {
    fn derive(key: &SigningKey) -> Self {
        Self(blake3::derive_key(RESET_KEY_CONTEXT, &key.to_bytes()))
    }

    fn mac(&self, data: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.0, data)
    }
}

impl HmacKey for ResetKey {
    fn sign(&self, data: &[u8], signature_out: &mut [u8]) {
        let mac = self.mac(data);
        let n = signature_out.len().min(blake3::OUT_LEN);
        signature_out[..n].copy_from_slice(&mac.as_bytes()[..n]);
    }

    fn signature_len(&self) -> usize {
        blake3::OUT_LEN
    }

    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        // `blake3::Hash` compares in constant time.
        let expected: [u8; blake3::OUT_LEN] = signature.try_into().map_err(|_| CryptoError)?;
        if self.mac(data) == blake3::Hash::from(expected) { Ok(()) } else { Err(CryptoError) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_key_is_the_same_after_a_restart_and_differs_per_node() {
        let (a, b) = (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]));
        let mut first = [0; 32];
        let mut again = [0; 32];
        ResetKey::derive(&a).sign(b"connection id", &mut first);
        ResetKey::derive(&a).sign(b"connection id", &mut again);
        assert_eq!(first, again);
        assert!(ResetKey::derive(&a).verify(b"connection id", &first).is_ok());
        assert!(ResetKey::derive(&b).verify(b"connection id", &first).is_err());
        assert!(ResetKey::derive(&a).verify(b"connection id", &first[..16]).is_err());
    }
}
