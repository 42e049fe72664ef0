//! Gossip (spec/transport.md §6.3): nodes trade the newest checkpoints they
//! hold of every log, with their cosignatures, and their evidence. A node that
//! was shown one tree compares it with what others were shown, so a split
//! view cannot stay hidden from anyone who gossips.

use std::collections::HashMap;
use std::sync::Arc;

use cbm_log::evidence::{log_and_kind, verify_evidence};
use cbm_log::store::{MAX_EVIDENCE_PER_LOG_AND_KIND, StoreError};
use cbm_wire::{Cosignature, Digest, EquivocationEvidence, LogId, Request, Response, SignedCheckpoint, Wire};
use tracing::{debug, info, warn};

use super::serve::fit_frame;
use super::shared::Shared;
use super::witness;
use crate::client::call;

/// Checkpoints of each log a deep gossip view carries, newest first: with
/// their cosignatures, so that a receipt given just before a newer
/// checkpoint was signed still reaches every node.
const DEEP_CHECKPOINTS: usize = 4;

/// Every this many rounds with a partner, the node sends a deep view; the
/// other rounds, and answers, carry each log's newest checkpoint only.
const DEEP_EVERY: u64 = 5;

/// The `depth` newest checkpoints held of every log of the agreement and
/// their cosignatures, within one frame: the newest checkpoint of every log
/// and its cosignatures come first, so they are the last to be left out.
pub(crate) async fn our_view(
    shared: &Arc<Shared>,
    depth: usize,
) -> Result<(Vec<SignedCheckpoint>, Vec<Cosignature>), StoreError> {
    let budget = shared.max_frame();
    let logs: Vec<_> = shared.agreement.roster().signatories.iter().map(|s| shared.agreement.log_of(&s.id)).collect();
    shared
        .with_reader(move |store| {
            let (mut newest, mut older) = (Vec::new(), Vec::new());
            let (mut newest_cosignatures, mut older_cosignatures) = (Vec::new(), Vec::new());
            for log in &logs {
                for (rank, checkpoint) in store.recent_checkpoints(log, depth)?.into_iter().enumerate() {
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
        })
        .await
}

/// Takes in what `source` holds: mirrors or compares each checkpoint, then
/// stores each cosignature that verifies and cosigns a checkpoint held.
pub(crate) async fn take_view(
    shared: &Arc<Shared>,
    source: &quinn::Connection,
    checkpoints: Vec<SignedCheckpoint>,
    cosignatures: Vec<Cosignature>,
) {
    // Most of a view is already held: sort that out on a reader, so that
    // only what is new is mirrored and takes the writer.
    let Ok((checkpoints, cosignatures)) = shared
        .with_reader(move |store| {
            let mut new_checkpoints = Vec::new();
            for checkpoint in checkpoints {
                if !store.holds_checkpoint(&checkpoint)? {
                    new_checkpoints.push(checkpoint);
                }
            }
            let mut new_cosignatures = Vec::new();
            for cosignature in cosignatures {
                if !store.holds_receipt(&cosignature)? {
                    new_cosignatures.push(cosignature);
                }
            }
            Ok((new_checkpoints, new_cosignatures))
        })
        .await
    else {
        return;
    };
    for checkpoint in checkpoints {
        match shared.agreement.verify_checkpoint(&checkpoint) {
            Ok(owner) => witness::on_checkpoint(shared, source, &owner.id, checkpoint).await,
            Err(e) => debug!("gossiped checkpoint refused: {e}"),
        }
    }
    let verified: Vec<Cosignature> =
        cosignatures.into_iter().filter(|c| shared.agreement.verify_cosignature(c).is_ok()).collect();
    if verified.is_empty() {
        return;
    }
    // One transaction: a newer checkpoint's receipts and older ones become
    // visible together.
    let stored = shared.with_held(move |h| h.store.add_cosignatures(&verified)).await;
    if stored.is_ok_and(|outcomes| outcomes.contains(&Some(true))) {
        shared.changed();
    }
}

/// Gossips with `peer` every `interval`, or sooner when `wake` fires, for
/// as long as the node runs. Each partner has its own loop, so a peer that
/// is down delays nobody else.
pub(crate) async fn with_partner(
    shared: Arc<Shared>,
    peer: cbm_wire::SignatoryId,
    interval: std::time::Duration,
    wake: Arc<tokio::sync::Notify>,
) {
    // Where the next page of the partner's evidence starts.
    let mut evidence_after = None;
    // Whether the last round reached the partner: the operator hears of
    // each change, not of every round.
    let mut reachable = None;
    for round in 0u64.. {
        let woken = wake.notified();
        let depth = if round % DEEP_EVERY == 0 { DEEP_CHECKPOINTS } else { 1 };
        let exchange = with_peer(&shared, &peer, depth, &mut evidence_after);
        let failure = match tokio::time::timeout(shared.limits.request_timeout, exchange).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!("no answer within {:?}", shared.limits.request_timeout)),
        };
        let answered = failure.is_none();
        shared.note_contact(&peer, answered);
        match (failure, reachable) {
            (None, Some(true)) => {}
            (None, Some(false)) => info!(%peer, "peer back: gossip answered again"),
            (None, None) => info!(%peer, "peer reached"),
            (Some(e), Some(false)) => debug!(%peer, "gossip failed: {e}"),
            (Some(e), _) => warn!(%peer, "peer unreachable: {e}"),
        }
        reachable = Some(answered);
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = woken => {}
        }
    }
}

/// One round with `peer`: views exchanged and one page of its evidence
/// taken, from `evidence_after` on; then its view. Moves `evidence_after`
/// to where the next page starts (after this page's last item, or to the
/// first once a page comes back empty) as soon as the page is stored, so a
/// round cut off while it takes the view keeps its place.
async fn with_peer(
    shared: &Arc<Shared>,
    peer: &cbm_wire::SignatoryId,
    depth: usize,
    evidence_after: &mut Option<Digest>,
) -> Result<(), String> {
    let connection = shared.peers.connect(peer).await.map_err(|e| e.to_string())?;
    let (checkpoints, cosignatures) = our_view(shared, depth).await.map_err(|e| e.to_string())?;
    let timeout = shared.limits.request_timeout;
    let request = Request::Gossip { checkpoints, cosignatures };
    let Response::Gossip { checkpoints, cosignatures } =
        call(&connection, &request, shared.max_frame(), timeout).await.map_err(|e| e.to_string())?
    else {
        return Err("unexpected answer to gossip".into());
    };
    // The evidence first: taking the view may mirror a log for as long as
    // the round lasts (a slow source), and must not keep evidence away.
    let request = Request::Evidence { after: *evidence_after };
    let Response::Evidence { evidence } =
        call(&connection, &request, shared.max_frame(), timeout).await.map_err(|e| e.to_string())?
    else {
        return Err("unexpected answer to an evidence request".into());
    };
    let next = evidence.last().map(|item| Digest(*blake3::hash(&item.encode()).as_bytes()));
    take_evidence(shared, evidence).await.map_err(|e| e.to_string())?;
    *evidence_after = next;
    take_view(shared, &connection, checkpoints, cosignatures).await;
    Ok(())
}

/// Stores each item of `evidence` that verifies and that the store wants
/// (not held, its log and kind below the cap): the others are sorted out
/// on a reader first, so a round that brings nothing new verifies nothing
/// and does not take the writer. Of one page, at most the cap's worth of
/// items per log of the roster and kind are verified, and none once one
/// has failed: a peer's page costs at most a few signatures per signatory.
async fn take_evidence(shared: &Arc<Shared>, mut evidence: Vec<EquivocationEvidence>) -> Result<(), StoreError> {
    evidence.retain(|item| shared.agreement.owner_of(&log_and_kind(item).0).is_some());
    if evidence.is_empty() {
        return Ok(());
    }
    let unheld = shared
        .with_reader(move |store| {
            let mut unheld = Vec::new();
            let mut per_log_and_kind: HashMap<(LogId, u8), u64> = HashMap::new();
            for item in evidence {
                let taken = per_log_and_kind.entry(log_and_kind(&item)).or_default();
                if *taken < MAX_EVIDENCE_PER_LOG_AND_KIND && store.wants_evidence(&item)? {
                    *taken += 1;
                    unheld.push(item);
                }
            }
            Ok(unheld)
        })
        .await?;
    if unheld.is_empty() {
        return Ok(());
    }
    // Signatures are checked on a blocking thread, not on a reader.
    let roster = shared.agreement.roster().clone();
    let verified = tokio::task::spawn_blocking(move || {
        unheld.into_iter().map_while(|item| verify_evidence(&roster, &item).is_ok().then_some(item)).collect::<Vec<_>>()
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("verifying evidence failed: {e}")))?;
    if verified.is_empty() {
        return Ok(());
    }
    let new = shared
        .with_held(move |h| {
            let mut new = 0;
            for evidence in &verified {
                new += usize::from(h.store.add_evidence(evidence)?);
            }
            Ok(new)
        })
        .await?;
    if new > 0 {
        shared.changed();
    }
    Ok(())
}
