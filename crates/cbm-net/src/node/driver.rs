//! The thread that runs the node's protocol core (`cbm_core::Core`): it
//! feeds the core what happens — peers' requests, the answers to its calls,
//! the operator's commands, its timers — and carries out what the core
//! asks: calls to peers over QUIC (each a task on the runtime), replies,
//! outcomes, and what to log. Every decision is the core's; this module
//! only moves bytes and times.
//!
//! The core owns the store's writer connection, so its store work never
//! waits for a lock; peers' reads are served by the reader connections
//! (`super::readers`) alongside it.

use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Instant;

use cbm_core::{
    Action, Answer, CallFailure, CallId, Core, CoreConfig, Identity, Input, Note, PublishError, Published, ReplyId,
    Ticket, Time,
};
use cbm_log::author::Draft;
use cbm_log::store::{Store, StoreError};
use cbm_wire::{ErrorCode, Request, Response, SignatoryId};
use tokio::sync::oneshot;
use tracing::{debug, error, info, warn};

use super::IdempotencyKey;
use super::shared::Shared;
use crate::client::{CallError, call};

/// How often the core's thread, with nothing to do, looks whether the node
/// is gone (dropped without [`super::Node::shutdown`]).
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// What the node's tasks ask of the core's thread.
pub(crate) enum Command {
    /// A peer's request that changes the store (a push, gossip).
    Request { from: SignatoryId, request: Request, reply: oneshot::Sender<Response> },
    /// The operator publishes.
    Publish { drafts: Vec<Draft>, key: Option<IdempotencyKey>, done: oneshot::Sender<Result<Published, PublishError>> },
    /// The operator wants the openings of `owner`'s entries from `start` on.
    FetchOpenings { owner: SignatoryId, start: u64, done: oneshot::Sender<()> },
    /// The answer to a call the core of `epoch` made.
    Answer { epoch: u64, call: CallId, answer: Result<Answer, CallFailure> },
    /// A gossip round with every partner now.
    GossipNow,
    /// Stop, closing the store.
    Stop,
    /// A bug: the core panics while handling `then` (tests of the panic policy).
    #[cfg(test)]
    Panic { then: Box<Command> },
}

/// Who waits for what the core answers.
#[derive(Default)]
struct Waiting {
    replies: BTreeMap<ReplyId, oneshot::Sender<Response>>,
    published: BTreeMap<Ticket, oneshot::Sender<Result<Published, PublishError>>>,
    done: BTreeMap<Ticket, oneshot::Sender<()>>,
    next: u64,
}

impl Waiting {
    fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// What the core's thread is started with: the core, and what to build it
/// again with should it panic.
pub(crate) struct Start {
    pub(crate) identity: Identity,
    pub(crate) config: CoreConfig,
    pub(crate) core: Core<Store>,
    /// The core's monotonic time zero.
    pub(crate) began: Instant,
}

/// Starts the core's thread; commands go to the sender returned.
///
/// # Errors
/// If the store cannot be read or the thread cannot be started.
pub(crate) fn spawn(
    start: Start,
    shared: Weak<Shared>,
    runtime: tokio::runtime::Handle,
    commands: mpsc::Receiver<Command>,
    sender: mpsc::Sender<Command>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("cbm-core".into()).spawn(move || {
        let Some(clock) = shared.upgrade().map(|s| Arc::clone(&s.clock)) else { return };
        let Start { identity, config, mut core, began } = start;
        let time = || Time { clock: clock.now(), monotonic: began.elapsed() };
        // The core is built again from the store after a panic.
        let build =
            |store: Store| Core::new(identity.clone(), config.clone(), store, Box::new(rand_core::OsRng), time());
        let mut driver = Driver {
            shared,
            runtime,
            sender,
            waiting: Waiting::default(),
            queue: VecDeque::new(),
            stopping: false,
            epoch: 0,
            #[cfg(test)]
            panic_next: false,
        };
        while let Some(input) = driver.next_input(&commands, core.poll_timeout(), &began) {
            let ticket = match &input {
                Input::Publish { ticket, .. } => Some(*ticket),
                _ => None,
            };
            let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
                #[cfg(test)]
                if std::mem::take(&mut driver.panic_next) {
                    panic!("a bug in the core");
                }
                core.handle(input, time())
            }));
            match handled {
                Ok(actions) => {
                    let mut resume = false;
                    for action in actions {
                        match action {
                            Action::Continue => resume = true,
                            other => driver.act(other),
                        }
                    }
                    if resume {
                        // After the commands waiting now.
                        driver.drain(&commands);
                        driver.queue.push_back(Input::Continue);
                    }
                }
                Err(payload) => {
                    // A bug. The core's memory may be half changed; the store
                    // holds what was committed. The caller hears of the
                    // panic, and the core starts again from the store as
                    // after a restart: whoever waits on the old core is told
                    // it stopped, and its calls' answers are not taken.
                    let panic = StoreError::panicked(&*payload);
                    error!("the node's core panicked, and starts again from its store: {panic}");
                    if let Some(done) = ticket.and_then(|t| driver.waiting.published.remove(&t)) {
                        let _ = done.send(Err(PublishError::Store(panic)));
                    }
                    driver.forget();
                    match build(core.into_store()) {
                        Ok(again) => core = again,
                        Err(e) => {
                            error!("the node's store could not be read again: {e}");
                            return;
                        }
                    }
                }
            }
        }
    })
}

/// The core's thread, less the core.
struct Driver {
    shared: Weak<Shared>,
    runtime: tokio::runtime::Handle,
    /// The thread's own command channel, for the calls' answers.
    sender: mpsc::Sender<Command>,
    waiting: Waiting,
    /// Inputs taken from the channel ahead of an [`Input::Continue`].
    queue: VecDeque<Input>,
    /// Told to stop.
    stopping: bool,
    /// Bumped when the core is rebuilt after a panic.
    epoch: u64,
    /// The next input is to panic ([`Command::Panic`]).
    #[cfg(test)]
    panic_next: bool,
}

impl Driver {
    /// The next input: the core's timer if it is due (before anything
    /// queued, so a chain of deferred work never starves the timers), one
    /// queued, or a command; `None` once told to stop or once the node is
    /// gone.
    fn next_input(
        &mut self,
        commands: &mpsc::Receiver<Command>,
        timeout: Option<std::time::Duration>,
        began: &Instant,
    ) -> Option<Input> {
        loop {
            if self.stopping || self.shared.strong_count() == 0 {
                return None;
            }
            let wait = timeout.map(|at| at.saturating_sub(began.elapsed()));
            if wait.is_some_and(|w| w.is_zero()) {
                return Some(Input::Timeout);
            }
            if let Some(input) = self.queue.pop_front() {
                return Some(input);
            }
            // Without a timer, wake now and then to see whether the node is gone.
            let patience = wait.unwrap_or(IDLE_CHECK).min(IDLE_CHECK);
            let command = match commands.recv_timeout(patience) {
                Ok(command) => command,
                Err(mpsc::RecvTimeoutError::Timeout) if wait.is_some_and(|w| w <= patience) => {
                    return Some(Input::Timeout);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            };
            if let Some(input) = self.input(command) {
                return Some(input);
            }
        }
    }

    /// After a panic: everyone waiting on the core is told it stopped
    /// (their senders are dropped), and what was queued for it is dropped.
    fn forget(&mut self) {
        self.waiting = Waiting { next: self.waiting.next, ..Waiting::default() };
        self.queue.clear();
        self.epoch += 1;
    }

    /// Queues every command waiting now.
    fn drain(&mut self, commands: &mpsc::Receiver<Command>) {
        while let Ok(command) = commands.try_recv() {
            if let Some(input) = self.input(command) {
                self.queue.push_back(input);
            }
        }
    }

    /// The input a command makes, if any: none for a stop (which marks the
    /// driver stopping) or for an answer to a call of a core since rebuilt.
    fn input(&mut self, command: Command) -> Option<Input> {
        Some(match command {
            Command::Request { from, request, reply } => {
                let id = ReplyId(self.waiting.number());
                self.waiting.replies.insert(id, reply);
                Input::Request { from, reply: id, request }
            }
            Command::Publish { drafts, key, done } => {
                let ticket = Ticket(self.waiting.number());
                self.waiting.published.insert(ticket, done);
                Input::Publish { ticket, drafts, key }
            }
            Command::FetchOpenings { owner, start, done } => {
                let ticket = Ticket(self.waiting.number());
                self.waiting.done.insert(ticket, done);
                Input::FetchOpenings { ticket, owner, start }
            }
            Command::Answer { epoch, call, answer } => {
                if epoch != self.epoch {
                    return None;
                }
                Input::Answer { call, answer }
            }
            Command::GossipNow => Input::GossipNow,
            Command::Stop => {
                self.stopping = true;
                return None;
            }
            #[cfg(test)]
            Command::Panic { then } => {
                self.panic_next = true;
                return self.input(*then);
            }
        })
    }

    /// Carries out one of the core's actions.
    fn act(&mut self, action: Action) {
        match action {
            Action::Call { call, to, request } => self.call(call, to, request),
            Action::Reply { reply, response } => {
                if let Some(waiting) = self.waiting.replies.remove(&reply) {
                    let _ = waiting.send(response);
                }
            }
            Action::Published { ticket, outcome } => {
                if let Some(waiting) = self.waiting.published.remove(&ticket) {
                    let _ = waiting.send(outcome);
                }
            }
            Action::Done { ticket } => {
                if let Some(waiting) = self.waiting.done.remove(&ticket) {
                    let _ = waiting.send(());
                }
            }
            Action::Note(note) => self.note(note),
            _ => {}
        }
    }

    /// Sends `request` to `to` on a task of its own; its answer comes back
    /// as a command, entries prechecked on a blocking thread first.
    fn call(&self, call: CallId, to: SignatoryId, request: Request) {
        let Some(shared) = self.shared.upgrade() else { return };
        let (sender, epoch) = (self.sender.clone(), self.epoch);
        self.runtime.spawn(async move {
            let answer = match ask(&shared, &to, &request).await {
                Ok(Response::Entries { entries }) => {
                    let agreement = shared.agreement.clone();
                    let response = Response::Entries { entries };
                    match tokio::task::spawn_blocking(move || Answer::prepare(&agreement, response)).await {
                        Ok(answer) => Ok(answer),
                        Err(e) => Err(CallFailure::Failed(format!("checking the entries failed: {e}"))),
                    }
                }
                Ok(response) => Ok(Answer::Response(response)),
                Err(CallError::Refused { code, message }) => Err(CallFailure::Refused { code, message }),
                Err(e) => Err(CallFailure::Failed(e.to_string())),
            };
            let _ = sender.send(Command::Answer { epoch, call, answer });
        });
    }

    /// Logs what the operator should hear of, and tells status waiters.
    fn note(&self, note: Note) {
        let Some(shared) = self.shared.upgrade() else { return };
        match note {
            Note::Changed => shared.changed(),
            Note::Published { size } => info!(size, "published"),
            Note::Settled { size } => info!(size, "received by the quorum: our log is settled"),
            Note::Cosigned { owner, size } => info!(log_owner = %owner, size, "cosigned"),
            Note::Evidence { against, out_of_time_order: true } => {
                warn!(log_owner = %against, "checkpoints signed out of time order; evidence stored");
            }
            Note::Evidence { against, out_of_time_order: false } => {
                warn!(equivocator = %against, "split view detected; evidence stored");
            }
            Note::Contact { peer, failure, before, at } => {
                let address = shared.peers.addresses(&peer);
                match (&failure, before) {
                    (None, Some(true)) => {}
                    (None, Some(false)) => info!(%peer, %address, "peer back: gossip answered again"),
                    (None, None) => info!(%peer, %address, "peer reached"),
                    (Some(e), Some(false)) => debug!(%peer, %address, "gossip failed: {e}"),
                    (Some(e), _) => warn!(%peer, %address, "peer unreachable: {e}"),
                }
                shared.note_contact(&peer, failure.is_none(), at);
            }
            Note::Dropped { log, why } => debug!(%log, "checkpoint not taken: {why}"),
            Note::StoreFailed(e) => warn!("store: {e}"),
            _ => {}
        }
    }
}

/// One request to `peer`, on its live connection or a new one. A
/// connection on which a request went unanswered is not used for the next:
/// it may be dead (a peer that restarted), or one the peer does not serve
/// requests on.
async fn ask(shared: &Shared, peer: &SignatoryId, request: &Request) -> Result<Response, CallError> {
    let connection = shared.peers.connect(peer).await?;
    let answer = call(&connection, request, shared.max_frame(), shared.limits.request_timeout).await;
    if matches!(answer, Err(CallError::Timeout(_) | CallError::Connection(_))) {
        shared.peers.forget(peer, &connection);
    }
    answer
}

/// The answer for a request the core could not be asked (it has stopped).
pub(crate) fn stopped() -> Response {
    cbm_core::serve::error(ErrorCode::Internal, "the node is stopping")
}
