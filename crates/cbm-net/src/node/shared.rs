//! The state every task of a node shares: who it is, its store, its peers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cbm_log::agreement::Agreement;
use cbm_log::held::{LogFacts, StoreView};
use cbm_log::store::{Store, StoreError};
use cbm_wire::{KeyId, LogId, SignatoryId, SigningKey};
use tokio::sync::watch;

use super::NodeLimits;
use super::peers::Peers;
use super::readers::Readers;
use super::receipts::Receipts;
use crate::clock::Clock;

/// The store and what the rules need beyond it, behind one lock.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) store: Store,
    pub(crate) facts: LogFacts,
}

impl Held {
    /// The held logs as the entry rules see them.
    pub(crate) fn view<'a>(&'a self, agreement: &'a Agreement) -> StoreView<'a> {
        StoreView { store: &self.store, agreement, facts: &self.facts }
    }
}

/// Everything the tasks of one node share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) agreement: Agreement,
    pub(crate) me: SignatoryId,
    pub(crate) key_id: KeyId,
    pub(crate) signing_key: SigningKey,
    pub(crate) limits: NodeLimits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) peers: Peers,
    /// Where pushed cosignatures queue to be stored in groups.
    pub(crate) receipts: Receipts,
    /// Whom this node pushes to and gossips with.
    pub(crate) partners: Vec<SignatoryId>,
    held: Arc<Mutex<Held>>,
    /// Read-only connections to the same store, for serving reads in
    /// parallel with each other and with appends.
    readers: Readers,
    /// Serialises the mirroring of each peer log.
    log_locks: Mutex<HashMap<LogId, Arc<tokio::sync::Mutex<()>>>>,
    /// Entries held per log (staged ones included), kept beside the store
    /// so that a pushed checkpoint is sorted without a store read. Never
    /// ahead of the store: it is noted after each write commits.
    held_sizes: Mutex<HashMap<LogId, u64>>,
    /// Bumped on every change of the store; status waiters watch it.
    changes: watch::Sender<u64>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)] // ok: built once, in `Node::start`, from the checked config
    pub(crate) fn new(
        agreement: Agreement,
        me: SignatoryId,
        key_id: KeyId,
        signing_key: SigningKey,
        limits: NodeLimits,
        clock: Arc<dyn Clock>,
        peers: Peers,
        receipts: Receipts,
        partners: Vec<SignatoryId>,
        held: Held,
        readers: Readers,
    ) -> Self {
        let held_sizes = agreement
            .roster()
            .signatories
            .iter()
            .map(|s| agreement.log_of(&s.id))
            .map(|log| (log, held.store.size(&log).unwrap_or(0)))
            .collect();
        Self {
            agreement,
            me,
            key_id,
            signing_key,
            limits,
            clock,
            peers,
            receipts,
            partners,
            held: Arc::new(Mutex::new(held)),
            readers,
            log_locks: Mutex::new(HashMap::new()),
            held_sizes: Mutex::new(held_sizes),
            changes: watch::Sender::new(0),
        }
    }

    /// Entries of `log` held, as last noted (see [`Shared::note_size`]).
    pub(crate) fn held_size(&self, log: &LogId) -> u64 {
        self.held_sizes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(log).copied().unwrap_or(0)
    }

    /// Notes that `log` now holds `size` entries, once the write is committed.
    pub(crate) fn note_size(&self, log: LogId, size: u64) {
        self.held_sizes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(log, size);
    }

    /// Runs `work` on the store on a blocking thread: SQLite calls block.
    pub(crate) async fn with_held<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Held) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        blocking(Arc::clone(&self.held), work).await
    }

    /// Runs the read-only `work` on one of the reader connections, in one
    /// read transaction: it sees one snapshot of the store.
    pub(crate) async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.readers.read(work).await
    }

    /// The lock that serialises mirroring of `log`.
    pub(crate) fn log_lock(&self, log: &LogId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.log_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(*log).or_default())
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

/// Locks `shared` on a blocking thread and runs `work` on it.
async fn blocking<S: Send + 'static, T: Send + 'static>(
    shared: Arc<Mutex<S>>,
    work: impl FnOnce(&mut S) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || {
        let mut guard = shared.lock().map_err(|_| StoreError::Corrupt("a store task panicked".into()))?;
        work(&mut guard)
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("store task failed: {e}")))?
}
