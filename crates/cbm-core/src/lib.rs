//! # cbm-core
//!
//! The signatory node's protocol (spec/transport.md §6) as a state
//! machine, in the manner of quinn-proto: a [`Core`] is fed [`Input`]s — a
//! peer's request, the answer to a request it made, the operator's
//! declaration, a timer — each with the [`Time`] it happens at, and answers
//! with [`Action`]s — send this request to that peer, reply to that one,
//! report this. It reads and writes its store through [`NodeStore`],
//! whose every write is one durable transaction.
//!
//! It decides everything a node decides:
//!
//! - the owner's append: check the batch, extend the tree, sign the
//!   checkpoint, announce it ([`owner`], spec/log.md §3.4);
//! - what a witness does with a checkpoint: compare one no larger than the
//!   log held with it (and keep the conflict as evidence), or mirror the
//!   log up to it segment by segment, review it with
//!   `cbm_log::witness::review`, cosign it, hand the cosignature over and
//!   fetch the openings addressed to it ([`witness`], spec/log.md §3.3 and
//!   spec/transport.md §6.2);
//! - gossip: when to trade views with each partner, what a view carries,
//!   and what of a partner's view and evidence to take in ([`gossip`],
//!   spec/transport.md §6.3);
//! - grouping the cosignatures peers push into one commit ([`receipts`]);
//! - answering peers' read requests ([`serve`]).
//!
//! It does no I/O of its own: no sockets, no async runtime, no clock (the
//! caller passes the time), no randomness of its own (the caller passes
//! the generator that salts committed fields), and no SQLite (the store is
//! a trait). `cbm-net` drives it with QUIC and SQLite; `cbm-sim` drives it
//! with a simulated network, clock and crash-faithful store, through
//! thousands of seeds.
#![forbid(unsafe_code)]

mod gossip;
mod io;
mod owner;
mod receipts;
pub mod serve;
mod store;
mod witness;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use cbm_log::agreement::Agreement;
use cbm_log::held::{LogFacts, StoreView};
use cbm_log::store::{ReadStore, StoreError};
use cbm_wire::{KeyId, LogId, Request, SignatoryId, SigningKey};
use rand_core::CryptoRngCore;

pub use gossip::{DEEP_CHECKPOINTS, DEEP_EVERY};
pub use io::{Action, Answer, CallFailure, CallId, Input, Note, ReplyId, Ticket, Time};
pub use owner::{IdempotencyKey, PublishError, Published};
pub use store::NodeStore;
pub use witness::MAX_OFFERS;

use self::gossip::Partner;
use self::witness::Mirror;

/// The default [`CoreConfig::gossip_fanout`]: eight partners per interval,
/// every partner every interval in an agreement of nine or fewer.
pub const GOSSIP_FANOUT: usize = 8;

/// How a node paces and bounds its work.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Peers to push to and gossip with.
    pub partners: Vec<SignatoryId>,
    /// Time between gossip rounds with each partner.
    pub gossip_interval: Duration,
    /// Most partners a node starts a gossip round with per interval: with
    /// more partners than this, each partner's rounds come every
    /// ⌈partners / fanout⌉ intervals, staggered, so a node's gossip per
    /// interval does not grow with the number of signatories
    /// (spec/transport.md §6.3).
    pub gossip_fanout: usize,
    /// Longest wait for the answer to a request; also how long a mirror
    /// runs before a checkpoint offered by another source may replace it.
    pub request_timeout: Duration,
    /// Most entries of a peer's log fetched and checked in one piece when
    /// mirroring; a gap to a checkpoint is taken in segments of this size
    /// (or of [`CoreConfig::segment_bytes`]), two in memory at a time.
    pub segment_entries: u64,
    /// Most bytes of entries in one segment.
    pub segment_bytes: usize,
    /// Longest one mirror of a log may run; what it staged by then stays
    /// staged, and the next mirror of the log goes on from there.
    pub mirror_deadline: Duration,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            partners: Vec::new(),
            gossip_interval: Duration::from_secs(10),
            gossip_fanout: GOSSIP_FANOUT,
            request_timeout: Duration::from_secs(10),
            segment_entries: 16_384,
            segment_bytes: 32 << 20,
            mirror_deadline: Duration::from_secs(120),
        }
    }
}

/// Who a node is: its agreement, its signatory, and its signing key.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The adopted agreement.
    pub agreement: Agreement,
    /// The node's signatory.
    pub me: SignatoryId,
    /// The roster's number of its signing key.
    pub key_id: KeyId,
    /// Its signing key.
    pub signing_key: SigningKey,
}

/// Why a request was made, to know what to do with its answer.
#[derive(Debug)]
enum Purpose {
    /// Our new checkpoint pushed to a partner: nothing to do with the answer.
    Announce,
    /// A step of the mirror of a log.
    Mirror { log: LogId, generation: u64, step: witness::Step },
    /// Our cosignature handed to the node that showed us the checkpoint.
    Deliver { owner: SignatoryId, source_is_owner: bool, cosignature: Box<cbm_wire::Cosignature> },
    /// Our cosignature handed to the owner (after the source did not take it).
    DeliverToOwner,
    /// A page of openings addressed to us.
    Openings(witness::OpeningsFetch),
    /// A gossip round's view exchange.
    Gossip { peer: SignatoryId },
    /// A gossip round's page of evidence.
    EvidencePage { peer: SignatoryId },
}

/// A request in flight.
#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    /// When the node stops waiting for its answer.
    deadline: Duration,
}

/// Work put off until [`Input::Continue`].
#[derive(Debug)]
enum Work {
    /// Store the pushed cosignatures waiting, as one group.
    Receipts,
    /// Stage (or review) the next fetched piece of a mirror.
    Mirror { log: LogId, generation: u64 },
}

/// The caller's generator, which salts committed fields.
struct Salts(Box<dyn CryptoRngCore + Send>);

impl rand_core::RngCore for Salts {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl rand_core::CryptoRng for Salts {}

/// A signatory node's protocol state. See the crate documentation.
pub struct Core<S: NodeStore> {
    agreement: Agreement,
    me: SignatoryId,
    key_id: KeyId,
    signing_key: SigningKey,
    config: CoreConfig,
    store: S,
    /// Rotated keys and statuses of the logs held, for the entry rules.
    facts: LogFacts,
    /// Salts committed fields.
    rng: Salts,
    calls: BTreeMap<CallId, Pending>,
    next_call: u64,
    mirrors: BTreeMap<LogId, Mirror>,
    next_generation: u64,
    partners: BTreeMap<SignatoryId, Partner>,
    /// Pushed cosignatures waiting to be stored, with the replies they await.
    receipts: Vec<(ReplyId, cbm_wire::Cosignature)>,
    work: VecDeque<Work>,
    /// Whether an [`Action::Continue`] is out and not yet fed back.
    continue_asked: bool,
    /// The size at which the node's own log was last seen settled.
    settled: u64,
    out: Vec<Action>,
}

impl<S: NodeStore> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me)
            .field("calls", &self.calls.len())
            .field("mirrors", &self.mirrors.len())
            .finish_non_exhaustive()
    }
}

impl<S: NodeStore> Core<S> {
    /// A node of `identity` over `store`, as of `time`: it reads what the
    /// store holds, and gossips with each partner at once.
    ///
    /// # Errors
    /// On a store failure.
    pub fn new(
        identity: Identity,
        config: CoreConfig,
        store: S,
        rng: Box<dyn CryptoRngCore + Send>,
        time: Time,
    ) -> Result<Self, StoreError> {
        let Identity { agreement, me, key_id, signing_key } = identity;
        let facts = LogFacts::load(store.reader(), &agreement)?;
        let chosen: Vec<&SignatoryId> =
            config.partners.iter().filter(|p| **p != me && agreement.roster().signatory(p).is_some()).collect();
        // Each partner's first round in its slot of the cycle, the slots
        // turned by the node's place in the roster so that nodes do not all
        // call the same partners in the same interval.
        let cycle = gossip::cycle(chosen.len(), config.gossip_fanout);
        let place = agreement.roster().signatories.iter().position(|s| s.id == me).unwrap_or(0);
        let partners = chosen
            .into_iter()
            .enumerate()
            .map(|(j, p)| {
                let slot = u32::try_from((j + place) % cycle).unwrap_or(0);
                (p.clone(), Partner::new(time, config.gossip_interval * slot))
            })
            .collect();
        Ok(Self {
            agreement,
            me,
            key_id,
            signing_key,
            config,
            store,
            facts,
            rng: Salts(rng),
            calls: BTreeMap::new(),
            next_call: 0,
            mirrors: BTreeMap::new(),
            next_generation: 0,
            partners,
            receipts: Vec::new(),
            work: VecDeque::new(),
            continue_asked: false,
            settled: 0,
            out: Vec::new(),
        })
    }

    /// The node's agreement.
    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// The node's signatory.
    pub fn signatory(&self) -> &SignatoryId {
        &self.me
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back, ending the node: what it held in memory is
    /// gone, what it committed is in the store (a crash, or a shutdown).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Takes in `input`, which happened at `time`, and says what to do.
    pub fn handle(&mut self, input: Input, time: Time) -> Vec<Action> {
        match input {
            Input::Publish { ticket, drafts, key } => {
                let outcome = self.publish(drafts, key, time);
                self.out.push(Action::Published { ticket, outcome });
            }
            Input::FetchOpenings { ticket, owner, start } => self.fetch_openings(owner, start, Some(ticket), time),
            Input::GossipNow => self.gossip_now(time),
            Input::Request { from, reply, request } => self.request(from, reply, request, time),
            Input::Answer { call, answer } => {
                if let Some(pending) = self.calls.remove(&call) {
                    self.answer(pending.purpose, answer, time);
                }
            }
            Input::Continue => {
                self.continue_asked = false;
                if let Some(work) = self.work.pop_front() {
                    match work {
                        Work::Receipts => self.store_receipts(),
                        Work::Mirror { log, generation } => self.mirror_work(log, generation, time),
                    }
                }
                if !self.work.is_empty() {
                    self.ask_continue();
                }
            }
            Input::Timeout => self.timeout(time),
        }
        std::mem::take(&mut self.out)
    }

    /// When the node next wants [`Input::Timeout`], as a monotonic time
    /// ([`Time::monotonic`]); `None` if it waits for nothing.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let calls = self.calls.values().map(|p| p.deadline);
        let partners = self.partners.values().filter_map(Partner::due);
        let mirrors = self.mirrors.values().flat_map(|m| m.timers(&self.config));
        calls.chain(partners).chain(mirrors).min()
    }

    /// A peer's request: reads are answered from the store; pushes and
    /// gossip are taken in.
    fn request(&mut self, from: SignatoryId, reply: ReplyId, request: Request, time: Time) {
        match request {
            Request::PushCheckpoint { checkpoint } => {
                let response = self.pushed_checkpoint(&from, checkpoint, time);
                self.out.push(Action::Reply { reply, response });
            }
            Request::PushCosignature { cosignature } => self.pushed_cosignature(reply, cosignature),
            Request::Gossip { checkpoints, cosignatures } => {
                self.answer_gossip(&from, reply, checkpoints, cosignatures, time);
            }
            read => {
                let answer = serve::answer_read(self.store.reader(), &self.agreement, &from, &read);
                if let Some((response, failure)) = answer {
                    if let Some(e) = failure {
                        self.note(Note::store(&e));
                    }
                    self.out.push(Action::Reply { reply, response });
                }
            }
        }
    }

    /// The answer to one of our calls, for what it was made.
    fn answer(&mut self, purpose: Purpose, answer: Result<Answer, CallFailure>, time: Time) {
        match purpose {
            Purpose::Announce | Purpose::DeliverToOwner => {}
            Purpose::Mirror { log, generation, step } => self.mirror_answer(log, generation, step, answer, time),
            Purpose::Deliver { owner, source_is_owner, cosignature } => {
                self.delivered(owner, source_is_owner, *cosignature, answer, time);
            }
            Purpose::Openings(fetch) => self.openings_answer(fetch, answer, time),
            Purpose::Gossip { peer } => self.gossip_answer(&peer, answer, time),
            Purpose::EvidencePage { peer } => self.evidence_answer(&peer, answer, time),
        }
    }

    /// Calls whose deadline passed fail; gossip rounds and mirrors due move on.
    fn timeout(&mut self, time: Time) {
        let expired: Vec<CallId> =
            self.calls.iter().filter(|(_, p)| p.deadline <= time.monotonic).map(|(id, _)| *id).collect();
        for call in expired {
            if let Some(pending) = self.calls.remove(&call) {
                let why = format!("no answer within {:?}", self.config.request_timeout);
                self.answer(pending.purpose, Err(CallFailure::Failed(why)), time);
            }
        }
        self.mirror_timers(time);
        self.gossip_rounds(time);
    }

    /// Asks the driver to send `request` to `to`, for `purpose`.
    fn call(&mut self, to: SignatoryId, request: Request, purpose: Purpose, time: Time) -> CallId {
        let call = CallId(self.next_call);
        self.next_call += 1;
        self.calls.insert(call, Pending { purpose, deadline: time.monotonic + self.config.request_timeout });
        self.out.push(Action::Call { call, to, request });
        call
    }

    /// Puts `work` off until [`Input::Continue`].
    fn defer(&mut self, work: Work) {
        self.work.push_back(work);
        self.ask_continue();
    }

    fn ask_continue(&mut self) {
        if !self.continue_asked {
            self.continue_asked = true;
            self.out.push(Action::Continue);
        }
    }

    fn note(&mut self, note: Note) {
        self.out.push(Action::Note(note));
    }

    /// After receipts were stored: tells of the node's own log newly
    /// settled (received by the quorum).
    fn note_settlement(&mut self) {
        let log = self.agreement.log_of(&self.me);
        let threshold = self.agreement.roster().quorum.threshold;
        match self.store.reader().settled_size(&log, threshold) {
            Ok(size) if size > self.settled => {
                self.settled = size;
                self.note(Note::Settled { size });
            }
            Ok(_) => {}
            Err(e) => self.note(Note::store(&e)),
        }
    }

    /// The held logs as the entry rules see them.
    fn view(&self) -> StoreView<'_, S::Reader> {
        StoreView { store: self.store.reader(), agreement: &self.agreement, facts: &self.facts }
    }
}
