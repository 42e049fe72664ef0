//! Gossip (spec/transport.md §6.3): nodes trade the newest checkpoints they
//! hold of every log, with their cosignatures, and their evidence. A node
//! that was shown one tree compares it with what others were shown, so a
//! split view cannot stay hidden from anyone who gossips.
//!
//! Each partner has its own round: every [`crate::CoreConfig::gossip_interval`]
//! the node sends it its view and asks for a page of its evidence; the
//! round ends when both are answered (or time out), and the next one
//! starts an interval later. A partner that is down delays nobody else.
//! With more partners than [`crate::CoreConfig::gossip_fanout`], each
//! partner's rounds come every ⌈partners / fanout⌉ intervals instead, their
//! first ones spread over that cycle: a node starts at most about `fanout`
//! rounds an interval, however many signatories there are.

use std::collections::BTreeMap;

use cbm_log::evidence::{log_and_kind, verify_evidence};
use cbm_log::store::{MAX_EVIDENCE_PER_LOG_AND_KIND, ReadStore, StoreError};
use cbm_wire::{
    Cosignature, Digest, EquivocationEvidence, LogId, Request, Response, SignatoryId, SignedCheckpoint, Wire,
};

use crate::io::{Action, Answer, CallFailure, Note, ReplyId, Time};
use crate::serve::{fit_frame, store_error};
use crate::store::NodeStore;
use crate::{Core, Purpose};

/// Checkpoints of each log a deep gossip view carries, newest first: with
/// their cosignatures, so that a receipt given just before a newer
/// checkpoint was signed still reaches every node.
pub const DEEP_CHECKPOINTS: usize = 4;

/// Every this many rounds with a partner, the node sends a deep view; the
/// other rounds, and answers, carry each log's newest checkpoint only.
pub const DEEP_EVERY: u64 = 5;

/// One gossip partner's rounds.
#[derive(Debug)]
pub(crate) struct Partner {
    /// When the next round starts (monotonic time).
    next_round: std::time::Duration,
    /// Rounds started.
    rounds: u64,
    /// Where the next page of the partner's evidence starts.
    evidence_after: Option<Digest>,
    /// Whether the last round reached it.
    reachable: Option<bool>,
    /// The round in flight.
    round: Option<Round>,
    /// Asked for a round now while one was in flight: the next starts as
    /// soon as it ends.
    wanted_now: bool,
}

/// A round in flight: the answers still awaited, and the first failure.
#[derive(Debug)]
struct Round {
    waiting: u8,
    failure: Option<String>,
}

/// Intervals between two rounds with one partner, for `partners` partners
/// and at most `fanout` rounds started per interval: ⌈partners / fanout⌉,
/// at least 1.
pub(crate) fn cycle(partners: usize, fanout: usize) -> usize {
    partners.div_ceil(fanout.max(1)).max(1)
}

impl Partner {
    /// A partner whose first round is due `after` `time`.
    pub(crate) fn new(time: Time, after: std::time::Duration) -> Self {
        Self {
            next_round: time.monotonic + after,
            rounds: 0,
            evidence_after: None,
            reachable: None,
            round: None,
            wanted_now: false,
        }
    }

    /// When the next round is due, unless one is in flight.
    pub(crate) fn due(&self) -> Option<std::time::Duration> {
        self.round.is_none().then_some(self.next_round)
    }
}

impl<S: NodeStore> Core<S> {
    /// Starts every round that is due.
    pub(crate) fn gossip_rounds(&mut self, time: Time) {
        let due: Vec<SignatoryId> = self
            .partners
            .iter()
            .filter(|(_, p)| p.due().is_some_and(|at| at <= time.monotonic))
            .map(|(id, _)| id.clone())
            .collect();
        for peer in due {
            self.start_round(peer, time);
        }
    }

    /// Makes a round with every partner due now.
    pub(crate) fn gossip_now(&mut self, time: Time) {
        for partner in self.partners.values_mut() {
            partner.next_round = partner.next_round.min(time.monotonic);
            partner.wanted_now |= partner.round.is_some();
        }
        self.gossip_rounds(time);
    }

    fn start_round(&mut self, peer: SignatoryId, time: Time) {
        let Some(partner) = self.partners.get_mut(&peer) else { return };
        let depth = if partner.rounds % DEEP_EVERY == 0 { DEEP_CHECKPOINTS } else { 1 };
        partner.rounds += 1;
        partner.round = Some(Round { waiting: 2, failure: None });
        let after = partner.evidence_after;
        match self.our_view(depth) {
            Ok((checkpoints, cosignatures)) => {
                let request = Request::Gossip { checkpoints, cosignatures };
                self.call(peer.clone(), request, Purpose::Gossip { peer: peer.clone() }, time);
            }
            Err(e) => {
                self.note(Note::store(&e));
                self.round_part_done(&peer, Some(format!("our view could not be read: {e}")), time);
            }
        }
        self.call(peer.clone(), Request::Evidence { after }, Purpose::EvidencePage { peer }, time);
    }

    /// The partner answered our view with its own.
    pub(crate) fn gossip_answer(&mut self, peer: &SignatoryId, answer: Result<Answer, CallFailure>, time: Time) {
        let failure = match answer {
            Ok(Answer::Response(Response::Gossip { checkpoints, cosignatures })) => {
                self.take_view(peer, checkpoints, cosignatures, time);
                None
            }
            Ok(_) => Some("unexpected answer to gossip".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        self.round_part_done(peer, failure, time);
    }

    /// The partner answered with a page of its evidence.
    pub(crate) fn evidence_answer(&mut self, peer: &SignatoryId, answer: Result<Answer, CallFailure>, time: Time) {
        let failure = match answer {
            Ok(Answer::Response(Response::Evidence { evidence })) => {
                let next = evidence.last().map(|item| Digest(*blake3::hash(&item.encode()).as_bytes()));
                match self.take_evidence(evidence) {
                    Ok(()) => {
                        // The cursor moves once the page is stored: from
                        // after its last item, or back to the first once a
                        // page comes back empty.
                        if let Some(partner) = self.partners.get_mut(peer) {
                            partner.evidence_after = next;
                        }
                        None
                    }
                    Err(e) => {
                        self.note(Note::store(&e));
                        Some(format!("its evidence could not be stored: {e}"))
                    }
                }
            }
            Ok(_) => Some("unexpected answer to an evidence request".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        self.round_part_done(peer, failure, time);
    }

    /// One of a round's two answers is in; with both, the round ends.
    fn round_part_done(&mut self, peer: &SignatoryId, failure: Option<String>, time: Time) {
        let cycle = u32::try_from(cycle(self.partners.len(), self.config.gossip_fanout)).unwrap_or(u32::MAX);
        let interval = self.config.gossip_interval * cycle;
        let Some(partner) = self.partners.get_mut(peer) else { return };
        let Some(round) = partner.round.as_mut() else { return };
        round.waiting = round.waiting.saturating_sub(1);
        if round.failure.is_none() {
            round.failure = failure;
        }
        if round.waiting > 0 {
            return;
        }
        let failure = partner.round.take().and_then(|r| r.failure);
        let before = partner.reachable.replace(failure.is_none());
        partner.next_round =
            if std::mem::take(&mut partner.wanted_now) { time.monotonic } else { time.monotonic + interval };
        self.note(Note::Contact { peer: peer.clone(), failure, before, at: time.clock });
    }

    /// A partner's gossip request: answered with our view (each log's
    /// newest checkpoint), then its view taken in.
    pub(crate) fn answer_gossip(
        &mut self,
        from: &SignatoryId,
        reply: ReplyId,
        checkpoints: Vec<SignedCheckpoint>,
        cosignatures: Vec<Cosignature>,
        time: Time,
    ) {
        let response = match self.our_view(1) {
            Ok((checkpoints, cosignatures)) => Response::Gossip { checkpoints, cosignatures },
            Err(e) => {
                self.note(Note::store(&e));
                store_error(&e)
            }
        };
        self.out.push(Action::Reply { reply, response });
        self.take_view(from, checkpoints, cosignatures, time);
    }

    /// The `depth` newest checkpoints held of every log of the agreement and
    /// their cosignatures, within one frame: the newest checkpoint of every
    /// log and its cosignatures come first, so they are the last left out.
    fn our_view(&self, depth: usize) -> Result<(Vec<SignedCheckpoint>, Vec<Cosignature>), StoreError> {
        let budget = self.agreement.roster().limits.max_frame_bytes as usize;
        let store = self.store.reader();
        let (mut newest, mut older) = (Vec::new(), Vec::new());
        let (mut newest_cosignatures, mut older_cosignatures) = (Vec::new(), Vec::new());
        for signatory in &self.agreement.roster().signatories {
            let log = self.agreement.log_of(&signatory.id);
            for (rank, checkpoint) in store.recent_checkpoints(&log, depth)?.into_iter().enumerate() {
                let cosignatures = store.cosignatures_of(&checkpoint.body)?;
                if rank == 0 {
                    newest.push(checkpoint);
                    newest_cosignatures.extend(cosignatures);
                } else {
                    older.push(checkpoint);
                    older_cosignatures.extend(cosignatures);
                }
            }
        }
        newest.append(&mut older);
        newest_cosignatures.append(&mut older_cosignatures);
        let checkpoints = fit_frame(newest, budget);
        let used: usize = checkpoints.iter().map(|c| c.encode().len() + 16).sum();
        Ok((checkpoints, fit_frame(newest_cosignatures, budget.saturating_sub(used))))
    }

    /// Takes in what `source` holds: each checkpoint not held is compared
    /// or mirrored (at most [`DEEP_CHECKPOINTS`] of each log: a view
    /// carries no more); the cosignatures not held, of checkpoints held,
    /// are verified, in order, up to the first that does not verify (an
    /// honest node relays only verified ones), and stored in one commit. So
    /// a view costs at most a few signatures per log, and one per receipt
    /// the node can store, however a peer fills it.
    fn take_view(
        &mut self,
        source: &SignatoryId,
        checkpoints: Vec<SignedCheckpoint>,
        cosignatures: Vec<Cosignature>,
        time: Time,
    ) {
        let mut per_log: BTreeMap<LogId, usize> = BTreeMap::new();
        for checkpoint in checkpoints {
            let taken = per_log.entry(checkpoint.body.log).or_default();
            if *taken == DEEP_CHECKPOINTS {
                continue;
            }
            *taken += 1;
            match self.store.reader().holds_checkpoint(&checkpoint) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    self.note(Note::store(&e));
                    return;
                }
            }
            match self.agreement.verify_checkpoint(&checkpoint) {
                Ok(owner) => {
                    let owner = owner.id.clone();
                    self.on_checkpoint(&owner, checkpoint, source, time);
                }
                Err(e) => self.note(Note::Dropped { log: checkpoint.body.log, why: format!("gossiped: {e}") }),
            }
        }
        let mut new = Vec::new();
        for cosignature in cosignatures {
            let store = self.store.reader();
            let wanted = store
                .holds_receipt(&cosignature)
                .and_then(|held| Ok(!held && store.holds_checkpoint_body(&cosignature.body.checkpoint)?));
            match wanted {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.note(Note::store(&e));
                    return;
                }
            }
            if self.agreement.verify_cosignature(&cosignature).is_err() {
                break;
            }
            new.push(cosignature);
        }
        if new.is_empty() {
            return;
        }
        // One transaction: a newer checkpoint's receipts and older ones
        // become visible together.
        match self.store.add_cosignatures(&new) {
            Ok(outcomes) if outcomes.contains(&Some(true)) => {
                self.note(Note::Changed);
                self.note_settlement();
            }
            Ok(_) => {}
            Err(e) => self.note(Note::store(&e)),
        }
    }

    /// Stores each item of `evidence` that verifies and that the store
    /// wants (not held, its log and kind below the cap). Of one page, at
    /// most the cap's worth of items per log of the roster and kind are
    /// verified, and none once one has failed: a peer's page costs at most
    /// a few signatures per signatory.
    fn take_evidence(&mut self, mut evidence: Vec<EquivocationEvidence>) -> Result<(), StoreError> {
        evidence.retain(|item| self.agreement.owner_of(&log_and_kind(item).0).is_some());
        let mut wanted = Vec::new();
        let mut per_log_and_kind: BTreeMap<(LogId, u8), u64> = BTreeMap::new();
        for item in evidence {
            let taken = per_log_and_kind.entry(log_and_kind(&item)).or_default();
            if *taken < MAX_EVIDENCE_PER_LOG_AND_KIND && self.store.reader().wants_evidence(&item)? {
                *taken += 1;
                wanted.push(item);
            }
        }
        let roster = self.agreement.roster();
        let verified: Vec<_> = wanted
            .into_iter()
            .map_while(|item| verify_evidence(roster, &item).ok().map(|owner| (owner, item)))
            .collect();
        for (owner, item) in verified {
            if self.store.add_evidence(&item)? {
                let out_of_time_order = matches!(item, EquivocationEvidence::OutOfTimeOrder { .. });
                self.note(Note::Evidence { against: owner, out_of_time_order });
                self.note(Note::Changed);
            }
        }
        Ok(())
    }
}
