//! An audit's findings, each in words and as data (spec/log.md §7.3): who
//! is at fault, and the other party where there is one.

use cbm_wire::{Schedule, SignatoryId, TimeSpan, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::answers::AnswerStatus;
use crate::audit::{SignatoryReport, SplitView, View};
use crate::calendar::period_label;
use crate::schedule::{AckStatus, AckedKind, PeriodStatus};
use crate::words::{span_words, time_words};

/// What kind of fault a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A declaration the quorum received after its due time, or not at all
    /// though it was made.
    LateDeclaration,
    /// No declaration for a period that is due.
    MissingDeclaration,
    /// A declaration the quorum held before its period began.
    EarlyDeclaration,
    /// An entry a recipient acknowledged after its window closed.
    LateAcknowledgement,
    /// An entry a recipient did not acknowledge within its window.
    MissingAcknowledgement,
    /// A request an asked party answered after its reply-by time (or whose
    /// answer had not reached the requester by then).
    LateAnswer,
    /// A request an asked party did not answer by its reply-by time.
    UnansweredRequest,
    /// Different views of one log shown to different parties.
    Equivocation,
    /// Checkpoints whose times run against their sizes.
    OutOfTimeOrder,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Its kind.
    pub kind: FindingKind,
    /// The party at fault.
    pub party: SignatoryId,
    /// The other party: the author of an entry not acknowledged.
    pub other: Option<SignatoryId>,
    /// The scheduled topic, for a declaration.
    pub topic: Option<Topic>,
    /// The period, for a declaration.
    pub period: Option<u64>,
    /// The entry's index in its author's log.
    pub entry: Option<u64>,
    /// When the declaration was due.
    pub due: Option<Timestamp>,
    /// How late: past the due time, or the acknowledgement's delay.
    #[serde(with = "crate::span_json::option")]
    pub delay: Option<TimeSpan>,
    /// The finding in words.
    pub text: String,
}

impl Finding {
    fn new(kind: FindingKind, party: &SignatoryId, text: String) -> Self {
        Self {
            kind,
            party: party.clone(),
            other: None,
            topic: None,
            period: None,
            entry: None,
            due: None,
            delay: None,
            text,
        }
    }
}

/// A period as people name it: its calendar label under `topic`'s schedule
/// in `schedules` (`2026-03`, `2026-Q1`), with its number, or the number
/// alone where the schedule has no calendar unit.
fn period_words(schedules: &[Schedule], topic: &Topic, period: u64) -> String {
    match calendar_name(schedules, topic, period) {
        Some(label) => format!("{label} (period {period})"),
        None => format!("period {period}"),
    }
}

/// The calendar label of `period` under `topic`'s schedule, if its unit
/// has one (`2026-03`; not a bare start time).
fn calendar_name(schedules: &[Schedule], topic: &Topic, period: u64) -> Option<String> {
    let label = schedules.iter().find(|s| s.topic == *topic).and_then(|s| period_label(s, period))?;
    (!label.starts_with("from ")).then_some(label)
}

/// The findings in `signatories`' reports, signatory by signatory in
/// roster order: its periods, then its entries' acknowledgements, then
/// equivocation and time order. Periods are named by the calendar of
/// their schedule in `schedules`; times and delays in words.
pub fn findings(signatories: &[SignatoryReport], schedules: &[Schedule]) -> Vec<Finding> {
    let mut found = Vec::new();
    for report in signatories {
        let Some(party) = &report.signatory else { continue };
        let judged = &report.judged;
        for period in &judged.periods {
            let (topic, number, due) = (&period.topic, period.period, period.due);
            let named = period_words(schedules, topic, number);
            let due_words = time_words(due);
            let (kind, text, delay) = match (period.status, period.delivered) {
                (PeriodStatus::Late, Some(delivered)) => {
                    let delay = delivered.saturating_since(due);
                    (
                        FindingKind::LateDeclaration,
                        format!(
                            "{party}'s {topic} declaration for {named} was {} late: due {due_words}, received by the quorum {}",
                            span_words(delay),
                            time_words(delivered)
                        ),
                        Some(delay),
                    )
                }
                (PeriodStatus::Late, None) => (
                    FindingKind::LateDeclaration,
                    format!(
                        "{party}'s {topic} declaration for {named} is late: due {due_words}, not yet received by the quorum"
                    ),
                    None,
                ),
                (PeriodStatus::Missing, _) => (
                    FindingKind::MissingDeclaration,
                    format!("{party} declared nothing on {topic} for {named}, due {due_words}"),
                    None,
                ),
                (PeriodStatus::Early, delivered) => (
                    FindingKind::EarlyDeclaration,
                    format!(
                        "{party}'s {topic} declaration for {named} reached the quorum before the period began{}: it does not meet the obligation",
                        delivered.map(|d| format!(" ({})", time_words(d))).unwrap_or_default()
                    ),
                    None,
                ),
                _ => continue,
            };
            let mut finding = Finding::new(kind, party, text);
            (finding.topic, finding.period, finding.entry, finding.due, finding.delay) =
                (Some(topic.clone()), Some(number), period.entry, Some(due), delay);
            found.push(finding);
        }
        for problem in &judged.ack_problems {
            let (recipient, entry) = (&problem.recipient, problem.entry);
            let what = match (&problem.topic, problem.period, problem.kind) {
                (Some(topic), Some(period), _) => match calendar_name(schedules, topic, period) {
                    Some(label) => {
                        format!("{party}'s {topic} declaration for {label} (period {period}, entry {entry})")
                    }
                    None => format!("{party}'s {topic} declaration for period {period} (entry {entry})"),
                },
                (Some(topic), None, AckedKind::Notification) => {
                    format!("{party}'s {topic} notification (entry {entry})")
                }
                (Some(topic), None, _) => format!("{party}'s {topic} status change (entry {entry})"),
                _ => format!("{party}'s entry {entry}"),
            };
            let (kind, text, delay) = match problem.status {
                AckStatus::Late { delay } => (
                    FindingKind::LateAcknowledgement,
                    format!("{recipient} acknowledged {what} late, after {}", span_words(delay)),
                    Some(delay),
                ),
                AckStatus::Missing => (
                    FindingKind::MissingAcknowledgement,
                    format!("{recipient} never acknowledged {what} within its window"),
                    None,
                ),
                AckStatus::InTime { .. } | AckStatus::Pending => continue,
            };
            let mut finding = Finding::new(kind, recipient, text);
            (finding.other, finding.entry, finding.delay) = (Some(party.clone()), Some(entry), delay);
            found.push(finding);
        }
        for problem in &judged.answer_problems {
            let (asked, entry, reply_by) = (&problem.party, problem.entry, problem.reply_by);
            let what = format!("{party}'s request (entry {entry})");
            let due = time_words(reply_by);
            let (kind, text, delay) = match problem.status {
                AnswerStatus::Late { answered: Some(answered), response, .. } => {
                    let late = answered.saturating_since(reply_by);
                    (
                        FindingKind::LateAnswer,
                        format!(
                            "{asked} answered {what} {} late: reply by {due}, its response (entry {response}) first received {}",
                            span_words(late),
                            time_words(answered)
                        ),
                        Some(late),
                    )
                }
                AnswerStatus::Late { answered: None, response, .. } => (
                    FindingKind::LateAnswer,
                    format!(
                        "{asked} answered {what} (entry {response}), but no one had received the answer by the reply-by time, {due}, nor has since"
                    ),
                    None,
                ),
                AnswerStatus::Unanswered => {
                    (FindingKind::UnansweredRequest, format!("{asked} did not answer {what}, due by {due}"), None)
                }
                AnswerStatus::InTime { .. } | AnswerStatus::Pending => continue,
            };
            let mut finding = Finding::new(kind, asked, text);
            (finding.other, finding.entry, finding.due, finding.delay) =
                (Some(party.clone()), Some(entry), Some(reply_by), delay);
            found.push(finding);
        }
        if judged.equivocated {
            let text = format!(
                "{party} showed different views of its log to different parties{} (the evidence verifies offline)",
                split_view_words(&judged.split_views)
            );
            found.push(Finding::new(FindingKind::Equivocation, party, text));
        }
        if judged.out_of_time_order {
            let text = format!("{party} signed checkpoints whose times run against their sizes");
            found.push(Finding::new(FindingKind::OutOfTimeOrder, party, text));
        }
    }
    found
}

/// Split views listed in a finding's words, at most; the report's
/// `split_views` holds them all.
const WORDED_SPLIT_VIEWS: usize = 3;

/// Which parties were shown which view, in words, after a colon: ": AR and
/// BO were shown its log of 3 entries with root 1a2b3c4d… (signed …), the
/// one this bundle holds; its log of 3 entries with root … is known only
/// from the evidence …". Empty when there is no split view to name.
fn split_view_words(split_views: &[SplitView]) -> String {
    let mut worded: Vec<String> = split_views
        .iter()
        .take(WORDED_SPLIT_VIEWS)
        .map(|split| {
            // The view the bundle holds first: the one its reader can check.
            let [a, b] = &split.views;
            let (held, other) = if b.in_bundle && !a.in_bundle { (b, a) } else { (a, b) };
            format!("{}; {}", view_words(held), view_words(other))
        })
        .collect();
    if split_views.len() > WORDED_SPLIT_VIEWS {
        worded.push(format!("and {} more split views", split_views.len() - WORDED_SPLIT_VIEWS));
    }
    if worded.is_empty() { String::new() } else { format!(": {}", worded.join("; and ")) }
}

/// One side of a split view in words: who was shown it, as far as the
/// bundle tells.
fn view_words(view: &View) -> String {
    let root = view.root.to_string();
    let log = format!(
        "its log of {} {} with root {}… (signed {})",
        view.size,
        if view.size == 1 { "entry" } else { "entries" },
        &root[..8],
        time_words(view.timestamp)
    );
    let held = if view.in_bundle { ", the one this bundle holds" } else { "" };
    match view.cosigned_by.as_slice() {
        [] => format!("{log}{held} is known only from the evidence: no cosignature of it is in this bundle"),
        [one] => format!("{one} was shown {log}{held}"),
        [many @ .., last] => {
            let many: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{} and {last} were shown {log}{held}", many.join(", "))
        }
    }
}
