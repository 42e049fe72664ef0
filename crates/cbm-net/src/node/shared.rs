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
    /// The agreement the facts are read under, to read them again.
    agreement: Agreement,
}

impl Held {
    /// Opens what `store` holds under `agreement`.
    ///
    /// # Errors
    /// On a store failure.
    pub(crate) fn load(store: Store, agreement: Agreement) -> Result<Self, StoreError> {
        let facts = LogFacts::load(&store, &agreement)?;
        Ok(Self { store, facts, agreement })
    }

    /// The held logs as the entry rules see them.
    pub(crate) fn view<'a>(&'a self, agreement: &'a Agreement) -> StoreView<'a> {
        StoreView { store: &self.store, agreement, facts: &self.facts }
    }

    /// Makes the facts agree with the store again after a task panicked
    /// while holding them. The store needs nothing: a panic rolls back the
    /// transaction it was in, so it holds what was committed.
    fn recover(&mut self) -> Result<(), StoreError> {
        self.facts = LogFacts::load(&self.store, &self.agreement)?;
        Ok(())
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
    /// Mirrors of each peer log in flight.
    mirrors: Mutex<HashMap<LogId, usize>>,
    /// Bumped whenever a mirror ends; mirrors waiting on one watch it.
    mirror_ends: watch::Sender<u64>,
    /// Entries held per log (staged ones included), kept beside the store
    /// so that a pushed checkpoint is sorted without a store read. Never
    /// ahead of the store: it is noted after each write commits.
    held_sizes: Mutex<HashMap<LogId, u64>>,
    /// How each gossip partner answered the last round, and when it last did.
    contacts: Mutex<HashMap<SignatoryId, Contact>>,
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
            mirrors: Mutex::new(HashMap::new()),
            mirror_ends: watch::Sender::new(0),
            held_sizes: Mutex::new(held_sizes),
            contacts: Mutex::new(HashMap::new()),
            changes: watch::Sender::new(0),
        }
    }

    /// Notes how `peer` answered a gossip round just now.
    pub(crate) fn note_contact(&self, peer: &SignatoryId, answered: bool) {
        let now = self.clock.now();
        let mut contacts = self.contacts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = !contacts.contains_key(peer);
        let contact = contacts.entry(peer.clone()).or_default();
        let changed = first || contact.reachable != answered;
        contact.reachable = answered;
        if answered {
            contact.last_answer = Some(now);
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

    /// Counts a mirror of `log` in flight until the guard returned drops;
    /// first waits, at most [`super::NodeLimits::request_timeout`], while
    /// another mirror of `log` is in flight. (Not until the entries held
    /// reach a size: staged entries count there, and a checkpoint within
    /// them is handled only once the mirror staging them has ended.)
    ///
    /// The wait only saves fetching the same entries twice. It has a
    /// deadline and excludes nothing: no mirror holds a lock while it
    /// fetches, and every store step of a mirror checks what it stores
    /// against what is stored, under the store's writer, the one exclusion
    /// (spec/transport.md §6.2). So a
    /// mirror that waited its time goes on alongside, and a peer that
    /// serves entries slowly to another mirror delays this one by at most
    /// that wait.
    pub(crate) async fn begin_mirror(self: &Arc<Self>, log: &LogId) -> MirrorInFlight {
        let mut ends = self.mirror_ends.subscribe();
        let deadline = tokio::time::Instant::now() + self.limits.request_timeout;
        loop {
            {
                let mut mirrors = self.mirrors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if mirrors.get(log).copied().unwrap_or(0) == 0 {
                    *mirrors.entry(*log).or_default() += 1;
                    return MirrorInFlight { shared: Arc::clone(self), log: *log };
                }
            }
            if !matches!(tokio::time::timeout_at(deadline, ends.changed()).await, Ok(Ok(()))) {
                let mut mirrors = self.mirrors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *mirrors.entry(*log).or_default() += 1;
                return MirrorInFlight { shared: Arc::clone(self), log: *log };
            }
        }
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

/// Locks `held` on a blocking thread and runs `work` on it.
///
/// A panic in `work` is reported to its caller as
/// [`StoreError::Panicked`]; the next call recovers the lock and reads the
/// facts again from the store, so one bug does not stop every later store
/// call (the policy of every lock of a node: recover, never report a panic
/// as damage to the store).
async fn blocking<T: Send + 'static>(
    held: Arc<Mutex<Held>>,
    work: impl FnOnce(&mut Held) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || {
        let mut guard = match held.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.recover()?;
                held.clear_poison();
                guard
            }
        };
        work(&mut guard)
    })
    .await
    .map_err(|e| {
        if e.is_panic() { StoreError::panicked(&*e.into_panic()) } else { StoreError::Panicked(e.to_string()) }
    })?
}

#[cfg(test)]
mod tests {
    use cbm_wire::{
        Address, AgreementId, PublicKey, QuorumPolicy, Roster, RosterLimits, Signatory, SignedRoster, SigningKeyInfo,
        Text, Timestamp,
    };

    use super::*;

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// A signatory numbered `n`, and its signing key.
    fn signatory(n: u8, name: &str) -> TestResult<(Signatory, SigningKey)> {
        let key = SigningKey::from_bytes(&[n; 32]);
        let signatory = Signatory {
            id: SignatoryId::new(name)?,
            name: Text::new(name)?,
            signing_keys: vec![SigningKeyInfo {
                id: KeyId(0),
                key: PublicKey::of(&key),
                valid_from: Timestamp(0),
                valid_until: None,
            }],
            transport_key: PublicKey::of(&SigningKey::from_bytes(&[n + 100; 32])),
            addresses: vec![Address::new(format!("127.0.0.1:{}", 7000 + u16::from(n)))?],
        };
        Ok((signatory, key))
    }

    /// A store under a two-signatory agreement, behind the node's lock.
    fn held(dir: &std::path::Path) -> TestResult<Arc<Mutex<Held>>> {
        let parties = [signatory(1, "AT")?, signatory(2, "DE")?];
        let roster = Roster {
            agreement: AgreementId::new("panic-test")?,
            version: 1,
            title: Text::new("A store task that panics")?,
            signatories: parties.iter().map(|(s, _)| s.clone()).collect(),
            schedules: vec![],
            quorum: QuorumPolicy { threshold: 1 },
            limits: RosterLimits::default(),
            previous: None,
        };
        let signatures = parties.iter().map(|(s, key)| roster.sign_adoption(&s.id, KeyId(0), key)).collect();
        let agreement = Agreement::adopt(&SignedRoster { roster, signatures })?;
        let store = Store::open(&dir.join("store.sqlite"))?;
        Ok(Arc::new(Mutex::new(Held::load(store, agreement)?)))
    }

    #[tokio::test]
    async fn a_panic_under_the_store_lock_is_reported_as_a_panic_and_later_store_calls_go_on() -> TestResult {
        let dir = tempfile::tempdir()?;
        let held = held(dir.path())?;
        let failed =
            blocking(Arc::clone(&held), |_| -> Result<(), StoreError> { panic!("a bug in a store task") }).await;
        match failed {
            Err(StoreError::Panicked(message)) => assert_eq!(message, "a bug in a store task"),
            other => panic!("expected the panic to be reported as one, got {other:?}"),
        }
        assert!(held.is_poisoned(), "the panic poisoned the lock");
        let logs = blocking(Arc::clone(&held), |h| h.store.logs()).await?;
        assert!(logs.is_empty());
        assert!(!held.is_poisoned(), "the lock was recovered");
        Ok(())
    }
}

/// How a gossip partner answered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Contact {
    /// Whether it answered the last round.
    pub(crate) reachable: bool,
    /// When it last answered one.
    pub(crate) last_answer: Option<cbm_wire::Timestamp>,
}

/// A mirror counted in flight ([`Shared::begin_mirror`]); uncounted, and
/// the mirrors waiting on it woken, when dropped.
pub(crate) struct MirrorInFlight {
    shared: Arc<Shared>,
    log: LogId,
}

impl Drop for MirrorInFlight {
    fn drop(&mut self) {
        {
            let mut mirrors = self.shared.mirrors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(count) = mirrors.get_mut(&self.log) {
                *count -= 1;
                if *count == 0 {
                    mirrors.remove(&self.log);
                }
            }
        }
        self.shared.mirror_ends.send_modify(|n| *n += 1);
    }
}
