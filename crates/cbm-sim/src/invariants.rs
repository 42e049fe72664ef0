//! The properties every run must keep, each a named function. The safety
//! properties are checked after every event (on what the event touched);
//! the liveness properties once the network has healed and the bound
//! stated with them has passed.

use std::collections::{BTreeMap, BTreeSet};

use cbm_log::agreement::Agreement;
use cbm_log::evidence::verify_evidence;
use cbm_log::store::Store;
use cbm_wire::{Cosignature, LogId, SignatoryId, SignedCheckpoint};

/// A property that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property, by its function's name.
    pub invariant: &'static str,
    /// When (simulated ms).
    pub at_ms: u64,
    /// What was seen.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} broken at {} ms: {}", self.invariant, self.at_ms, self.detail)
    }
}

/// A check's verdict: `Err` with what was seen.
pub type Check = Result<(), String>;

/// An owner never signs two inconsistent checkpoints: every checkpoint of
/// its own log it sends out has the root its durable log has at that size.
/// Since the log only grows, every two of them are then consistent.
pub fn owner_never_signs_inconsistent_checkpoints(owner_store: &Store, checkpoint: &SignedCheckpoint) -> Check {
    let body = &checkpoint.body;
    match owner_store.root_at(&body.log, body.size) {
        Ok(root) if root == body.root => Ok(()),
        Ok(root) => Err(format!("sent a checkpoint of size {} with root {}, its log has {root}", body.size, body.root)),
        Err(e) => Err(format!("sent a checkpoint of size {} its store cannot account for: {e}", body.size)),
    }
}

/// An honest witness never cosigns two inconsistent checkpoints of a log:
/// every cosignature it sends out is of a checkpoint whose root its own
/// durable copy of the log has at that size.
pub fn honest_witness_never_cosigns_inconsistent_checkpoints(
    witness_store: &Store,
    cosignature: &Cosignature,
) -> Check {
    let body = &cosignature.body.checkpoint;
    match witness_store.root_at(&body.log, body.size) {
        Ok(root) if root == body.root => Ok(()),
        Ok(root) => Err(format!("cosigned size {} with root {}, but holds {root} there", body.size, body.root)),
        Err(e) => Err(format!("cosigned size {} it does not hold: {e}", body.size)),
    }
}

/// Every publication acknowledged to the operator survives any crash: the
/// store holds each acknowledged checkpoint's entries, with its root.
pub fn acknowledged_entries_survive_crashes(store: &Store, acknowledged: &[SignedCheckpoint]) -> Check {
    for checkpoint in acknowledged {
        let body = &checkpoint.body;
        match store.root_at(&body.log, body.size) {
            Ok(root) if root == body.root => {}
            Ok(_) => return Err(format!("acknowledged size {} is held with another root", body.size)),
            Err(e) => return Err(format!("acknowledged size {} is lost: {e}", body.size)),
        }
    }
    Ok(())
}

/// A settled checkpoint stays settled: the settled size of each log, as a
/// node reports it, never goes down — through crashes too.
pub fn a_settled_checkpoint_stays_settled(
    agreement: &Agreement,
    store: &Store,
    seen: &mut BTreeMap<LogId, u64>,
) -> Check {
    let threshold = agreement.roster().quorum.threshold;
    for signatory in &agreement.roster().signatories {
        let log = agreement.log_of(&signatory.id);
        let settled = store.settled_size(&log, threshold).map_err(|e| e.to_string())?;
        let before = seen.entry(log).or_default();
        if settled < *before {
            return Err(format!("{}'s log was settled at {before}, now at {settled}", signatory.id));
        }
        *before = settled;
    }
    Ok(())
}

/// No honest node is marked an equivocator: no evidence any node holds
/// names a signatory that signs honestly.
pub fn no_honest_node_is_marked_an_equivocator(
    agreement: &Agreement,
    store: &Store,
    honest: &BTreeSet<SignatoryId>,
) -> Check {
    for item in store.evidence().map_err(|e| e.to_string())? {
        if let Ok(owner) = verify_evidence(agreement.roster(), &item)
            && honest.contains(&owner)
        {
            return Err(format!("holds evidence against {owner}, who signs honestly"));
        }
    }
    Ok(())
}

/// Every equivocation shown to two honest nodes that can reach each other
/// becomes evidence at every honest node within a bounded number of gossip
/// rounds once the network heals (the bound is the caller's: see
/// [`crate::Config::heal_rounds`]).
pub fn equivocation_becomes_evidence_everywhere(
    agreement: &Agreement,
    stores: &[(&SignatoryId, &Store)],
    equivocator: &SignatoryId,
) -> Check {
    for (node, store) in stores {
        let evidence = store.evidence().map_err(|e| e.to_string())?;
        let caught = evidence.iter().any(|item| verify_evidence(agreement.roster(), item).as_ref() == Ok(equivocator));
        if !caught {
            return Err(format!("{node} holds no evidence against {equivocator}"));
        }
    }
    Ok(())
}

/// Every honest node converges to the same view once the network heals:
/// each honest signatory's log is held by every honest node at its owner's
/// size, with the owner's newest checkpoint.
pub fn honest_nodes_converge(
    agreement: &Agreement,
    stores: &[(&SignatoryId, &Store)],
    owners: &BTreeSet<SignatoryId>,
) -> Check {
    for owner in owners {
        let log = agreement.log_of(owner);
        let Some((_, owner_store)) = stores.iter().find(|(id, _)| *id == owner) else { continue };
        let newest = owner_store.latest_checkpoint(&log).map_err(|e| e.to_string())?.map(|c| c.body);
        for (node, store) in stores {
            let held = store.latest_checkpoint(&log).map_err(|e| e.to_string())?.map(|c| c.body);
            let (want, got) = (newest.as_ref().map(|b| (b.size, b.root)), held.as_ref().map(|b| (b.size, b.root)));
            if want != got {
                return Err(format!("{node} holds {owner}'s log at {got:?}, its owner at {want:?}"));
            }
        }
    }
    Ok(())
}

/// Whether every honest node holds every honest log at its owner's size
/// and settled there (for measuring convergence; not a property).
pub(crate) fn settled_everywhere(
    agreement: &Agreement,
    stores: &[(&SignatoryId, &Store)],
    owners: &BTreeSet<SignatoryId>,
) -> bool {
    let threshold = agreement.roster().quorum.threshold;
    honest_nodes_converge(agreement, stores, owners).is_ok()
        && owners.iter().all(|owner| {
            let log = agreement.log_of(owner);
            let size = stores.iter().find(|(id, _)| *id == owner).and_then(|(_, s)| s.size(&log).ok());
            stores.iter().all(|(_, store)| store.settled_size(&log, threshold).ok() == size)
        })
}
