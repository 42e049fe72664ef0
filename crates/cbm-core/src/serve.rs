//! Answering peers' read requests from the store (spec/transport.md §5):
//! pure functions of what is stored, so that a driver may answer them on
//! any read connection, alongside the node's other work.

use cbm_log::agreement::Agreement;
use cbm_log::store::{ReadStore, StoreError};
use cbm_wire::{ErrorCode, Request, Response, SignatoryId, Text, Wire};

/// Whether `request` only reads the store: [`answer_read`] answers it.
pub fn is_read(request: &Request) -> bool {
    !matches!(request, Request::PushCheckpoint { .. } | Request::PushCosignature { .. } | Request::Gossip { .. })
}

/// The answer to the read request `request` from `peer`, or `None` if it
/// is not one ([`is_read`]). Pages are cut to the roster's page and frame
/// limits; a failed read becomes an error response (the failure itself is
/// returned too, when it is the store's, not the request's).
pub fn answer_read(
    store: &(impl ReadStore + ?Sized),
    agreement: &Agreement,
    peer: &SignatoryId,
    request: &Request,
) -> Option<(Response, Option<StoreError>)> {
    let page = u64::from(agreement.roster().limits.max_page_entries);
    let max_frame = agreement.roster().limits.max_frame_bytes as usize;
    let result = match request {
        Request::LatestCheckpoint { log } => {
            store.latest_checkpoint(log).map(|checkpoint| Response::Checkpoint { checkpoint })
        }
        Request::Entries { log, start, count } => store
            .entries(log, *start, u64::from(*count).min(page))
            .map(|entries| Response::Entries { entries: fit_frame(entries, max_frame) }),
        Request::InclusionProof { index, size, .. } if index >= size => {
            return Some((error(ErrorCode::OutOfRange, "the index is not below the size"), None));
        }
        Request::ConsistencyProof { old_size, new_size, .. } if *old_size == 0 || old_size > new_size => {
            let why = "a consistency proof runs from a size of 1 or more to one no smaller";
            return Some((error(ErrorCode::OutOfRange, why), None));
        }
        Request::InclusionProof { log, index, size } => {
            store.inclusion_proof(log, *index, *size).map(|proof| Response::InclusionProof { proof })
        }
        Request::ConsistencyProof { log, old_size, new_size } => {
            store.consistency_proof(log, *old_size, *new_size).map(|proof| Response::ConsistencyProof { proof })
        }
        Request::Cosignatures { log, size, root } => {
            store.cosignatures_at(log, *size).map(|all| Response::Cosignatures {
                cosignatures: all.into_iter().filter(|c| c.body.checkpoint.root == *root).collect(),
            })
        }
        Request::Evidence { after } => store
            .evidence_page(after.as_ref(), max_frame)
            .map(|page| Response::Evidence { evidence: fit_frame(page.evidence, max_frame) }),
        Request::Openings { log, start } => store.openings(log, *start, Some(peer), max_frame).map(|page| {
            Response::Openings { openings: fit_frame(page.openings.into_iter().map(|(_, o)| o).collect(), max_frame) }
        }),
        Request::PushCheckpoint { .. } | Request::PushCosignature { .. } | Request::Gossip { .. } => return None,
    };
    Some(match result {
        Ok(response) => (response, None),
        Err(e) => (store_error(&e), Some(e)),
    })
}

/// An error response; a message over the text limit (it may quote what the
/// peer sent) loses its tail, cut on a character boundary.
pub fn error(code: ErrorCode, message: &str) -> Response {
    Response::Error { code, message: Text::truncated(message) }
}

/// The response for a failed store read or write: what the peer may know
/// of it, and nothing of the store's internals.
pub fn store_error(e: &StoreError) -> Response {
    match e {
        StoreError::NotFound(what) => error(ErrorCode::NotFound, what),
        StoreError::Refused(why) => error(ErrorCode::Rejected, &why.to_string()),
        _ => error(ErrorCode::Internal, "the store failed"),
    }
}

/// The longest prefix of `items` that fits in one page and, encoded, in
/// `budget` bytes of a frame (each item also costs a few bytes of framing).
/// A response never exceeds the frame cap the client enforces.
pub fn fit_frame<T: Wire>(mut items: Vec<T>, budget: usize) -> Vec<T> {
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
