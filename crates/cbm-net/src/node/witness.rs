//! Mirroring a peer's log and cosigning it (spec/transport.md §6.2): fetch
//! the entries the node lacks from whoever announced the checkpoint, let
//! `cbm_log::witness::review` decide, and store the result atomically.
//! Conflicts become evidence.

use std::sync::Arc;

use cbm_log::evidence::{inconsistent, out_of_time_order, same_size};
use cbm_log::rules::Prechecked;
use cbm_log::store::{AppendError, StoreError};
use cbm_log::witness::{Decision, WitnessError, check_segment, review};
use cbm_wire::{
    ConsistencyProof, Cosignature, EquivocationEvidence, Field, LogId, Request, Response, SignatoryId,
    SignedCheckpoint, SignedEntry, TreeHash, Wire,
};
use tracing::{debug, info, warn};

use super::shared::Shared;
use crate::client::{CallError, call};
use crate::tls::peer_key;

/// Handles a checkpoint of `owner`'s log learnt from `source` (its owner
/// pushing it, or any node gossiping it), which the caller has verified:
/// `owner` signed it. Failures are logged: a checkpoint whose entries
/// cannot be had or checked proves nothing and is dropped.
pub(crate) async fn on_checkpoint(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    owner: &SignatoryId,
    new: SignedCheckpoint,
) {
    let log = new.body.log;
    // Segments staged before the deadline stay staged: the next mirror of
    // this log goes on from them.
    match tokio::time::timeout(shared.limits.mirror_deadline, mirror(shared, source, owner, new)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(%log, "checkpoint not taken: {e}"),
        Err(_) => debug!(%log, "mirror stopped at its deadline of {:?}", shared.limits.mirror_deadline),
    }
}

#[derive(Debug, thiserror::Error)]
enum MirrorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Witness(#[from] WitnessError),
    #[error("{0}")]
    Other(String),
}

async fn mirror(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    owner: &SignatoryId,
    new: SignedCheckpoint,
) -> Result<(), MirrorError> {
    let log = new.body.log;
    let _in_flight = shared.begin_mirror(&log).await;
    let (held, staged, start) = shared
        .with_held(move |h| Ok((h.store.latest_checkpoint(&log)?, h.store.staged(&log)?, h.store.size(&log)?)))
        .await?;
    let held_size = held.as_ref().map_or(0, |c| c.body.size);
    // A first checkpoint of size 0 (an empty log) is reviewed and cosigned
    // like any other; every other checkpoint no larger than the held one is compared.
    if new.body.size < held_size || (held.is_some() && new.body.size == held_size) {
        return compare_held(shared, held, new).await.map(|_| ());
    }
    if *owner == shared.me {
        // A newer checkpoint of our own log that we never signed here: a
        // second node running under our keys. Nothing to mirror.
        return Err(MirrorError::Other("a checkpoint of our own log we do not hold".into()));
    }
    let outcome = mirror_from(shared, source, owner, held.clone(), &new, start).await;
    match outcome {
        Err(MirrorError::Witness(WitnessError::RootMismatch)) => {
            // The tree we hold (cosigned, or staged toward an earlier
            // checkpoint) does not lead to `new`: look for the fork.
            let earlier = staged.filter(|t| t.body.size < new.body.size).or(held);
            let Some(earlier) = earlier else { return Err(WitnessError::RootMismatch.into()) };
            prove_fork(shared, source, &earlier, &new).await
        }
        other => other,
    }
}

/// Most bytes of entries a witness fetches and checks in one piece (and
/// [`super::NodeLimits::segment_entries`] most entries): a larger gap to a
/// checkpoint is mirrored segment by segment (spec/transport.md §6.2), so
/// memory stays bounded however far behind the witness is.
const SEGMENT_BYTES: usize = 32 << 20;

/// A spawned task, aborted when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The next piece of the entries toward a checkpoint.
enum Piece {
    /// A segment to stage: its entries, prechecked (signatures verified) as
    /// soon as they arrive, and the consistency proof from its end to the
    /// checkpoint.
    Segment { entries: Prechecked, proof: ConsistencyProof },
    /// The entries that reach the checkpoint, prechecked too.
    Last(Prechecked),
}

/// Fetches the entries from `start`, the size held, up to `new`'s size
/// from `source`, segment by segment — each checked and staged while the
/// next is fetched and verified — and reviews the last piece with `new`.
async fn mirror_from(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    owner: &SignatoryId,
    held: Option<SignedCheckpoint>,
    new: &SignedCheckpoint,
    start: u64,
) -> Result<(), MirrorError> {
    let log = new.body.log;
    let held_size = held.as_ref().map_or(0, |c| c.body.size);
    if start > new.body.size || (start == new.body.size && start > held_size) {
        return Err(MirrorError::Other("the checkpoint lies within entries staged toward another".into()));
    }
    let staged_any = start > held_size;
    let mut piece = fetch_piece(Arc::clone(shared), source.clone(), new.clone(), start).await?;
    loop {
        let (entries, proof) = match piece {
            Piece::Last(entries) => return cosign(shared, source, owner, held, new, entries, staged_any).await,
            Piece::Segment { entries, proof } => (entries, proof),
        };
        let end = entries.entries().last().map_or(0, |e| e.body.index + 1);
        // Fetch and verify the next piece while this one is checked and
        // staged; a mirror that stops (an error, its deadline) stops it too.
        let mut next = AbortOnDrop(tokio::spawn(fetch_piece(Arc::clone(shared), source.clone(), new.clone(), end)));
        let (s, target) = (Arc::clone(shared), new.clone());
        let staged = shared
            .with_held(move |h| {
                let held = h.store.frontier(&log)?;
                let view = h.view(&s.agreement);
                let now = s.clock.now();
                Ok(match check_segment(&s.agreement, &s.me, &target, &held, &entries, &proof, &view, now) {
                    Ok(_) => {
                        h.store.stage(&log, entries.entries(), &target)?;
                        s.note_size(log, end);
                        entries.entries().iter().for_each(|e| h.facts.observe(e));
                        Ok(())
                    }
                    Err(e) => Err(e),
                })
            })
            .await;
        staged.map_err(MirrorError::from).and_then(|r| r.map_err(MirrorError::from))?;
        debug!(%log, staged = end, toward = new.body.size, "segment staged");
        piece = (&mut next.0).await.map_err(|e| MirrorError::Other(e.to_string()))??;
    }
}

/// Fetches the piece of entries toward `new` that starts at `start`: at
/// most a segment's worth — then with a consistency proof from its end to
/// `new` — or the rest; either way prechecked (signatures verified) on a
/// blocking thread, not under the store's writer lock.
async fn fetch_piece(
    shared: Arc<Shared>,
    source: quinn::Connection,
    new: SignedCheckpoint,
    start: u64,
) -> Result<Piece, MirrorError> {
    let log = new.body.log;
    let to = new.body.size.min(start.saturating_add(shared.limits.segment_entries.max(1)));
    let entries = fetch_entries(&shared, &source, &log, start, to, SEGMENT_BYTES).await?;
    let end = start + entries.len() as u64;
    let proof = if end == new.body.size {
        None
    } else {
        let request = Request::ConsistencyProof { log, old_size: end, new_size: new.body.size };
        let Response::ConsistencyProof { proof } =
            call(&source, &request, shared.max_frame(), shared.limits.request_timeout).await?
        else {
            return Err(CallError::Unexpected("ConsistencyProof").into());
        };
        Some(proof)
    };
    let agreement = Arc::clone(&shared);
    let entries = tokio::task::spawn_blocking(move || Prechecked::new(&agreement.agreement, entries))
        .await
        .map_err(|e| MirrorError::Other(e.to_string()))?;
    Ok(match proof {
        Some(proof) => Piece::Segment { entries, proof },
        None => Piece::Last(entries),
    })
}

/// Lets [`review`] decide on `new` given its last `entries`, and stores
/// the outcome atomically; then hands the cosignature over.
async fn cosign(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    owner: &SignatoryId,
    held: Option<SignedCheckpoint>,
    new: &SignedCheckpoint,
    entries: Prechecked,
    staged_any: bool,
) -> Result<(), MirrorError> {
    let log = new.body.log;
    let held_size = held.as_ref().map_or(0, |c| c.body.size);
    let agreement_shared = Arc::clone(shared);
    let new_for_review = new.clone();
    let outcome = shared
        .with_held(move |h| {
            let s = &agreement_shared;
            // Read again: a mirror alongside (see `begin_mirror`) may
            // have stored a newer checkpoint since this one began.
            let held = h.store.latest_checkpoint(&log)?;
            let frontier = h.store.frontier(&log)?;
            let now = s.clock.now();
            let view = h.view(&s.agreement);
            let decision = review(&s.agreement, &s.me, held.as_ref(), &frontier, &new_for_review, &entries, &view, now);
            Ok(match decision {
                Ok(Decision::Cosign(body)) => {
                    let cosignature = Cosignature::sign(body, s.agreement.hash(), s.key_id, &s.signing_key);
                    let entries = entries.entries();
                    match h.store.append_cosigned(&log, entries, &new_for_review, &cosignature) {
                        Err(StoreError::Refused(AppendError::OutOfTimeOrder { stored, .. })) => {
                            // Timed against a checkpoint learnt from gossip:
                            // not cosigned, and the pair is evidence.
                            return Ok(match out_of_time_order(&stored, &new_for_review) {
                                Some(evidence) => {
                                    h.store.add_evidence(&evidence)?;
                                    Ok(Reviewed::Evidence(Box::new(evidence)))
                                }
                                None => Err(WitnessError::RootMismatch),
                            });
                        }
                        other => other?,
                    }
                    s.note_size(log, new_for_review.body.size);
                    entries.iter().for_each(|e| h.facts.observe(e));
                    let committed =
                        entries.iter().any(|e| e.body.fields.iter().any(|f| matches!(f, Field::Committed { .. })));
                    Ok(Reviewed::Cosigned { cosignature, committed })
                }
                Ok(Decision::AlreadyCosigned) => Ok(Reviewed::AlreadyCosigned),
                Ok(Decision::Equivocation(evidence)) => {
                    h.store.add_evidence(&evidence)?;
                    Ok(Reviewed::Evidence(evidence))
                }
                Err(e) => Err(e),
            })
        })
        .await??;
    match outcome {
        Reviewed::Cosigned { cosignature, committed } => {
            shared.changed();
            info!(log_owner = %owner, size = new.body.size, "cosigned");
            // What follows the commit runs on its own, with a deadline of its
            // own: the mirror's does not cut it off, and it no longer counts
            // as this log's mirror in flight.
            let (shared, source, owner) = (Arc::clone(shared), source.clone(), owner.clone());
            tokio::spawn(async move {
                let deadline = shared.limits.mirror_deadline;
                let follow_up = async {
                    deliver_cosignature(&shared, &source, &owner, cosignature).await;
                    // Staged segments may hold committed fields too.
                    if committed || staged_any {
                        fetch_openings(&shared, &owner, &log, held_size).await;
                    }
                };
                if tokio::time::timeout(deadline, follow_up).await.is_err() {
                    debug!(%log, "delivery and openings stopped at their deadline of {deadline:?}");
                }
            });
        }
        Reviewed::AlreadyCosigned => {}
        Reviewed::Evidence(evidence) => report_evidence(shared, &evidence),
    }
    Ok(())
}

/// What came of reviewing a checkpoint, once stored.
enum Reviewed {
    Cosigned { cosignature: Cosignature, committed: bool },
    AlreadyCosigned,
    Evidence(Box<EquivocationEvidence>),
}

/// A checkpoint no larger than the log held needs nothing fetched: handles
/// `new` at once if so, and says whether it conflicts with the tree held
/// (evidence is then stored); `None` if it is larger, or the log is not held.
pub(crate) async fn check_against_held(shared: &Arc<Shared>, new: &SignedCheckpoint) -> Option<bool> {
    let log = new.body.log;
    // The usual push is of a larger checkpoint: tell that without the store.
    if new.body.size > shared.held_size(&log) {
        return None;
    }
    let held = shared.with_held(move |h| h.store.latest_checkpoint(&log)).await.ok()??;
    if new.body.size > held.body.size {
        return None;
    }
    match compare_held(shared, Some(held), new.clone()).await {
        Ok(caught) => Some(caught),
        Err(e) => {
            debug!(%log, "checkpoint not taken: {e}");
            Some(false)
        }
    }
}

/// `new` is no larger than the tree held: store it if it agrees with that
/// tree, or turn the disagreement into evidence. Returns whether evidence
/// was stored.
async fn compare_held(
    shared: &Arc<Shared>,
    held: Option<SignedCheckpoint>,
    new: SignedCheckpoint,
) -> Result<bool, MirrorError> {
    let Some(held) = held else { return Ok(false) };
    let log = new.body.log;
    let candidate = new.clone();
    let outcome = shared
        .with_held(move |h| match h.store.add_checkpoint(&candidate) {
            Ok(added) => Ok(Ok(added)),
            Err(StoreError::Refused(AppendError::RootMismatch { .. })) => {
                let evidence = if candidate.body.size == held.body.size {
                    same_size(&held, &candidate)
                } else {
                    let proof = h.store.consistency_proof(&log, candidate.body.size, held.body.size)?;
                    let subtree = TreeHash(h.store.root_at(&log, candidate.body.size)?.0);
                    inconsistent(&candidate, &held, &proof, Some(subtree))
                };
                if let Some(evidence) = &evidence {
                    h.store.add_evidence(evidence)?;
                }
                Ok(Err(evidence))
            }
            Err(StoreError::Refused(AppendError::OutOfTimeOrder { stored, .. })) => {
                // Refused on arrival; both are the owner's signatures.
                let evidence = out_of_time_order(&stored, &candidate);
                if let Some(evidence) = &evidence {
                    h.store.add_evidence(evidence)?;
                }
                Ok(Err(evidence))
            }
            Err(StoreError::Refused(AppendError::DuplicateCheckpoint)) => Ok(Ok(false)),
            Err(e) => Err(e),
        })
        .await?;
    match outcome {
        Ok(added) => {
            if added {
                shared.changed();
            }
            Ok(false)
        }
        Err(Some(evidence)) => {
            report_evidence(shared, &evidence);
            Ok(true)
        }
        Err(None) => Err(MirrorError::Other("conflicting checkpoint, but no evidence could be built".into())),
    }
}

/// The entries `from..to` of `log`, fetched page by page from `source`;
/// fewer (but at least one page) once they hold `max_bytes` encoded.
async fn fetch_entries(
    shared: &Shared,
    source: &quinn::Connection,
    log: &LogId,
    from: u64,
    to: u64,
    max_bytes: usize,
) -> Result<Vec<SignedEntry>, MirrorError> {
    let page = shared.agreement.roster().limits.max_page_entries;
    let mut entries = Vec::new();
    let mut bytes = 0;
    let mut next = from;
    while next < to && bytes < max_bytes {
        let count = u32::try_from(to - next).unwrap_or(u32::MAX).min(page);
        let request = Request::Entries { log: *log, start: next, count };
        let Response::Entries { entries: got } =
            call(source, &request, shared.max_frame(), shared.limits.request_timeout).await?
        else {
            return Err(CallError::Unexpected("Entries").into());
        };
        if got.is_empty() {
            return Err(MirrorError::Other(format!("the source has no entries from {next} on")));
        }
        for entry in got.into_iter().take((to - next) as usize) {
            if entry.body.index != next {
                return Err(MirrorError::Other(format!("the source sent entry {} for {next}", entry.body.index)));
            }
            bytes += entry.encode().len();
            entries.push(entry);
            next += 1;
        }
    }
    Ok(entries)
}

/// The owner showed `held` before and now `new`, which the entries served
/// do not extend: ask the source for a consistency proof and keep it as
/// evidence if it proves the fork.
async fn prove_fork(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    held: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> Result<(), MirrorError> {
    let request = Request::ConsistencyProof { log: new.body.log, old_size: held.body.size, new_size: new.body.size };
    let Response::ConsistencyProof { proof } =
        call(source, &request, shared.max_frame(), shared.limits.request_timeout).await?
    else {
        return Err(CallError::Unexpected("ConsistencyProof").into());
    };
    // For a power-of-two older size the proof leaves out the subtree the
    // evidence needs; the nodes holding the other fork will build it instead.
    let Some(evidence) = inconsistent(held, new, &proof, None) else {
        return Err(MirrorError::Other("the log forked, but the proof served does not show it".into()));
    };
    let stored = evidence.clone();
    shared.with_held(move |h| h.store.add_evidence(&stored)).await?;
    report_evidence(shared, &evidence);
    Ok(())
}

fn report_evidence(shared: &Shared, evidence: &EquivocationEvidence) {
    if let Ok(owner) = cbm_log::evidence::verify_evidence(shared.agreement.roster(), evidence) {
        match evidence {
            EquivocationEvidence::OutOfTimeOrder { .. } => {
                warn!(log_owner = %owner, "checkpoints signed out of time order; evidence stored");
            }
            _ => warn!(equivocator = %owner, "split view detected; evidence stored"),
        }
    }
    shared.changed();
}

/// Hands our cosignature to the node that showed us the checkpoint and,
/// unless that was the log's owner and took it, to the owner too.
async fn deliver_cosignature(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    owner: &SignatoryId,
    cosignature: Cosignature,
) {
    let request = Request::PushCosignature { cosignature };
    let timeout = shared.limits.request_timeout;
    let delivered = call(source, &request, shared.max_frame(), timeout).await;
    if let Err(e) = &delivered {
        debug!("cosignature not delivered to the source: {e}");
    }
    // Two nodes may hold two connections, one dialled by each: compare who
    // is at the other end, not the connections. A failed push to the owner
    // is tried again on the connection `connect` gives.
    if matches!(delivered, Ok(Response::Accepted))
        && peer_key(source).and_then(|key| shared.peers.who(&key)).as_ref() == Some(owner)
    {
        return;
    }
    let Ok(to_owner) = shared.peers.connect(owner).await else { return };
    if let Err(e) = call(&to_owner, &request, shared.max_frame(), timeout).await {
        debug!("cosignature not delivered to the owner: {e}");
    }
}

/// Asks the owner for openings addressed to us in entries from `start` on,
/// page by page, checks each against the entry it opens, and keeps those
/// that match; one that names an entry not held (yet) is skipped.
pub(crate) async fn fetch_openings(shared: &Arc<Shared>, owner: &SignatoryId, log: &LogId, start: u64) {
    let Ok(connection) = shared.peers.connect(owner).await else { return };
    let mut next = start;
    loop {
        let request = Request::Openings { log: *log, start: next };
        let Ok(Response::Openings { openings }) =
            call(&connection, &request, shared.max_frame(), shared.limits.request_timeout).await
        else {
            return;
        };
        let Some(last) = openings.iter().map(|o| o.entry.index).max() else { return };
        // A page may end inside the openings of its last entry: ask for that
        // entry again, unless it is the only one in the page.
        let after = if openings.iter().any(|o| o.entry.index != last) { last } else { last + 1 };
        let (me, log) = (shared.me.clone(), *log);
        let stored = shared
            .with_held(move |h| {
                let mut kept = 0;
                for opening in openings {
                    let Ok(entry) = h.store.entry(&log, opening.entry.index) else { continue };
                    if opening.verify(&entry).is_err() {
                        continue;
                    }
                    // One beyond its own limits is refused and skipped; the rest are kept.
                    match h.store.add_opening(&log, &me, &opening) {
                        Ok(new) => kept += usize::from(new),
                        Err(StoreError::Refused(e)) => debug!(%log, "opening not stored: {e}"),
                        Err(e) => return Err(e),
                    }
                }
                Ok(kept)
            })
            .await;
        if stored.is_ok_and(|kept| kept > 0) {
            shared.changed();
        }
        // Openings only of entries held: a page that claims others ends it.
        let held = shared.held_size(&log);
        if after <= next || after > held {
            return;
        }
        next = after;
    }
}
