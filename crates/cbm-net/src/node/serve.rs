//! The serving side: accept connections, authenticate them, and answer each
//! request stream (spec/transport.md §5). A bad frame ends only its stream.

use std::sync::Arc;

use cbm_core::serve::{answer_read, error, is_read, store_error};
use cbm_log::store::StoreError;
use cbm_wire::{ErrorCode, Request, Response, SignatoryId, Wire};
use tracing::{debug, warn};

use super::shared::Shared;
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
        let peer = peer.clone();
        tokio::spawn(async move { handle_stream(shared, peer, send, recv, allowed).await });
    }
}

async fn handle_stream(
    shared: Arc<Shared>,
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
        Ok(Ok(request)) => answer(&shared, peer, request).await,
    };
    // Once finished, the stream delivers what was written on its own: the
    // task need not stay to see it acknowledged.
    if write_frame(&mut send, response.encode()).await.is_ok() {
        let _ = send.finish();
    }
}

/// Answers one request from `peer`: reads on a reader connection, the rest
/// by the core.
async fn answer(shared: &Arc<Shared>, peer: SignatoryId, request: Request) -> Response {
    if !is_read(&request) {
        return shared.ask_core(peer, request).await;
    }
    let reader = Arc::clone(shared);
    let answered = shared.with_reader(move |store| Ok(answer_read(store, &reader.agreement, &peer, &request))).await;
    match answered {
        Ok(Some((response, failure))) => {
            if let Some(e) = failure.filter(|e| !matches!(e, StoreError::NotFound(_) | StoreError::Refused(_))) {
                warn!("store: {e}");
            }
            response
        }
        Ok(None) => error(ErrorCode::Internal, "not a read"),
        Err(e) => {
            warn!("store: {e}");
            store_error(&e)
        }
    }
}
