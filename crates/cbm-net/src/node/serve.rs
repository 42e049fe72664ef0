//! The serving side: accept connections, authenticate them, and answer each
//! request stream (spec/transport.md §5). A bad frame ends only its stream.

use std::sync::Arc;

use cbm_log::store::StoreError;
use cbm_wire::{ErrorCode, Request, Response, SignatoryId, Text, Wire};
use tracing::{debug, warn};

use super::receipts::Stored;
use super::shared::Shared;
use super::{gossip, witness};
use crate::frame::{FrameError, read_request, write_frame};
use crate::tls::peer_key;

/// QUIC application error code for a connection refused after the handshake.
const REFUSED: u32 = 1;

/// Accepts connections until the endpoint closes.
pub(crate) async fn accept_loop(shared: Arc<Shared>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            match incoming.await {
                Ok(connection) => serve_incoming(shared, connection).await,
                Err(e) => debug!("handshake failed: {e}"),
            }
        });
    }
}

async fn serve_incoming(shared: Arc<Shared>, connection: quinn::Connection) {
    let Some(peer) = peer_key(&connection).and_then(|key| shared.peers.who(&key)) else {
        connection.close(REFUSED.into(), b"unknown transport key");
        return;
    };
    shared.peers.admit(&peer, &connection, shared.limits.max_connections_per_peer);
    shared.peers.remember(&peer, &connection);
    serve_connection(Arc::clone(&shared), connection.clone(), peer.clone()).await;
    shared.peers.release(&peer, &connection);
}

/// Answers request streams the peer opens on `connection`, whichever side
/// opened the connection, until it closes.
pub(crate) async fn serve_connection(shared: Arc<Shared>, connection: quinn::Connection, peer: SignatoryId) {
    loop {
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(e) => {
                debug!(%peer, "connection ended: {e}");
                return;
            }
        };
        let allowed = shared.peers.take_request(&peer, shared.limits.requests_per_second);
        let shared = Arc::clone(&shared);
        let connection = connection.clone();
        let peer = peer.clone();
        tokio::spawn(async move { handle_stream(shared, connection, peer, send, recv, allowed).await });
    }
}

async fn handle_stream(
    shared: Arc<Shared>,
    connection: quinn::Connection,
    peer: SignatoryId,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    allowed: bool,
) {
    let read = tokio::time::timeout(shared.limits.request_timeout, read_request(&mut recv, shared.max_frame())).await;
    let response = match read {
        _ if !allowed => error(ErrorCode::RateLimited, "request rate over the limit"),
        Err(_) => error(ErrorCode::Malformed, "no complete request in time"),
        Ok(Err(FrameError::Stream(_))) => return,
        Ok(Err(e)) => {
            debug!(%peer, "bad request frame: {e}");
            let _ = recv.stop(0u32.into());
            error(ErrorCode::Malformed, &e.to_string())
        }
        Ok(Ok(request)) => answer(&shared, &connection, &peer, request).await,
    };
    // Once finished, the stream delivers what was written on its own: the
    // task need not stay to see it acknowledged.
    if write_frame(&mut send, response.encode()).await.is_ok() {
        let _ = send.finish();
    }
}

/// An error response; a message over the text limit (it may quote what the
/// peer sent) loses its tail, cut on a character boundary.
fn error(code: ErrorCode, message: &str) -> Response {
    Response::Error { code, message: Text::truncated(message) }
}

fn store_error(e: &StoreError) -> Response {
    match e {
        StoreError::NotFound(what) => error(ErrorCode::NotFound, what),
        StoreError::Refused(why) => error(ErrorCode::Rejected, &why.to_string()),
        other => {
            warn!("store: {other}");
            error(ErrorCode::Internal, "the store failed")
        }
    }
}

/// Answers one request from `peer`.
async fn answer(
    shared: &Arc<Shared>,
    connection: &quinn::Connection,
    peer: &SignatoryId,
    request: Request,
) -> Response {
    let page = u64::from(shared.agreement.roster().limits.max_page_entries);
    let max_frame = shared.max_frame();
    let result = match request {
        Request::LatestCheckpoint { log } => shared
            .with_reader(move |store| store.latest_checkpoint(&log))
            .await
            .map(|c| Response::Checkpoint { checkpoint: c }),
        Request::Entries { log, start, count } => {
            let count = u64::from(count).min(page);
            shared
                .with_reader(move |store| store.entries(&log, start, count))
                .await
                .map(|entries| Response::Entries { entries: fit_frame(entries, max_frame) })
        }
        Request::InclusionProof { index, size, .. } if index >= size => {
            return error(ErrorCode::OutOfRange, "the index is not below the size");
        }
        Request::ConsistencyProof { old_size, new_size, .. } if old_size == 0 || old_size > new_size => {
            return error(ErrorCode::OutOfRange, "a consistency proof runs from a size of 1 or more to one no smaller");
        }
        Request::InclusionProof { log, index, size } => shared
            .with_reader(move |store| store.inclusion_proof(&log, index, size))
            .await
            .map(|proof| Response::InclusionProof { proof }),
        Request::ConsistencyProof { log, old_size, new_size } => shared
            .with_reader(move |store| store.consistency_proof(&log, old_size, new_size))
            .await
            .map(|proof| Response::ConsistencyProof { proof }),
        Request::PushCheckpoint { checkpoint } => {
            let owner = match shared.agreement.verify_checkpoint(&checkpoint) {
                Ok(signatory) => signatory.id.clone(),
                Err(e) => return error(ErrorCode::Rejected, &e.to_string()),
            };
            match witness::check_against_held(shared, &checkpoint).await {
                Some(true) => {
                    return error(
                        ErrorCode::Equivocation,
                        "the checkpoint conflicts with the log held: evidence is stored; ask for Evidence",
                    );
                }
                Some(false) => return Response::Accepted,
                None => {}
            }
            let Some(slot) = TaskSlot::begin(shared, peer) else {
                return error(ErrorCode::RateLimited, "too many of your checkpoints are being mirrored; push later");
            };
            let source = connection.clone();
            tokio::spawn(async move { witness::on_checkpoint(&slot.shared, &source, &owner, checkpoint).await });
            Ok(Response::Accepted)
        }
        Request::PushCosignature { cosignature } => {
            if let Err(e) = shared.agreement.verify_cosignature(&cosignature) {
                return error(ErrorCode::Rejected, &e.to_string());
            }
            match shared.receipts.store(cosignature).await {
                Stored::New | Stored::Known => Ok(Response::Accepted),
                Stored::NoCheckpoint => return error(ErrorCode::NotFound, "the cosigned checkpoint is not held"),
                Stored::Failed => return error(ErrorCode::Internal, "the store failed"),
            }
        }
        Request::Cosignatures { log, size, root } => {
            shared.with_reader(move |store| store.cosignatures_at(&log, size)).await.map(|all| Response::Cosignatures {
                cosignatures: all.into_iter().filter(|c| c.body.checkpoint.root == root).collect(),
            })
        }
        Request::Gossip { checkpoints, cosignatures } => {
            let view = gossip::our_view(shared, 1).await;
            // Over the cap, the peer still gets our view; we skip taking its
            // view this time (the next round brings it again).
            if let Some(slot) = TaskSlot::begin(shared, peer) {
                let source = connection.clone();
                tokio::spawn(async move { gossip::take_view(&slot.shared, &source, checkpoints, cosignatures).await });
            }
            view.map(|(checkpoints, cosignatures)| Response::Gossip { checkpoints, cosignatures })
        }
        Request::Evidence { after } => shared
            .with_reader(move |store| store.evidence_page(after.as_ref(), max_frame))
            .await
            .map(|page| Response::Evidence { evidence: fit_frame(page.evidence, max_frame) }),
        Request::Openings { log, start } => {
            let caller = peer.clone();
            shared.with_reader(move |store| store.openings(&log, start, Some(&caller), max_frame)).await.map(|page| {
                Response::Openings {
                    openings: fit_frame(page.openings.into_iter().map(|(_, o)| o).collect(), max_frame),
                }
            })
        }
    };
    result.unwrap_or_else(|e| store_error(&e))
}

/// The longest prefix of `items` that fits in one page and, encoded, in
/// `budget` bytes of a frame (each item also costs a few bytes of framing).
/// A response never exceeds the frame cap the client enforces.
pub(crate) fn fit_frame<T: Wire>(mut items: Vec<T>, budget: usize) -> Vec<T> {
    let mut left = budget.saturating_sub(64);
    let fits = items
        .iter()
        .take(cbm_wire::limits::MAX_PAGE_ITEMS)
        .take_while(|item| {
            let cost = item.encode().len() + 16;
            let ok = cost <= left;
            left = left.saturating_sub(cost);
            ok
        })
        .count();
    items.truncate(fits);
    items
}

/// A background task run on behalf of a peer, counted against
/// [`super::NodeLimits::tasks_per_peer`] until it is dropped.
struct TaskSlot {
    shared: Arc<Shared>,
    peer: SignatoryId,
}

impl TaskSlot {
    fn begin(shared: &Arc<Shared>, peer: &SignatoryId) -> Option<Self> {
        shared
            .peers
            .begin_task(peer, shared.limits.tasks_per_peer)
            .then(|| Self { shared: Arc::clone(shared), peer: peer.clone() })
    }
}

impl Drop for TaskSlot {
    fn drop(&mut self) {
        self.shared.peers.end_task(&self.peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_quoting_peer_text_across_the_limit_does_not_panic() {
        let peer_text = format!("{}日本", "x".repeat(cbm_wire::limits::MAX_TEXT_BYTES - 2));
        let Response::Error { code, message } = error(ErrorCode::Malformed, &peer_text) else {
            panic!("an error response");
        };
        assert_eq!(code, ErrorCode::Malformed);
        assert_eq!(message.as_str().len(), cbm_wire::limits::MAX_TEXT_BYTES - 2);
    }
}
