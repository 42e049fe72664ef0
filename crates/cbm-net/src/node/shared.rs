//! The state every task of a node shares: who it is, its peers, its store's
//! readers, the way to its core, and what its status waiters watch.

use std::collections::HashMap;
use std::sync::{Mutex, mpsc};

use cbm_log::agreement::Agreement;
use cbm_log::store::{Store, StoreError};
use cbm_wire::{ErrorCode, Request, Response, SignatoryId, Timestamp};
use tokio::sync::{oneshot, watch};

use super::NodeLimits;
use super::driver::{Command, stopped};
use super::peers::Peers;
use super::readers::Readers;
use crate::clock::Clock;

/// Everything the tasks of one node share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) agreement: Agreement,
    pub(crate) me: SignatoryId,
    pub(crate) limits: NodeLimits,
    pub(crate) clock: std::sync::Arc<dyn Clock>,
    pub(crate) peers: Peers,
    /// Whom this node pushes to and gossips with.
    pub(crate) partners: Vec<SignatoryId>,
    /// Read-only connections to the store, for serving reads in parallel
    /// with each other and with the core's writes.
    readers: Readers,
    /// The way to the core's thread.
    commands: mpsc::Sender<Command>,
    /// How each gossip partner answered the last round, and when it last did.
    contacts: Mutex<HashMap<SignatoryId, Contact>>,
    /// Each peer's requests waiting for the core.
    at_core: Mutex<HashMap<SignatoryId, usize>>,
    /// Bumped on every change of the store; status waiters watch it.
    changes: watch::Sender<u64>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)] // ok: built once, in `Node::start`, from the checked config
    pub(crate) fn new(
        agreement: Agreement,
        me: SignatoryId,
        limits: NodeLimits,
        clock: std::sync::Arc<dyn Clock>,
        peers: Peers,
        partners: Vec<SignatoryId>,
        readers: Readers,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            agreement,
            me,
            limits,
            clock,
            peers,
            partners,
            readers,
            commands,
            contacts: Mutex::new(HashMap::new()),
            at_core: Mutex::new(HashMap::new()),
            changes: watch::Sender::new(0),
        }
    }

    /// Hands `command` to the core's thread; false if it has stopped.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Has the core answer `peer`'s request. A peer has at most
    /// [`NodeLimits::core_requests_per_peer`] requests waiting for the core
    /// (which does one thing at a time): over that, `RateLimited`.
    pub(crate) async fn ask_core(&self, from: SignatoryId, request: Request) -> Response {
        let cap = self.limits.core_requests_per_peer;
        let admitted = {
            let mut at_core = self.at_core.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let waiting = at_core.entry(from.clone()).or_default();
            let room = *waiting < cap;
            if room {
                *waiting += 1;
            }
            room
        };
        if !admitted {
            let why = "too many of your requests wait for this node; send them later";
            return cbm_core::serve::error(ErrorCode::RateLimited, why);
        }
        let peer = from.clone();
        let (reply, answer) = oneshot::channel();
        let response = if self.command(Command::Request { from, request, reply }) {
            match tokio::time::timeout(self.limits.request_timeout, answer).await {
                Ok(Ok(response)) => response,
                Ok(Err(_)) => stopped(),
                Err(_) => cbm_core::serve::error(ErrorCode::Internal, "the node did not answer in time"),
            }
        } else {
            stopped()
        };
        let mut at_core = self.at_core.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(waiting) = at_core.get_mut(&peer) {
            *waiting = waiting.saturating_sub(1);
        }
        response
    }

    /// Notes how `peer` answered a gossip round that ended at `at`.
    pub(crate) fn note_contact(&self, peer: &SignatoryId, answered: bool, at: Timestamp) {
        let mut contacts = self.contacts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = !contacts.contains_key(peer);
        let contact = contacts.entry(peer.clone()).or_default();
        let changed = first || contact.reachable != answered;
        contact.reachable = answered;
        if answered {
            contact.last_answer = Some(at);
        }
        drop(contacts);
        if changed {
            // Status waiters see a peer reached, lost or back.
            self.changed();
        }
    }

    /// How `peer` answered the last gossip round, if there was one.
    pub(crate) fn contact(&self, peer: &SignatoryId) -> Option<Contact> {
        self.contacts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(peer).copied()
    }

    /// Runs the read-only `work` on one of the reader connections, in one
    /// read transaction: it sees one snapshot of the store.
    pub(crate) async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.readers.read(work).await
    }

    /// Tells status waiters that the store changed.
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// A receiver that wakes on every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The largest frame this agreement allows.
    pub(crate) fn max_frame(&self) -> usize {
        self.agreement.roster().limits.max_frame_bytes as usize
    }
}

/// How a gossip partner answered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Contact {
    /// Whether it answered the last round.
    pub(crate) reachable: bool,
    /// When it last answered one.
    pub(crate) last_answer: Option<Timestamp>,
}
