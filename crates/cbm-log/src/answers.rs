//! Requests answered by their deadline (spec/log.md §5.5). Pure: every
//! input is passed in, including `now`.
//!
//! A `Response` that cites a `Request` answers it for the response's
//! author. The answer counts from when it reached the requester: the
//! requester's own receipt of the response, or its delivery to the quorum
//! if that came first (a response the quorum holds is public, and the
//! requester can fetch it). It is in time if that is no later than the
//! request's `reply_by`.

use std::collections::{BTreeMap, HashMap};

use cbm_wire::{EntryKind, SignatoryId, SignedCheckpoint, SignedEntry, TimeSpan, Timestamp};
use serde::{Deserialize, Serialize};

use crate::agreement::Agreement;
use crate::schedule::{Receipts, publication_times, published_at};

/// The responses of every log, found once: for each (requester, request
/// index, responder), the responder's first response citing the request.
#[derive(Debug, Default)]
pub struct Responses {
    first: HashMap<(SignatoryId, u64, SignatoryId), u64>,
}

impl Responses {
    /// Indexes the `Response` entries among `entries` (any logs, any order;
    /// other kinds are ignored). A response citing an entry that is not a
    /// request answers nothing: the judging only looks up requests.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a SignedEntry>) -> Self {
        let mut first: HashMap<(SignatoryId, u64, SignatoryId), u64> = HashMap::new();
        for entry in entries {
            if let EntryKind::Response { cites } = &entry.body.kind {
                let key = (cites.signatory.clone(), cites.index, entry.body.signatory.clone());
                let index = first.entry(key).or_insert(entry.body.index);
                *index = (*index).min(entry.body.index);
            }
        }
        Self { first }
    }

    /// The index of `responder`'s first response to `requester`'s entry
    /// `request`, if it made one.
    pub fn of(&self, requester: &SignatoryId, request: u64, responder: &SignatoryId) -> Option<u64> {
        self.first.get(&(requester.clone(), request, responder.clone())).copied()
    }
}

/// How one asked party answered one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum AnswerStatus {
    /// Its response reached the requester by the reply-by time.
    InTime {
        /// The response's index in the answering party's log.
        response: u64,
        /// From the request's publication to the answer reaching the
        /// requester.
        #[serde(with = "crate::span_json")]
        delay: TimeSpan,
    },
    /// Its response reached the requester after the reply-by time, or had
    /// not reached it by then and still has not.
    Late {
        /// The response's index in the answering party's log.
        response: u64,
        /// When the answer reached the requester, if it has.
        answered: Option<Timestamp>,
        /// From the request's publication to then, if it has.
        #[serde(with = "crate::span_json::option")]
        delay: Option<TimeSpan>,
    },
    /// No response, and the reply-by time has passed.
    Unanswered,
    /// Not answered yet, and the reply-by time has not passed.
    Pending,
}

/// One asked party's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The request's index in the requester's log.
    pub entry: u64,
    /// Who was asked.
    pub party: SignatoryId,
    /// When the answer was due.
    pub reply_by: Timestamp,
    /// How it was answered.
    #[serde(flatten)]
    pub status: AnswerStatus,
}

/// How one asked party answered a signatory's requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSummary {
    /// The party asked.
    pub party: SignatoryId,
    /// Requests answered by their reply-by time.
    pub in_time: u64,
    /// Requests answered after it (or answered and not yet received, past it).
    pub late: u64,
    /// Requests not answered, past their reply-by time.
    pub unanswered: u64,
    /// Requests not answered yet, before their reply-by time.
    pub pending: u64,
    /// The median answer time over the requests whose answer reached the
    /// requester (the lower of the two middle ones for an even count).
    #[serde(with = "crate::span_json::option")]
    pub median_delay: Option<TimeSpan>,
    /// The longest such answer time.
    #[serde(with = "crate::span_json::option")]
    pub longest_delay: Option<TimeSpan>,
}

/// How a signatory's requests were answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// Answers that were late or are missing: the answer problems.
    pub problems: Vec<Answer>,
    /// Answers not given yet, their reply-by time still ahead.
    pub pending: Vec<Answer>,
    /// Per asked party, in the bytewise order of their ids: how it answered.
    pub answers: Vec<AnswerSummary>,
}

/// The parties a request asks: those its `to` names, or every other
/// signatory if it names none; in roster order, the requester never among
/// them.
fn asked<'a>(agreement: &'a Agreement, requester: &SignatoryId, to: &[SignatoryId]) -> Vec<&'a SignatoryId> {
    agreement
        .roster()
        .signatories
        .iter()
        .map(|s| &s.id)
        .filter(|id| *id != requester && (to.is_empty() || to.contains(id)))
        .collect()
}

/// Judges how `owner`'s requests among `kept` (its entries; other kinds are
/// ignored) were answered (spec/log.md §5.5): each asked party's first
/// response in `responses`, timed by `receipts` (each log's, by owner) as
/// of `now`; answer times count from publication by `checkpoints` (the
/// owner's).
pub fn judge_answers(
    agreement: &Agreement,
    owner: &SignatoryId,
    kept: &[SignedEntry],
    checkpoints: &[SignedCheckpoint],
    responses: &Responses,
    receipts: &BTreeMap<SignatoryId, Receipts>,
    now: Timestamp,
) -> AnswerRecord {
    let published = publication_times(checkpoints);
    let mut record = AnswerRecord::default();
    let mut delays: BTreeMap<&SignatoryId, (AnswerSummary, Vec<TimeSpan>)> = BTreeMap::new();
    for entry in kept {
        let EntryKind::Request { to, reply_by } = &entry.body.kind else { continue };
        let (index, reply_by) = (entry.body.index, *reply_by);
        let since = published_at(&published, index);
        for party in asked(agreement, owner, to) {
            let status = match responses.of(owner, index, party) {
                Some(response) => {
                    let log = receipts.get(party);
                    let by_requester = log.and_then(|r| r.receipt(owner, response));
                    let by_quorum = log.and_then(|r| r.delivered(agreement, party, response));
                    let answered = by_requester.into_iter().chain(by_quorum).min();
                    let delay = answered.map(|at| since.map_or(TimeSpan(0), |p| at.saturating_since(p)));
                    match (answered, delay) {
                        (Some(at), Some(delay)) if at <= reply_by => AnswerStatus::InTime { response, delay },
                        (None, _) if now <= reply_by => AnswerStatus::Pending,
                        (answered, delay) => AnswerStatus::Late { response, answered, delay },
                    }
                }
                None if now > reply_by => AnswerStatus::Unanswered,
                None => AnswerStatus::Pending,
            };
            let (summary, times) = delays.entry(party).or_insert_with(|| {
                let summary = AnswerSummary {
                    party: party.clone(),
                    in_time: 0,
                    late: 0,
                    unanswered: 0,
                    pending: 0,
                    median_delay: None,
                    longest_delay: None,
                };
                (summary, Vec::new())
            });
            match status {
                AnswerStatus::InTime { delay, .. } => {
                    summary.in_time += 1;
                    times.push(delay);
                }
                AnswerStatus::Late { delay, .. } => {
                    summary.late += 1;
                    times.extend(delay);
                }
                AnswerStatus::Unanswered => summary.unanswered += 1,
                AnswerStatus::Pending => summary.pending += 1,
            }
            let answer = Answer { entry: index, party: party.clone(), reply_by, status };
            match status {
                AnswerStatus::Late { .. } | AnswerStatus::Unanswered => record.problems.push(answer),
                AnswerStatus::Pending => record.pending.push(answer),
                AnswerStatus::InTime { .. } => {}
            }
        }
    }
    record.answers = delays
        .into_values()
        .map(|(mut summary, mut times)| {
            times.sort_unstable();
            summary.median_delay = times.get(times.len().saturating_sub(1) / 2).copied();
            summary.longest_delay = times.last().copied();
            summary
        })
        .collect();
    record
}
