//! The hotline's clocks (spec/log.md §5.4–5.5), with synthetic receipts:
//! notifications on a noticed topic acknowledged within their window, and
//! requests answered by their reply-by time.

use std::collections::BTreeMap;

use cbm_log::agreement::{Agreement, RosterError};
use cbm_log::answers::{AnswerStatus, Responses, judge_answers};
use cbm_log::schedule::{AckStatus, AckedKind, Receipts, judge_record, kept_for_judging};
use cbm_tests::samples::{self, EPOCH};
use cbm_wire::{
    Checkpoint, CosignBody, Cosignature, Entry, EntryKind, EntryRef, KeyId, LogId, Notice, RootHash, SignatoryId,
    Signature, Signed, SignedCheckpoint, SignedEntry, TimeSpan, Timestamp, Topic,
};
use proptest::prelude::*;

const HOUR: u64 = 3_600_000;

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

fn incident() -> Topic {
    Topic::new("incident").expect("topic")
}

/// The sample agreement with notifications on `incident` acknowledged
/// within an hour.
fn agreement() -> Agreement {
    Agreement::adopt(&samples::adopted(samples::roster_with_notices())).expect("adopt")
}

fn entry(owner: &str, index: u64, kind: EntryKind) -> SignedEntry {
    samples::sign_entry(Entry {
        agreement: samples::agreement(),
        signatory: id(owner),
        index,
        issued_at: Timestamp(EPOCH.0 + index),
        kind,
        fields: vec![],
    })
}

fn log(owner: &str) -> LogId {
    LogId::derive(&samples::agreement(), &id(owner))
}

/// A cosignature by `witness` of `owner`'s checkpoint of `size` at `at`
/// (receipts are judged on time and size only).
fn cosignature(owner: &str, witness: &str, size: u64, at: u64) -> Cosignature {
    let checkpoint = Checkpoint { log: log(owner), size, root: RootHash([0; 32]), timestamp: Timestamp(at) };
    Signed {
        body: CosignBody { witness: id(witness), checkpoint, cosigned_at: Timestamp(at) },
        key: KeyId(0),
        signature: Signature([0; 64]),
    }
}

fn checkpoint(owner: &str, size: u64, at: u64) -> SignedCheckpoint {
    let body = Checkpoint { log: log(owner), size, root: RootHash([0; 32]), timestamp: Timestamp(at) };
    Signed { body, key: KeyId(0), signature: Signature([0; 64]) }
}

/// When AT's notification, published at EPOCH, was acknowledged by DE and
/// FI (`None`: not at all), judged at `now`: the acknowledgement problems.
fn notification_acks(de: Option<u64>, fi: Option<u64>, now: u64) -> Vec<(SignatoryId, AckedKind, AckStatus)> {
    let agreement = agreement();
    let notification = entry("AT", 0, EntryKind::Notification { topic: incident() });
    let kept = kept_for_judging(agreement.roster(), notification.clone()).expect("kept: its topic has a window");
    assert_eq!(kept.body.index, 0);
    let cosignatures: Vec<Cosignature> = [("DE", de), ("FI", fi)]
        .into_iter()
        .filter_map(|(who, at)| at.map(|at| cosignature("AT", who, 1, EPOCH.0 + at)))
        .collect();
    let record = judge_record(
        &agreement,
        &id("AT"),
        &[notification],
        &[checkpoint("AT", 1, EPOCH.0)],
        &Receipts::new(&cosignatures),
        Timestamp(EPOCH.0 + now),
    );
    record.ack_problems.into_iter().map(|p| (p.recipient, p.kind, p.status)).collect()
}

#[test]
fn a_notification_on_a_noticed_topic_is_acknowledged_on_its_own_clock() {
    // DE in half an hour, FI in two: FI was late.
    let late = notification_acks(Some(HOUR / 2), Some(2 * HOUR), 3 * HOUR);
    let two_hours = TimeSpan(2 * HOUR);
    assert_eq!(late, [(id("FI"), AckedKind::Notification, AckStatus::Late { delay: two_hours })]);
    // Exactly at the window's end is in time.
    assert!(notification_acks(Some(HOUR), Some(HOUR), 3 * HOUR).is_empty());
    // FI silent: pending while the window is open, missing once it closed.
    assert!(notification_acks(Some(HOUR / 2), None, HOUR).is_empty());
    assert_eq!(
        notification_acks(Some(HOUR / 2), None, HOUR + 1),
        [(id("FI"), AckedKind::Notification, AckStatus::Missing)]
    );
}

#[test]
fn a_notification_on_a_topic_without_a_window_is_not_kept_for_judging() {
    let agreement = agreement();
    let chat = entry("AT", 0, EntryKind::Notification { topic: Topic::new("chat").expect("topic") });
    assert!(kept_for_judging(agreement.roster(), chat).is_none());
}

#[test]
fn a_roster_may_not_schedule_and_notice_one_topic_nor_give_a_notice_no_time() {
    let mut roster = samples::roster();
    roster.notices = vec![Notice { topic: Topic::new("points-of-contact").expect("topic"), ack_window: TimeSpan(1) }];
    let refused = Agreement::adopt(&samples::adopted(roster));
    assert!(matches!(refused, Err(RosterError::DuplicateTopic(_))), "{refused:?}");
    let mut roster = samples::roster();
    roster.notices = vec![Notice { topic: incident(), ack_window: TimeSpan(0) }];
    let refused = Agreement::adopt(&samples::adopted(roster));
    assert!(matches!(refused, Err(RosterError::BadNotice { .. })), "{refused:?}");
}

/// AT's request (entry 0) to `to` (empty: all), due `reply_by` after
/// EPOCH, received by the quorum (DE and FI) at `delivered` (`None`:
/// never); each answer is (responder, who first received its response,
/// when; `None`: no one yet). AT's entry 1 is a declaration, and every
/// responder's entry 0 responds to it: a response citing what is not a
/// request answers nothing. Judged at `now`: each asked party's status.
fn judged(
    to: &[&str],
    reply_by: u64,
    delivered: Option<u64>,
    answers: &[(&str, &str, Option<u64>)],
    now: u64,
) -> Vec<(SignatoryId, AnswerStatus)> {
    let agreement = agreement();
    let to: Vec<SignatoryId> = to.iter().map(|s| id(s)).collect();
    let request = entry("AT", 0, EntryKind::Request { to, reply_by: Timestamp(EPOCH.0 + reply_by) });
    let declaration =
        entry("AT", 1, EntryKind::Declaration { topic: Topic::new("points-of-contact").expect("topic"), period: 0 });
    let cites = |index| EntryRef { signatory: id("AT"), index, hash: cbm_wire::EntryHash([0; 32]) };
    let mut logs: BTreeMap<SignatoryId, Vec<SignedEntry>> = BTreeMap::new();
    let mut receipts = BTreeMap::new();
    let request_receipts: Vec<Cosignature> = delivered
        .iter()
        .flat_map(|at| ["DE", "FI"].map(|witness| cosignature("AT", witness, 2, EPOCH.0 + at)))
        .collect();
    receipts.insert(id("AT"), Receipts::new(&request_receipts));
    for (who, witness, received) in answers {
        let responses = vec![
            entry(who, 0, EntryKind::Response { cites: cites(1) }),
            entry(who, 1, EntryKind::Response { cites: cites(0) }),
            entry(who, 2, EntryKind::Response { cites: cites(0) }),
        ];
        logs.insert(id(who), responses);
        let cosignatures: Vec<Cosignature> =
            received.iter().map(|at| cosignature(who, witness, 3, EPOCH.0 + at)).collect();
        receipts.insert(id(who), Receipts::new(&cosignatures));
    }
    let responses = Responses::new(logs.values().flatten());
    let record = judge_answers(
        &agreement,
        &id("AT"),
        &[request, declaration],
        &[checkpoint("AT", 2, EPOCH.0)],
        &responses,
        &receipts,
        Timestamp(EPOCH.0 + now),
    );
    record
        .answers
        .iter()
        .map(|summary| {
            let listed = record.problems.iter().chain(&record.pending).find(|a| a.party == summary.party);
            let status = listed.map_or_else(
                || {
                    assert_eq!(summary.in_time, 1, "{summary:?}");
                    let answer_time = summary.longest_answer_time.expect("an answer time");
                    AnswerStatus::InTime { response: 1, answer_time }
                },
                |a| a.status,
            );
            (summary.party.clone(), status)
        })
        .collect()
}

#[test]
fn a_request_to_all_is_answered_in_time_late_or_not_at_all_by_each_other_signatory() {
    // Reply by 4 h: DE's answer (its first response, entry 1) reached AT
    // after 1 h; FI never answered.
    let all = judged(&[], 4 * HOUR, Some(0), &[("DE", "AT", Some(HOUR))], 5 * HOUR);
    let hour = TimeSpan(HOUR);
    assert_eq!(
        all,
        [(id("DE"), AnswerStatus::InTime { response: 1, answer_time: hour }), (id("FI"), AnswerStatus::Unanswered)]
    );
    // Before the reply-by time, silence is pending.
    let early = judged(&[], 4 * HOUR, Some(0), &[("DE", "AT", Some(HOUR))], 2 * HOUR);
    assert_eq!(early[1], (id("FI"), AnswerStatus::Pending));
    // DE's answer first received after 6 h: late.
    let late = judged(&["DE"], 4 * HOUR, Some(0), &[("DE", "AT", Some(6 * HOUR))], 7 * HOUR);
    let at = Some(Timestamp(EPOCH.0 + 6 * HOUR));
    let six = Some(TimeSpan(6 * HOUR));
    assert_eq!(late, [(id("DE"), AnswerStatus::Late { response: 1, answered: at, answer_time: six })]);
    // Answered, but received by no one yet: pending until the reply-by
    // time, late after it.
    assert_eq!(
        judged(&["DE"], 4 * HOUR, Some(0), &[("DE", "AT", None)], 3 * HOUR),
        [(id("DE"), AnswerStatus::Pending)]
    );
    assert_eq!(
        judged(&["DE"], 4 * HOUR, Some(0), &[("DE", "AT", None)], 5 * HOUR),
        [(id("DE"), AnswerStatus::Late { response: 1, answered: None, answer_time: None })]
    );
}

#[test]
fn a_requester_that_withholds_its_cosignature_cannot_make_an_answer_late() {
    // FI, not AT, cosigned DE's response within the hour: AT never did.
    let withheld = judged(&["DE"], 4 * HOUR, Some(0), &[("DE", "FI", Some(HOUR))], 9 * HOUR);
    assert_eq!(withheld, [(id("DE"), AnswerStatus::InTime { response: 1, answer_time: TimeSpan(HOUR) })]);
}

#[test]
fn a_request_the_quorum_did_not_receive_by_its_reply_by_time_accuses_no_one() {
    // Never delivered, or delivered after the deadline: nothing is judged.
    assert!(judged(&[], 4 * HOUR, None, &[], 5 * HOUR).is_empty());
    assert!(judged(&[], 4 * HOUR, Some(5 * HOUR), &[], 6 * HOUR).is_empty());
    // Before the deadline it may still arrive: pending.
    assert_eq!(judged(&["FI"], 4 * HOUR, None, &[], 3 * HOUR), [(id("FI"), AnswerStatus::Pending)]);
}

#[test]
fn a_party_that_was_not_asked_answers_for_no_one() {
    // AT asked DE; FI's response is not an answer, and FI is not judged.
    let judged = judged(&["DE"], 4 * HOUR, Some(0), &[("FI", "AT", Some(HOUR))], 5 * HOUR);
    assert_eq!(judged, [(id("DE"), AnswerStatus::Unanswered)]);
}

/// The status the rules give one asked party, written out case by case.
fn reference(answered: bool, received: Option<u64>, reply_by: u64, now: u64) -> &'static str {
    match (answered, received) {
        (false, _) if now > reply_by => "unanswered",
        (false, _) => "pending",
        (true, Some(at)) if at <= reply_by => "in time",
        (true, Some(_)) => "late",
        (true, None) if now <= reply_by => "pending",
        (true, None) => "late",
    }
}

proptest! {
    #[test]
    fn each_answer_is_judged_as_the_reference_says(
        answered in any::<bool>(),
        received in proptest::option::of(0u64..10 * HOUR),
        reply_by in 0u64..10 * HOUR,
        now in 0u64..20 * HOUR,
    ) {
        let answers: Vec<(&str, &str, Option<u64>)> = if answered { vec![("DE", "AT", received)] } else { vec![] };
        let judged = judged(&["DE"], reply_by, Some(0), &answers, now);
        let word = match judged[0].1 {
            AnswerStatus::InTime { .. } => "in time",
            AnswerStatus::Late { .. } => "late",
            AnswerStatus::Unanswered => "unanswered",
            AnswerStatus::Pending => "pending",
        };
        prop_assert_eq!(word, reference(answered, received, reply_by, now));
    }
}

#[test]
fn a_roster_with_an_empty_list_of_notices_is_not_canonical() {
    use cbm_wire::{SignedRoster, Wire};
    let bytes = samples::adopted(samples::roster_with_notices()).encode();
    assert!(SignedRoster::decode(&bytes).is_ok());
    // Key 8, a list of one notice {0: "incident", 1: 3600000}, becomes an
    // empty list: the same roster as one without the key, in another form.
    let notice = [&[0x08, 0x81, 0xa2, 0x00, 0x68][..], b"incident", &[0x01, 0x1a, 0x00, 0x36, 0xee, 0x80]].concat();
    let at = bytes.windows(notice.len()).position(|w| w == notice).expect("the notices member");
    let empty = [&bytes[..at], &[0x08, 0x80][..], &bytes[at + notice.len()..]].concat();
    let refused = SignedRoster::decode(&empty);
    assert!(
        matches!(refused, Err(cbm_wire::DecodeError::NotCanonicalValue { .. })),
        "an empty list is written by leaving the key out: {refused:?}"
    );
}

#[test]
fn a_flood_of_unacknowledged_notifications_lists_a_bounded_number_of_problems_and_counts_them_all() {
    let agreement = agreement();
    let count = 1100u64;
    let notifications: Vec<SignedEntry> =
        (0..count).map(|index| entry("AT", index, EntryKind::Notification { topic: incident() })).collect();
    let record = judge_record(
        &agreement,
        &id("AT"),
        &notifications,
        &[checkpoint("AT", count, EPOCH.0)],
        &Receipts::new(&[]),
        Timestamp(EPOCH.0 + 2 * HOUR),
    );
    assert_eq!(record.ack_problems.len(), cbm_log::schedule::MAX_LISTED_ACK_PROBLEMS);
    assert!(record.acknowledgements.iter().all(|a| a.missing == count), "{:?}", record.acknowledgements);
}

#[test]
fn a_communication_check_keeps_the_field_that_makes_it_one_and_its_answers_are_tallied_per_party() {
    use cbm_log::answers::{CHECK_LABEL, is_check};
    use cbm_wire::{Field, Label, MediaType};
    let plain = |label: &str| Field::Plain {
        label: Label::new(label).expect("label"),
        media_type: MediaType::new("text/plain").expect("media type"),
        value: cbm_wire::Bytes::from(&b"x"[..]),
    };
    let mut check = entry("AT", 0, EntryKind::Request { to: vec![], reply_by: Timestamp(EPOCH.0 + HOUR) });
    check.body.fields = vec![plain("note"), plain(CHECK_LABEL)];
    assert!(is_check(&check));
    let kept = kept_for_judging(agreement().roster(), check).expect("kept");
    let empty = Field::Plain {
        label: Label::new(CHECK_LABEL).expect("label"),
        media_type: MediaType::new("text/plain").expect("media type"),
        value: cbm_wire::Bytes::default(),
    };
    assert_eq!(kept.body.fields, [empty], "only the label that makes it a check, not its value");
    assert!(is_check(&kept));
    let mut request = entry("AT", 1, EntryKind::Request { to: vec![], reply_by: Timestamp(EPOCH.0 + HOUR) });
    request.body.fields = vec![plain("note")];
    assert!(!is_check(&request));
    assert!(kept_for_judging(agreement().roster(), request).expect("kept").body.fields.is_empty());
}
