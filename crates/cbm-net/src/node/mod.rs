//! The signatory node (spec/transport.md §6): serves its store to peers,
//! publishes its own entries, mirrors and cosigns every peer's log, gossips,
//! and turns any split view it sees into stored evidence.
//!
//! Every protocol decision is made by the node's core, `cbm_core::Core`,
//! which runs on a thread of its own (`driver`); this module keeps
//! connections, serves reads, and moves the core's requests and answers.

mod checks;
mod driver;
mod events;
mod obligations;
mod overdue;
mod peers;
mod readers;
mod serve;
mod shared;
mod status;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cbm_core::{Core, CoreConfig, Identity, PublishError, Time};
pub use cbm_core::{IdempotencyKey, Published};
use cbm_log::agreement::{Agreement, RosterError};
use cbm_log::author::Draft;
use cbm_log::rules::EntryError;
use cbm_log::store::{ExportError, ExportSummary, Store, StoreError, WalCheckpointer};
use cbm_wire::{PublicKey, SignatoryId, SignedCheckpoint, SignedEntry, SignedRoster, SigningKey};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::warn;

pub use events::{Event, EventCursor, EventKind};
pub use obligations::{Obligations, Overdue, Unacknowledged};
pub use status::{LogStatus, NodeStatus, PeerStatus};

use self::driver::Command;
use self::peers::Peers;
use self::shared::Shared;
use crate::clock::Clock;
use crate::files::{Readers, write_new};
use crate::tls::{ConnectionLimits, Identity as TlsIdentity, TlsError, server_config};

/// Read-only store connections serving peers' read requests.
const READERS: usize = 4;

/// Per-peer limits and timeouts (spec/transport.md §4).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    /// Most gossip rounds a node starts per interval (`CoreConfig::gossip_fanout`).
    pub gossip_fanout: usize,
    /// How long before a declaration of ours is due the node says so, if
    /// it is not made yet (its log, `cbm watch`).
    pub warn_before: Duration,
    /// Stream, flow-control and idle limits of each connection.
    pub connection: ConnectionLimits,
    /// Incoming connections one peer may hold at once.
    pub max_connections_per_peer: usize,
    /// Requests per second one peer may make, over all its connections
    /// (bursts of one second).
    pub requests_per_second: u32,
    /// Requests of one peer that change the store (pushes, gossip) waiting
    /// for the node's core at once; over it, `RateLimited`.
    pub core_requests_per_peer: usize,
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
            core_requests_per_peer: 64,
            request_timeout: Duration::from_secs(10),
            segment_entries: 16_384,
            mirror_deadline: Duration::from_secs(120),
            warn_before: Duration::from_secs(2 * 24 * 3600),
            gossip_fanout: cbm_core::GOSSIP_FANOUT,
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
    /// Whether the node answers, by itself, the communication checks that
    /// ask it (spec/log.md §5.6); if not, a person answers them.
    pub answer_checks: bool,
    /// Limits.
    pub limits: NodeLimits,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

/// Why a node could not start or act. A variant that wraps another error
/// says what failed and leaves the why to its source (print the chain, as
/// `anyhow`'s `{:#}` does, to read both).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The roster is not adopted by every signatory, or is malformed.
    #[error("the roster is not adopted")]
    Roster(#[from] RosterError),
    /// The configured signatory or keys do not match the roster.
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("store")]
    Store(#[from] StoreError),
    /// TLS could not be configured.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The socket could not be bound.
    #[error("listening")]
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
    #[error("export")]
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
    /// The node has stopped (or is stopping): nothing more is done.
    #[error("the node has stopped")]
    Stopped,
}

impl From<PublishError> for NodeError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Refused { index, error } => Self::Refused { index, error },
            PublishError::KeyReused { key, index } => Self::KeyReused { key, index },
            PublishError::Store(e) => Self::Store(e),
            other => Self::Config(other.to_string()),
        }
    }
}

/// A running node. Dropping it does not stop it; call [`Node::shutdown`].
#[derive(Debug)]
pub struct Node {
    shared: Arc<Shared>,
    roster: SignedRoster,
    endpoint: quinn::Endpoint,
    /// The node's own tasks; taken (left empty) by [`Node::shutdown`].
    tasks: std::sync::Mutex<JoinSet<()>>,
    /// The core's thread; taken by [`Node::shutdown`].
    core: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
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
        let limits = config.limits;
        let partners: Vec<SignatoryId> = config
            .partners
            .unwrap_or_else(|| agreement.roster().signatories.iter().map(|s| s.id.clone()).collect())
            .into_iter()
            .filter(|p| *p != me.id)
            .collect();
        let identity =
            Identity { agreement: agreement.clone(), me: me.id.clone(), key_id, signing_key: config.signing_key };
        let core_config = CoreConfig {
            partners: partners.clone(),
            gossip_interval: config.gossip_interval,
            gossip_fanout: limits.gossip_fanout,
            request_timeout: limits.request_timeout,
            segment_entries: limits.segment_entries,
            segment_bytes: SEGMENT_BYTES,
            mirror_deadline: limits.mirror_deadline,
        };
        let clock = config.clock;
        let began = std::time::Instant::now();
        let now = Time { clock: clock.now(), monotonic: Duration::ZERO };
        let (start, readers, wal) = tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&path)?;
            store.bind_agreement(&identity.agreement)?;
            store.defer_wal_checkpoints()?;
            let readers = (0..READERS).map(|_| Store::open_reader(&path)).collect::<Result<Vec<_>, _>>()?;
            let wal = WalCheckpointer::open(&path)?;
            let core = Core::new(identity.clone(), core_config.clone(), store, Box::new(rand_core::OsRng), now)?;
            Ok::<_, StoreError>((driver::Start { identity, config: core_config, core, began }, readers, wal))
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
        let tls = Arc::new(TlsIdentity::new(&config.transport_key, *agreement.hash())?);
        let server = server_config(&tls, directory.values().map(|(k, _)| *k).collect(), &limits.connection)?;
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
        let peers = Peers::new(endpoint.clone(), tls, limits.connection, directory, dialed);
        let readers = readers::Readers::start(readers)?;
        let (commands, inbox) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared::new(agreement, me.id, limits, clock, peers, partners, readers, commands.clone()));
        let core = driver::spawn(start, Arc::downgrade(&shared), tokio::runtime::Handle::current(), inbox, commands)?;

        let mut tasks = JoinSet::new();
        tasks.spawn(serve::accept_loop(Arc::clone(&shared), endpoint.clone()));
        tasks.spawn(checkpoint_wal(wal));
        tasks.spawn(overdue::watch(Arc::downgrade(&shared), config.gossip_interval));
        if config.answer_checks {
            tasks.spawn(checks::answer(Arc::downgrade(&shared), config.gossip_interval));
        }
        let serving = Arc::clone(&shared);
        tasks.spawn(async move {
            while let Some((peer, connection)) = dialed_rx.recv().await {
                tokio::spawn(serve::serve_connection(Arc::clone(&serving), connection, peer));
            }
        });
        Ok(Self {
            shared,
            roster,
            endpoint,
            tasks: std::sync::Mutex::new(tasks),
            core: std::sync::Mutex::new(Some(core)),
        })
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
        let (done, outcome) = oneshot::channel();
        if !self.shared.command(Command::Publish { drafts, key, done }) {
            return Err(NodeError::Stopped);
        }
        Ok(outcome.await.map_err(|_| NodeError::Stopped)??)
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

    /// What happened since `cursor` that a person watching the node wants
    /// to be told of, and the cursor after it (see [`EventCursor`]). Reads
    /// the entries the other logs gained since, and judges the obligations.
    ///
    /// # Errors
    /// On a store failure.
    pub async fn events(&self, cursor: EventCursor) -> Result<(Vec<Event>, EventCursor), NodeError> {
        Ok(events::events(&self.shared, cursor).await?)
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
        Ok(self.shared.with_reader(move |store| store.entry(&log, index)).await?)
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
            let page = self.shared.with_reader(move |store| store.openings(&log, index, None, usize::MAX)).await?;
            let mut found = page.openings.into_iter().map(|(_, o)| o);
            Ok::<_, NodeError>(found.find(|o| o.entry.index == index && o.field == field))
        };
        if let Some(opening) = find().await? {
            return Ok(opening);
        }
        // Not received yet (it is fetched after cosigning): ask the owner now.
        let (done, fetched) = oneshot::channel();
        if self.shared.command(Command::FetchOpenings { owner: owner.clone(), start: index, done }) {
            let _ = fetched.await;
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
        Ok(self.shared.with_reader(move |store| store.snapshot(&path)).await?)
    }

    /// Starts a gossip round with every partner now instead of at the next
    /// interval.
    pub fn gossip_now(&self) {
        self.shared.command(Command::GossipNow);
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
        Ok(self.shared.with_reader(move |store| store.entry_proof(&shared.agreement, roster, &log, index)).await?)
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
        self.shared.command(Command::Stop);
        let core = self.core.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(core) = core {
            // The core ends after what it is handling: its store closes.
            let _ = tokio::task::spawn_blocking(move || core.join()).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

/// Most bytes of entries a witness fetches and checks in one piece (and
/// [`NodeLimits::segment_entries`] most entries): a larger gap to a
/// checkpoint is mirrored segment by segment (spec/transport.md §6.2), so
/// memory stays bounded however far behind the witness is.
const SEGMENT_BYTES: usize = 32 << 20;

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

#[cfg(test)]
mod tests {
    use cbm_log::author::DraftField;
    use cbm_wire::{AgreementId, EntryKind, Label, MediaType, Text, Timestamp, Topic};

    use super::*;
    use crate::ManualClock;
    use crate::local::{LocalAgreement, Terms};

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn notice(text: &str) -> TestResult<Draft> {
        Ok(Draft {
            kind: EntryKind::Notification { topic: Topic::new("notices")? },
            fields: vec![DraftField::Plain {
                label: Label::new("note")?,
                media_type: MediaType::new("text/plain")?,
                value: text.as_bytes().to_vec(),
            }],
        })
    }

    /// The panic policy of a node: a bug that panics the core is reported
    /// (to whoever waits on it), and the core starts again from its store,
    /// so every later command is served as if the node had restarted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_the_core_is_reported_and_the_core_starts_again_from_its_store() -> TestResult {
        let dir = tempfile::tempdir()?;
        let start = Timestamp(1_767_225_600_000);
        let terms = Terms {
            agreement: AgreementId::new("panic-test")?,
            title: Text::new("A core that panics")?,
            schedules: vec![],
            notices: vec![],
            quorum: 1,
            start,
        };
        let mut agreement = LocalAgreement::new(&[("AT", "Atlantis"), ("DE", "Deseret")], terms)?;
        let clock = Arc::new(ManualClock::new(start));
        let config = agreement.node_config(0, dir.path().join("AT.db"), clock, Some(vec![]))?;
        let node = Node::start(config).await?;
        node.publish(vec![notice("before the bug")?]).await?;
        let (done, outcome) = oneshot::channel();
        let publish = Command::Publish { drafts: vec![notice("during the bug")?], key: None, done };
        assert!(node.shared.command(Command::Panic { then: Box::new(publish) }));
        match outcome.await? {
            Err(PublishError::Store(StoreError::Panicked(message))) => assert_eq!(message, "a bug in the core"),
            other => panic!("expected the panic to be reported as one, got {other:?}"),
        }
        let after = node.publish(vec![notice("after the bug")?]).await?;
        assert_eq!(
            after.body.size, 2,
            "the core read its log again from the store, without the publication that panicked"
        );
        let me = node.signatory().clone();
        assert_eq!(node.entry(&me, 1).await?.body.index, 1);
        node.shutdown().await;
        Ok(())
    }
}
