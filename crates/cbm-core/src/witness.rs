//! The witness (spec/log.md §3.3, spec/transport.md §6.2): what a node does
//! with a checkpoint of a peer's log that a peer pushed or gossiped.
//!
//! One no larger than the newest checkpoint held needs nothing fetched: it
//! is stored if it agrees with the tree held, and a disagreement is kept as
//! evidence. A larger one is mirrored: the entries the node lacks are
//! fetched from whoever showed it the checkpoint, in segments of at most
//! [`crate::CoreConfig::segment_entries`] entries — each proven a prefix of
//! the checkpoint, checked and staged while the next is fetched — and the
//! last piece is reviewed by `cbm_log::witness::review`, the one pure
//! decision of whether to cosign. A cosignature is stored with the entries
//! in one transaction, then handed to the source and the owner, and the
//! openings addressed to the node are fetched. A tree that does not lead
//! to the checkpoint is a fork: the source's consistency proof makes it
//! evidence.
//!
//! A log has at most one mirror at a time. A checkpoint offered meanwhile
//! waits with the mirror (at most [`MAX_OFFERS`] of them, the largest
//! kept) and is taken up when it ends — compared with the tree then held,
//! or mirrored next; one of the mirror's size with another root is
//! evidence at once. The mirror's own checkpoint offered by another source
//! makes that source an alternative: when its source fails it, or once it
//! has run [`crate::CoreConfig::request_timeout`] on one source, the mirror
//! fetches the rest from the next (and so on, every request timeout, while
//! there are alternatives), keeping every piece it has — so a relay that serves
//! slowly holds a log up for no longer than that, and no source, however
//! often it offers, can make the mirror lose what it fetched. Every mirror
//! ends by [`crate::CoreConfig::mirror_deadline`]; what it staged stays
//! staged.

use std::collections::VecDeque;
use std::time::Duration;

use cbm_log::evidence::{inconsistent, out_of_time_order, same_size};
use cbm_log::rules::Prechecked;
use cbm_log::store::{AppendError, ReadStore, StoreError};
use cbm_log::witness::{Decision, WitnessError, check_segment, review};
use cbm_wire::{
    ConsistencyProof, Cosignature, EquivocationEvidence, ErrorCode, Field, LogId, Request, Response, SignatoryId,
    SignedCheckpoint, TreeHash,
};

use crate::io::{Action, Answer, CallFailure, Note, Ticket, Time};
use crate::serve::error;
use crate::store::NodeStore;
use crate::{Core, CoreConfig, Purpose, Work};

/// Checkpoints of one log offered while it is mirrored that the mirror
/// keeps, to take up when it ends.
pub const MAX_OFFERS: usize = 8;

/// A mirror of one peer log in progress.
#[derive(Debug)]
pub(crate) struct Mirror {
    /// Tells this mirror's answers from those of one it replaced.
    generation: u64,
    owner: SignatoryId,
    /// Who serves the entries now.
    source: SignatoryId,
    /// Others that offered the target, to switch to.
    alternatives: Vec<SignatoryId>,
    /// When the source last changed (monotonic).
    switched: Duration,
    /// Bumped at each switch: answers of an earlier source are ignored.
    fetch: u64,
    /// The checkpoint mirrored to.
    target: SignedCheckpoint,
    /// The newest checkpoint held when the mirror began.
    held: Option<SignedCheckpoint>,
    /// What entries staged before the mirror began were staged toward.
    staged_before: Option<SignedCheckpoint>,
    /// Whether entries beyond `held` are staged (before or by this mirror).
    staged_any: bool,
    /// When it began (monotonic).
    began: Duration,
    /// The pieces being fetched or ready, in order: at most two.
    pieces: VecDeque<Piece>,
    /// Checkpoints offered meanwhile, with who offered them.
    offers: Vec<(SignedCheckpoint, SignatoryId)>,
}

/// A piece of the entries toward the target: a segment (proven a prefix of
/// the target by a consistency proof) or the last piece.
#[derive(Debug)]
struct Piece {
    start: u64,
    /// One past the last entry it will hold.
    to: u64,
    entries: Prechecked,
    state: PieceState,
}

#[derive(Debug)]
enum PieceState {
    /// Pages of entries are being fetched.
    Fetching,
    /// The entries are in; the consistency proof from their end is awaited.
    Proving,
    /// Ready to stage (with its proof) or, as the last piece, to review.
    Ready(Option<ConsistencyProof>),
}

/// What a mirror's call asked for.
#[derive(Debug)]
pub(crate) enum Step {
    /// A page of the entries of the piece starting at `piece`, asked of
    /// the source of switch `fetch`.
    Page { piece: u64, fetch: u64 },
    /// The consistency proof from the end of the piece starting at `piece`.
    Proof { piece: u64, fetch: u64 },
    /// The consistency proof that shows the fork from `earlier`.
    Fork { earlier: Box<SignedCheckpoint> },
}

/// A fetch of the openings addressed to this node, page by page.
#[derive(Debug)]
pub(crate) struct OpeningsFetch {
    log: LogId,
    owner: SignatoryId,
    next: u64,
    ticket: Option<Ticket>,
}

impl Mirror {
    /// The times it waits for: its deadline, and when it may switch source.
    pub(crate) fn timers(&self, config: &CoreConfig) -> impl Iterator<Item = Duration> {
        let deadline = self.began + config.mirror_deadline;
        let switch = (!self.alternatives.is_empty()).then_some(self.switched + config.request_timeout);
        std::iter::once(deadline).chain(switch)
    }

    /// Whether it may switch to another source at `now`.
    fn may_switch(&self, now: Duration, patience: Duration) -> bool {
        !self.alternatives.is_empty() && now >= self.switched + patience
    }

    fn held_size(&self) -> u64 {
        self.held.as_ref().map_or(0, |c| c.body.size)
    }
}

impl<S: NodeStore> Core<S> {
    /// A peer pushed `checkpoint`: verified, compared or mirrored. Answered
    /// `Equivocation` if it conflicts with the log held (evidence is then
    /// stored), `Accepted` otherwise.
    pub(crate) fn pushed_checkpoint(
        &mut self,
        from: &SignatoryId,
        checkpoint: SignedCheckpoint,
        time: Time,
    ) -> Response {
        let owner = match self.agreement.verify_checkpoint(&checkpoint) {
            Ok(owner) => owner.id.clone(),
            Err(e) => return error(ErrorCode::Rejected, &e.to_string()),
        };
        if self.on_checkpoint(&owner, checkpoint, from, time) {
            let why = "the checkpoint conflicts with the log held: evidence is stored; ask for Evidence";
            return error(ErrorCode::Equivocation, why);
        }
        Response::Accepted
    }

    /// A checkpoint of `owner`'s log, signed by `owner`, learnt from
    /// `source`: compared with the log held if no larger than it, mirrored
    /// otherwise. Returns whether it conflicts with the log held.
    pub(crate) fn on_checkpoint(
        &mut self,
        owner: &SignatoryId,
        checkpoint: SignedCheckpoint,
        source: &SignatoryId,
        time: Time,
    ) -> bool {
        let log = checkpoint.body.log;
        let held = match self.store.reader().latest_checkpoint(&log) {
            Ok(held) => held,
            Err(e) => {
                self.note(Note::store(&e));
                return false;
            }
        };
        // A first checkpoint of size 0 (an empty log) is reviewed and
        // cosigned like any other.
        if let Some(held) = held.filter(|h| checkpoint.body.size <= h.body.size) {
            return self.compare_held(&held, &checkpoint);
        }
        self.offer(owner, checkpoint, source, time);
        false
    }

    /// `new` is no larger than `held`, the newest checkpoint held: stored if
    /// it agrees with the tree held, and a disagreement kept as evidence.
    /// Returns whether it disagrees.
    fn compare_held(&mut self, held: &SignedCheckpoint, new: &SignedCheckpoint) -> bool {
        let log = new.body.log;
        let evidence = match self.store.add_checkpoint(new) {
            Ok(added) => {
                if added {
                    self.note(Note::Changed);
                }
                return false;
            }
            Err(StoreError::Refused(AppendError::DuplicateCheckpoint)) => return false,
            Err(StoreError::Refused(AppendError::RootMismatch { .. })) => {
                if new.body.size == held.body.size {
                    same_size(held, new)
                } else {
                    match self.fork_within(&log, new, held) {
                        Ok(evidence) => evidence,
                        Err(e) => {
                            self.note(Note::store(&e));
                            return false;
                        }
                    }
                }
            }
            // Refused on arrival; both are the owner's signatures.
            Err(StoreError::Refused(AppendError::OutOfTimeOrder { stored, .. })) => out_of_time_order(&stored, new),
            Err(e) => {
                self.note(Note::store(&e));
                return false;
            }
        };
        match evidence {
            Some(evidence) => self.keep_evidence(&evidence),
            None => {
                let why = "conflicting checkpoint, but no evidence could be built".to_owned();
                self.note(Note::Dropped { log, why });
                false
            }
        }
    }

    /// Evidence that `new`, smaller than `held`, is not of the tree held.
    fn fork_within(
        &self,
        log: &LogId,
        new: &SignedCheckpoint,
        held: &SignedCheckpoint,
    ) -> Result<Option<EquivocationEvidence>, StoreError> {
        let store = self.store.reader();
        let proof = store.consistency_proof(log, new.body.size, held.body.size)?;
        let subtree = TreeHash(store.root_at(log, new.body.size)?.0);
        Ok(inconsistent(new, held, &proof, Some(subtree)))
    }

    /// Stores `evidence` and reports it; returns whether it was stored.
    fn keep_evidence(&mut self, evidence: &EquivocationEvidence) -> bool {
        match self.store.add_evidence(evidence) {
            Ok(true) => {}
            // Held already, or as much of its log and kind as is kept.
            Ok(false) => return true,
            Err(e) => {
                self.note(Note::store(&e));
                return false;
            }
        }
        if let Ok(against) = cbm_log::evidence::verify_evidence(self.agreement.roster(), evidence) {
            let out_of_time_order = matches!(evidence, EquivocationEvidence::OutOfTimeOrder { .. });
            self.note(Note::Evidence { against, out_of_time_order });
        }
        self.note(Note::Changed);
        true
    }

    /// A checkpoint larger than the log held: mirrored now, or offered to
    /// the mirror of its log in progress.
    fn offer(&mut self, owner: &SignatoryId, checkpoint: SignedCheckpoint, source: &SignatoryId, time: Time) {
        let log = checkpoint.body.log;
        if *owner == self.me {
            // A newer checkpoint of our own log that we never signed here: a
            // second node running under our keys. Nothing to mirror.
            let why = "a checkpoint of our own log we do not hold".to_owned();
            self.note(Note::Dropped { log, why });
            return;
        }
        let Some(mirror) = self.mirrors.get_mut(&log) else {
            self.start_mirror(owner.clone(), checkpoint, source.clone(), Vec::new(), time);
            return;
        };
        if mirror.target.body == checkpoint.body {
            if mirror.source != *source && !mirror.alternatives.contains(source) {
                mirror.alternatives.push(source.clone());
            }
        } else if let Some(evidence) = same_size(&mirror.target, &checkpoint) {
            // Both signed by the owner, of one size: evidence as it stands.
            self.keep_evidence(&evidence);
            return;
        } else if !mirror.offers.iter().any(|(c, s)| c.body == checkpoint.body && s == source) {
            mirror.offers.push((checkpoint, source.clone()));
            if mirror.offers.len() > MAX_OFFERS {
                // Keep the largest: a smaller one is compared with the tree
                // held once the mirror ends, and gossip brings it again.
                mirror.offers.sort_by_key(|(c, _)| std::cmp::Reverse(c.body.size));
                mirror.offers.truncate(MAX_OFFERS);
            }
        }
        if mirror.may_switch(time.monotonic, self.config.request_timeout) {
            self.switch_source(log, time);
        }
    }

    /// Mirrors at their deadline stop; those that may switch source do.
    pub(crate) fn mirror_timers(&mut self, time: Time) {
        let (deadline, patience) = (self.config.mirror_deadline, self.config.request_timeout);
        let due: Vec<(LogId, bool)> = self
            .mirrors
            .iter()
            .filter_map(|(log, m)| {
                if time.monotonic >= m.began + deadline {
                    Some((*log, true))
                } else if m.may_switch(time.monotonic, patience) {
                    Some((*log, false))
                } else {
                    None
                }
            })
            .collect();
        for (log, expired) in due {
            if expired {
                let why = format!("mirror stopped at its deadline of {deadline:?}");
                self.end_mirror(log, Some(why), time);
            } else {
                self.switch_source(log, time);
            }
        }
    }

    /// Fetches the rest of the mirror of `log` from its next alternative
    /// source, keeping every piece it holds; what is in flight from the
    /// source before is asked of the new one again.
    fn switch_source(&mut self, log: LogId, time: Time) {
        let Some(mirror) = self.mirrors.get_mut(&log) else { return };
        if mirror.alternatives.is_empty() {
            return;
        }
        mirror.source = mirror.alternatives.remove(0);
        mirror.switched = time.monotonic;
        mirror.fetch += 1;
        let again: Vec<(u64, u64, bool)> = mirror
            .pieces
            .iter()
            .filter_map(|p| match p.state {
                PieceState::Fetching => Some((p.start, p.start + p.entries.len() as u64, true)),
                PieceState::Proving => Some((p.start, p.to, false)),
                PieceState::Ready(_) => None,
            })
            .collect();
        for (piece, next, fetching) in again {
            if fetching {
                self.fetch_page(log, piece, next, time);
            } else {
                self.fetch_proof(log, piece, next, time);
            }
        }
    }

    /// Begins mirroring `owner`'s log up to `target`, from `source`; the
    /// `offers` wait with it.
    fn start_mirror(
        &mut self,
        owner: SignatoryId,
        target: SignedCheckpoint,
        source: SignatoryId,
        offers: Vec<(SignedCheckpoint, SignatoryId)>,
        time: Time,
    ) {
        let log = target.body.log;
        let store = self.store.reader();
        let read = (|| Ok::<_, StoreError>((store.latest_checkpoint(&log)?, store.staged(&log)?, store.size(&log)?)))();
        let (held, staged_before, start) = match read {
            Ok(read) => read,
            Err(e) => {
                self.note(Note::store(&e));
                return;
            }
        };
        let held_size = held.as_ref().map_or(0, |c| c.body.size);
        if let Some(held) = held.as_ref().filter(|h| target.body.size <= h.body.size) {
            // Held meanwhile (the mirror it waited for took it there).
            let held = held.clone();
            self.compare_held(&held, &target);
            self.take_offers(offers, time);
            return;
        }
        if start > target.body.size {
            let why = "the checkpoint lies within entries staged toward another".to_owned();
            self.note(Note::Dropped { log, why });
            self.take_offers(offers, time);
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        let mut mirror = Mirror {
            generation,
            owner,
            source,
            alternatives: Vec::new(),
            switched: time.monotonic,
            fetch: 0,
            target,
            held,
            staged_before,
            staged_any: start > held_size,
            began: time.monotonic,
            pieces: VecDeque::new(),
            offers,
        };
        if start == mirror.target.body.size {
            // Every entry is held (staged, or the log is empty): review now.
            let last = Piece { start, to: start, entries: Prechecked::default(), state: PieceState::Ready(None) };
            mirror.pieces.push_back(last);
            self.mirrors.insert(log, mirror);
            self.defer(Work::Mirror { log, generation });
            return;
        }
        self.mirrors.insert(log, mirror);
        self.next_piece(log, start, time);
    }

    /// Starts fetching the piece of `log`'s mirror that begins at `start`.
    fn next_piece(&mut self, log: LogId, start: u64, time: Time) {
        let segment = self.config.segment_entries.max(1);
        let Some(mirror) = self.mirrors.get_mut(&log) else { return };
        let to = mirror.target.body.size.min(start.saturating_add(segment));
        mirror.pieces.push_back(Piece { start, to, entries: Prechecked::default(), state: PieceState::Fetching });
        self.fetch_page(log, start, start, time);
    }

    /// Asks the source for the entries of the piece at `piece` from `next` on.
    fn fetch_page(&mut self, log: LogId, piece: u64, next: u64, time: Time) {
        let page = self.agreement.roster().limits.max_page_entries;
        let Some(mirror) = self.mirrors.get(&log) else { return };
        let Some(to) = mirror.pieces.iter().find(|p| p.start == piece).map(|p| p.to) else { return };
        let count = u32::try_from(to - next).unwrap_or(u32::MAX).min(page);
        let (source, generation, fetch) = (mirror.source.clone(), mirror.generation, mirror.fetch);
        let request = Request::Entries { log, start: next, count };
        self.call(source, request, Purpose::Mirror { log, generation, step: Step::Page { piece, fetch } }, time);
    }

    /// Asks the source for the consistency proof from `end`, where the
    /// piece at `piece` ends, to the target.
    fn fetch_proof(&mut self, log: LogId, piece: u64, end: u64, time: Time) {
        let Some(mirror) = self.mirrors.get(&log) else { return };
        let (source, generation, fetch) = (mirror.source.clone(), mirror.generation, mirror.fetch);
        let request = Request::ConsistencyProof { log, old_size: end, new_size: mirror.target.body.size };
        self.call(source, request, Purpose::Mirror { log, generation, step: Step::Proof { piece, fetch } }, time);
    }

    /// The answer to a mirror's call.
    pub(crate) fn mirror_answer(
        &mut self,
        log: LogId,
        generation: u64,
        step: Step,
        answer: Result<Answer, CallFailure>,
        time: Time,
    ) {
        let Some(mirror) = self.mirrors.get(&log).filter(|m| m.generation == generation) else {
            return; // a mirror that ended
        };
        if matches!(step, Step::Page { fetch, .. } | Step::Proof { fetch, .. } if fetch != mirror.fetch) {
            return; // asked of a source the mirror has switched from
        }
        let outcome = match step {
            Step::Page { piece, .. } => self.page_answer(log, piece, answer, time),
            Step::Proof { piece, .. } => match answer {
                Ok(Answer::Response(Response::ConsistencyProof { proof })) => {
                    if let Some(p) = self.piece(log, piece) {
                        p.state = PieceState::Ready(Some(proof));
                    }
                    Ok(())
                }
                Ok(_) => Err("unexpected answer to a consistency proof request".to_owned()),
                Err(e) => Err(format!("consistency proof: {e}")),
            },
            Step::Fork { earlier } => {
                let outcome = match answer {
                    Ok(Answer::Response(Response::ConsistencyProof { proof })) => {
                        let target = self.mirrors.get(&log).map(|m| m.target.clone());
                        match target.and_then(|t| inconsistent(&earlier, &t, &proof, None)) {
                            Some(evidence) => {
                                self.keep_evidence(&evidence);
                                None
                            }
                            // For a power-of-two older size the proof leaves out
                            // the subtree the evidence needs; the nodes holding
                            // the other fork will build it instead.
                            None => Some("the log forked, but the proof served does not show it".to_owned()),
                        }
                    }
                    Ok(_) => Some("unexpected answer to a consistency proof request".to_owned()),
                    Err(e) => Some(format!("the log forked; its consistency proof: {e}")),
                };
                self.end_mirror(log, outcome, time);
                return;
            }
        };
        match outcome {
            Ok(()) => self.stage_when_ready(log),
            Err(why) => self.source_failed(log, why, time),
        }
    }

    /// The mirror's source failed it (no answer, or one that does not fit):
    /// the rest is fetched from the next alternative, or, with none, the
    /// mirror ends.
    fn source_failed(&mut self, log: LogId, why: String, time: Time) {
        if self.mirrors.get(&log).is_some_and(|m| !m.alternatives.is_empty()) {
            self.note(Note::Dropped { log, why: format!("{why}; asking another source") });
            self.switch_source(log, time);
        } else {
            self.end_mirror(log, Some(why), time);
        }
    }

    fn piece(&mut self, log: LogId, start: u64) -> Option<&mut Piece> {
        self.mirrors.get_mut(&log)?.pieces.iter_mut().find(|p| p.start == start)
    }

    /// A page of the piece at `piece`: checked to continue it, and the next
    /// page, the piece's proof or the next piece asked for.
    fn page_answer(
        &mut self,
        log: LogId,
        piece: u64,
        answer: Result<Answer, CallFailure>,
        time: Time,
    ) -> Result<(), String> {
        let mut page = match answer {
            Ok(Answer::Entries(page)) => page,
            Ok(_) => return Err("unexpected answer to an entries request".to_owned()),
            Err(e) => return Err(format!("entries: {e}")),
        };
        let segment_bytes = self.config.segment_bytes;
        let Some(mirror) = self.mirrors.get_mut(&log) else { return Ok(()) };
        let target_size = mirror.target.body.size;
        let Some(p) = mirror.pieces.iter_mut().find(|p| p.start == piece) else { return Ok(()) };
        let next = p.start + p.entries.len() as u64;
        if page.is_empty() {
            return Err(format!("the source has no entries from {next} on"));
        }
        page.truncate(usize::try_from(p.to - next).unwrap_or(usize::MAX));
        if let Some((offset, entry)) = page.entries().iter().enumerate().find(|(i, e)| e.body.index != next + *i as u64)
        {
            return Err(format!("the source sent entry {} for {}", entry.body.index, next + offset as u64));
        }
        p.entries.extend(page);
        let next = p.start + p.entries.len() as u64;
        if next < p.to && p.entries.encoded_len() < segment_bytes {
            self.fetch_page(log, piece, next, time);
            return Ok(());
        }
        // The piece is in: its end is where the entries reached.
        p.to = next;
        if next == target_size {
            p.state = PieceState::Ready(None);
        } else {
            p.state = PieceState::Proving;
            self.fetch_proof(log, piece, next, time);
        }
        self.refill(log, time);
        Ok(())
    }

    /// Starts the next piece while fewer than two are in memory and the
    /// last one's entries are all in.
    fn refill(&mut self, log: LogId, time: Time) {
        let Some(mirror) = self.mirrors.get(&log) else { return };
        let Some(last) = mirror.pieces.back() else { return };
        let fetched = !matches!(last.state, PieceState::Fetching);
        if mirror.pieces.len() < 2 && fetched && last.to < mirror.target.body.size {
            let start = last.to;
            self.next_piece(log, start, time);
        }
    }

    /// Puts the staging of the first piece off until [`crate::Input::Continue`]
    /// once it is ready, so that the calls just asked for go out first.
    fn stage_when_ready(&mut self, log: LogId) {
        let Some(mirror) = self.mirrors.get(&log) else { return };
        let generation = mirror.generation;
        let ready = mirror.pieces.front().is_some_and(|p| matches!(p.state, PieceState::Ready(_)));
        let queued = self
            .work
            .iter()
            .any(|w| matches!(w, Work::Mirror { log: l, generation: g } if *l == log && *g == generation));
        if ready && !queued {
            self.defer(Work::Mirror { log, generation });
        }
    }

    /// Stages the mirror's first piece, a segment, or reviews it, the last.
    pub(crate) fn mirror_work(&mut self, log: LogId, generation: u64, time: Time) {
        let Some(mirror) = self.mirrors.get_mut(&log).filter(|m| m.generation == generation) else { return };
        if !mirror.pieces.front().is_some_and(|p| matches!(p.state, PieceState::Ready(_))) {
            return;
        }
        let Some(piece) = mirror.pieces.pop_front() else { return };
        let PieceState::Ready(proof) = piece.state else { return };
        let outcome = match proof {
            Some(proof) => self.stage_segment(log, &piece.entries, &proof, time).map(|()| false),
            None => self.review_last(log, piece.entries, time).map(|()| true),
        };
        match outcome {
            Ok(false) => {
                self.refill(log, time);
                self.stage_when_ready(log);
            }
            Ok(true) => self.end_mirror(log, None, time),
            Err(Failure::Fork) => self.prove_fork(log, time),
            Err(Failure::Other(why)) => self.end_mirror(log, Some(why), time),
        }
    }

    /// Checks a segment against the tree held and stages it.
    fn stage_segment(
        &mut self,
        log: LogId,
        entries: &Prechecked,
        proof: &ConsistencyProof,
        time: Time,
    ) -> Result<(), Failure> {
        let Some(target) = self.mirrors.get(&log).map(|m| m.target.clone()) else { return Ok(()) };
        let held = self.store.reader().frontier(&log).map_err(|e| Failure::store(self, &e))?;
        check_segment(&self.agreement, &self.me, &target, &held, entries, proof, &self.view(), time.clock)?;
        self.store.stage(&log, entries.entries(), &target).map_err(|e| Failure::store(self, &e))?;
        entries.entries().iter().for_each(|e| self.facts.observe(e));
        if let Some(mirror) = self.mirrors.get_mut(&log) {
            mirror.staged_any = true;
        }
        self.note(Note::Changed);
        Ok(())
    }

    /// Lets `review` decide on the target given the last `entries`, stores
    /// the outcome, and hands a cosignature over.
    fn review_last(&mut self, log: LogId, entries: Prechecked, time: Time) -> Result<(), Failure> {
        let Some(mirror) = self.mirrors.get(&log) else { return Ok(()) };
        let (target, source, owner) = (mirror.target.clone(), mirror.source.clone(), mirror.owner.clone());
        let (held_size, staged_any) = (mirror.held_size(), mirror.staged_any);
        let store = self.store.reader();
        // Read again: what is stored is what the rules judge by.
        let held = store.latest_checkpoint(&log).map_err(|e| Failure::store(self, &e))?;
        let frontier = self.store.reader().frontier(&log).map_err(|e| Failure::store(self, &e))?;
        let decision =
            review(&self.agreement, &self.me, held.as_ref(), &frontier, &target, &entries, &self.view(), time.clock)?;
        let body = match decision {
            Decision::Cosign(body) => body,
            Decision::AlreadyCosigned => return Ok(()),
            Decision::Equivocation(evidence) => {
                self.keep_evidence(&evidence);
                return Ok(());
            }
        };
        let cosignature = Cosignature::sign(body, self.agreement.hash(), self.key_id, &self.signing_key);
        match self.store.append_cosigned(&log, entries.entries(), &target, &cosignature) {
            Ok(()) => {}
            Err(StoreError::Refused(AppendError::OutOfTimeOrder { stored, .. })) => {
                // Timed against a checkpoint learnt from gossip: not
                // cosigned, and the pair is evidence.
                return match out_of_time_order(&stored, &target) {
                    Some(evidence) => {
                        self.keep_evidence(&evidence);
                        Ok(())
                    }
                    None => Err(Failure::Fork),
                };
            }
            Err(e) => return Err(Failure::store(self, &e)),
        }
        entries.entries().iter().for_each(|e| self.facts.observe(e));
        self.note(Note::Changed);
        self.note(Note::Cosigned { owner: owner.clone(), size: target.body.size });
        let source_is_owner = source == owner;
        let request = Request::PushCosignature { cosignature: cosignature.clone() };
        let purpose = Purpose::Deliver { owner: owner.clone(), source_is_owner, cosignature: Box::new(cosignature) };
        self.call(source, request, purpose, time);
        // Staged segments may hold committed fields too.
        let committed =
            entries.entries().iter().any(|e| e.body.fields.iter().any(|f| matches!(f, Field::Committed { .. })));
        if committed || staged_any {
            self.fetch_openings(owner, held_size, None, time);
        }
        Ok(())
    }

    /// The tree held (cosigned, or staged toward an earlier checkpoint)
    /// does not lead to the target: asks the source for the consistency
    /// proof that makes the fork evidence.
    fn prove_fork(&mut self, log: LogId, time: Time) {
        let Some(mirror) = self.mirrors.get_mut(&log) else { return };
        let target_size = mirror.target.body.size;
        let earlier = mirror.staged_before.clone().filter(|t| t.body.size < target_size).or(mirror.held.clone());
        let Some(earlier) = earlier else {
            self.end_mirror(log, Some(WitnessError::RootMismatch.to_string()), time);
            return;
        };
        mirror.pieces.clear();
        let (source, generation) = (mirror.source.clone(), mirror.generation);
        let request = Request::ConsistencyProof { log, old_size: earlier.body.size, new_size: target_size };
        let step = Step::Fork { earlier: Box::new(earlier) };
        self.call(source, request, Purpose::Mirror { log, generation, step }, time);
    }

    /// Ends the mirror of `log` (with why, if it failed) and takes up the
    /// checkpoints offered meanwhile.
    fn end_mirror(&mut self, log: LogId, failure: Option<String>, time: Time) {
        let Some(mirror) = self.mirrors.remove(&log) else { return };
        if let Some(why) = failure {
            self.note(Note::Dropped { log, why });
        }
        self.take_offers(mirror.offers, time);
    }

    /// Checkpoints offered to a mirror that ended: each no larger than the
    /// log now held is compared with it, smallest first; the largest other
    /// one is mirrored next, and the rest wait with that mirror.
    fn take_offers(&mut self, mut offers: Vec<(SignedCheckpoint, SignatoryId)>, time: Time) {
        offers.sort_by_key(|(c, _)| c.body.size);
        let mut larger = Vec::new();
        for (checkpoint, source) in offers {
            let log = checkpoint.body.log;
            let held = match self.store.reader().latest_checkpoint(&log) {
                Ok(held) => held,
                Err(e) => {
                    self.note(Note::store(&e));
                    return;
                }
            };
            match held.filter(|h| checkpoint.body.size <= h.body.size) {
                Some(held) => {
                    self.compare_held(&held, &checkpoint);
                }
                None => larger.push((checkpoint, source)),
            }
        }
        while let Some((checkpoint, source)) = larger.pop() {
            let Some(owner) = self.agreement.owner_of(&checkpoint.body.log).map(|o| o.id.clone()) else { continue };
            self.offer(&owner, checkpoint, &source, time);
        }
    }

    /// Our cosignature reached the source, or did not: unless the source is
    /// the owner and took it, it goes to the owner too.
    pub(crate) fn delivered(
        &mut self,
        owner: SignatoryId,
        source_is_owner: bool,
        cosignature: Cosignature,
        answer: Result<Answer, CallFailure>,
        time: Time,
    ) {
        let accepted = matches!(answer, Ok(Answer::Response(Response::Accepted)));
        if accepted && source_is_owner {
            return;
        }
        self.call(owner, Request::PushCosignature { cosignature }, Purpose::DeliverToOwner, time);
    }

    /// Asks `owner` for the openings addressed to us in its entries from
    /// `start` on; `ticket`, if given, is answered when done.
    pub(crate) fn fetch_openings(&mut self, owner: SignatoryId, start: u64, ticket: Option<Ticket>, time: Time) {
        if owner == self.me || self.agreement.roster().signatory(&owner).is_none() {
            if let Some(ticket) = ticket {
                self.out.push(Action::Done { ticket });
            }
            return;
        }
        let log = self.agreement.log_of(&owner);
        let fetch = OpeningsFetch { log, owner: owner.clone(), next: start, ticket };
        self.call(owner, Request::Openings { log, start }, Purpose::Openings(fetch), time);
    }

    /// A page of openings: each checked against the entry it opens and
    /// kept if it matches; one that names an entry not held (yet) is
    /// skipped. The next page is asked for only while pages advance within
    /// the entries held.
    pub(crate) fn openings_answer(
        &mut self,
        mut fetch: OpeningsFetch,
        answer: Result<Answer, CallFailure>,
        time: Time,
    ) {
        let openings = match answer {
            Ok(Answer::Response(Response::Openings { openings })) => openings,
            _ => return self.openings_done(fetch.ticket),
        };
        let Some(last) = openings.iter().map(|o| o.entry.index).max() else {
            return self.openings_done(fetch.ticket);
        };
        // A page may end inside the openings of its last entry: ask for that
        // entry again, unless it is the only one in the page.
        let after = if openings.iter().any(|o| o.entry.index != last) { last } else { last.saturating_add(1) };
        let mut kept = false;
        for opening in openings {
            let Ok(entry) = self.store.reader().entry(&fetch.log, opening.entry.index) else { continue };
            if opening.verify(&entry).is_err() {
                continue;
            }
            // One beyond its own limits is refused and skipped; the rest are kept.
            match self.store.add_opening(&fetch.log, &self.me.clone(), &opening) {
                Ok(new) => kept |= new,
                Err(StoreError::Refused(_)) => {}
                Err(e) => {
                    self.note(Note::store(&e));
                    return self.openings_done(fetch.ticket);
                }
            }
        }
        if kept {
            self.note(Note::Changed);
        }
        let held = self.store.reader().size(&fetch.log).unwrap_or(0);
        if after <= fetch.next || after > held {
            return self.openings_done(fetch.ticket);
        }
        fetch.next = after;
        let request = Request::Openings { log: fetch.log, start: after };
        self.call(fetch.owner.clone(), request, Purpose::Openings(fetch), time);
    }

    fn openings_done(&mut self, ticket: Option<Ticket>) {
        if let Some(ticket) = ticket {
            self.out.push(Action::Done { ticket });
        }
    }
}

/// Why a piece could not be staged or cosigned.
enum Failure {
    /// The tree held does not lead to the target: look for the fork.
    Fork,
    /// Anything else: the mirror ends.
    Other(String),
}

impl Failure {
    /// A store failure, reported.
    fn store<S: NodeStore>(core: &mut Core<S>, error: &StoreError) -> Self {
        core.note(Note::store(error));
        Self::Other(format!("store: {error}"))
    }
}

impl From<WitnessError> for Failure {
    fn from(error: WitnessError) -> Self {
        match error {
            WitnessError::RootMismatch => Self::Fork,
            other => Self::Other(other.to_string()),
        }
    }
}
