//! Requests answered by their deadline (spec/log.md §5.5). Pure: every
//! input is passed in, including `now`.
//!
//! A `Response` that cites a `Request` answers it for the response's
//! author. The answer counts from its first receipt by anyone other than
//! its author: once one other signatory cosigned it, it was sent, and the
//! requester can fetch it — so a requester cannot make an answer late by
//! withholding its own cosignature. A request asks something of anyone
//! only once the quorum received it by its `reply_by`: a requester cannot
//! set a deadline no one could meet, or hide the question.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use cbm_wire::{EntryKind, Field, SignatoryId, SignedCheckpoint, SignedEntry, TimeSpan, Timestamp};
use serde::{Deserialize, Serialize};

use crate::agreement::Agreement;
use crate::schedule::{Receipts, publication_times, published_at};

/// Answers listed per requester, at most, late or missing (and, apart,
/// pending): a request to every party costs a hundred bytes and asks a
/// thousand, so the lists are bounded; the summaries count every answer.
pub const MAX_LISTED_ANSWERS: usize = 1024;

/// The responses of every log, found once: for each requester, request
/// index and responder, the responder's first response citing the request.
#[derive(Debug, Default)]
pub struct Responses {
    first: HashMap<SignatoryId, HashMap<u64, HashMap<SignatoryId, u64>>>,
}

impl Responses {
    /// Indexes the `Response` entries among `entries` (any logs, any order;
    /// other kinds are ignored). A response citing an entry that is not a
    /// request answers nothing: the judging only looks up requests.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a SignedEntry>) -> Self {
        let mut first: HashMap<SignatoryId, HashMap<u64, HashMap<SignatoryId, u64>>> = HashMap::new();
        for entry in entries {
            if let EntryKind::Response { cites } = &entry.body.kind {
                let by_request = first.entry(cites.signatory.clone()).or_default();
                let index = by_request.entry(cites.index).or_default().entry(entry.body.signatory.clone());
                let index = index.or_insert(entry.body.index);
                *index = (*index).min(entry.body.index);
            }
        }
        Self { first }
    }

    /// The index of `responder`'s first response to `requester`'s entry
    /// `request`, if it made one.
    pub fn of(&self, requester: &SignatoryId, request: u64, responder: &SignatoryId) -> Option<u64> {
        self.first.get(requester)?.get(&request)?.get(responder).copied()
    }
}

/// How one asked party answered one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum AnswerStatus {
    /// Its response was first received by the reply-by time.
    InTime {
        /// The response's index in the answering party's log.
        response: u64,
        /// From the request's publication to the response's first receipt.
        #[serde(with = "crate::span_json")]
        answer_time: TimeSpan,
    },
    /// Its response was first received after the reply-by time, or had not
    /// been received by then and still has not.
    Late {
        /// The response's index in the answering party's log.
        response: u64,
        /// When the response was first received, if it was.
        answered: Option<Timestamp>,
        /// From the request's publication to then, if it was.
        #[serde(with = "crate::span_json::option")]
        answer_time: Option<TimeSpan>,
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
    /// The median answer time over the requests whose answer was received
    /// (the lower of the two middle ones for an even count).
    #[serde(with = "crate::span_json::option")]
    pub median_answer_time: Option<TimeSpan>,
    /// The longest such answer time.
    #[serde(with = "crate::span_json::option")]
    pub longest_answer_time: Option<TimeSpan>,
}

/// How a signatory's requests were answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// Answers that were late or are missing: the answer problems (the
    /// first [`MAX_LISTED_ANSWERS`]).
    pub problems: Vec<Answer>,
    /// Answers not given yet, their reply-by time still ahead (the first
    /// [`MAX_LISTED_ANSWERS`]).
    pub pending: Vec<Answer>,
    /// The answers to its communication checks (see [`is_check`]), per
    /// party, to merge with other requesters' into one table per state.
    #[serde(skip)]
    pub checks: Tally,
    /// Per asked party, in the bytewise order of their ids: how it answered.
    pub answers: Vec<AnswerSummary>,
}

/// The label of the plain field that makes a request a communication
/// check (spec/log.md §5.6): a request whose only purpose is to see that
/// the other side answers.
pub const CHECK_LABEL: &str = "communication-check";

/// Whether `entry` is a communication check: a `Request` with a plain field
/// labelled [`CHECK_LABEL`].
pub fn is_check(entry: &SignedEntry) -> bool {
    matches!(entry.body.kind, EntryKind::Request { .. })
        && entry.body.fields.iter().any(|f| matches!(f, Field::Plain { label, .. } if label.as_str() == CHECK_LABEL))
}

/// Whether `entry` is a communication check that asks `me` (it names `me`,
/// or no one and so everyone but its author): one a node may answer by
/// itself when its operator has said so (spec/log.md §5.6).
pub fn check_asks(entry: &SignedEntry, me: &SignatoryId) -> bool {
    let EntryKind::Request { to, .. } = &entry.body.kind else { return false };
    is_check(entry) && entry.body.signatory != *me && (to.is_empty() || to.contains(me))
}

/// The parties a request asks: those its `to` names, or every other
/// signatory if it names none; in roster order, the requester never among
/// them.
fn asked<'a>(agreement: &'a Agreement, requester: &SignatoryId, to: &[SignatoryId]) -> Vec<&'a SignatoryId> {
    let named: HashSet<&SignatoryId> = to.iter().collect();
    agreement
        .roster()
        .signatories
        .iter()
        .map(|s| &s.id)
        .filter(|id| *id != requester && (named.is_empty() || named.contains(id)))
        .collect()
}

/// Judges how `owner`'s requests among `kept` (its entries; other kinds are
/// ignored) were answered (spec/log.md §5.5): each asked party's first
/// response in `responses`, timed by `receipts` (each log's, by owner) as
/// of `now`; answer times count from publication by `checkpoints` (the
/// owner's). A request the quorum did not receive by its reply-by time is
/// left out once that time has passed.
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
    let own = receipts.get(owner);
    let mut record = AnswerRecord::default();
    let mut tally = Tally::default();
    for entry in kept {
        let EntryKind::Request { to, reply_by } = &entry.body.kind else { continue };
        let (index, reply_by) = (entry.body.index, *reply_by);
        // A request the quorum did not receive by its reply-by time asks
        // nothing of anyone (while that time is ahead, it still may).
        let delivered = own.and_then(|r| r.delivered(agreement, owner, index));
        if now > reply_by && delivered.is_none_or(|at| at > reply_by) {
            continue;
        }
        let since = published_at(&published, index);
        let check = is_check(entry);
        for party in asked(agreement, owner, to) {
            let status = match responses.of(owner, index, party) {
                Some(response) => {
                    let answered = receipts.get(party).and_then(|r| r.first_receipt(response));
                    let answer_time = answered.map(|at| since.map_or(TimeSpan(0), |p| at.saturating_since(p)));
                    match (answered, answer_time) {
                        (Some(at), Some(answer_time)) if at <= reply_by => {
                            AnswerStatus::InTime { response, answer_time }
                        }
                        (None, _) if now <= reply_by => AnswerStatus::Pending,
                        (answered, answer_time) => AnswerStatus::Late { response, answered, answer_time },
                    }
                }
                None if now > reply_by => AnswerStatus::Unanswered,
                None => AnswerStatus::Pending,
            };
            tally.add(party, status);
            if check {
                record.checks.add(party, status);
            }
            let answer = Answer { entry: index, party: party.clone(), reply_by, status };
            let list = match status {
                AnswerStatus::Late { .. } | AnswerStatus::Unanswered => &mut record.problems,
                AnswerStatus::Pending => &mut record.pending,
                AnswerStatus::InTime { .. } => continue,
            };
            if list.len() < MAX_LISTED_ANSWERS {
                list.push(answer);
            }
        }
    }
    record.answers = tally.summaries();
    record
}

/// Answers counted per answering party, with their answer times, to be
/// summarised (several requesters' tallies merge, for the checks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    parties: BTreeMap<SignatoryId, (AnswerSummary, Vec<TimeSpan>)>,
}

impl Tally {
    fn add(&mut self, party: &SignatoryId, status: AnswerStatus) {
        let (summary, times) = self.parties.entry(party.clone()).or_insert_with(|| {
            let summary = AnswerSummary {
                party: party.clone(),
                in_time: 0,
                late: 0,
                unanswered: 0,
                pending: 0,
                median_answer_time: None,
                longest_answer_time: None,
            };
            (summary, Vec::new())
        });
        match status {
            AnswerStatus::InTime { answer_time, .. } => {
                summary.in_time += 1;
                times.push(answer_time);
            }
            AnswerStatus::Late { answer_time, .. } => {
                summary.late += 1;
                times.extend(answer_time);
            }
            AnswerStatus::Unanswered => summary.unanswered += 1,
            AnswerStatus::Pending => summary.pending += 1,
        }
    }

    /// Adds `other`'s answers to these.
    pub fn merge(&mut self, other: Self) {
        for (party, (theirs, times)) in other.parties {
            match self.parties.entry(party) {
                Entry::Vacant(vacant) => {
                    vacant.insert((theirs, times));
                }
                Entry::Occupied(mut occupied) => {
                    let (summary, all) = occupied.get_mut();
                    summary.in_time += theirs.in_time;
                    summary.late += theirs.late;
                    summary.unanswered += theirs.unanswered;
                    summary.pending += theirs.pending;
                    all.extend(times);
                }
            }
        }
    }

    /// One summary per party, in the bytewise order of their ids.
    pub fn summaries(self) -> Vec<AnswerSummary> {
        self.parties
            .into_values()
            .map(|(mut summary, mut times)| {
                times.sort_unstable();
                summary.median_answer_time = times.get(times.len().saturating_sub(1) / 2).copied();
                summary.longest_answer_time = times.last().copied();
                summary
            })
            .collect()
    }
}
