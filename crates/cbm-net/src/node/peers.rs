//! Connections to peers: at most one live outgoing connection per peer,
//! reused by every task; incoming connections are counted against a cap.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cbm_wire::{PublicKey, SignatoryId};
use tokio::sync::mpsc;

use crate::client::CallError;
use crate::tls::{ConnectionLimits, Form, Identity, SERVER_NAME, client_config, refused_in_handshake};

/// QUIC application error code closing a connection that a newer one from
/// the same peer replaced.
const SUPERSEDED: u32 = 2;

/// Handshakes dialled to one address before it counts as not answering.
const HANDSHAKE_ATTEMPTS: u32 = 3;

/// Where and how to reach peers.
#[derive(Debug)]
pub(crate) struct Peers {
    endpoint: quinn::Endpoint,
    identity: Arc<Identity>,
    limits: ConnectionLimits,
    /// The form of transport authentication each peer last answered in
    /// (spec/transport.md §2.3); raw public keys until one does not.
    forms: Mutex<HashMap<SignatoryId, Form>>,
    /// Transport key and addresses of every other signatory.
    directory: HashMap<SignatoryId, (PublicKey, Vec<String>)>,
    live: Mutex<HashMap<SignatoryId, quinn::Connection>>,
    /// Incoming connections per peer, oldest first.
    incoming: PerPeer<VecDeque<quinn::Connection>>,
    /// Each peer's request budget, shared by all its connections.
    budgets: PerPeer<Option<RateLimit>>,
    /// Where new outgoing connections go to be served: a peer may send
    /// requests on a connection we opened.
    dialed: mpsc::UnboundedSender<(SignatoryId, quinn::Connection)>,
}

impl Peers {
    pub(crate) fn new(
        endpoint: quinn::Endpoint,
        identity: Arc<Identity>,
        limits: ConnectionLimits,
        directory: HashMap<SignatoryId, (PublicKey, Vec<String>)>,
        dialed: mpsc::UnboundedSender<(SignatoryId, quinn::Connection)>,
    ) -> Self {
        Self {
            endpoint,
            identity,
            limits,
            forms: Mutex::new(HashMap::new()),
            directory,
            live: Mutex::new(HashMap::new()),
            incoming: PerPeer::default(),
            budgets: PerPeer::default(),
            dialed,
        }
    }

    /// The roster addresses of `peer`, joined for a log line.
    pub(crate) fn addresses(&self, peer: &SignatoryId) -> String {
        self.directory.get(peer).map(|(_, addresses)| addresses.join(", ")).unwrap_or_default()
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
                match self.dial(peer, *key, socket).await {
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

    /// A connection to `peer`, presenting `key`, at `socket`: in the form
    /// it last answered in, or else in the other once if the handshake in
    /// that form was refused (a peer on a TLS stack without raw public keys
    /// speaks only the certificate form). A handshake that does not finish
    /// within the handshake timeout is dialled again afresh, until the
    /// handshake attempts run out ([`HANDSHAKE_ATTEMPTS`]).
    async fn dial(
        &self,
        peer: &SignatoryId,
        key: PublicKey,
        socket: SocketAddr,
    ) -> Result<quinn::Connection, CallError> {
        let failed = |e: &dyn std::fmt::Display| CallError::Connection(format!("{socket}: {e}"));
        let first = self.forms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(peer).copied();
        let first = first.unwrap_or(Form::RawPublicKey);
        let mut form = first;
        let mut unanswered = 0;
        loop {
            let config = client_config(&self.identity, key, form, &self.limits).map_err(|e| failed(&e))?;
            let connecting = self.endpoint.connect_with(config, socket, SERVER_NAME).map_err(|e| failed(&e))?;
            let patience = self.limits.handshake_timeout;
            let Ok(handshake) = tokio::time::timeout(patience, connecting).await else {
                // Dropping the attempt abandons it.
                unanswered += 1;
                if unanswered == HANDSHAKE_ATTEMPTS {
                    return Err(failed(&format_args!("no handshake within {patience:?}, {unanswered} times")));
                }
                tracing::debug!(%peer, %socket, "no handshake within {patience:?}; dialling afresh");
                continue;
            };
            match handshake {
                Ok(connection) => {
                    self.forms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(peer.clone(), form);
                    return Ok(connection);
                }
                Err(e) if form == first && refused_in_handshake(&e) => {
                    tracing::debug!(%peer, %socket, "handshake refused in the {form:?} form ({e}); trying the other");
                    form = form.other();
                }
                Err(e) => return Err(failed(&e)),
            }
        }
    }

    fn cached(&self, peer: &SignatoryId) -> Option<quinn::Connection> {
        let live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(peer).filter(|c| c.close_reason().is_none()).cloned()
    }

    /// Keeps `connection`, the newest authenticated one, as the way to
    /// reach `peer`. The newest wins: a peer that restarted reaches us on a
    /// new connection while the old one may linger, silently dead, until
    /// its idle timeout.
    pub(crate) fn remember(&self, peer: &SignatoryId, connection: &quinn::Connection) {
        let mut live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        live.insert(peer.clone(), connection.clone());
    }

    /// Stops using `connection` for requests to `peer` (if it is the one in
    /// use): the next request takes another, or dials anew.
    pub(crate) fn forget(&self, peer: &SignatoryId, connection: &quinn::Connection) {
        let mut live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if live.get(peer).is_some_and(|c| c.stable_id() == connection.stable_id()) {
            live.remove(peer);
        }
    }

    /// Counts an incoming, authenticated connection from `peer`. At the cap
    /// the new connection supersedes the oldest, which is closed: a peer
    /// that restarts (its old connections dead but not yet timed out) is
    /// never locked out, and a peer holds at most `cap` connections.
    pub(crate) fn admit(&self, peer: &SignatoryId, connection: &quinn::Connection, cap: usize) {
        let superseded = self.incoming.with(peer, |held| {
            held.retain(|c| c.close_reason().is_none());
            held.push_back(connection.clone());
            let excess = held.len().saturating_sub(cap.max(1));
            held.drain(..excess).collect::<Vec<_>>()
        });
        for old in superseded {
            old.close(SUPERSEDED.into(), b"superseded by a newer connection");
        }
    }

    /// Uncounts an incoming connection from `peer` that ended.
    pub(crate) fn release(&self, peer: &SignatoryId, connection: &quinn::Connection) {
        self.incoming.with(peer, |held| held.retain(|c| c.stable_id() != connection.stable_id()));
    }

    /// Takes one request from `peer`'s budget of `rate` per second (bursts
    /// of one second), shared by all its connections; false if it is spent.
    pub(crate) fn take_request(&self, peer: &SignatoryId, rate: u32) -> bool {
        self.budgets.with(peer, |budget| budget.get_or_insert_with(|| RateLimit::new(rate)).take())
    }
}

/// Some state per peer, behind one lock.
#[derive(Debug)]
struct PerPeer<T>(Mutex<HashMap<SignatoryId, T>>);

impl<T> Default for PerPeer<T> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<T: Default> PerPeer<T> {
    fn with<R>(&self, peer: &SignatoryId, f: impl FnOnce(&mut T) -> R) -> R {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(peer.clone()).or_default())
    }
}

/// A token bucket: `rate` requests per second, bursts of one second's worth.
#[derive(Debug)]
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second);
        Self { rate, tokens: rate, last: Instant::now() }
    }

    /// Takes one token if there is one.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
