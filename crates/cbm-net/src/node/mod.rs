//! The signatory node (spec/transport.md §6): serves its store to peers,
//! publishes its own entries, mirrors and cosigns every peer's log, gossips,
//! and turns any split view it sees into stored evidence.
//!
//! Protocol decisions are `cbm-log`'s; this module moves bytes, keeps
//! connections, and calls them.

mod gossip;
mod obligations;
mod peers;
mod readers;
mod receipts;
mod serve;
mod shared;
mod status;
mod witness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cbm_log::agreement::{Agreement, RosterError};
use cbm_log::author::{Author, Draft, checkpoint_time};
use cbm_log::rules::{EntryError, Prechecked, check_batch};
use cbm_log::store::{ExportError, ExportSummary, Store, StoreError, WalCheckpointer};
use cbm_wire::{
    Checkpoint, Digest, PublicKey, Request, RootHash, SignatoryId, SignedCheckpoint, SignedEntry, SignedRoster,
    SigningKey, TreeHash,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

pub use obligations::{Obligations, Overdue, Unacknowledged};
pub use status::{LogStatus, NodeStatus, PeerStatus};

use self::peers::Peers;
use self::receipts::Receipts;
use self::shared::{Held, Shared};
use crate::client::call;
use crate::clock::Clock;
use crate::files::{Readers, write_new};
use crate::tls::{ConnectionLimits, Identity, TlsError, server_config};

/// Read-only store connections serving peers' read requests.
const READERS: usize = 4;

/// The key a publication is made under, so that it is safe to retry (see
/// [`Node::publish_once`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key, at most [`IdempotencyKey::MAX_BYTES`].
    key: String,
    /// The digest of the draft published under it.
    draft: Digest,
    /// Derived from the draft rather than chosen.
    derived: bool,
}

impl IdempotencyKey {
    /// Most bytes of a chosen key.
    pub const MAX_BYTES: usize = 256;

    /// How long after a publication under a derived key the same draft is
    /// still taken as its retry.
    pub const DERIVED_WINDOW: cbm_wire::TimeSpan = cbm_wire::TimeSpan::from_hours(24);

    /// A key the operator chose, for the draft whose digest is `draft`: a
    /// publication under it is made once, whenever it is retried; the key
    /// used again for another draft is refused.
    ///
    /// # Errors
    /// If `key` is empty or longer than [`IdempotencyKey::MAX_BYTES`].
    pub fn chosen(key: &str, draft: Digest) -> Result<Self, String> {
        if key.is_empty() || key.len() > Self::MAX_BYTES {
            return Err(format!("an idempotency key has 1 to {} bytes, not {}", Self::MAX_BYTES, key.len()));
        }
        Ok(Self { key: format!("key:{key}"), draft, derived: false })
    }

    /// The key derived from the draft whose digest is `draft`: the same
    /// draft is taken as a retry of an earlier publication of it only
    /// within [`IdempotencyKey::DERIVED_WINDOW`] and if nothing was
    /// published since, so an identical declaration made again later, or
    /// after another entry (a suspension after a resumption), is published.
    pub fn derived(draft: Digest) -> Self {
        Self { key: format!("draft:{draft}"), draft, derived: true }
    }
}

/// What came of a publication under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// The entries were published with this checkpoint.
    New(SignedCheckpoint),
    /// They had been, earlier: nothing was published now.
    Earlier(cbm_log::store::Publication),
}

/// Per-peer limits and timeouts (spec/transport.md §4).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    /// Stream, flow-control and idle limits of each connection.
    pub connection: ConnectionLimits,
    /// Incoming connections one peer may hold at once.
    pub max_connections_per_peer: usize,
    /// Requests per second one peer may make, over all its connections
    /// (bursts of one second).
    pub requests_per_second: u32,
    /// Background tasks one peer may have the node run at once: mirroring
    /// the checkpoints it pushes, taking the views it gossips.
    pub tasks_per_peer: usize,
    /// Longest wait for a request or a response.
    pub request_timeout: Duration,
    /// Most entries of a peer's log fetched and checked in one piece when
    /// mirroring (also at most 32 MiB): a gap to a checkpoint is taken in
    /// segments of this size, two in memory at a time.
    pub segment_entries: u64,
    /// Longest one mirror of a log may run (fetching, checking, staging and
    /// reviewing); what it staged by then stays staged, and the next mirror
    /// of the log goes on from there.
    pub mirror_deadline: Duration,
}

impl Default for NodeLimits {
    fn default() -> Self {
        Self {
            connection: ConnectionLimits::default(),
            max_connections_per_peer: 4,
            requests_per_second: 2000,
            tasks_per_peer: 8,
            request_timeout: Duration::from_secs(10),
            segment_entries: 16_384,
            mirror_deadline: Duration::from_secs(120),
        }
    }
}

/// Where the node listens.
#[derive(Debug)]
pub enum Listen {
    /// Bind this address.
    Address(SocketAddr),
    /// Use this bound socket (tests and the demo bind first, to learn ports).
    Socket(std::net::UdpSocket),
}

/// Everything a node needs to run.
#[derive(Debug)]
pub struct NodeConfig {
    /// The agreement, adopted by every signatory.
    pub roster: SignedRoster,
    /// Which signatory this node is.
    pub signatory: SignatoryId,
    /// Its signing key, as listed in the roster.
    pub signing_key: SigningKey,
    /// Its transport key, as listed in the roster.
    pub transport_key: SigningKey,
    /// The store file.
    pub store: PathBuf,
    /// Where to listen.
    pub listen: Listen,
    /// Peers to push to and gossip with; every other signatory if absent.
    pub partners: Option<Vec<SignatoryId>>,
    /// Time between gossip rounds.
    pub gossip_interval: Duration,
    /// Limits.
    pub limits: NodeLimits,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

/// Why a node could not start or act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The roster is not adopted by every signatory, or is malformed.
    #[error("roster: {0}")]
    Roster(#[from] RosterError),
    /// The configured signatory or keys do not match the roster.
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// TLS could not be configured.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The socket could not be bound.
    #[error("listening: {0}")]
    Listen(#[from] std::io::Error),
    /// An entry to publish breaks the rules; nothing was published.
    #[error("entry {index} refused: {error}")]
    Refused {
        /// Position of the draft in the batch.
        index: usize,
        /// The rule broken.
        error: EntryError,
    },
    /// An export failed; no bundle was left behind.
    #[error("export: {0}")]
    Export(#[from] ExportError),
    /// A wait for a condition ran out of time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// A chosen idempotency key was used before for another draft; nothing
    /// was published.
    #[error("the idempotency {key} was used for another draft, published as entry {index}; nothing was published")]
    KeyReused {
        /// The key.
        key: String,
        /// The first entry published under it.
        index: u64,
    },
}

/// A running node. Dropping it does not stop it; call [`Node::shutdown`].
#[derive(Debug)]
pub struct Node {
    shared: Arc<Shared>,
    roster: SignedRoster,
    endpoint: quinn::Endpoint,
    /// The node's own tasks; taken (left empty) by [`Node::shutdown`].
    tasks: std::sync::Mutex<JoinSet<()>>,
    gossip_now: Arc<tokio::sync::Notify>,
}

impl Node {
    /// Checks the configuration against the roster, opens the store, and
    /// starts listening, serving and gossiping.
    ///
    /// # Errors
    /// See [`NodeError`].
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let agreement = Agreement::adopt(&config.roster)?;
        let roster = config.roster.clone();
        let me = agreement
            .roster()
            .signatory(&config.signatory)
            .ok_or_else(|| NodeError::Config(format!("{} is not a signatory of the roster", config.signatory)))?
            .clone();
        let public = PublicKey::of(&config.signing_key);
        let key_id = me
            .signing_keys
            .iter()
            .find(|k| k.key == public)
            .ok_or_else(|| NodeError::Config(format!("the signing key is not one the roster lists for {}", me.id)))?
            .id;
        if PublicKey::of(&config.transport_key) != me.transport_key {
            return Err(NodeError::Config(format!("the transport key is not the one the roster lists for {}", me.id)));
        }
        let path = config.store.clone();
        let loaded = agreement.clone();
        let (held, readers, wal) = tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&path)?;
            store.bind_agreement(&loaded)?;
            store.defer_wal_checkpoints()?;
            let held = Held::load(store, loaded)?;
            let readers = (0..READERS).map(|_| Store::open_reader(&path)).collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>((held, readers, WalCheckpointer::open(&path)?))
        })
        .await
        .map_err(|e| NodeError::Config(format!("opening the store: {e}")))??;

        let directory: HashMap<SignatoryId, (PublicKey, Vec<String>)> = agreement
            .roster()
            .signatories
            .iter()
            .filter(|s| s.id != me.id)
            .map(|s| (s.id.clone(), (s.transport_key, s.addresses.iter().map(ToString::to_string).collect())))
            .collect();
        let limits = config.limits;
        let identity = Arc::new(Identity::new(&config.transport_key, *agreement.hash())?);
        let server = server_config(&identity, directory.values().map(|(k, _)| *k).collect(), &limits.connection)?;
        let socket = match config.listen {
            Listen::Address(address) => std::net::UdpSocket::bind(address)?,
            Listen::Socket(socket) => socket,
        };
        let runtime = quinn::default_runtime().ok_or_else(|| NodeError::Config("no async runtime".into()))?;
        let endpoint = quinn::Endpoint::new(
            crate::endpoint::endpoint_config(&config.transport_key),
            Some(server),
            socket,
            runtime,
        )?;
        let (dialed, mut dialed_rx) = mpsc::unbounded_channel();
        let peers = Peers::new(endpoint.clone(), identity, limits.connection, directory, dialed);
        let partners = config
            .partners
            .unwrap_or_else(|| agreement.roster().signatories.iter().map(|s| s.id.clone()).collect())
            .into_iter()
            .filter(|p| *p != me.id)
            .collect();
        let (receipts, queued_receipts) = Receipts::new();
        let readers = readers::Readers::start(readers)?;
        let shared = Arc::new(Shared::new(
            agreement,
            me.id,
            key_id,
            config.signing_key,
            limits,
            config.clock,
            peers,
            receipts,
            partners,
            held,
            readers,
        ));

        let mut tasks = JoinSet::new();
        tasks.spawn(serve::accept_loop(Arc::clone(&shared), endpoint.clone()));
        tasks.spawn(receipts::store_groups(Arc::clone(&shared), queued_receipts));
        tasks.spawn(checkpoint_wal(wal));
        let serving = Arc::clone(&shared);
        tasks.spawn(async move {
            while let Some((peer, connection)) = dialed_rx.recv().await {
                tokio::spawn(serve::serve_connection(Arc::clone(&serving), connection, peer));
            }
        });
        let gossip_now = Arc::new(tokio::sync::Notify::new());
        for peer in shared.partners.clone() {
            let (shared, wake) = (Arc::clone(&shared), Arc::clone(&gossip_now));
            tasks.spawn(gossip::with_partner(shared, peer, config.gossip_interval, wake));
        }
        Ok(Self { shared, roster, endpoint, tasks: std::sync::Mutex::new(tasks), gossip_now })
    }

    /// The address the node listens on.
    ///
    /// # Errors
    /// If the socket is gone.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// The node's signatory.
    pub fn signatory(&self) -> &SignatoryId {
        &self.shared.me
    }

    /// The node's current time.
    pub fn now(&self) -> cbm_wire::Timestamp {
        self.shared.clock.now()
    }

    /// The adopted agreement.
    pub fn agreement(&self) -> &Agreement {
        &self.shared.agreement
    }

    /// Appends `drafts` to the node's own log as one batch with one signed
    /// checkpoint, durably, then announces the checkpoint to every partner.
    /// Every entry is checked against the rules first; if one is refused,
    /// nothing is stored.
    ///
    /// # Errors
    /// [`NodeError::Refused`] or a store failure.
    pub async fn publish(&self, drafts: Vec<Draft>) -> Result<SignedCheckpoint, NodeError> {
        match self.publish_under(drafts, None).await? {
            Published::New(checkpoint) => Ok(checkpoint),
            Published::Earlier(_) => unreachable!("only a publication under a key finds an earlier one"),
        }
    }

    /// As [`Node::publish`], safe to retry: if the node already published
    /// under `key` (for a derived key, see [`IdempotencyKey::derived`]),
    /// nothing is published and the earlier publication is returned;
    /// otherwise the entries are published and the key recorded with them,
    /// in the same store transaction.
    ///
    /// # Errors
    /// As [`Node::publish`]; [`NodeError::KeyReused`] for a chosen key
    /// already used for another draft.
    pub async fn publish_once(&self, key: IdempotencyKey, drafts: Vec<Draft>) -> Result<Published, NodeError> {
        self.publish_under(drafts, Some(key)).await
    }

    async fn publish_under(&self, drafts: Vec<Draft>, key: Option<IdempotencyKey>) -> Result<Published, NodeError> {
        let shared = Arc::clone(&self.shared);
        let outcome = self
            .shared
            .with_held(move |h| {
                let s = &shared;
                let log = s.agreement.log_of(&s.me);
                let now = s.clock.now();
                let size = h.store.size(&log)?;
                if let Some(key) = &key
                    && let Some(earlier) = h.store.published_under(&key.key)?
                {
                    if !key.derived && earlier.draft != key.draft {
                        return Ok(Err(NodeError::KeyReused { key: key.key.clone(), index: earlier.index }));
                    }
                    let window = earlier.at.0.saturating_add(IdempotencyKey::DERIVED_WINDOW.0);
                    if !key.derived || (earlier.size == size && now.0 <= window) {
                        return Ok(Ok(Published::Earlier(earlier)));
                    }
                }
                let author =
                    Author { agreement: &s.agreement, signatory: &s.me, key_id: s.key_id, key: &s.signing_key };
                let authored = author.write_all(drafts, size, now, &mut rand_core::OsRng);
                let entries: Vec<_> = authored.iter().map(|a| a.entry.clone()).collect();
                let batch = Prechecked::new(&s.agreement, entries.clone());
                let hashes = match check_batch(&s.agreement, &h.view(&s.agreement), &s.me, &batch) {
                    Ok(hashes) => hashes,
                    Err((index, error)) => return Ok(Err(NodeError::Refused { index, error })),
                };
                let mut frontier = h.store.frontier(&log)?;
                let mut created = Vec::new();
                for hash in hashes {
                    frontier.push(TreeHash(hash.0), &mut created);
                }
                let latest = h.store.latest_checkpoint(&log)?.map(|c| c.body.timestamp);
                let timestamp = checkpoint_time(now, latest);
                let body = Checkpoint { log, size: frontier.size(), root: RootHash(frontier.root().0), timestamp };
                let checkpoint = SignedCheckpoint::sign(body, s.agreement.hash(), s.key_id, &s.signing_key);
                let openings: Vec<_> = authored.iter().flat_map(|a| a.openings.iter().cloned()).collect();
                let key = key.as_ref().map(|k| (k.key.as_str(), &k.draft));
                h.store.append_authored(&log, &entries, &checkpoint, &openings, key)?;
                s.note_size(log, checkpoint.body.size);
                entries.iter().for_each(|e| h.facts.observe(e));
                Ok(Ok(Published::New(checkpoint)))
            })
            .await??;
        if let Published::New(checkpoint) = &outcome {
            info!(size = checkpoint.body.size, "published");
            self.shared.changed();
            for peer in self.shared.partners.clone() {
                let shared = Arc::clone(&self.shared);
                let checkpoint = checkpoint.clone();
                tokio::spawn(async move { announce(&shared, &peer, checkpoint).await });
            }
        }
        Ok(outcome)
    }

    /// The node's current status.
    ///
    /// # Errors
    /// On a store failure.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        Ok(status::status(&self.shared).await?)
    }

    /// What the signatories owe as of the node's clock: overdue
    /// declarations, and acknowledgements of the node's own entries that
    /// peers owe or gave late. Reads every log once.
    ///
    /// # Errors
    /// On a store failure.
    pub async fn obligations(&self) -> Result<Obligations, NodeError> {
        Ok(obligations::obligations(&self.shared).await?)
    }

    /// Waits until `condition` holds of the status, re-checking on every
    /// change of the store, for at most `timeout`.
    ///
    /// # Errors
    /// [`NodeError::Timeout`] naming `what`, or a store failure.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut(&NodeStatus) -> bool,
    ) -> Result<NodeStatus, NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.subscribe();
        loop {
            changes.mark_unchanged();
            let status = self.status().await?;
            if condition(&status) {
                return Ok(status);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(NodeError::Timeout(format!("{what} at {}", self.shared.me))),
            }
        }
    }

    /// Entry `index` of `owner`'s log, if the node holds it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if it does not, or a store failure.
    pub async fn entry(&self, owner: &SignatoryId, index: u64) -> Result<SignedEntry, NodeError> {
        let log = self.shared.agreement.log_of(owner);
        Ok(self.shared.with_held(move |h| h.store.entry(&log, index)).await?)
    }

    /// The opening of committed field `field` of entry `index` of `owner`'s
    /// log, if the node holds it: every opening of its own log, and those of
    /// other logs addressed to it.
    ///
    /// # Errors
    /// `NotFound` if the node holds no such opening, or a store failure.
    pub async fn opening(&self, owner: &SignatoryId, index: u64, field: u32) -> Result<cbm_wire::Opening, NodeError> {
        let log = self.shared.agreement.log_of(owner);
        let find = || async {
            let page = self.shared.with_held(move |h| h.store.openings(&log, index, None, usize::MAX)).await?;
            let mut found = page.openings.into_iter().map(|(_, o)| o);
            Ok::<_, NodeError>(found.find(|o| o.entry.index == index && o.field == field))
        };
        if let Some(opening) = find().await? {
            return Ok(opening);
        }
        // Not received yet (it is fetched after cosigning): ask the owner now.
        if *owner != self.shared.me {
            witness::fetch_openings(&self.shared, owner, &log, index).await;
        }
        find().await?.ok_or_else(|| {
            StoreError::NotFound(format!("an opening of field {field} of entry {index} of {owner}")).into()
        })
    }

    /// Writes a consistent copy of the node's store to `path`.
    ///
    /// # Errors
    /// On a store failure.
    pub async fn snapshot(&self, path: PathBuf) -> Result<(), NodeError> {
        Ok(self.shared.with_held(move |h| h.store.snapshot(&path)).await?)
    }

    /// Starts a gossip round now instead of at the next interval.
    pub fn gossip_now(&self) {
        self.gossip_now.notify_waiters();
    }

    /// Writes the node's store to `path` as a bundle (see `Store::export`),
    /// through a temporary file renamed into place: a bundle is never left
    /// half-written.
    ///
    /// # Errors
    /// On a store or write failure.
    pub async fn export(&self, path: PathBuf, public: bool) -> Result<ExportSummary, NodeError> {
        let shared = Arc::clone(&self.shared);
        let roster = self.roster.clone();
        // Export only reads: it runs on a reader connection, so appends go on meanwhile.
        let written = self
            .shared
            .with_reader(move |store| {
                // Openings are for their recipients' eyes: such a bundle is
                // readable by its owner only.
                let readers = if public { Readers::Anyone } else { Readers::Owner };
                let mut summary = Ok(ExportSummary::default());
                let now = shared.clock.now();
                let written = write_new(&path, readers, |file| {
                    match store.export(&shared.agreement, roster, file, public, now, |_| {}) {
                        Ok((_, done)) => summary = Ok(done),
                        Err(ExportError::Write(e)) => return Err(e),
                        Err(e) => {
                            summary = Err(e);
                            return Err(std::io::Error::other("the store could not be read"));
                        }
                    }
                    Ok(())
                });
                Ok(match (written, summary) {
                    (_, Err(e)) => Err(e),
                    (Err(e), _) => Err(ExportError::Write(e)),
                    (Ok(()), summary) => summary,
                })
            })
            .await?;
        Ok(written?)
    }

    /// A single-entry proof of entry `index` of `owner`'s log, from the
    /// smallest settled checkpoint covering it.
    ///
    /// # Errors
    /// `NotFound` if the entry is not held or not settled yet.
    pub async fn prove(&self, owner: &SignatoryId, index: u64) -> Result<cbm_wire::EntryProof, NodeError> {
        let shared = Arc::clone(&self.shared);
        let roster = self.roster.clone();
        let log = self.shared.agreement.log_of(owner);
        Ok(self.shared.with_held(move |h| h.store.entry_proof(&shared.agreement, roster, &log, index)).await?)
    }

    /// Stops the node: closes every connection (peers see it at once) and
    /// waits for the endpoint to go idle. It takes `&self` so that a node
    /// shared with other tasks (the admin socket's) can be stopped; once
    /// stopped, its other methods fail. The store is durable at every
    /// instant; nothing is lost.
    pub async fn shutdown(&self) {
        self.endpoint.close(0u32.into(), b"shutting down");
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        tasks.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

/// How often the node checkpoints its store's write-ahead log, off the
/// path of any commit (see `Store::defer_wal_checkpoints`).
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the store's write-ahead log every [`WAL_CHECKPOINT_EVERY`],
/// for as long as the node runs.
async fn checkpoint_wal(mut wal: WalCheckpointer) {
    loop {
        tokio::time::sleep(WAL_CHECKPOINT_EVERY).await;
        let Ok((back, done)) = tokio::task::spawn_blocking(move || {
            // Caught here so that the checkpointer survives: nothing else
            // checkpoints the node's write-ahead log.
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wal.checkpoint()));
            (wal, done)
        })
        .await
        else {
            return; // the runtime is shutting down
        };
        wal = back;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!("write-ahead log not checkpointed: {e}"),
            Err(_) => warn!("write-ahead log checkpoint panicked"),
        }
    }
}

/// Pushes our new checkpoint to `peer`.
async fn announce(shared: &Arc<Shared>, peer: &SignatoryId, checkpoint: SignedCheckpoint) {
    let request = Request::PushCheckpoint { checkpoint };
    match shared.peers.connect(peer).await {
        Ok(connection) => {
            if let Err(e) = call(&connection, &request, shared.max_frame(), shared.limits.request_timeout).await {
                debug!(%peer, "checkpoint not announced: {e}");
            }
        }
        Err(e) => debug!(%peer, "unreachable: {e}"),
    }
}
