//! The simulation itself: one event queue on a simulated clock, nodes of
//! the real core, the network between them, the faults, and the checks.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::time::Duration;

use cbm_core::{
    Action, Answer, CallFailure, CallId, Core, CoreConfig, Identity, Input, NodeStore, Note, Published, ReplyId,
    Ticket, Time,
};
use cbm_log::agreement::Agreement;
use cbm_log::store::Store;
use cbm_wire::{Cosignature, KeyId, Request, Response, SignatoryId, SignedCheckpoint, SignedRoster, Timestamp, Wire};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::adversary::Byzantine;
use crate::agreement::{EPOCH, Party, agreement, notice};
use crate::invariants::{self, Violation};
use crate::network::{Fate, Network};
use crate::node::{Disk, Return, Role, SimNode, Slot};

/// Events at one simulated instant beyond which a core is taken to loop.
const MAX_EVENTS_PER_INSTANT: u64 = 100_000;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Signatories in the agreement.
    pub signatories: usize,
    /// Cosignatures that settle a checkpoint.
    pub quorum: u32,
    /// Publications each honest signatory makes while faults are on.
    pub publications: u64,
    /// How long faults are on (simulated ms); then the network heals.
    pub chaos_ms: u64,
    /// Gossip rounds after healing within which every honest node must
    /// hold the same view and every equivocation as evidence.
    pub heal_rounds: u64,
    /// Gossip interval (simulated ms).
    pub gossip_interval_ms: u64,
    /// Most gossip rounds a node starts per interval
    /// (`CoreConfig::gossip_fanout`).
    pub gossip_fanout: usize,
    /// The faults.
    pub faults: Faults,
    /// Whether one signatory equivocates.
    pub equivocator: bool,
    /// Whether one signatory withholds its cosignatures.
    pub withholder: bool,
    /// Whether one signatory is Byzantine.
    pub byzantine: bool,
}

/// The faults a run suffers until the network heals.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Latency of a message, drawn uniformly from this range (ms).
    pub latency_ms: (u64, u64),
    /// Chance that a message is lost.
    pub loss: f64,
    /// Chance that a message is delivered twice.
    pub duplication: f64,
    /// Whether nodes are cut off from the others for a while.
    pub partitions: bool,
    /// Whether nodes crash, between events or at a store write, and come back.
    pub crashes: bool,
    /// Most a node's clock is off, either way (ms).
    pub max_skew_ms: u64,
}

impl Faults {
    /// No faults: a network that delivers everything once, in 1–5 ms.
    pub fn none() -> Self {
        Self { latency_ms: (1, 5), loss: 0.0, duplication: 0.0, partitions: false, crashes: false, max_skew_ms: 0 }
    }

    /// Every fault, at rates that keep a run of a minute busy with them.
    pub fn all() -> Self {
        Self {
            latency_ms: (1, 200),
            loss: 0.05,
            duplication: 0.05,
            partitions: true,
            crashes: true,
            max_skew_ms: 120_000,
        }
    }
}

impl Config {
    /// Four signatories — honest, an equivocator, a withholder and a
    /// Byzantine peer among six — through a minute of every fault.
    pub fn faulty() -> Self {
        Self {
            signatories: 6,
            quorum: 2,
            publications: 4,
            chaos_ms: 60_000,
            heal_rounds: 12,
            gossip_interval_ms: 1_000,
            // Fewer than the five partners: each partner's rounds every
            // third interval, staggered, as in an agreement of many.
            gossip_fanout: 2,
            faults: Faults::all(),
            equivocator: true,
            withholder: true,
            byzantine: true,
        }
    }

    /// `n` honest signatories on a network without faults, each publishing
    /// once: for measuring how costs grow with `n`.
    pub fn scale(n: usize) -> Self {
        Self {
            signatories: n,
            quorum: u32::try_from(n * 2 / 3).unwrap_or(u32::MAX).max(1),
            publications: 1,
            chaos_ms: 1,
            heal_rounds: 5,
            gossip_interval_ms: 1_000,
            gossip_fanout: cbm_core::GOSSIP_FANOUT,
            faults: Faults::none(),
            equivocator: false,
            withholder: false,
            byzantine: false,
        }
    }
}

/// What a run came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// BLAKE3 of every message delivered, with its time and endpoints: two
    /// runs of one seed give the same digest.
    pub digest: [u8; 32],
    /// Events handled.
    pub events: u64,
    /// The first property broken, if any.
    pub violation: Option<Violation>,
    /// What it cost.
    pub scale: Scale,
}

/// Costs, for the protocol-level scale curves.
#[derive(Clone, Debug, Default)]
pub struct Scale {
    /// Signatories.
    pub signatories: usize,
    /// Publications acknowledged to operators.
    pub publications: u64,
    /// Messages sent (requests and responses).
    pub messages: u64,
    /// Their encoded bytes.
    pub bytes: u64,
    /// Messages sent by gossip rounds (requests and answers).
    pub gossip_messages: u64,
    /// Gossip rounds from the first publication until every honest log was
    /// held and settled at every honest node, if it came to that (measured
    /// once a round).
    pub rounds_to_settle: Option<f64>,
    /// Gossip rounds from healing until every honest node held one view
    /// and every equivocation as evidence (measured once a round).
    pub rounds_after_heal: Option<f64>,
    /// Messages and bytes sent until everything settled everywhere.
    pub to_settle: (u64, u64),
    /// Messages and bytes per gossip round once everything had settled
    /// (idle gossip), averaged to the end of the run.
    pub idle_per_round: (f64, f64),
    /// Messages the network lost.
    pub lost: u64,
    /// Crashes between events, and power losses at a store write.
    pub crashes: u64,
    /// Power losses that struck.
    pub power_losses: u64,
    /// Cosignatures made.
    pub cosigned: u64,
    /// Items of evidence stored (by any node).
    pub evidence: u64,
}

/// Runs the simulation `config` describes from `seed`.
pub fn run(seed: u64, config: &Config) -> Outcome {
    let simulated = std::panic::catch_unwind(|| {
        let mut world = World::new(seed, config.clone());
        world.run();
        world
    });
    match simulated {
        Ok(world) => Outcome {
            seed,
            digest: *world.digest.finalize().as_bytes(),
            events: world.events,
            violation: world.violation,
            scale: world.scale,
        },
        // A panic in the core or the simulator is a finding of its own,
        // with the seed that replays it.
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let violation = Violation { invariant: "nothing_panics", at_ms: 0, detail: message };
            Outcome { seed, digest: [0; 32], events: 0, violation: Some(violation), scale: Scale::default() }
        }
    }
}

/// Something that happens at a simulated time.
#[derive(Debug)]
enum Event {
    /// A message arrives at a core.
    Deliver { node: usize, slot: usize, life: u64, message: Box<Message> },
    /// A core's timer.
    Timer { node: usize, slot: usize, at: u64 },
    /// A core's `Input::Continue`.
    Continue { node: usize, slot: usize, life: u64 },
    /// An operator publishes.
    Publish { node: usize, slot: usize },
    /// A node crashes (its every core).
    Crash { node: usize, kind: CrashKind },
    /// A crashed node comes back.
    Restart { node: usize },
    /// A node is cut off, or let back.
    Cut { node: usize, cut: bool },
    /// The Byzantine peer's turn.
    Mischief { node: usize },
    /// The Byzantine peer sends a response it held back.
    Respond { node: usize, ret: Return, response: Box<Response> },
    /// Faults stop.
    Heal,
    /// Measure whether everything settled.
    Measure,
    /// The run ends.
    End,
}

/// How a node crashes.
#[derive(Clone, Copy, Debug)]
enum CrashKind {
    /// Between two events.
    Now,
    /// At its next, second or third store write: that write and everything
    /// the input it was in asked for are lost.
    PowerLoss,
    /// Right after its next input: what that input committed stays, what it
    /// asked the driver to do (replies, calls, acknowledgements) is lost.
    AfterInput,
}

/// A message between cores.
#[derive(Debug)]
pub(crate) enum Message {
    /// A request, and where its answer goes.
    Request { from: usize, ret: Return, request: Request },
    /// The answer to a call.
    Response { call: CallId, response: Response },
}

/// An event in the queue, ordered by time, then by when it was queued.
struct Queued {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub(crate) struct World {
    config: Config,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    pub(crate) agreement: Agreement,
    /// The adopted roster, for the bundles audited at the end.
    roster: SignedRoster,
    parties: Vec<Party>,
    pub(crate) nodes: Vec<SimNode>,
    network: Network,
    byzantine: Byzantine,
    digest: blake3::Hasher,
    events: u64,
    violation: Option<Violation>,
    scale: Scale,
    /// The first publication's time, for measuring settlement.
    first_publication: Option<u64>,
    healed: bool,
    /// When the network healed.
    healed_at: Option<u64>,
    /// When everything first settled everywhere.
    settled_at: Option<u64>,
}

impl World {
    fn new(seed: u64, config: Config) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (agreement, roster, parties) = agreement(config.signatories, config.quorum, &mut rng);
        let n = config.signatories;
        let mut roles = vec![Role::Honest; n];
        let mut special = (1..n).rev();
        for (wanted, role) in [
            (config.equivocator, Role::Equivocator),
            (config.withholder, Role::Withholder),
            (config.byzantine, Role::Byzantine),
        ] {
            if wanted && let Some(index) = special.next() {
                roles[index] = role;
            }
        }
        let ids: Vec<SignatoryId> = parties.iter().map(|p| p.id.clone()).collect();
        let mut nodes = Vec::new();
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (index, role) in roles.iter().enumerate() {
            let skew = skew(&mut rng, config.faults.max_skew_ms);
            let others: Vec<usize> = (0..n).filter(|&i| i != index).collect();
            let second_view: Vec<usize> = others.iter().copied().filter(|i| i % 2 == 1).collect();
            let slots = match role {
                Role::Byzantine => Vec::new(),
                Role::Equivocator => {
                    let first = others.iter().filter(|i| !second_view.contains(i)).map(|&i| ids[i].clone()).collect();
                    let second = second_view.iter().map(|&i| ids[i].clone()).collect();
                    vec![slot(run, index, 0, first), slot(run, index, 1, second)]
                }
                Role::Honest | Role::Withholder => {
                    vec![slot(run, index, 0, others.iter().map(|&i| ids[i].clone()).collect())]
                }
            };
            nodes.push(SimNode { id: ids[index].clone(), role: *role, slots, skew, second_view });
        }
        let byzantine = Byzantine::new(roles.iter().position(|r| *r == Role::Byzantine));
        let scale = Scale { signatories: n, ..Scale::default() };
        // Each seed draws how lossy its network is: a tenth, once, or four
        // times the configured rates.
        let mut faults = config.faults;
        let level = [0.1, 1.0, 4.0][(rng.next_u64() % 3) as usize];
        faults.loss = (faults.loss * level).min(0.5);
        faults.duplication = (faults.duplication * level).min(0.5);
        let network = Network::new(faults);
        let mut world = Self {
            config,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            agreement,
            roster,
            parties,
            nodes,
            network,
            byzantine,
            digest: blake3::Hasher::new(),
            events: 0,
            violation: None,
            scale,
            first_publication: None,
            healed: false,
            healed_at: None,
            settled_at: None,
        };
        world.plan();
        world
    }

    /// Starts every core and puts the run's events on the queue.
    fn plan(&mut self) {
        for node in 0..self.nodes.len() {
            for slot in 0..self.nodes[node].slots.len() {
                self.start_core(node, slot);
            }
        }
        let chaos = self.config.chaos_ms;
        for node in 0..self.nodes.len() {
            let role = self.nodes[node].role;
            for slot in 0..self.nodes[node].slots.len() {
                for _ in 0..self.config.publications {
                    let at = 1 + self.rng.next_u64() % chaos.max(1);
                    self.schedule(at, Event::Publish { node, slot });
                }
            }
            if role == Role::Byzantine {
                self.schedule(self.config.gossip_interval_ms / 2, Event::Mischief { node });
            }
            let faults = self.config.faults;
            if faults.crashes && role != Role::Byzantine {
                let crashes = self.rng.next_u64() % 3;
                for _ in 0..crashes {
                    let at = self.rng.next_u64() % chaos.max(1);
                    let kind = [CrashKind::Now, CrashKind::PowerLoss, CrashKind::AfterInput]
                        [(self.rng.next_u64() % 3) as usize];
                    self.schedule(at, Event::Crash { node, kind });
                }
            }
            if faults.partitions && self.rng.next_u64().is_multiple_of(2) {
                // Cut off for up to 20 s, some until the network heals.
                let at = self.rng.next_u64() % chaos.max(1);
                let length = 1_000 + self.rng.next_u64() % 20_000;
                self.schedule(at, Event::Cut { node, cut: true });
                self.schedule((at + length).min(chaos), Event::Cut { node, cut: false });
            }
        }
        self.schedule(chaos, Event::Heal);
        self.schedule(self.config.gossip_interval_ms, Event::Measure);
        let end = chaos + self.config.heal_rounds * self.config.gossip_interval_ms;
        self.schedule(end, Event::End);
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued { at, seq: self.seq, event }));
    }

    fn run(&mut self) {
        let mut at_this_instant = 0u64;
        while let Some(Reverse(Queued { at, event, .. })) = self.queue.pop() {
            at_this_instant = if at > self.now { 0 } else { at_this_instant + 1 };
            if at_this_instant > MAX_EVENTS_PER_INSTANT {
                self.fail(
                    "time_passes",
                    format!("{MAX_EVENTS_PER_INSTANT} events at {at} ms: a core loops without time passing"),
                );
                return;
            }
            self.now = self.now.max(at);
            self.events += 1;
            let end = matches!(event, Event::End);
            self.handle(event);
            if self.violation.is_some() {
                return;
            }
            if end {
                self.check_liveness();
                self.idle_costs();
                return;
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver { node, slot, life, message } => self.deliver(node, slot, life, *message),
            Event::Timer { node, slot, at } => {
                if self.nodes[node].slots[slot].timer == Some(at) {
                    self.nodes[node].slots[slot].timer = None;
                    self.feed(node, slot, Input::Timeout);
                }
            }
            Event::Continue { node, slot, life } => {
                let s = &mut self.nodes[node].slots[slot];
                if s.life == life && s.continuing {
                    s.continuing = false;
                    self.feed(node, slot, Input::Continue);
                }
            }
            Event::Publish { node, slot } => self.publish(node, slot),
            Event::Crash { node, kind } => self.crash(node, kind),
            Event::Restart { node } => {
                for slot in 0..self.nodes[node].slots.len() {
                    if self.nodes[node].slots[slot].core.is_none() {
                        self.start_core(node, slot);
                    }
                }
            }
            Event::Cut { node, cut } => {
                if !self.healed {
                    self.network.set_cut(node, cut);
                }
            }
            Event::Mischief { node } => {
                if !self.healed {
                    crate::adversary::mischief(self, node);
                    let next = self.now + self.config.gossip_interval_ms / 2 + self.rng.next_u64() % 500;
                    self.schedule(next, Event::Mischief { node });
                }
            }
            Event::Respond { node, ret, response } => self.send_response(node, ret, *response, false),
            Event::Heal => self.heal(),
            Event::Measure => self.measure(),
            Event::End => {}
        }
    }

    /// Ends the faults: partitions close, messages arrive, crashed nodes
    /// come back.
    fn heal(&mut self) {
        self.healed = true;
        self.healed_at = Some(self.now);
        self.network.heal();
        for slot in self.nodes.iter_mut().flat_map(|n| &mut n.slots) {
            slot.power.restore();
            slot.die_after_input = false;
        }
        for node in 0..self.nodes.len() {
            for slot in 0..self.nodes[node].slots.len() {
                if self.nodes[node].slots[slot].core.is_none() {
                    self.start_core(node, slot);
                }
            }
        }
    }

    /// Starts (or restarts) a core from what its disk holds, opened afresh
    /// as a node opens its store at start. A restart may find the node's
    /// clock stepped, back as well as forward (a clock set right while it
    /// was down).
    fn start_core(&mut self, node: usize, slot: usize) {
        if self.nodes[node].slots[slot].core.is_some() {
            return;
        }
        if self.nodes[node].slots[slot].life > 0 && self.config.faults.max_skew_ms > 0 {
            self.nodes[node].skew = self.draw_skew();
        }
        self.nodes[node].slots[slot].power.restore();
        self.nodes[node].slots[slot].die_after_input = false;
        let store = match self.nodes[node].slots[slot].on_disk() {
            Ok(store) => store,
            Err(e) => {
                self.fail("the_store_opens_after_a_crash", format!("{}: {e}", self.nodes[node].id));
                return;
            }
        };
        let party = &self.parties[node];
        let identity = Identity {
            agreement: self.agreement.clone(),
            me: party.id.clone(),
            key_id: KeyId(0),
            signing_key: party.signing_key.clone(),
        };
        let config = CoreConfig {
            partners: self.nodes[node].slots[slot].partners.clone(),
            gossip_interval: Duration::from_millis(self.config.gossip_interval_ms),
            gossip_fanout: self.config.gossip_fanout,
            request_timeout: Duration::from_millis(2_000),
            // Small, so that logs of a few entries are mirrored in segments.
            segment_entries: 3,
            segment_bytes: 32 << 20,
            mirror_deadline: Duration::from_millis(20_000),
        };
        let salts = Box::new(ChaCha8Rng::seed_from_u64(self.rng.next_u64()));
        self.nodes[node].slots[slot].born = self.now;
        let time = self.time(node, slot);
        match Core::new(identity, config, store, salts, time) {
            Ok(core) => {
                let s = &mut self.nodes[node].slots[slot];
                s.core = Some(core);
                self.check_survival(node, slot);
                self.reschedule(node, slot);
            }
            Err(e) => self.fail("the_store_opens_after_a_crash", format!("{}: {e}", self.nodes[node].id)),
        }
    }

    fn draw_skew(&mut self) -> i64 {
        skew(&mut self.rng, self.config.faults.max_skew_ms)
    }

    /// The time as a core of `node` sees it.
    fn time(&self, node: usize, slot: usize) -> Time {
        let clock = (EPOCH.0 + self.now).saturating_add_signed(self.nodes[node].skew);
        let born = self.nodes[node].slots[slot].born;
        Time { clock: Timestamp(clock), monotonic: Duration::from_millis(self.now - born) }
    }

    /// The operator of a core publishes a few notices.
    fn publish(&mut self, node: usize, slot: usize) {
        let s = &mut self.nodes[node].slots[slot];
        if s.core.is_none() {
            return;
        }
        let ticket = Ticket(s.next_ticket);
        s.next_ticket += 1;
        s.pending.insert(ticket, self.now);
        let recipient = self.parties[(node + 1) % self.parties.len()].id.clone();
        let count = 1 + self.rng.next_u64() % 3;
        let base = self.rng.next_u64() % 1_000_000;
        let drafts = (0..count).map(|i| notice(base + i, &recipient)).collect();
        self.first_publication.get_or_insert(self.now);
        self.feed(node, slot, Input::Publish { ticket, drafts, key: None });
    }

    /// Crashes every core of `node`, as `kind` says.
    fn crash(&mut self, node: usize, kind: CrashKind) {
        if self.healed {
            return;
        }
        match kind {
            CrashKind::Now => self.kill(node),
            // The core runs on until its store's power goes.
            CrashKind::PowerLoss => {
                for slot in 0..self.nodes[node].slots.len() {
                    let writes = u32::try_from(self.rng.next_u64() % 3).unwrap_or(0);
                    self.nodes[node].slots[slot].power.fail_after(writes);
                }
            }
            CrashKind::AfterInput => self.nodes[node].slots.iter_mut().for_each(|s| s.die_after_input = true),
        }
    }

    /// Takes every core of `node` down now; it comes back later.
    fn kill(&mut self, node: usize) {
        let mut any = false;
        for slot in &mut self.nodes[node].slots {
            if let Some(core) = slot.core.take() {
                // What it held in memory is gone; its disk keeps what it committed.
                drop(core);
                slot.life += 1;
                slot.timer = None;
                slot.continuing = false;
                slot.replies.clear();
                slot.pending.clear();
                slot.die_after_input = false;
                any = true;
            }
        }
        if any {
            self.scale.crashes += 1;
            let back = self.now + 500 + self.rng.next_u64() % 5_000;
            self.schedule(back, Event::Restart { node });
        }
    }

    /// Feeds `input` to a core and carries out what it asks.
    fn feed(&mut self, node: usize, slot: usize, input: Input) {
        let time = self.time(node, slot);
        let Some(core) = self.nodes[node].slots[slot].core.as_mut() else { return };
        let actions = core.handle(input, time);
        if self.nodes[node].slots[slot].power.lost() {
            // The power went during this input: nothing it asked for
            // happens, and the node is down.
            self.scale.power_losses += 1;
            self.kill(node);
            return;
        }
        if std::mem::take(&mut self.nodes[node].slots[slot].die_after_input) {
            // Down after the input committed, before its actions ran.
            self.kill(node);
            return;
        }
        for action in actions {
            self.act(node, slot, action);
        }
        self.check_after(node, slot);
        self.reschedule(node, slot);
    }

    fn reschedule(&mut self, node: usize, slot: usize) {
        let s = &self.nodes[node].slots[slot];
        let Some(core) = s.core.as_ref() else { return };
        let Some(due) = core.poll_timeout() else { return };
        let at = (s.born + u64::try_from(due.as_millis()).unwrap_or(u64::MAX)).max(self.now);
        if s.timer.is_none_or(|t| at < t) {
            self.nodes[node].slots[slot].timer = Some(at);
            self.schedule(at, Event::Timer { node, slot, at });
        }
    }

    fn act(&mut self, node: usize, slot: usize, action: Action) {
        match action {
            Action::Call { call, to, request } => {
                let life = self.nodes[node].slots[slot].life;
                let ret = Return { node, slot, call, life };
                let Some(request) = self.withhold(node, request) else { return };
                let Some(target) = self.index_of(&to) else { return };
                let gossip = matches!(request, Request::Gossip { .. } | Request::Evidence { .. });
                self.send_request(node, target, ret, request, gossip);
            }
            Action::Reply { reply, response } => self.reply(node, slot, reply, response),
            Action::Published { ticket, outcome } => {
                let s = &mut self.nodes[node].slots[slot];
                s.pending.remove(&ticket);
                match outcome {
                    Ok(Published::New(checkpoint)) => {
                        s.acknowledged.push(checkpoint);
                        self.scale.publications += 1;
                    }
                    Ok(Published::Earlier(_)) => {}
                    Err(e) => {
                        let id = self.nodes[node].id.clone();
                        self.fail("every_publication_an_operator_makes_is_published", format!("{id}: {e}"));
                    }
                }
            }
            Action::Continue => {
                let s = &mut self.nodes[node].slots[slot];
                if !s.continuing {
                    s.continuing = true;
                    let life = s.life;
                    self.schedule(self.now, Event::Continue { node, slot, life });
                }
            }
            Action::Note(Note::Cosigned { .. }) => self.scale.cosigned += 1,
            Action::Note(Note::Evidence { against, .. }) => {
                self.scale.evidence += 1;
                if self.honest_ids().contains(&against) {
                    self.fail(
                        "no_honest_node_is_marked_an_equivocator",
                        format!("{} accused {against}", self.nodes[node].id),
                    );
                }
            }
            _ => {}
        }
    }

    /// What a withholding witness lets out of a request: no pushed
    /// cosignature, and a view without its own cosignatures.
    fn withhold(&self, node: usize, request: Request) -> Option<Request> {
        if self.nodes[node].role != Role::Withholder {
            return Some(request);
        }
        let me = &self.nodes[node].id;
        match request {
            Request::PushCosignature { .. } => None,
            Request::Gossip { checkpoints, cosignatures } => {
                let cosignatures = cosignatures.into_iter().filter(|c| c.body.witness != *me).collect();
                Some(Request::Gossip { checkpoints, cosignatures })
            }
            other => Some(other),
        }
    }

    pub(crate) fn index_of(&self, id: &SignatoryId) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == *id)
    }

    /// Sends `request` from `from` to node `to` over the network.
    pub(crate) fn send_request(&mut self, from: usize, to: usize, ret: Return, request: Request, gossip: bool) {
        self.observe_outgoing(from, &request);
        let bytes = request.encode();
        self.count(bytes.len(), gossip);
        let slot = self.nodes[to].slot_for(from);
        let life = self.nodes[to].slots.get(slot).map_or(0, |s| s.life);
        match self.network.send(from, to, &mut self.rng) {
            Fate::Lost => self.scale.lost += 1,
            Fate::Delivered(delays) => {
                for delay in delays {
                    let request = Request::decode(&bytes).expect("an encoded request decodes");
                    self.record(from, to, &bytes);
                    let message = Box::new(Message::Request { from, ret, request });
                    self.schedule(self.now + delay, Event::Deliver { node: to, slot, life, message });
                }
            }
        }
    }

    /// Sends `response` from node `from` to the caller `ret`.
    pub(crate) fn send_response(&mut self, from: usize, ret: Return, response: Response, gossip: bool) {
        let bytes = response.encode();
        self.count(bytes.len(), gossip);
        match self.network.send(from, ret.node, &mut self.rng) {
            Fate::Lost => self.scale.lost += 1,
            Fate::Delivered(delays) => {
                for delay in delays {
                    let response = Response::decode(&bytes).expect("an encoded response decodes");
                    self.record(from, ret.node, &bytes);
                    let message = Box::new(Message::Response { call: ret.call, response });
                    let event = Event::Deliver { node: ret.node, slot: ret.slot, life: ret.life, message };
                    self.schedule(self.now + delay, event);
                }
            }
        }
    }

    /// Sends `response` from node `from` to the caller `ret`, `delay` ms from now.
    pub(crate) fn send_response_later(&mut self, from: usize, ret: Return, response: Response, delay: u64) {
        self.schedule(self.now + delay, Event::Respond { node: from, ret, response: Box::new(response) });
    }

    fn reply(&mut self, node: usize, slot: usize, reply: ReplyId, response: Response) {
        let Some((ret, _)) = self.nodes[node].slots[slot].replies.remove(&reply) else { return };
        let gossip = matches!(response, Response::Gossip { .. } | Response::Evidence { .. });
        match &response {
            Response::Gossip { checkpoints, cosignatures } => self.observe_view(node, checkpoints, cosignatures),
            Response::Checkpoint { checkpoint: Some(checkpoint) } => {
                self.observe_view(node, std::slice::from_ref(checkpoint), &[]);
            }
            Response::Cosignatures { cosignatures } => self.observe_view(node, &[], cosignatures),
            _ => {}
        }
        let response = match (self.nodes[node].role, response) {
            (Role::Withholder, Response::Gossip { checkpoints, cosignatures }) => {
                let me = self.nodes[node].id.clone();
                let cosignatures = cosignatures.into_iter().filter(|c| c.body.witness != me).collect();
                Response::Gossip { checkpoints, cosignatures }
            }
            (_, response) => response,
        };
        self.send_response(node, ret, response, gossip);
    }

    fn deliver(&mut self, node: usize, slot: usize, life: u64, message: Message) {
        if self.nodes[node].role == Role::Byzantine {
            if let Message::Request { ret, request, .. } = message {
                crate::adversary::answer(self, node, ret, &request);
            } else if let Message::Response { response, .. } = message {
                self.byzantine.remember(response);
            }
            return;
        }
        let s = &mut self.nodes[node].slots[slot];
        if s.life != life || s.core.is_none() {
            return; // sent to an incarnation that is gone
        }
        match message {
            Message::Request { from, ret, request } => {
                let reply = ReplyId(s.next_reply);
                s.next_reply += 1;
                s.replies.insert(reply, (ret, self.now));
                let from = self.nodes[from].id.clone();
                self.feed(node, slot, Input::Request { from, reply, request });
            }
            Message::Response { call, response } => {
                let answer = match response {
                    Response::Error { code, message } => {
                        Err(CallFailure::Refused { code, message: message.to_string() })
                    }
                    other => Ok(Answer::prepare(&self.agreement, other)),
                };
                self.feed(node, slot, Input::Answer { call, answer });
            }
        }
    }

    /// What a core sends is checked as it leaves: checkpoints of its own
    /// log against its log, cosignatures against the tree it holds.
    fn observe_outgoing(&mut self, node: usize, request: &Request) {
        match request {
            Request::PushCheckpoint { checkpoint } => self.observe_view(node, std::slice::from_ref(checkpoint), &[]),
            Request::PushCosignature { cosignature } => self.observe_view(node, &[], std::slice::from_ref(cosignature)),
            Request::Gossip { checkpoints, cosignatures } => self.observe_view(node, checkpoints, cosignatures),
            _ => {}
        }
    }

    fn observe_view(&mut self, node: usize, checkpoints: &[SignedCheckpoint], cosignatures: &[Cosignature]) {
        if !self.nodes[node].signs_honestly() {
            return;
        }
        let me = self.nodes[node].id.clone();
        let own = self.agreement.log_of(&me);
        let Some(store) = self.nodes[node].slots[0].store() else { return };
        let mut broken = None;
        for checkpoint in checkpoints.iter().filter(|c| c.body.log == own) {
            if let Err(e) = invariants::owner_never_signs_inconsistent_checkpoints(store, checkpoint) {
                broken = Some(("owner_never_signs_inconsistent_checkpoints", format!("{me}: {e}")));
            }
        }
        for cosignature in cosignatures.iter().filter(|c| c.body.witness == me) {
            if let Err(e) = invariants::honest_witness_never_cosigns_inconsistent_checkpoints(store, cosignature) {
                broken = Some(("honest_witness_never_cosigns_inconsistent_checkpoints", format!("{me}: {e}")));
            }
        }
        if let Some((invariant, detail)) = broken {
            self.fail(invariant, detail);
        }
        let slot = &mut self.nodes[node].slots[0];
        for checkpoint in checkpoints.iter().filter(|c| c.body.log == own) {
            if !slot.signed.iter().any(|c| c.body == checkpoint.body) {
                slot.signed.push(checkpoint.clone());
            }
        }
        for cosignature in cosignatures.iter().filter(|c| c.body.witness == me) {
            if !slot.cosigned.iter().any(|c| c.body == cosignature.body) {
                slot.cosigned.push(cosignature.clone());
            }
        }
    }

    /// What an honest node has sent it signed, against its store now.
    fn check_history(&self, node: usize) -> Result<(), (&'static str, String)> {
        let me = &self.nodes[node].id;
        let Some(slot) = self.nodes[node].slots.first() else { return Ok(()) };
        let Some(store) = slot.store() else { return Ok(()) };
        for checkpoint in &slot.signed {
            invariants::owner_never_signs_inconsistent_checkpoints(store, checkpoint)
                .map_err(|e| ("owner_never_signs_inconsistent_checkpoints", format!("{me}, later: {e}")))?;
        }
        for cosignature in &slot.cosigned {
            invariants::honest_witness_never_cosigns_inconsistent_checkpoints(store, cosignature)
                .map_err(|e| ("honest_witness_never_cosigns_inconsistent_checkpoints", format!("{me}, later: {e}")))?;
        }
        Ok(())
    }

    /// The check after an input to a core: what it has settled. (Evidence
    /// it stores is checked as it reports it, and all it holds at every
    /// restart and at the end.)
    fn check_after(&mut self, node: usize, slot: usize) {
        if !self.nodes[node].signs_honestly() {
            return;
        }
        let s = &mut self.nodes[node].slots[slot];
        let Some(core) = s.core.as_ref() else { return };
        let settled =
            invariants::a_settled_checkpoint_stays_settled(&self.agreement, core.store().reader(), &mut s.settled);
        if let Err(e) = settled {
            let id = self.nodes[node].id.clone();
            self.fail("a_settled_checkpoint_stays_settled", format!("{id}: {e}"));
        }
    }

    /// After a restart: every acknowledged publication is still there, and
    /// no evidence held accuses an honest signatory.
    fn check_survival(&mut self, node: usize, slot: usize) {
        let honest = self.honest_ids();
        let s = &self.nodes[node].slots[slot];
        let Some(store) = s.store() else { return };
        let id = self.nodes[node].id.clone();
        if let Err(e) = invariants::acknowledged_entries_survive_crashes(store, &s.acknowledged) {
            self.fail("acknowledged_entries_survive_crashes", format!("{id}: {e}"));
        } else if let Err(e) = invariants::no_honest_node_is_marked_an_equivocator(&self.agreement, store, &honest) {
            self.fail("no_honest_node_is_marked_an_equivocator", format!("{id}: {e}"));
        } else if self.nodes[node].signs_honestly()
            && let Err((invariant, detail)) = self.check_history(node)
        {
            self.fail(invariant, detail);
        }
    }

    /// Once healed and the bound has passed: one view everywhere, the
    /// equivocation known everywhere, every request answered, and every
    /// honest node's record a valid bundle.
    fn check_liveness(&mut self) {
        self.check_answers();
        if let Err(e) = self.every_honest_record_audits_valid() {
            self.fail("every_honest_record_audits_valid", e);
            return;
        }
        if std::env::var_os("CBM_SIM_DEBUG").is_some() {
            for n in &self.nodes {
                for (i, slot) in n.slots.iter().enumerate() {
                    let Some(store) = slot.store() else { continue };
                    let sizes: Vec<String> = self
                        .nodes
                        .iter()
                        .map(|o| {
                            let log = self.agreement.log_of(&o.id);
                            format!("{}:{}", o.id, store.size(&log).unwrap_or(0))
                        })
                        .collect();
                    let evidence = store.evidence().map(|e| e.len()).unwrap_or(0);
                    eprintln!("{} {:?} slot {i}: {} evidence {evidence}", n.id, n.role, sizes.join(" "));
                }
            }
        }
        let stores: Vec<(&SignatoryId, &Store)> = self
            .nodes
            .iter()
            .filter(|n| n.signs_honestly())
            .filter_map(|n| Some((&n.id, n.slots[0].store()?)))
            .collect();
        let owners: BTreeSet<SignatoryId> =
            self.nodes.iter().filter(|n| n.signs_honestly()).map(|n| n.id.clone()).collect();
        let mut broken = invariants::honest_nodes_converge(&self.agreement, &stores, &owners)
            .err()
            .map(|e| ("honest_nodes_converge", e));
        if broken.is_none()
            && let Some(equivocator) = self.nodes.iter().find(|n| n.role == Role::Equivocator)
            && self.equivocated(&equivocator.id)
        {
            broken = invariants::equivocation_becomes_evidence_everywhere(&self.agreement, &stores, &equivocator.id)
                .err()
                .map(|e| ("equivocation_becomes_evidence_everywhere", e));
        }
        for node in (0..self.nodes.len()).filter(|&n| self.nodes[n].signs_honestly()) {
            if broken.is_none() {
                broken = self.check_history(node).err();
            }
        }
        let honest = self.honest_ids();
        for slot in self.nodes.iter().filter(|n| n.signs_honestly()).flat_map(|n| &n.slots) {
            let Some(store) = slot.store() else { continue };
            if broken.is_some() {
                break;
            }
            if let Err(e) = invariants::acknowledged_entries_survive_crashes(store, &slot.acknowledged) {
                broken = Some(("acknowledged_entries_survive_crashes", e));
            } else if let Err(e) = invariants::no_honest_node_is_marked_an_equivocator(&self.agreement, store, &honest)
            {
                broken = Some(("no_honest_node_is_marked_an_equivocator", e));
            }
        }
        if let Some((invariant, detail)) = broken {
            self.fail(invariant, detail);
        }
    }

    /// Exports each honest node's store as a bundle and audits it, pinned
    /// to the agreement: none may be invalid (findings are the protocol
    /// working).
    fn every_honest_record_audits_valid(&self) -> Result<(), String> {
        let now = Timestamp(EPOCH.0 + self.now);
        for node in self.nodes.iter().filter(|n| n.signs_honestly()) {
            let Some(store) = node.slots[0].store() else { continue };
            let (bundle, _) = store
                .export(&self.agreement, self.roster.clone(), Vec::new(), true, now, |_| {})
                .map_err(|e| format!("{}: its store does not export: {e}", node.id))?;
            let report = cbm_log::audit::audit(bundle.as_slice(), Some(self.agreement.hash()), now, |_| {});
            if report.verdict == cbm_log::audit::Verdict::Invalid {
                return Err(format!("{}'s record audits invalid: {}", node.id, report.problems.join("; ")));
            }
        }
        Ok(())
    }

    /// Whether the equivocator's two cores signed different trees: both
    /// published, so their logs differ from the first entry on.
    fn equivocated(&self, equivocator: &SignatoryId) -> bool {
        let Some(node) = self.nodes.iter().find(|n| &n.id == equivocator) else { return false };
        let log = self.agreement.log_of(equivocator);
        let heads: Vec<_> =
            node.slots.iter().filter_map(|s| s.store()?.latest_checkpoint(&log).ok().flatten()).collect();
        heads.len() == 2
    }

    /// Measures, every gossip round, whether every honest log is held and
    /// settled at every honest node (a scale run's convergence), and after
    /// healing, how soon the liveness properties hold.
    fn measure(&mut self) {
        self.check_answers();
        if self.scale.rounds_to_settle.is_some() && self.scale.rounds_after_heal.is_some() {
            return;
        }
        let stores: Vec<(&SignatoryId, &Store)> = self
            .nodes
            .iter()
            .filter(|n| n.signs_honestly())
            .filter_map(|n| Some((&n.id, n.slots[0].store()?)))
            .collect();
        let owners: BTreeSet<SignatoryId> =
            self.nodes.iter().filter(|n| n.signs_honestly()).map(|n| n.id.clone()).collect();
        let round = self.config.gossip_interval_ms as f64;
        let published = self.nodes.iter().flat_map(|n| &n.slots).all(|s| s.pending.is_empty());
        if self.scale.rounds_to_settle.is_none()
            && published
            && let Some(first) = self.first_publication
            && invariants::settled_everywhere(&self.agreement, &stores, &owners)
        {
            self.scale.rounds_to_settle = Some((self.now - first) as f64 / round);
            self.scale.to_settle = (self.scale.messages, self.scale.bytes);
            self.settled_at = Some(self.now);
        }
        if let Some(healed) = self.healed_at
            && self.scale.rounds_after_heal.is_none()
        {
            let converged = invariants::honest_nodes_converge(&self.agreement, &stores, &owners).is_ok();
            let caught =
                self.nodes.iter().find(|n| n.role == Role::Equivocator).filter(|e| self.equivocated(&e.id)).is_none_or(
                    |e| invariants::equivocation_becomes_evidence_everywhere(&self.agreement, &stores, &e.id).is_ok(),
                );
            if converged && caught {
                self.scale.rounds_after_heal = Some((self.now - healed) as f64 / round);
            }
        }
        self.schedule(self.now + self.config.gossip_interval_ms, Event::Measure);
    }

    /// Every request a live honest core took is answered, and every
    /// publication, within a second: the core answers requests as it takes
    /// them (pushed cosignatures with the group stored next).
    fn check_answers(&mut self) {
        let mut broken = None;
        for node in self.nodes.iter().filter(|n| n.signs_honestly()) {
            for slot in node.slots.iter().filter(|s| s.core.is_some()) {
                if let Some((reply, (_, since))) = slot.replies.iter().find(|(_, (_, t))| self.now - t > 1_000) {
                    let detail = format!("{}: request {reply:?} waits since {since} ms", node.id);
                    broken = Some(("every_request_is_answered", detail));
                } else if let Some((ticket, since)) = slot.pending.iter().find(|(_, t)| self.now - **t > 1_000) {
                    let detail = format!("{}: publication {ticket:?} waits since {since} ms", node.id);
                    broken = Some(("every_publication_is_answered", detail));
                }
            }
        }
        if let Some((invariant, detail)) = broken {
            self.fail(invariant, detail);
        }
    }

    /// What gossip cost per round after everything settled.
    fn idle_costs(&mut self) {
        let Some(settled) = self.settled_at.filter(|t| *t < self.now) else { return };
        let rounds = (self.now - settled) as f64 / self.config.gossip_interval_ms as f64;
        let (messages, bytes) = self.scale.to_settle;
        self.scale.idle_per_round =
            ((self.scale.messages - messages) as f64 / rounds, (self.scale.bytes - bytes) as f64 / rounds);
    }

    pub(crate) fn honest_ids(&self) -> BTreeSet<SignatoryId> {
        self.nodes.iter().filter(|n| n.signs_honestly()).map(|n| n.id.clone()).collect()
    }

    fn count(&mut self, bytes: usize, gossip: bool) {
        self.scale.messages += 1;
        self.scale.bytes += bytes as u64;
        if gossip {
            self.scale.gossip_messages += 1;
        }
    }

    fn record(&mut self, from: usize, to: usize, bytes: &[u8]) {
        self.digest.update(&self.now.to_be_bytes());
        self.digest.update(&(from as u64).to_be_bytes());
        self.digest.update(&(to as u64).to_be_bytes());
        self.digest.update(bytes);
    }

    fn fail(&mut self, invariant: &'static str, detail: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation { invariant, at_ms: self.now, detail });
        }
    }

    /// The Byzantine peer's signing key and id.
    pub(crate) fn party(&self, node: usize) -> &Party {
        &self.parties[node]
    }

    pub(crate) fn byzantine(&mut self) -> &mut Byzantine {
        &mut self.byzantine
    }

    /// Nodes that run a core (for the Byzantine peer to pester).
    pub(crate) fn targets(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].role != Role::Byzantine).collect()
    }

    /// The pending calls a core of `node` made to the Byzantine peer are
    /// answered through here.
    pub(crate) fn is_cut(&self, node: usize) -> bool {
        self.network.is_cut(node)
    }
}

/// Simulations started in this process, to name their disks apart.
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Core `index` of node `node` of run `run`, on an empty disk, gossiping
/// with `partners`.
fn slot(run: u64, node: usize, index: usize, partners: Vec<SignatoryId>) -> Slot {
    let disk = Disk::new(&format!("cbm-sim-{run}-{node}-{index}")).expect("an in-memory disk opens");
    Slot::new(disk, partners).expect("an in-memory store opens")
}

/// A clock skew of up to `max_ms` either way.
fn skew(rng: &mut ChaCha8Rng, max_ms: u64) -> i64 {
    if max_ms == 0 {
        return 0;
    }
    let span = max_ms * 2 + 1;
    i64::try_from(rng.next_u64() % span).unwrap_or(0) - i64::try_from(max_ms).unwrap_or(0)
}
