//! What each signatory owes, as this node sees it: declarations overdue by
//! the schedules, and acknowledgements of this node's own entries that
//! peers owe or gave late, judged on the receipts the node holds.

use std::sync::Arc;

use cbm_log::schedule::{AckStatus, PeriodStatus, Receipts, judge_record, schedule_relevant};
use cbm_log::store::StoreError;
use cbm_wire::{SignatoryId, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use super::shared::Shared;

/// Entries read per query while judging a log.
const PAGE: u64 = 1024;

/// Obligations not met, as of a time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligations {
    /// When they were judged.
    pub at: Option<Timestamp>,
    /// Declarations due and not delivered on time, by any signatory.
    pub overdue: Vec<Overdue>,
    /// Acknowledgements of the node's own scheduled entries that are
    /// missing or were late.
    pub acknowledgements: Vec<Unacknowledged>,
}

/// A period whose declaration was late or is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    /// Who owes it.
    pub signatory: SignatoryId,
    /// The schedule's topic.
    pub topic: Topic,
    /// The period.
    pub period: u64,
    /// When it was due.
    pub due: Timestamp,
    /// Late (delivered after the due time, or due and not delivered yet) or missing.
    pub status: PeriodStatus,
    /// When the quorum received it, if it did.
    pub delivered: Option<Timestamp>,
}

/// An acknowledgement a peer owes, or gave late.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unacknowledged {
    /// The entry of the node's own log.
    pub index: u64,
    /// Who owes the acknowledgement.
    pub recipient: SignatoryId,
    /// Late or missing.
    pub status: AckStatus,
}

/// Judges every log the node holds as of its clock. This reads every log's
/// entries once: it is for status requests, not for loops.
pub(crate) async fn obligations(shared: &Arc<Shared>) -> Result<Obligations, StoreError> {
    let agreement = shared.agreement.clone();
    let me = shared.me.clone();
    let now = shared.clock.now();
    shared
        .with_reader(move |store| {
            let mut found = Obligations { at: Some(now), ..Obligations::default() };
            for signatory in &agreement.roster().signatories {
                let log = agreement.log_of(&signatory.id);
                let size = store.size(&log)?;
                let mut kept = Vec::new();
                let mut next = 0;
                while next < size {
                    let page = store.entries(&log, next, PAGE)?;
                    next += page.len() as u64;
                    kept.extend(page.into_iter().filter(|e| schedule_relevant(agreement.roster(), e)));
                }
                let cosignatures = store.cosignatures(&log)?;
                let receipts = Receipts::new(&cosignatures);
                let checkpoints = store.checkpoints(&log)?;
                let record = judge_record(&agreement, &signatory.id, &kept, &checkpoints, &receipts, now);
                found.overdue.extend(
                    record
                        .periods
                        .into_iter()
                        .filter(|p| matches!(p.status, PeriodStatus::Late | PeriodStatus::Missing))
                        .map(|p| Overdue {
                            signatory: signatory.id.clone(),
                            topic: p.topic,
                            period: p.period,
                            due: p.due,
                            status: p.status,
                            delivered: p.delivered,
                        }),
                );
                if signatory.id == me {
                    found.acknowledgements = record
                        .ack_problems
                        .into_iter()
                        .map(|p| Unacknowledged { index: p.entry, recipient: p.recipient, status: p.status })
                        .collect();
                }
            }
            Ok(found)
        })
        .await
}
