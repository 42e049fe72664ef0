//! A simulated signatory: one core (two for an equivocator, none for the
//! Byzantine peer), each over its own store, with the state the simulator
//! keeps around it — its incarnation, its timer, whom its replies go to.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use cbm_core::{CallId, Core, NodeStore, ReplyId, Ticket};
use cbm_log::store::{Store, StoreError};
use cbm_wire::{Cosignature, Digest, EquivocationEvidence, LogId, Opening, SignatoryId, SignedCheckpoint, SignedEntry};

/// How a signatory behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Follows the protocol.
    Honest,
    /// Runs two cores under its keys, each showing its log to half of the
    /// others.
    Equivocator,
    /// Follows the protocol but never hands its cosignatures to anyone.
    Withholder,
    /// Runs no core: pushes forgeries, answers with garbage, replays.
    Byzantine,
}

/// A store whose writes stop at a simulated power loss: the write that
/// meets it, and every one after, fail and change nothing; what was
/// committed before stays, as a real store's would.
pub(crate) struct SimStore {
    store: Store,
    power: Rc<Power>,
}

/// A store's power supply, which the simulator can plan to cut.
#[derive(Debug, Default)]
pub(crate) struct Power {
    /// Writes still allowed before a planned power loss.
    writes_left: Cell<Option<u32>>,
    /// Whether the power is out.
    lost: Cell<bool>,
}

impl Power {
    /// Plans a power loss at the `writes`-th write from now (0: the next).
    pub(crate) fn fail_after(&self, writes: u32) {
        self.writes_left.set(Some(writes));
    }

    /// Whether the power went out.
    pub(crate) fn lost(&self) -> bool {
        self.lost.get()
    }

    /// Power back, nothing planned.
    pub(crate) fn restore(&self) {
        self.writes_left.set(None);
        self.lost.set(false);
    }
}

/// A database that lives in memory under a name, for as long as a
/// connection to it is open: the disk a simulated node's store survives
/// its crashes on.
pub(crate) struct Disk {
    name: String,
    /// Keeps the database while no node has it open.
    _keeper: Store,
}

impl Disk {
    /// A new, empty disk named `name` (unique within the process).
    pub(crate) fn new(name: &str) -> Result<Self, StoreError> {
        let name = format!("file:{name}?mode=memory&cache=shared");
        let keeper = Store::open(std::path::Path::new(&name))?;
        Ok(Self { name, _keeper: keeper })
    }

    /// The store on this disk, opened afresh as a node opens it when it
    /// starts (its schema checked, every log's tree against its latest
    /// checkpoint), powered by `power`.
    pub(crate) fn open(&self, power: &Rc<Power>) -> Result<SimStore, StoreError> {
        Ok(SimStore { store: Store::open(std::path::Path::new(&self.name))?, power: Rc::clone(power) })
    }
}

impl SimStore {
    fn write(&mut self) -> Result<(), StoreError> {
        if let Some(left) = self.power.writes_left.get() {
            if left == 0 {
                self.power.lost.set(true);
            } else {
                self.power.writes_left.set(Some(left - 1));
            }
        }
        if self.power.lost.get() {
            let io = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR);
            return Err(rusqlite::Error::SqliteFailure(io, Some("power lost (simulated)".into())).into());
        }
        Ok(())
    }
}

impl NodeStore for SimStore {
    type Reader = Store;

    fn reader(&self) -> &Store {
        &self.store
    }
    fn append_authored(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        openings: &[(SignatoryId, Opening)],
        key: Option<(&str, &Digest)>,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.store.append_authored(log, entries, checkpoint, openings, key)
    }
    fn stage(&mut self, log: &LogId, entries: &[SignedEntry], target: &SignedCheckpoint) -> Result<(), StoreError> {
        self.write()?;
        self.store.stage(log, entries, target)
    }
    fn append_cosigned(
        &mut self,
        log: &LogId,
        entries: &[SignedEntry],
        checkpoint: &SignedCheckpoint,
        cosignature: &Cosignature,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.store.append_cosigned(log, entries, checkpoint, cosignature)
    }
    fn add_checkpoint(&mut self, checkpoint: &SignedCheckpoint) -> Result<bool, StoreError> {
        self.write()?;
        self.store.add_checkpoint(checkpoint)
    }
    fn add_evidence(&mut self, evidence: &EquivocationEvidence) -> Result<bool, StoreError> {
        self.write()?;
        self.store.add_evidence(evidence)
    }
    fn add_cosignatures(&mut self, cosignatures: &[Cosignature]) -> Result<Vec<Option<bool>>, StoreError> {
        self.write()?;
        self.store.add_cosignatures(cosignatures)
    }
    fn add_opening(&mut self, log: &LogId, recipient: &SignatoryId, opening: &Opening) -> Result<bool, StoreError> {
        self.write()?;
        self.store.add_opening(log, recipient, opening)
    }
}

/// Where a reply goes: the caller's core, its call, and the caller's
/// incarnation (a caller that crashed meanwhile gets nothing).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Return {
    pub(crate) node: usize,
    pub(crate) slot: usize,
    pub(crate) call: CallId,
    pub(crate) life: u64,
}

/// One core of a signatory, up or crashed.
pub(crate) struct Slot {
    /// The core while it runs.
    pub(crate) core: Option<Core<SimStore>>,
    /// Where the store lives, across crashes.
    pub(crate) disk: Disk,
    /// The store's power supply.
    pub(crate) power: Rc<Power>,
    /// Incarnation: bumped at every crash.
    pub(crate) life: u64,
    /// When the current incarnation started (simulated ms).
    pub(crate) born: u64,
    /// The timer scheduled for the core (simulated ms).
    pub(crate) timer: Option<u64>,
    /// Whether an `Input::Continue` is scheduled.
    pub(crate) continuing: bool,
    /// To crash right after its next input, before its actions run.
    pub(crate) die_after_input: bool,
    /// The partners it gossips with.
    pub(crate) partners: Vec<SignatoryId>,
    /// Where each pending reply goes, and since when it is pending.
    pub(crate) replies: BTreeMap<ReplyId, (Return, u64)>,
    pub(crate) next_reply: u64,
    pub(crate) next_ticket: u64,
    /// Publications asked and not answered yet.
    pub(crate) pending: BTreeMap<Ticket, u64>,
    /// Checkpoints of publications acknowledged to the operator.
    pub(crate) acknowledged: Vec<SignedCheckpoint>,
    /// Every checkpoint of its own log and every cosignature it sent: what
    /// it signed, re-checked against its store at every restart and at the
    /// end (a store that lost what was committed would show here).
    pub(crate) signed: Vec<SignedCheckpoint>,
    pub(crate) cosigned: Vec<Cosignature>,
    /// Settled sizes last seen, per log (they may only grow).
    pub(crate) settled: BTreeMap<LogId, u64>,
}

impl Slot {
    pub(crate) fn new(disk: Disk, partners: Vec<SignatoryId>) -> Result<Self, StoreError> {
        Ok(Self {
            core: None,
            disk,
            power: Rc::new(Power::default()),
            life: 0,
            born: 0,
            timer: None,
            continuing: false,
            die_after_input: false,
            partners,
            replies: BTreeMap::new(),
            next_reply: 0,
            next_ticket: 0,
            pending: BTreeMap::new(),
            acknowledged: Vec::new(),
            signed: Vec::new(),
            cosigned: Vec::new(),
            settled: BTreeMap::new(),
        })
    }

    /// The store of a running core.
    pub(crate) fn store(&self) -> Option<&Store> {
        self.core.as_ref().map(|core| core.store().reader())
    }

    /// What the disk holds, up or down: the store opened afresh.
    pub(crate) fn on_disk(&self) -> Result<SimStore, StoreError> {
        self.disk.open(&self.power)
    }
}

/// A simulated signatory.
pub(crate) struct SimNode {
    pub(crate) id: SignatoryId,
    pub(crate) role: Role,
    pub(crate) slots: Vec<Slot>,
    /// How far its clock is off (ms, either way).
    pub(crate) skew: i64,
    /// For an equivocator: which nodes see its second core.
    pub(crate) second_view: Vec<usize>,
}

impl SimNode {
    /// The slot that serves node `from`.
    pub(crate) fn slot_for(&self, from: usize) -> usize {
        usize::from(self.role == Role::Equivocator && self.second_view.contains(&from))
    }

    /// Whether it follows the protocol (the withholder does, but for
    /// withholding: what it signs is honest).
    pub(crate) fn signs_honestly(&self) -> bool {
        matches!(self.role, Role::Honest | Role::Withholder)
    }
}
