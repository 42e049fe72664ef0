//! Cosignatures pushed by peers, stored in groups (spec/transport.md §5.4).
//! Every witness answers a new checkpoint at about the same time; storing
//! each push in its own durable commit would queue them behind one another.
//! Instead, the cosignatures that arrive while one group is being committed
//! form the next group: a burst costs a few commits, and a lone push waits
//! for nothing.

use std::sync::Arc;

use cbm_wire::Cosignature;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::shared::Shared;

/// Most cosignatures stored in one commit.
const MAX_GROUP: usize = 256;

/// Pushes waiting to be stored, at most: a full queue makes pushers wait.
const QUEUE: usize = 1024;

/// What became of a pushed cosignature (already verified by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Stored: a new receipt.
    New,
    /// The witness's receipt of that size was held already.
    Known,
    /// The cosigned checkpoint is not held.
    NoCheckpoint,
    /// The store failed; nothing of its group was stored.
    Failed,
}

/// A cosignature waiting for its group, and who waits for the outcome.
struct Pending {
    cosignature: Cosignature,
    outcome: oneshot::Sender<Stored>,
}

/// The sending side: what request handlers hold.
#[derive(Debug)]
pub(crate) struct Receipts {
    queue: mpsc::Sender<Pending>,
}

/// The queue's receiving side, for [`store_groups`].
pub(crate) struct Queue(mpsc::Receiver<Pending>);

impl Receipts {
    /// A queue of pushes, and its receiving side for [`store_groups`].
    pub(crate) fn new() -> (Self, Queue) {
        let (queue, pending) = mpsc::channel(QUEUE);
        (Self { queue }, Queue(pending))
    }

    /// Stores a verified cosignature with the others pushed meanwhile.
    pub(crate) async fn store(&self, cosignature: Cosignature) -> Stored {
        let (outcome, stored) = oneshot::channel();
        if self.queue.send(Pending { cosignature, outcome }).await.is_err() {
            return Stored::Failed;
        }
        stored.await.unwrap_or(Stored::Failed)
    }
}

/// Stores the queued cosignatures group by group, for as long as the node runs.
pub(crate) async fn store_groups(shared: Arc<Shared>, Queue(mut pending): Queue) {
    while let Some(first) = pending.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP
            && let Ok(next) = pending.try_recv()
        {
            group.push(next);
        }
        let cosignatures: Vec<Cosignature> = group.iter().map(|p| p.cosignature.clone()).collect();
        let stored = shared.with_held(move |h| h.store.add_cosignatures(&cosignatures)).await;
        let outcomes = match stored {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|o| match o {
                    Some(true) => Stored::New,
                    Some(false) => Stored::Known,
                    None => Stored::NoCheckpoint,
                })
                .collect(),
            Err(e) => {
                warn!("storing {} pushed cosignatures: {e}", group.len());
                vec![Stored::Failed; group.len()]
            }
        };
        if outcomes.contains(&Stored::New) {
            shared.changed();
        }
        for (waiting, outcome) in group.into_iter().zip(outcomes) {
            let _ = waiting.outcome.send(outcome);
        }
    }
}
