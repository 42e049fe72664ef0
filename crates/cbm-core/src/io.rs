//! What goes into a [`crate::Core`] and what comes out: inputs, each with
//! the [`Time`] it happens at, and the actions the driver carries out.

use std::time::Duration;

use cbm_log::author::Draft;
use cbm_log::rules::Prechecked;
use cbm_log::store::StoreError;
use cbm_wire::{ErrorCode, LogId, Request, Response, SignatoryId, Timestamp};

use crate::owner::{IdempotencyKey, PublishError, Published};

/// When an input happens. Two clocks, because they answer two questions:
/// `clock` is the node's idea of the date, which it signs (checkpoint and
/// cosignature times) and judges by (time-order and skew rules);
/// `monotonic` only ever grows and paces the node's own timers (gossip
/// rounds, request and mirror deadlines), so that a clock set forward by a
/// month — as the demo and tests do — does not fire every timer at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    /// The node's clock.
    pub clock: Timestamp,
    /// Time since the driver started, never going back.
    pub monotonic: Duration,
}

/// A request this node made, to match its answer with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// A peer's request the node answers, numbered by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyId(pub u64);

/// An operator's command, numbered by the driver, to match its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// Something that happened, for the node to act on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Input {
    /// The operator publishes `drafts` as one batch (under `key`, if given,
    /// so that a retry publishes nothing twice); answered by
    /// [`Action::Published`].
    Publish {
        /// Matches the outcome.
        ticket: Ticket,
        /// The entries to write, in order.
        drafts: Vec<Draft>,
        /// The publication's idempotency key.
        key: Option<IdempotencyKey>,
    },
    /// The operator wants the openings addressed to this node of `owner`'s
    /// entries from `start` on, now; answered by [`Action::Done`].
    FetchOpenings {
        /// Matches the outcome.
        ticket: Ticket,
        /// Whose log.
        owner: SignatoryId,
        /// The first entry whose openings are wanted.
        start: u64,
    },
    /// Start a gossip round with every partner now.
    GossipNow,
    /// A peer's request, answered by one [`Action::Reply`] with `reply`.
    Request {
        /// The authenticated peer.
        from: SignatoryId,
        /// Matches the reply.
        reply: ReplyId,
        /// What it asks.
        request: Request,
    },
    /// The answer to a request this node made ([`Action::Call`]).
    Answer {
        /// The call answered.
        call: CallId,
        /// What came back, or why nothing did.
        answer: Result<Answer, CallFailure>,
    },
    /// The driver's response to [`Action::Continue`].
    Continue,
    /// A time the node asked for ([`crate::Core::poll_timeout`]) has come.
    Timeout,
}

/// A peer's response as the node takes it in: entries arrive with their
/// signatures already verified, on every core, by the driver
/// ([`Answer::prepare`]), so that the costly part of mirroring a log runs
/// alongside the node's other work rather than inside it.
#[derive(Debug)]
pub enum Answer {
    /// Any response but a page of entries.
    Response(Response),
    /// A page of entries, prechecked.
    Entries(Prechecked),
}

impl Answer {
    /// Takes in `response` under `agreement`: a page of entries is
    /// prechecked (see [`Prechecked::new`]).
    pub fn prepare(agreement: &cbm_log::agreement::Agreement, response: Response) -> Self {
        match response {
            Response::Entries { entries } => Self::Entries(Prechecked::new(agreement, entries)),
            other => Self::Response(other),
        }
    }
}

/// Why a call brought no response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// The peer answered with an error.
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// No answer: unreachable, a broken stream or frame, or too late.
    Failed(String),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { code, message } => write!(f, "refused: {code:?}: {message}"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// What the driver does for the node.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Send `request` to `to` and feed back the [`Input::Answer`] for `call`
    /// (the node gives up on its own after its request timeout).
    Call {
        /// Matches the answer.
        call: CallId,
        /// The peer.
        to: SignatoryId,
        /// What to ask.
        request: Request,
    },
    /// Answer the peer's request numbered `reply`.
    Reply {
        /// The request answered.
        reply: ReplyId,
        /// The response.
        response: Response,
    },
    /// The outcome of [`Input::Publish`].
    Published {
        /// The publication's ticket.
        ticket: Ticket,
        /// What came of it.
        outcome: Result<Published, PublishError>,
    },
    /// The command with this ticket is done.
    Done {
        /// Its ticket.
        ticket: Ticket,
    },
    /// Feed back [`Input::Continue`] once the inputs waiting now are in:
    /// the node put work off, to group it with what arrives meanwhile or to
    /// let the calls it just asked for go out first.
    Continue,
    /// Something to tell the operator or the node's status.
    Note(Note),
}

/// What the node tells whoever runs it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Note {
    /// The store changed: status is worth reading again.
    Changed,
    /// The node published its own log up to `size`.
    Published {
        /// The log's new size.
        size: u64,
    },
    /// The node's own log is settled at `size`: the roster's quorum of
    /// witnesses cosigned (received) it.
    Settled {
        /// The size settled.
        size: u64,
    },
    /// The node cosigned `owner`'s log at `size`.
    Cosigned {
        /// The log's owner.
        owner: SignatoryId,
        /// The size cosigned.
        size: u64,
    },
    /// The node stored evidence against `against`.
    Evidence {
        /// Who signed the conflicting checkpoints.
        against: SignatoryId,
        /// Checkpoints out of time order, rather than a split view.
        out_of_time_order: bool,
    },
    /// A gossip round with `peer` ended.
    Contact {
        /// The partner.
        peer: SignatoryId,
        /// Whether it answered; why not, if it did not.
        failure: Option<String>,
        /// Whether it answered the round before, if there was one.
        before: Option<bool>,
        /// When the round ended, by the node's clock.
        at: Timestamp,
    },
    /// A checkpoint of `log` learnt from a peer was not taken.
    Dropped {
        /// Its log.
        log: LogId,
        /// Why.
        why: String,
    },
    /// The store failed; what the node was doing is dropped.
    StoreFailed(String),
}

impl Note {
    /// The note for a failed store operation.
    pub(crate) fn store(error: &StoreError) -> Self {
        Self::StoreFailed(error.to_string())
    }
}
