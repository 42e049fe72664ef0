//! Connections to peers: at most one live outgoing connection per peer,
//! reused by every task; incoming connections are counted against a cap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use cbm_wire::{PublicKey, SignatoryId, SigningKey};
use tokio::sync::mpsc;

use crate::client::CallError;
use crate::tls::{ConnectionLimits, SERVER_NAME, client_config};

/// Where and how to reach peers.
#[derive(Debug)]
pub(crate) struct Peers {
    endpoint: quinn::Endpoint,
    transport_key: SigningKey,
    limits: ConnectionLimits,
    /// Transport key and addresses of every other signatory.
    directory: HashMap<SignatoryId, (PublicKey, Vec<String>)>,
    live: Mutex<HashMap<SignatoryId, quinn::Connection>>,
    incoming: Mutex<HashMap<SignatoryId, usize>>,
    /// Where new outgoing connections go to be served: a peer may send
    /// requests on a connection we opened.
    dialed: mpsc::UnboundedSender<(SignatoryId, quinn::Connection)>,
}

impl Peers {
    pub(crate) fn new(
        endpoint: quinn::Endpoint,
        transport_key: SigningKey,
        limits: ConnectionLimits,
        directory: HashMap<SignatoryId, (PublicKey, Vec<String>)>,
        dialed: mpsc::UnboundedSender<(SignatoryId, quinn::Connection)>,
    ) -> Self {
        Self {
            endpoint,
            transport_key,
            limits,
            directory,
            live: Mutex::new(HashMap::new()),
            incoming: Mutex::new(HashMap::new()),
            dialed,
        }
    }

    /// The signatory presenting transport key `key`.
    pub(crate) fn who(&self, key: &PublicKey) -> Option<SignatoryId> {
        self.directory.iter().find(|(_, (k, _))| k == key).map(|(id, _)| id.clone())
    }

    /// A live connection to `peer`: a cached one, or a new one to the first
    /// of its roster addresses that answers.
    pub(crate) async fn connect(&self, peer: &SignatoryId) -> Result<quinn::Connection, CallError> {
        if let Some(connection) = self.cached(peer) {
            return Ok(connection);
        }
        let (key, addresses) =
            self.directory.get(peer).ok_or_else(|| CallError::Connection(format!("{peer} is not a peer")))?;
        let config =
            client_config(&self.transport_key, *key, &self.limits).map_err(|e| CallError::Connection(e.to_string()))?;
        let mut last = CallError::Connection(format!("{peer} lists no address"));
        for address in addresses {
            let resolved: Vec<SocketAddr> = match tokio::net::lookup_host(address.as_str()).await {
                Ok(found) => found.collect(),
                Err(e) => {
                    last = CallError::Connection(format!("{address}: {e}"));
                    continue;
                }
            };
            for socket in resolved {
                let attempt = match self.endpoint.connect_with(config.clone(), socket, SERVER_NAME) {
                    Ok(connecting) => connecting.await.map_err(|e| CallError::Connection(format!("{socket}: {e}"))),
                    Err(e) => Err(CallError::Connection(format!("{socket}: {e}"))),
                };
                match attempt {
                    Ok(connection) => {
                        self.remember(peer, &connection);
                        let _ = self.dialed.send((peer.clone(), connection.clone()));
                        return Ok(connection);
                    }
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }

    fn cached(&self, peer: &SignatoryId) -> Option<quinn::Connection> {
        let live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(peer).filter(|c| c.close_reason().is_none()).cloned()
    }

    /// Keeps `connection` as the way to reach `peer`, unless a live one is kept.
    pub(crate) fn remember(&self, peer: &SignatoryId, connection: &quinn::Connection) {
        let mut live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keep = live.get(peer).is_some_and(|c| c.close_reason().is_none());
        if !keep {
            live.insert(peer.clone(), connection.clone());
        }
    }

    /// Counts an incoming connection from `peer`; false if over the cap.
    pub(crate) fn admit(&self, peer: &SignatoryId, cap: usize) -> bool {
        let mut incoming = self.incoming.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = incoming.entry(peer.clone()).or_default();
        if *count >= cap {
            return false;
        }
        *count += 1;
        true
    }

    /// Uncounts an incoming connection from `peer` that ended.
    pub(crate) fn release(&self, peer: &SignatoryId) {
        let mut incoming = self.incoming.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = incoming.get_mut(peer) {
            *count = count.saturating_sub(1);
        }
    }
}
