//! What a node can report about itself: every log it holds, how far each is
//! settled, who cosigned, and the evidence it holds.

use std::collections::BTreeSet;

use cbm_log::evidence::verify_evidence;
use cbm_log::store::StoreError;
use cbm_wire::{EquivocationEvidence, RootHash, SignatoryId, Timestamp};
use serde::{Deserialize, Serialize};

use super::shared::Shared;

/// A node's view of the agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's signatory.
    pub signatory: SignatoryId,
    /// Every log of the agreement, in roster order.
    pub logs: Vec<LogStatus>,
    /// Signatories the node holds equivocation evidence against: they
    /// showed different logs to different parties.
    pub equivocators: Vec<SignatoryId>,
    /// Signatories the node holds evidence against of checkpoints signed
    /// out of time order (a larger one timed before a smaller one).
    #[serde(default)]
    pub out_of_time_order: Vec<SignatoryId>,
    /// Items of evidence held.
    pub evidence: u64,
    /// Openings of committed fields held (sent, for the node's own log;
    /// received, for the others).
    pub openings: u64,
    /// Each gossip partner, in roster order: whether it answered the last
    /// round, and when it last answered one.
    #[serde(default)]
    pub peers: Vec<PeerStatus>,
}

/// How a gossip partner answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The partner.
    pub peer: SignatoryId,
    /// Whether it answered the last gossip round; `None` before the first.
    pub reachable: Option<bool>,
    /// When it last answered one (the node's clock).
    pub last_contact: Option<Timestamp>,
}

/// One log as a node holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStatus {
    /// The log's owner.
    pub owner: SignatoryId,
    /// Entries held.
    pub size: u64,
    /// The newest checkpoint held: size, root, time.
    pub checkpoint: Option<(u64, RootHash, Timestamp)>,
    /// Who cosigned the newest checkpoint.
    pub cosigners: Vec<SignatoryId>,
    /// Cosignatures held of all its checkpoints: the receipts.
    pub receipts: u64,
    /// The largest checkpoint size the roster's quorum has cosigned.
    pub settled_size: u64,
}

impl NodeStatus {
    /// The status of `owner`'s log.
    pub fn log(&self, owner: &SignatoryId) -> Option<&LogStatus> {
        self.logs.iter().find(|l| &l.owner == owner)
    }
}

/// Reads the status from the store.
pub(crate) async fn status(shared: &std::sync::Arc<Shared>) -> Result<NodeStatus, StoreError> {
    let agreement = shared.agreement.clone();
    let me = shared.me.clone();
    let peers: Vec<PeerStatus> = agreement
        .roster()
        .signatories
        .iter()
        .filter(|s| shared.partners.contains(&s.id))
        .map(|s| {
            let contact = shared.contact(&s.id);
            PeerStatus {
                peer: s.id.clone(),
                reachable: contact.map(|c| c.reachable),
                last_contact: contact.and_then(|c| c.last_answer),
            }
        })
        .collect();
    shared
        .with_reader(move |store| {
            let threshold = agreement.roster().quorum.threshold;
            let mut logs = Vec::new();
            let mut openings = 0;
            for signatory in &agreement.roster().signatories {
                let log = agreement.log_of(&signatory.id);
                let latest = store.latest_checkpoint(&log)?;
                let cosigners = latest
                    .as_ref()
                    .map(|c| store.cosignatures_of(&c.body))
                    .transpose()?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| c.body.witness)
                    .collect();
                openings += store.opening_count(&log)?;
                logs.push(LogStatus {
                    owner: signatory.id.clone(),
                    size: store.size(&log)?,
                    checkpoint: latest.map(|c| (c.body.size, c.body.root, c.body.timestamp)),
                    cosigners,
                    receipts: store.cosignature_count(&log)?,
                    settled_size: store.settled_size(&log, threshold)?,
                });
            }
            let evidence = store.evidence()?;
            let (mut equivocators, mut out_of_time_order) = (BTreeSet::new(), BTreeSet::new());
            for item in &evidence {
                let Ok(owner) = verify_evidence(agreement.roster(), item) else { continue };
                match item {
                    EquivocationEvidence::OutOfTimeOrder { .. } => out_of_time_order.insert(owner),
                    _ => equivocators.insert(owner),
                };
            }
            Ok(NodeStatus {
                signatory: me,
                logs,
                equivocators: equivocators.into_iter().collect(),
                out_of_time_order: out_of_time_order.into_iter().collect(),
                evidence: evidence.len() as u64,
                openings,
                peers,
            })
        })
        .await
}
