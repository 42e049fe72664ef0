//! Schedules judged on receipts (spec/log.md §5), with synthetic clocks:
//! period boundaries, quorum delivery, suspension windows, acknowledgements.

use cbm_log::agreement::Agreement;
use cbm_log::schedule::{AckStatus, PeriodStatus, Receipts, acknowledgements, judge_periods};
use cbm_tests::samples::{self, EPOCH};
use cbm_wire::{
    Checkpoint, CosignBody, Cosignature, Entry, EntryKind, KeyId, LogId, RootHash, SignatoryId, Signature, Signed,
    SignedCheckpoint, SignedEntry, StatusChange, TimeSpan, Timestamp, Topic,
};
use proptest::prelude::*;

const DAY: u64 = 86_400_000;

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

fn agreement() -> Agreement {
    Agreement::adopt(&samples::signed_roster()).expect("adopt")
}

fn entry(index: u64, kind: EntryKind) -> SignedEntry {
    samples::sign_entry(Entry {
        agreement: samples::agreement(),
        signatory: id("AT"),
        index,
        issued_at: Timestamp(EPOCH.0 + index),
        kind,
        fields: vec![],
    })
}

fn poc() -> Topic {
    Topic::new("points-of-contact").expect("topic")
}

fn declaration(index: u64, period: u64) -> SignedEntry {
    entry(index, EntryKind::Declaration { topic: poc(), period })
}

/// A cosignature by `witness` of AT's checkpoint of `size` at `at` (receipts
/// are judged on time and size only; signatures are checked elsewhere).
fn cosignature(witness: &str, size: u64, at: u64) -> Cosignature {
    let checkpoint = Checkpoint {
        log: LogId::derive(&samples::agreement(), &id("AT")),
        size,
        root: RootHash([0; 32]),
        timestamp: Timestamp(at),
    };
    Signed {
        body: CosignBody { witness: id(witness), checkpoint, cosigned_at: Timestamp(at) },
        key: KeyId(0),
        signature: Signature([0; 64]),
    }
}

fn checkpoint(size: u64, at: u64) -> SignedCheckpoint {
    let body = Checkpoint {
        log: LogId::derive(&samples::agreement(), &id("AT")),
        size,
        root: RootHash([0; 32]),
        timestamp: Timestamp(at),
    };
    Signed { body, key: KeyId(0), signature: Signature([0; 64]) }
}

/// Period 0 of the monthly points-of-contact schedule is due 7 days after EPOCH.
const DUE: u64 = EPOCH.0 + 7 * DAY;

fn status_of_period_0(entries: &[SignedEntry], cosignatures: &[Cosignature], now: u64) -> PeriodStatus {
    let reports = judge_periods(&agreement(), &id("AT"), entries, &Receipts::new(cosignatures), Timestamp(now));
    reports.iter().find(|r| r.topic == poc() && r.period == 0).expect("period 0").status
}

#[test]
fn delivery_exactly_at_the_due_time_is_on_time_and_a_millisecond_later_is_late() {
    let entries = [declaration(0, 0)];
    let on_time = [cosignature("DE", 1, DUE - 5), cosignature("FI", 1, DUE)];
    let late = [cosignature("DE", 1, DUE - 5), cosignature("FI", 1, DUE + 1)];
    assert_eq!(status_of_period_0(&entries, &on_time, DUE + DAY), PeriodStatus::OnTime);
    assert_eq!(status_of_period_0(&entries, &late, DUE + DAY), PeriodStatus::Late);
    // Only one of the two needed receipts: not delivered; late once due has passed.
    assert_eq!(status_of_period_0(&entries, &on_time[..1], DUE), PeriodStatus::Pending);
    assert_eq!(status_of_period_0(&entries, &on_time[..1], DUE + 1), PeriodStatus::Late);
    assert_eq!(status_of_period_0(&[], &[], DUE), PeriodStatus::Pending);
    assert_eq!(status_of_period_0(&[], &[], DUE + 1), PeriodStatus::Missing);
}

#[test]
fn no_change_amendments_and_withdrawal_are_reported() {
    let nothing = entry(0, EntryKind::NoChange { topic: poc(), period: 0 });
    let amendment = entry(
        1,
        EntryKind::Amendment {
            amends: cbm_wire::EntryRef { signatory: id("AT"), index: 0, hash: nothing.hash() },
            reason: cbm_wire::Text::default(),
        },
    );
    let receipts = Receipts::new(&[cosignature("DE", 2, EPOCH.0 + DAY), cosignature("FI", 2, EPOCH.0 + DAY)]);
    let reports =
        judge_periods(&agreement(), &id("AT"), &[nothing, amendment], &receipts, Timestamp(EPOCH.0 + 40 * DAY));
    let first = &reports[0];
    assert_eq!((first.status, first.no_change, first.amendments.clone()), (PeriodStatus::OnTime, true, vec![1]));
    // Period 1 (February) is due 2026-02-08 and missing.
    assert_eq!(reports[1].status, PeriodStatus::Missing);

    let withdraw = entry(
        0,
        EntryKind::Status { topic: poc(), change: StatusChange::Withdraw, effective_from: Timestamp(EPOCH.0) },
    );
    let receipts = Receipts::new(&[cosignature("DE", 1, EPOCH.0 + DAY), cosignature("FI", 1, EPOCH.0 + DAY)]);
    let reports = judge_periods(&agreement(), &id("AT"), &[withdraw], &receipts, Timestamp(EPOCH.0 + 40 * DAY));
    assert!(reports.iter().filter(|r| r.topic == poc()).all(|r| r.status == PeriodStatus::Withdrawn));
}

proptest! {
    /// Delivery is the quorum-th (2nd) earliest receipt of the two others.
    #[test]
    fn period_status_follows_the_quorum_receipt(de in 0u64..20 * DAY, fi in 0u64..20 * DAY, now in 0u64..30 * DAY) {
        let entries = [declaration(0, 0)];
        let mut cosignatures = vec![];
        let now = EPOCH.0 + now;
        let (de, fi) = (EPOCH.0 + de, EPOCH.0 + fi);
        if de <= now { cosignatures.push(cosignature("DE", 1, de)); }
        if fi <= now { cosignatures.push(cosignature("FI", 1, fi)); }
        let delivered = (de <= now && fi <= now).then(|| de.max(fi));
        let expected = match delivered {
            Some(at) if at <= DUE => PeriodStatus::OnTime,
            Some(_) => PeriodStatus::Late,
            None if now <= DUE => PeriodStatus::Pending,
            None => PeriodStatus::Late,
        };
        prop_assert_eq!(status_of_period_0(&entries, &cosignatures, now), expected);
    }

    /// A suspension counts for a period if it took effect and was delivered by the due time.
    #[test]
    fn suspension_windows(effective in 0u64..14 * DAY, delivered in 0u64..14 * DAY, resume in proptest::option::of(0u64..14 * DAY)) {
        let mut entries = vec![entry(0, EntryKind::Status { topic: poc(), change: StatusChange::Suspend, effective_from: Timestamp(EPOCH.0 + effective) })];
        let mut cosignatures = vec![cosignature("DE", 1, EPOCH.0 + delivered), cosignature("FI", 1, EPOCH.0 + delivered)];
        if let Some(resume) = resume {
            entries.push(entry(1, EntryKind::Status { topic: poc(), change: StatusChange::Resume, effective_from: Timestamp(EPOCH.0 + resume) }));
            cosignatures.push(cosignature("DE", 2, EPOCH.0 + resume));
            cosignatures.push(cosignature("FI", 2, EPOCH.0 + resume));
        }
        let suspended = EPOCH.0 + effective <= DUE && EPOCH.0 + delivered <= DUE;
        let resumed = resume.is_some_and(|r| EPOCH.0 + r <= DUE);
        let status = status_of_period_0(&entries, &cosignatures, DUE + DAY);
        prop_assert_eq!(status == PeriodStatus::Suspended, suspended && !resumed);
    }

    /// Each recipient's acknowledgement is judged against the schedule's 48 h window.
    #[test]
    fn acknowledgement_windows(published in 0u64..5 * DAY, de_delay in proptest::option::of(0u64..4 * DAY), now in 0u64..10 * DAY) {
        let published = EPOCH.0 + published;
        let now = published + now;
        let mut cosignatures = vec![];
        if let Some(delay) = de_delay.filter(|d| published + d <= now) {
            cosignatures.push(cosignature("DE", 1, published + delay));
        }
        let acks = acknowledgements(&agreement(), &id("AT"), &[declaration(0, 0)], &[checkpoint(1, published)], &Receipts::new(&cosignatures), Timestamp(now));
        let window = TimeSpan::from_hours(48).0;
        let expected = match de_delay.filter(|d| published + d <= now) {
            Some(d) if d <= window => AckStatus::InTime { delay: TimeSpan(d) },
            Some(d) => AckStatus::Late { delay: TimeSpan(d) },
            None if now > published + window => AckStatus::Missing,
            None => AckStatus::Pending,
        };
        prop_assert_eq!(acks[0].published, Some(Timestamp(published)));
        prop_assert_eq!(acks[0].recipients[0].clone(), (id("DE"), expected));
    }
}

/// The rules of spec/log.md §5.3 read literally, as the reference: every
/// period looks through every entry. Quadratic, and plainly right.
fn judge_periods_by_scanning(
    agreement: &Agreement,
    owner: &SignatoryId,
    entries: &[SignedEntry],
    receipts: &Receipts,
    now: Timestamp,
) -> Vec<cbm_log::schedule::PeriodReport> {
    use cbm_log::calendar::{due_at, period_of, period_start};
    let mut reports = Vec::new();
    for schedule in agreement.roster().schedules.iter().filter(|s| s.binds(owner)) {
        let Some(last) = period_of(schedule, now) else { continue };
        for period in last.saturating_sub(cbm_log::schedule::MAX_PERIODS - 1)..=last {
            let Some(due) = due_at(schedule, period) else { break };
            let declaration = entries.iter().find(|e| {
                matches!(&e.body.kind, EntryKind::Declaration { topic, period: p } | EntryKind::NoChange { topic, period: p }
                    if *topic == schedule.topic && *p == period)
            });
            let delivered = declaration.and_then(|e| receipts.delivered(agreement, owner, e.body.index));
            let amendments = declaration.map_or_else(Vec::new, |d| {
                let amended = |e: &&SignedEntry| matches!(&e.body.kind, EntryKind::Amendment { amends, .. } if amends.hash == d.hash());
                entries.iter().filter(amended).map(|e| e.body.index).collect()
            });
            let mut in_force = None;
            for entry in entries {
                if let EntryKind::Status { topic, change, effective_from } = &entry.body.kind {
                    let by_due = receipts.delivered(agreement, owner, entry.body.index).is_some_and(|d| d <= due);
                    if *topic == schedule.topic && *effective_from <= due && by_due {
                        in_force = Some(*change);
                    }
                }
            }
            let status = match in_force {
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
            reports.push(cbm_log::schedule::PeriodReport {
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

/// One entry of a random log: what it is, by a small number each.
#[derive(Clone, Debug)]
enum Drawn {
    Declaration { period: u64, no_change: bool },
    Amendment { of: usize },
    Status { change: u8, effective_day: u64 },
}

fn drawn() -> impl Strategy<Value = Drawn> {
    prop_oneof![
        (0u64..8, any::<bool>()).prop_map(|(period, no_change)| Drawn::Declaration { period, no_change }),
        (0usize..64).prop_map(|of| Drawn::Amendment { of }),
        (0u8..3, 0u64..240).prop_map(|(change, effective_day)| Drawn::Status { change, effective_day }),
    ]
}

proptest! {
    /// Judging from the index built once gives what scanning every entry
    /// for every period gives, for logs that mix declarations (several for
    /// one period too), amendments and status changes in any order, with
    /// receipts that come at any time or never.
    #[test]
    fn periods_judged_from_the_index_are_those_judged_by_scanning_every_entry(
        drawn in proptest::collection::vec(drawn(), 0..40),
        receipt_days in proptest::collection::vec(proptest::option::of((0u64..240, 0u64..240)), 40),
        now_day in 0u64..260,
    ) {
        let mut entries: Vec<SignedEntry> = Vec::new();
        for (index, d) in (0u64..).zip(&drawn) {
            let kind = match *d {
                Drawn::Declaration { period, no_change: false } => EntryKind::Declaration { topic: poc(), period },
                Drawn::Declaration { period, no_change: true } => EntryKind::NoChange { topic: poc(), period },
                Drawn::Amendment { of } if !entries.is_empty() => {
                    let amended = &entries[of % entries.len()];
                    EntryKind::Amendment {
                        amends: cbm_wire::EntryRef { signatory: id("AT"), index: amended.body.index, hash: amended.hash() },
                        reason: cbm_wire::Text::default(),
                    }
                }
                Drawn::Amendment { .. } => EntryKind::Declaration { topic: poc(), period: 0 },
                Drawn::Status { change, effective_day } => EntryKind::Status {
                    topic: poc(),
                    change: [StatusChange::Suspend, StatusChange::Resume, StatusChange::Withdraw][usize::from(change)],
                    effective_from: Timestamp(EPOCH.0 + effective_day * DAY),
                },
            };
            entries.push(entry(index, kind));
        }
        // Each entry gets its own checkpoint, cosigned by DE and FI at the
        // drawn days (or never).
        let mut cosignatures = Vec::new();
        for (size, days) in (1u64..).zip(receipt_days.iter().take(entries.len())) {
            if let Some((de, fi)) = days {
                cosignatures.push(cosignature("DE", size, EPOCH.0 + de * DAY));
                cosignatures.push(cosignature("FI", size, EPOCH.0 + fi * DAY));
            }
        }
        let (agreement, receipts, now) = (agreement(), Receipts::new(&cosignatures), Timestamp(EPOCH.0 + now_day * DAY));
        prop_assert_eq!(
            judge_periods(&agreement, &id("AT"), &entries, &receipts, now),
            judge_periods_by_scanning(&agreement, &id("AT"), &entries, &receipts, now)
        );
    }
}
