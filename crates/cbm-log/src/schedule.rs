//! Judging a log against the roster's schedules on receipts (spec/log.md
//! §5.2–5.4). Pure: every input is passed in, including `now`.
//!
//! A witness's *receipt* of an entry is the time of its first cosignature
//! covering the entry. An entry is *delivered* once the roster's quorum of
//! other signatories has received it: at the quorum-th earliest receipt.
//! Deadlines are judged on delivery, never on the owner's own `issued_at`.

use std::collections::{BTreeMap, HashMap};

use cbm_wire::{
    Bytes, Cosignature, EntryHash, EntryKind, Field, Roster, SignatoryId, SignedCheckpoint, SignedEntry, StatusChange,
    TimeSpan, Timestamp, Topic,
};

use crate::agreement::Agreement;
use crate::answers::CHECK_LABEL;
use crate::calendar::{due_at, period_of, period_start};

/// When each other signatory first received each entry of one log.
#[derive(Clone, Debug, Default)]
pub struct Receipts {
    /// Per witness: (checkpoint size, earliest time it cosigned a checkpoint
    /// of this size or larger), sorted by size.
    by_witness: BTreeMap<SignatoryId, Vec<(u64, Timestamp)>>,
}

impl Receipts {
    /// Collects receipts from the cosignatures of one log, in any order. The
    /// caller passes only that log's cosignatures, and only those made by
    /// the time it judges ("as of now").
    pub fn new(cosignatures: &[Cosignature]) -> Self {
        let mut by_witness: BTreeMap<SignatoryId, Vec<(u64, Timestamp)>> = BTreeMap::new();
        for c in cosignatures {
            by_witness.entry(c.body.witness.clone()).or_default().push((c.body.checkpoint.size, c.body.cosigned_at));
        }
        for list in by_witness.values_mut() {
            earliest_from_size(list);
        }
        Self { by_witness }
    }

    /// When `witness` first received entry `index`: its earliest
    /// cosignature of a checkpoint with more than `index` entries.
    pub fn receipt(&self, witness: &SignatoryId, index: u64) -> Option<Timestamp> {
        let list = self.by_witness.get(witness)?;
        let first_covering = list.partition_point(|(size, _)| *size <= index);
        list.get(first_covering).map(|(_, at)| *at)
    }

    /// When entry `index` was first received by anyone: the earliest
    /// receipt among all witnesses (never the log's owner, whose
    /// cosignatures of its own log are refused).
    pub fn first_receipt(&self, index: u64) -> Option<Timestamp> {
        self.by_witness.keys().filter_map(|witness| self.receipt(witness, index)).min()
    }

    /// When entry `index` of `owner`'s log was delivered: the `quorum`-th
    /// earliest receipt among the other signatories of `agreement`.
    pub fn delivered(&self, agreement: &Agreement, owner: &SignatoryId, index: u64) -> Option<Timestamp> {
        let mut times: Vec<Timestamp> = agreement
            .roster()
            .signatories
            .iter()
            .filter(|s| s.id != *owner)
            .filter_map(|s| self.receipt(&s.id, index))
            .collect();
        times.sort();
        let quorum = agreement.roster().quorum.threshold as usize;
        quorum.checked_sub(1).and_then(|i| times.get(i)).copied()
    }
}

/// Most periods of one schedule that are judged (the latest ones): hourly
/// for about eleven years.
pub const MAX_PERIODS: u64 = 100_000;

/// Sorts `(size, time)` pairs by size and turns each time into the earliest
/// time of any pair of that size or larger: the time an index below the size
/// was first covered.
fn earliest_from_size(list: &mut [(u64, Timestamp)]) {
    list.sort();
    for i in (0..list.len().saturating_sub(1)).rev() {
        list[i].1 = list[i].1.min(list[i + 1].1);
    }
}

/// How a signatory met one period of one schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// Not yet due, and nothing delivered yet.
    Pending,
    /// Delivered by the due time.
    OnTime,
    /// Delivered after the due time, or due and still not delivered.
    Late,
    /// Due, and nothing declared at all.
    Missing,
    /// The obligation was suspended at the due time.
    Suspended,
    /// The obligation was withdrawn before the due time.
    Withdrawn,
    /// Delivered before the period began: the entry claims a time in the
    /// period, but the quorum held it earlier, so the claim is false and
    /// the obligation is not met by it (a year of "no change" filed on day
    /// one, say).
    Early,
}

/// One period of one schedule, for one signatory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeriodReport {
    /// The schedule's topic.
    pub topic: Topic,
    /// The period number.
    pub period: u64,
    /// When its declaration was due.
    pub due: Timestamp,
    /// The verdict.
    pub status: PeriodStatus,
    /// The first declaration or no-change for the period, by log index.
    pub entry: Option<u64>,
    /// Whether that entry says "no change".
    pub no_change: bool,
    /// When it was delivered (quorum receipt), if it was.
    pub delivered: Option<Timestamp>,
    /// Indexes of amendments of that entry.
    pub amendments: Vec<u64>,
}

/// How one recipient acknowledged one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum AckStatus {
    /// Received within the acknowledgement window (or no window applies).
    InTime {
        /// Delay from publication to receipt.
        #[serde(with = "crate::span_json")]
        delay: TimeSpan,
    },
    /// Received after the window closed.
    Late {
        /// Delay from publication to receipt.
        #[serde(with = "crate::span_json")]
        delay: TimeSpan,
    },
    /// Not received, and the window has closed.
    Missing,
    /// Not received yet, and the window is still open (or no window applies).
    Pending,
}

/// Acknowledgements of one entry by every other signatory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EntryAcks {
    /// The entry's index.
    pub index: u64,
    /// When the owner published it: the time of its first checkpoint covering it.
    pub published: Option<Timestamp>,
    /// Per recipient, in roster order.
    pub recipients: Vec<(SignatoryId, AckStatus)>,
}

/// The ack window for an entry: that of its topic's notice, for a
/// notification on a noticed topic; otherwise that of its topic's
/// schedule, if one binds the owner.
fn ack_window(roster: &Roster, entry: &SignedEntry) -> Option<TimeSpan> {
    if let EntryKind::Notification { topic } = &entry.body.kind
        && let Some(notice) = roster.notice(topic)
    {
        return Some(notice.ack_window);
    }
    let topic = match &entry.body.kind {
        EntryKind::Declaration { topic, .. }
        | EntryKind::NoChange { topic, .. }
        | EntryKind::Notification { topic }
        | EntryKind::Status { topic, .. } => topic,
        _ => return None,
    };
    let owner = &entry.body.signatory;
    roster.schedule(topic).filter(|s| s.binds(owner)).map(|s| s.ack_window)
}

/// The publication time of each entry index of a log: `(size, time)` of
/// its checkpoints, each time turned into the earliest of any checkpoint
/// at least that large. Look an index up with [`published_at`].
pub(crate) fn publication_times(checkpoints: &[SignedCheckpoint]) -> Vec<(u64, Timestamp)> {
    let mut published: Vec<(u64, Timestamp)> = checkpoints.iter().map(|c| (c.body.size, c.body.timestamp)).collect();
    earliest_from_size(&mut published);
    published
}

/// PUBLISHED(`index`) (spec/log.md §5.4) from [`publication_times`].
pub(crate) fn published_at(published: &[(u64, Timestamp)], index: u64) -> Option<Timestamp> {
    published.get(published.partition_point(|(size, _)| *size <= index)).map(|(_, t)| *t)
}

/// Judges each entry's acknowledgements (spec/log.md §5.4). `checkpoints`
/// are the owner's, for publication times; `now` closes open windows.
pub fn acknowledgements(
    agreement: &Agreement,
    owner: &SignatoryId,
    entries: &[SignedEntry],
    checkpoints: &[SignedCheckpoint],
    receipts: &Receipts,
    now: Timestamp,
) -> Vec<EntryAcks> {
    let published = publication_times(checkpoints);
    entries
        .iter()
        .map(|entry| {
            let index = entry.body.index;
            let at = published_at(&published, index);
            let window = ack_window(agreement.roster(), entry);
            let recipients = agreement
                .roster()
                .signatories
                .iter()
                .filter(|s| s.id != *owner)
                .map(|s| {
                    let status = match (receipts.receipt(&s.id, index), at, window) {
                        (Some(received), Some(at), Some(window)) => {
                            let delay = received.saturating_since(at);
                            if delay <= window { AckStatus::InTime { delay } } else { AckStatus::Late { delay } }
                        }
                        (Some(received), Some(at), None) => AckStatus::InTime { delay: received.saturating_since(at) },
                        (Some(_), None, _) => AckStatus::InTime { delay: TimeSpan(0) },
                        (None, Some(at), Some(window)) if now > at.saturating_add(window) => AckStatus::Missing,
                        (None, _, _) => AckStatus::Pending,
                    };
                    (s.id.clone(), status)
                })
                .collect();
            EntryAcks { index, published: at, recipients }
        })
        .collect()
}

/// The entries of one log that the schedule rules look up, indexed once:
/// judging is then linear in periods plus entries, however the entries
/// are mixed (spec/log.md §5.3).
struct Index<'a> {
    /// The first declaration or no-change for each (topic, period), in log order.
    declarations: HashMap<(&'a Topic, u64), &'a SignedEntry>,
    /// The amendments of each entry, by its hash, in log order.
    amendments: HashMap<EntryHash, Vec<u64>>,
    /// Per topic, its delivered status changes as (the time from which it
    /// counts, its log index, the change), sorted by that time.
    statuses: HashMap<&'a Topic, Vec<(Timestamp, u64, StatusChange)>>,
}

impl<'a> Index<'a> {
    fn new(agreement: &Agreement, owner: &SignatoryId, entries: &'a [SignedEntry], receipts: &Receipts) -> Self {
        let mut index = Self { declarations: HashMap::new(), amendments: HashMap::new(), statuses: HashMap::new() };
        for entry in entries {
            match &entry.body.kind {
                EntryKind::Declaration { topic, period } | EntryKind::NoChange { topic, period } => {
                    index.declarations.entry((topic, *period)).or_insert(entry);
                }
                EntryKind::Amendment { amends, .. } => {
                    index.amendments.entry(amends.hash).or_default().push(entry.body.index);
                }
                EntryKind::Status { topic, change, effective_from } => {
                    // A status change counts from its effective time, and
                    // only once it was delivered: no retroactive suspensions.
                    if let Some(delivered) = receipts.delivered(agreement, owner, entry.body.index) {
                        let from = (*effective_from).max(delivered);
                        index.statuses.entry(topic).or_default().push((from, entry.body.index, *change));
                    }
                }
                _ => {}
            }
        }
        index.statuses.values_mut().for_each(|changes| changes.sort_unstable_by_key(|&(from, index, _)| (from, index)));
        index
    }
}

/// The status in force for one topic at times that only move forward: that
/// of the last status entry (in log order) that counts by then.
struct StatusSweep<'i> {
    /// The topic's changes, by the time they count from.
    changes: &'i [(Timestamp, u64, StatusChange)],
    /// How many of them count by the last time asked.
    counted: usize,
    /// The one of those last in log order.
    current: Option<(u64, StatusChange)>,
}

impl<'i> StatusSweep<'i> {
    fn new(changes: &'i [(Timestamp, u64, StatusChange)]) -> Self {
        Self { changes, counted: 0, current: None }
    }

    /// The status in force at `at`, no earlier than the last time asked.
    fn at(&mut self, at: Timestamp) -> Option<StatusChange> {
        while let Some(&(from, index, change)) = self.changes.get(self.counted)
            && from <= at
        {
            if self.current.is_none_or(|(latest, _)| index > latest) {
                self.current = Some((index, change));
            }
            self.counted += 1;
        }
        self.current.map(|(_, change)| change)
    }
}

/// Judges `owner`'s log against every schedule binding it, for every period
/// that has started by `now` (spec/log.md §5.3).
pub fn judge_periods(
    agreement: &Agreement,
    owner: &SignatoryId,
    entries: &[SignedEntry],
    receipts: &Receipts,
    now: Timestamp,
) -> Vec<PeriodReport> {
    let index = Index::new(agreement, owner, entries, receipts);
    let mut reports = Vec::new();
    for schedule in &agreement.roster().schedules {
        if !schedule.binds(owner) {
            continue;
        }
        let Some(last) = period_of(schedule, now) else { continue };
        let mut status = StatusSweep::new(index.statuses.get(&schedule.topic).map_or(&[], Vec::as_slice));
        // Judge at most the latest MAX_PERIODS periods of a schedule, in
        // order: due times only move forward.
        for period in last.saturating_sub(MAX_PERIODS - 1)..=last {
            let Some(due) = due_at(schedule, period) else { break };
            let declaration = index.declarations.get(&(&schedule.topic, period)).copied();
            let delivered = declaration.and_then(|e| receipts.delivered(agreement, owner, e.body.index));
            let amendments = declaration.and_then(|d| index.amendments.get(&d.hash())).cloned().unwrap_or_default();
            let status = match status.at(due) {
                Some(StatusChange::Withdraw) => PeriodStatus::Withdrawn,
                Some(StatusChange::Suspend) => PeriodStatus::Suspended,
                _ => match (declaration, delivered) {
                    (_, Some(at)) if period_start(schedule, period).is_some_and(|start| at < start) => {
                        PeriodStatus::Early
                    }
                    (_, Some(at)) if at <= due => PeriodStatus::OnTime,
                    (_, Some(_)) => PeriodStatus::Late,
                    (_, None) if now <= due => PeriodStatus::Pending,
                    (Some(_), None) => PeriodStatus::Late,
                    (None, None) => PeriodStatus::Missing,
                },
            };
            reports.push(PeriodReport {
                topic: schedule.topic.clone(),
                period,
                due,
                status,
                entry: declaration.map(|e| e.body.index),
                no_change: declaration.is_some_and(|e| matches!(e.body.kind, EntryKind::NoChange { .. })),
                delivered,
                amendments,
            });
        }
    }
    reports
}

/// What the rules that judge a log keep of `entry` under `roster`, if
/// anything (spec/log.md §7.4): declarations, no-change entries, status
/// changes and amendments whole (the schedules, §5.3–5.4); notifications on
/// a topic with an acknowledgement window (§5.4), requests and responses
/// (§5.5) without their fields, which no rule reads (a communication check,
/// §5.6, keeps one field: its label, with an empty value) — so a log of
/// large notifications is judged in little memory. The kept form is for judging
/// only: its signature no longer covers it.
pub fn kept_for_judging(roster: &Roster, entry: SignedEntry) -> Option<SignedEntry> {
    let whole = match &entry.body.kind {
        EntryKind::Declaration { .. }
        | EntryKind::NoChange { .. }
        | EntryKind::Status { .. }
        | EntryKind::Amendment { .. } => true,
        EntryKind::Request { .. } | EntryKind::Response { .. } => false,
        EntryKind::Notification { .. } if ack_window(roster, &entry).is_some() => false,
        EntryKind::Notification { .. } | EntryKind::Objection { .. } | EntryKind::KeyRotation { .. } => return None,
    };
    let mut entry = entry;
    if !whole {
        // A communication check keeps the label that makes it one, not its
        // value: one empty field.
        let check = entry.body.fields.iter().find_map(|f| match f {
            Field::Plain { label, media_type, .. } if label.as_str() == CHECK_LABEL => {
                Some(Field::Plain { label: label.clone(), media_type: media_type.clone(), value: Bytes::default() })
            }
            _ => None,
        });
        entry.body.fields = check.filter(|_| crate::answers::is_check(&entry)).into_iter().collect();
    }
    Some(entry)
}

/// Whether §5.4 judges the acknowledgements of `entry`, one of the kept:
/// declarations, no-change entries, status changes and notifications (kept
/// only on a topic with a window) — not amendments, requests or responses.
fn acknowledged(entry: &SignedEntry) -> bool {
    matches!(
        entry.body.kind,
        EntryKind::Declaration { .. }
            | EntryKind::NoChange { .. }
            | EntryKind::Status { .. }
            | EntryKind::Notification { .. }
    )
}

/// Acknowledgement problems listed per author, at most: an entry costs a
/// hundred bytes and can lack a thousand acknowledgements, so the list is
/// bounded; the summaries count every acknowledgement.
pub const MAX_LISTED_ACK_PROBLEMS: usize = 1024;

/// One signatory's record against the schedules.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Every period of every schedule binding it, judged on receipts.
    pub periods: Vec<PeriodReport>,
    /// Acknowledgements of its scheduled entries that are late or missing
    /// (the first [`MAX_LISTED_ACK_PROBLEMS`]).
    pub ack_problems: Vec<AckProblem>,
    /// Acknowledgements of its scheduled entries, summed per recipient.
    pub acknowledgements: Vec<AckSummary>,
}

/// The kinds of entry whose acknowledgements are judged (§5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckedKind {
    /// A `Declaration`.
    Declaration,
    /// A `NoChange`.
    NoChange,
    /// A `Status` change.
    Status,
    /// A `Notification`.
    Notification,
}

/// An entry one recipient acknowledged late, or not at all.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AckProblem {
    /// The entry's index in its author's log.
    pub entry: u64,
    /// The entry's kind.
    pub kind: AckedKind,
    /// The entry's topic.
    pub topic: Option<Topic>,
    /// The entry's period, for a declaration or a "no change".
    pub period: Option<u64>,
    /// Who was to acknowledge it.
    pub recipient: SignatoryId,
    /// How: `Late`, with its delay, or `Missing`.
    #[serde(flatten)]
    pub status: AckStatus,
}

/// How one recipient acknowledged a signatory's scheduled entries.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AckSummary {
    /// The recipient.
    pub recipient: SignatoryId,
    /// Entries it acknowledged within the window.
    pub in_time: u64,
    /// Entries it acknowledged after the window closed.
    pub late: u64,
    /// Entries it has not acknowledged, the window closed.
    pub missing: u64,
    /// Entries it has not acknowledged yet, the window still open.
    pub pending: u64,
    /// The mean delay from publication to receipt over the entries it acknowledged.
    #[serde(with = "crate::span_json::option")]
    pub mean_delay: Option<TimeSpan>,
    /// The longest such delay.
    #[serde(with = "crate::span_json::option")]
    pub longest_delay: Option<TimeSpan>,
}

impl AckSummary {
    fn new(recipient: SignatoryId) -> Self {
        Self { recipient, in_time: 0, late: 0, missing: 0, pending: 0, mean_delay: None, longest_delay: None }
    }
}

impl Record {
    /// Whether anything in the record is a finding.
    pub fn has_findings(&self) -> bool {
        !self.ack_problems.is_empty()
            || self
                .periods
                .iter()
                .any(|p| matches!(p.status, PeriodStatus::Late | PeriodStatus::Missing | PeriodStatus::Early))
    }
}

/// Judges `owner`'s record (spec/log.md §5.3–5.4) from its schedule-relevant
/// entries `kept` (see [`kept_for_judging`]), its checkpoints, and the
/// receipts of its log, as of `now`.
pub fn judge_record(
    agreement: &Agreement,
    owner: &SignatoryId,
    kept: &[SignedEntry],
    checkpoints: &[SignedCheckpoint],
    receipts: &Receipts,
    now: Timestamp,
) -> Record {
    let periods = judge_periods(agreement, owner, kept, receipts, now);
    let scheduled: Vec<SignedEntry> = kept.iter().filter(|e| acknowledged(e)).cloned().collect();
    // What each judged entry is about, for its acknowledgement problems.
    let about: BTreeMap<u64, (AckedKind, &Topic, Option<u64>)> = scheduled
        .iter()
        .filter_map(|e| {
            let about = match &e.body.kind {
                EntryKind::Declaration { topic, period } => (AckedKind::Declaration, topic, Some(*period)),
                EntryKind::NoChange { topic, period } => (AckedKind::NoChange, topic, Some(*period)),
                EntryKind::Status { topic, .. } => (AckedKind::Status, topic, None),
                EntryKind::Notification { topic } => (AckedKind::Notification, topic, None),
                _ => return None,
            };
            Some((e.body.index, about))
        })
        .collect();
    let mut ack_problems = Vec::new();
    let mut summaries: BTreeMap<SignatoryId, (AckSummary, u128)> = BTreeMap::new();
    for acks in acknowledgements(agreement, owner, &scheduled, checkpoints, receipts, now) {
        for (recipient, status) in acks.recipients {
            let (summary, total) =
                summaries.entry(recipient.clone()).or_insert_with(|| (AckSummary::new(recipient.clone()), 0));
            let delay = match status {
                AckStatus::InTime { delay } => {
                    summary.in_time += 1;
                    Some(delay)
                }
                AckStatus::Late { delay } => {
                    summary.late += 1;
                    Some(delay)
                }
                AckStatus::Missing => {
                    summary.missing += 1;
                    None
                }
                AckStatus::Pending => {
                    summary.pending += 1;
                    None
                }
            };
            if let Some(delay) = delay {
                *total += u128::from(delay.0);
                summary.longest_delay = summary.longest_delay.max(Some(delay));
            }
            if matches!(status, AckStatus::Late { .. } | AckStatus::Missing)
                && ack_problems.len() < MAX_LISTED_ACK_PROBLEMS
                && let Some(&(kind, topic, period)) = about.get(&acks.index)
            {
                let topic = Some(topic.clone());
                ack_problems.push(AckProblem { entry: acks.index, kind, topic, period, recipient, status });
            }
        }
    }
    let acknowledgements = summaries
        .into_values()
        .map(|(mut summary, total)| {
            let acknowledged = u128::from(summary.in_time + summary.late);
            summary.mean_delay =
                (acknowledged > 0).then(|| TimeSpan(u64::try_from(total / acknowledged).unwrap_or(u64::MAX)));
            summary
        })
        .collect();
    Record { periods, ack_problems, acknowledgements }
}
