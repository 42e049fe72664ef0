//! What each signatory owes, as this node sees it: declarations overdue by
//! the schedules, acknowledgements of this node's own entries (scheduled,
//! and notifications on a noticed topic) that peers owe or gave late, and
//! requests answered late or not at all, or waiting for this node's answer,
//! judged on the receipts the node holds.

use std::collections::BTreeMap;

use std::sync::Arc;

use cbm_log::answers::{Answer, AnswerStatus, AnswerSummary, Responses, Tally, judge_answers};
use cbm_log::schedule::{AckStatus, PeriodReport, PeriodStatus, Receipts, judge_record, kept_for_judging};
use cbm_log::store::StoreError;
use cbm_wire::{SignatoryId, TimeSpan, Timestamp, Topic};
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
    /// Acknowledgements of the node's own scheduled entries (and
    /// notifications on a noticed topic) that are missing or were late.
    pub acknowledgements: Vec<Unacknowledged>,
    /// Requests, by any signatory, that an asked party answered late or not
    /// at all.
    #[serde(default)]
    pub answers: Vec<Unanswered>,
    /// Requests that ask this node and that it has not answered yet, their
    /// reply-by time still ahead.
    #[serde(default)]
    pub to_answer: Vec<Unanswered>,
    /// How each state answered the communication checks of all the others
    /// (spec/log.md §5.6), in the bytewise order of their ids.
    #[serde(default)]
    pub checks: Vec<AnswerSummary>,
    /// Declarations of ours due within the warning time
    /// (`NodeLimits::warn_before`) and not made yet.
    #[serde(default)]
    pub due_soon: Vec<Overdue>,
}

/// A request an asked party owes an answer to, or answered late.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unanswered {
    /// Who asked.
    pub requester: SignatoryId,
    /// The request's index in the requester's log.
    pub index: u64,
    /// Who was asked.
    pub party: SignatoryId,
    /// When the answer is due.
    pub reply_by: Timestamp,
    /// Late, unanswered or pending.
    pub status: AnswerStatus,
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

impl Overdue {
    /// `signatory`'s `period`, as reported.
    fn of(signatory: &SignatoryId, period: &PeriodReport) -> Self {
        Self {
            signatory: signatory.clone(),
            topic: period.topic.clone(),
            period: period.period,
            due: period.due,
            status: period.status,
            delivered: period.delivered,
        }
    }
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
    let warn_before = shared.limits.warn_before;
    shared
        .with_reader(move |store| {
            let mut found = Obligations { at: Some(now), ..Obligations::default() };
            // Requests are answered in other logs: read every log first.
            let mut logs = Vec::new();
            let mut receipts = BTreeMap::new();
            for signatory in &agreement.roster().signatories {
                let log = agreement.log_of(&signatory.id);
                let size = store.size(&log)?;
                let mut kept = Vec::new();
                let mut next = 0;
                while next < size {
                    let page = store.entries(&log, next, PAGE)?;
                    next += page.len() as u64;
                    kept.extend(page.into_iter().filter_map(|e| kept_for_judging(agreement.roster(), e)));
                }
                receipts.insert(signatory.id.clone(), Receipts::new(&store.cosignatures(&log)?));
                logs.push((signatory, kept, store.checkpoints(&log)?));
            }
            let responses = Responses::new(logs.iter().flat_map(|(_, kept, _)| kept));
            let mut checks = Tally::default();
            for (signatory, kept, checkpoints) in &logs {
                let (kept, checkpoints) = (kept.as_slice(), checkpoints.as_slice());
                let no_receipts = Receipts::default();
                let own_receipts = receipts.get(&signatory.id).unwrap_or(&no_receipts);
                let record = judge_record(&agreement, &signatory.id, kept, checkpoints, own_receipts, now);
                found.overdue.extend(
                    record
                        .periods
                        .iter()
                        .filter(|p| matches!(p.status, PeriodStatus::Late | PeriodStatus::Missing))
                        .map(|p| Overdue::of(&signatory.id, p)),
                );
                if signatory.id == me {
                    let warn_before = TimeSpan(u64::try_from(warn_before.as_millis()).unwrap_or(u64::MAX));
                    found.due_soon = record
                        .periods
                        .iter()
                        .filter(|p| p.status == PeriodStatus::Pending && p.entry.is_none())
                        .filter(|p| p.due.saturating_since(now) <= warn_before && now <= p.due)
                        .map(|p| Overdue::of(&signatory.id, p))
                        .collect();
                    found.acknowledgements = record
                        .ack_problems
                        .into_iter()
                        .map(|p| Unacknowledged { index: p.entry, recipient: p.recipient, status: p.status })
                        .collect();
                }
                let answered = judge_answers(&agreement, &signatory.id, kept, checkpoints, &responses, &receipts, now);
                let unanswered = |a: Answer| Unanswered {
                    requester: signatory.id.clone(),
                    index: a.entry,
                    party: a.party,
                    reply_by: a.reply_by,
                    status: a.status,
                };
                checks.merge(answered.checks);
                found.answers.extend(answered.problems.into_iter().map(unanswered));
                let mine = |a: &Answer| a.party == me && responses.of(&signatory.id, a.entry, &me).is_none();
                found.to_answer.extend(answered.pending.into_iter().filter(mine).map(unanswered));
            }
            found.checks = checks.summaries();
            Ok(found)
        })
        .await
}
