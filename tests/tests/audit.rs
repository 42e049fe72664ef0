//! The offline audit of whole bundles: a clean record is `ok`, missed
//! obligations and equivocation are `findings`, and any damage is `invalid`.

use cbm_log::audit::{MAX_SPLIT_VIEWS, REPORT_VERSION, Verdict, audit};
use cbm_log::bundle::{BundleReader, BundleWriter};
use cbm_log::evidence::same_size;
use cbm_log::findings::FindingKind;
use cbm_log::merkle::{MemoryTree, root};
use cbm_tests::logs::LogWriter;
use cbm_tests::samples::{self, EPOCH};
use cbm_wire::{
    BUNDLE_FORMAT_VERSION, BundleHeader, BundleRecord, Checkpoint, CosignBody, Entry, EntryKind, KeyId, LogId,
    SignatoryId, Signed, SignedCheckpoint, SignedEntry, Timestamp, Topic, TreeHash,
};

const DAY: u64 = 86_400_000;

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).expect("id")
}

/// AT's two period-0 declarations, its checkpoint over them on day 1.
fn at_log() -> (Vec<SignedEntry>, SignedCheckpoint) {
    let kinds = [
        EntryKind::Declaration { topic: Topic::new("points-of-contact").expect("t"), period: 0 },
        EntryKind::NoChange { topic: Topic::new("national-policy").expect("t"), period: 0 },
    ];
    let entries: Vec<SignedEntry> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            samples::sign_entry(Entry {
                agreement: samples::agreement(),
                signatory: id("AT"),
                index: i as u64,
                issued_at: Timestamp(EPOCH.0 + DAY),
                kind,
                fields: vec![],
            })
        })
        .collect();
    let checkpoint = at_checkpoint(&entries, Timestamp(EPOCH.0 + DAY));
    (entries, checkpoint)
}

/// AT's signed checkpoint over `entries` (its whole log), at `timestamp`.
fn at_checkpoint(entries: &[SignedEntry], timestamp: Timestamp) -> SignedCheckpoint {
    let mut tree = MemoryTree::new();
    tree.push_leaves(&entries.iter().map(|e| TreeHash(e.hash().0)).collect::<Vec<_>>());
    let size = entries.len() as u64;
    let body = Checkpoint {
        log: LogId::derive(&samples::agreement(), &id("AT")),
        size,
        root: root(&tree, size).expect("root"),
        timestamp,
    };
    Signed::sign(body, &samples::agreement(), KeyId(0), &samples::signing_key(0))
}

fn cosign(witness: usize, checkpoint: &SignedCheckpoint, at: u64) -> BundleRecord {
    let body = CosignBody {
        witness: id(samples::SIGNATORIES[witness]),
        checkpoint: checkpoint.body.clone(),
        cosigned_at: Timestamp(at),
    };
    let cosignature = Signed::sign(body, &samples::agreement(), KeyId(0), &samples::signing_key(witness));
    BundleRecord::Cosignature { cosignature }
}

/// A bundle of the sample agreement: AT declares and is cosigned by DE and FI
/// an hour later; DE and FI publish notifications cosigned by the others.
fn records() -> Vec<BundleRecord> {
    let mut records = Vec::new();
    let (entries, checkpoint) = at_log();
    records.extend(entries.into_iter().map(|entry| BundleRecord::Entry { entry }));
    records.push(BundleRecord::Checkpoint { checkpoint: checkpoint.clone() });
    records.push(cosign(1, &checkpoint, EPOCH.0 + DAY + 3_600_000));
    records.push(cosign(2, &checkpoint, EPOCH.0 + DAY + 3_600_000));
    for (i, name) in [(1, "DE"), (2, "FI")] {
        let mut writer = LogWriter::with_agreement(name, u8::try_from(i + 1).expect("seed"), samples::agreement(), "n");
        let (entries, checkpoint) = writer.batch(3);
        records.extend(entries.into_iter().map(|entry| BundleRecord::Entry { entry }));
        records.push(BundleRecord::Checkpoint { checkpoint: checkpoint.clone() });
        for other in [0, 1, 2].into_iter().filter(|&o| o != i) {
            records.push(cosign(other, &checkpoint, checkpoint.body.timestamp.0 + 1000));
        }
    }
    records
}

fn bundle(records: &[BundleRecord]) -> Vec<u8> {
    bundle_with(records, true)
}

fn bundle_with(records: &[BundleRecord], public: bool) -> Vec<u8> {
    let header = BundleHeader { format_version: BUNDLE_FORMAT_VERSION, created_at: EPOCH, public };
    let mut writer = BundleWriter::new(Vec::new(), header, samples::signed_roster()).expect("write");
    for record in records {
        writer.write(record).expect("write");
    }
    writer.finish().expect("finish")
}

fn at(days: u64) -> Timestamp {
    Timestamp(EPOCH.0 + days * DAY)
}

#[test]
fn a_bundle_reads_back_record_by_record() {
    let records = records();
    let bytes = bundle(&records);
    let read: Vec<BundleRecord> = BundleReader::new(&bytes[..]).collect::<Result<_, _>>().expect("reads");
    assert_eq!(read.len(), records.len() + 3, "header, roster, records, end");
    assert_eq!(&read[2..read.len() - 1], &records[..]);
    let Some(BundleRecord::End { end }) = read.last() else { panic!("no end record") };
    assert_eq!(end.records, records.len() as u64 + 2);
}

#[test]
fn a_clean_record_is_ok_and_missed_obligations_are_findings() {
    let bytes = bundle(&records());
    let report = audit(&bytes[..], None, at(5), |_| {});
    assert_eq!(report.verdict, Verdict::Ok, "{:#?}", report.problems);
    assert_eq!(report.signatories.len(), 3);
    assert_eq!(report.signatories[0].entries, 2);
    assert_eq!(report.signatories[0].settled_size, 2);
    // DE and FI acknowledged both of AT's entries an hour after publication.
    let hour = Some(cbm_wire::TimeSpan::from_hours(1));
    let acks = &report.signatories[0].judged.acknowledgements;
    assert_eq!(acks.iter().map(|a| a.recipient.as_str()).collect::<Vec<_>>(), ["DE", "FI"]);
    assert!(acks.iter().all(|a| (a.in_time, a.late, a.missing, a.pending) == (2, 0, 0, 0)), "{acks:?}");
    assert!(acks.iter().all(|a| a.mean_delay == hour && a.longest_delay == hour), "{acks:?}");
    let quorums = &report.signatories[0].checkpoint_quorums;
    assert_eq!(quorums.len(), 1);
    assert_eq!((quorums[0].size, quorums[0].timestamp, quorums[0].cosigners, quorums[0].settled), (2, at(1), 2, true));

    // Forty days on, February's declarations are missing for everyone.
    let report = audit(&bytes[..], None, at(40), |_| {});
    assert_eq!(report.verdict, Verdict::Findings);
    assert!(report.problems.is_empty());
}

#[test]
fn equivocation_evidence_is_a_finding() {
    let mut records = records();
    let mut fork = LogWriter::with_agreement("AT", 1, samples::agreement(), "fork");
    let (_, other) = fork.batch(2);
    let (_, checkpoint) = at_log();
    let evidence = same_size(&checkpoint, &other).expect("conflict");
    records.push(BundleRecord::Evidence { evidence });
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    assert_eq!(report.verdict, Verdict::Findings);
    assert!(report.signatories[0].judged.equivocated);
}

#[test]
fn a_split_view_names_who_was_shown_each_side_once_whatever_the_order_the_evidence_holds_them_in() {
    let mut records = records();
    let (_, checkpoint) = at_log();
    let mut fork = LogWriter::with_agreement("AT", 1, samples::agreement(), "fork");
    let (_, other) = fork.batch(2);
    // The one conflict as two witnesses would each have kept it.
    for (a, b) in [(&checkpoint, &other), (&other, &checkpoint)] {
        records.push(BundleRecord::Evidence { evidence: same_size(a, b).expect("conflict") });
    }
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    let views = &report.signatories[0].judged.split_views;
    assert_eq!(views.len(), 1, "one split view, however many kept it: {views:?}");
    let [held, other_view] = &views[0].views;
    assert_eq!((held.size, held.in_bundle, held.cosigned_by.clone()), (2, true, vec![id("DE"), id("FI")]));
    assert_eq!((other_view.root, other_view.in_bundle), (other.body.root, false));
    assert!(other_view.cosigned_by.is_empty(), "no one cosigned the other side in this bundle");
    let finding = report.findings.iter().find(|f| f.kind == FindingKind::Equivocation).expect("the finding");
    assert!(finding.text.contains("DE and FI were shown its log of 2 entries"), "{}", finding.text);
    assert!(finding.text.contains("the one this bundle holds"), "{}", finding.text);
    assert!(finding.text.contains("is known only from the evidence"), "{}", finding.text);
}

#[test]
fn a_bundle_full_of_conflicting_checkpoints_reports_a_bounded_number_of_split_views() {
    let mut records = records();
    let (_, checkpoint) = at_log();
    let invented = MAX_SPLIT_VIEWS + 4;
    for n in 0..invented {
        let flavour: &'static str = Box::leak(format!("fork {n}").into_boxed_str());
        let mut fork = LogWriter::with_agreement("AT", 1, samples::agreement(), flavour);
        let (_, other) = fork.batch(2);
        records.push(BundleRecord::Evidence { evidence: same_size(&checkpoint, &other).expect("conflict") });
    }
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    assert!(report.signatories[0].judged.equivocated);
    assert_eq!(report.signatories[0].judged.split_views.len(), MAX_SPLIT_VIEWS);
    let finding = report.findings.iter().find(|f| f.kind == FindingKind::Equivocation).expect("the finding");
    assert!(finding.text.contains(&format!("and {} more split views", MAX_SPLIT_VIEWS - 3)), "{}", finding.text);
}

#[test]
fn an_invalid_bundle_accuses_no_one_and_keeps_what_it_would_show_apart_and_marked() {
    let bytes = bundle(&records());
    // Forty days on, February's declarations would be missing for everyone;
    // cut the end record off and the bundle is invalid.
    let valid = audit(&bytes[..], None, at(40), |_| {});
    assert_eq!(valid.verdict, Verdict::Findings);
    assert!(valid.unestablished.is_empty());
    let truncated = audit(&bytes[..bytes.len() - 10], None, at(40), |_| {});
    assert_eq!(truncated.verdict, Verdict::Invalid);
    for s in &truncated.signatories {
        let judged = &s.judged;
        assert!(
            judged.periods.is_empty() && judged.ack_problems.is_empty() && judged.acknowledgements.is_empty(),
            "{:?} is judged in an invalid bundle: {judged:?}",
            s.signatory
        );
    }
    let missing =
        |j: &cbm_log::audit::Judgements| j.periods.iter().any(|p| p.status == cbm_log::schedule::PeriodStatus::Missing);
    assert_eq!(truncated.unestablished.len(), 3, "what the records read would show is kept apart");
    assert!(truncated.unestablished.iter().all(|u| missing(&u.judged)));
    let json = serde_json::to_value(&truncated).expect("JSON");
    assert!(json["signatories"][0]["periods"].as_array().is_some_and(Vec::is_empty), "{json}");
    assert_eq!(json["unestablished"][0]["signatory"], "AT");
}

#[test]
fn damage_anywhere_makes_the_bundle_invalid() {
    let bytes = bundle(&records());
    let clean = audit(&bytes[..], None, at(5), |_| {}).verdict;
    assert_eq!(clean, Verdict::Ok);
    // Every truncation, and a flipped bit in every byte, is detected.
    for cut in 0..bytes.len() {
        assert_eq!(audit(&bytes[..cut], None, at(5), |_| {}).verdict, Verdict::Invalid, "truncated at {cut}");
    }
    for at_byte in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at_byte] ^= 0x10;
        assert_eq!(audit(&damaged[..], None, at(5), |_| {}).verdict, Verdict::Invalid, "flipped byte {at_byte}");
    }
}

#[test]
fn records_out_of_order_are_invalid() {
    let mut records = records();
    records.swap(0, 1);
    assert_eq!(audit(&bundle(&records)[..], None, at(5), |_| {}).verdict, Verdict::Invalid);
}

#[test]
fn a_bundle_of_another_agreement_than_expected_is_invalid() {
    let bytes = bundle(&records());
    let expected = samples::agreement();
    let report = audit(&bytes[..], Some(&expected), at(5), |_| {});
    assert_eq!((report.verdict, report.agreement_hash), (Verdict::Ok, Some(expected)));
    let other = cbm_wire::AgreementHash([0; 32]);
    assert_eq!(audit(&bytes[..], Some(&other), at(5), |_| {}).verdict, Verdict::Invalid);
}

/// The sample bundle with AT's log extended by an objection citing `cites`.
fn with_objection(cites: cbm_wire::EntryRef) -> Vec<BundleRecord> {
    let (mut entries, _) = at_log();
    entries.push(samples::sign_entry(Entry {
        agreement: samples::agreement(),
        signatory: id("AT"),
        index: 2,
        issued_at: Timestamp(EPOCH.0 + DAY),
        kind: EntryKind::Objection { cites, reason: cbm_wire::Text::new("cannot confirm").expect("text") },
        fields: vec![],
    }));
    let checkpoint = at_checkpoint(&entries, Timestamp(EPOCH.0 + DAY));
    let mut records: Vec<BundleRecord> = entries.into_iter().map(|entry| BundleRecord::Entry { entry }).collect();
    records.push(BundleRecord::Checkpoint { checkpoint: checkpoint.clone() });
    records.push(cosign(1, &checkpoint, EPOCH.0 + DAY + 3_600_000));
    records.push(cosign(2, &checkpoint, EPOCH.0 + DAY + 3_600_000));
    // The rest of the sample bundle: DE's and FI's logs, after AT's.
    let at_records = 5;
    records.extend(self::records().into_iter().skip(at_records));
    records
}

#[test]
fn citations_are_checked_against_the_cited_log_even_when_it_comes_later() {
    let fi = LogWriter::with_agreement("FI", 3, samples::agreement(), "n");
    let cited = cbm_wire::EntryRef { signatory: id("FI"), index: 1, hash: fi.entry(1).hash() };
    let report = audit(&bundle(&with_objection(cited.clone()))[..], None, at(2), |_| {});
    assert_ne!(report.verdict, Verdict::Invalid, "{:?}", report.problems);
    assert_eq!(report.signatories[0].objections, 1);
    // The objection counts on the entry objected to, naming who objected.
    let fi_report = report.signatories.iter().find(|s| s.signatory == Some(id("FI"))).expect("FI");
    assert_eq!(fi_report.objected, vec![cbm_log::audit::Objected { entry: 1, by: id("AT") }]);
    assert!(report.signatories.iter().filter(|s| s.signatory != Some(id("FI"))).all(|s| s.objected.is_empty()));

    let forged = cbm_wire::EntryRef { hash: fi.entry(2).hash(), ..cited };
    let report = audit(&bundle(&with_objection(forged))[..], None, at(2), |_| {});
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(report.problems.iter().any(|p| p.contains("does not hold with that hash")), "{:?}", report.problems);
}

#[test]
fn signatures_verified_in_parallel_give_the_verdict_of_strict_verification_one_by_one() {
    // Enough entries for the parallel path, one of them with a signature
    // that strict verification rejects (S not reduced: S + L).
    let mut writer = LogWriter::with_agreement("DE", 2, samples::agreement(), "n");
    let (mut entries, checkpoint) = writer.batch(300);
    let order: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let signature = &mut entries[150].signature.0;
    let mut carry = 0u16;
    for (byte, add) in signature[32..].iter_mut().zip(order) {
        let sum = u16::from(*byte) + u16::from(add) + carry;
        *byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    let mut records: Vec<BundleRecord> = entries.into_iter().map(|entry| BundleRecord::Entry { entry }).collect();
    records.push(BundleRecord::Checkpoint { checkpoint });
    let report = audit(&bundle(&records)[..], None, at(2), |_| {});
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(report.problems[0].contains("entry 150 of DE"), "{:?}", report.problems);
    assert_eq!(report.signatories[1].entries, 150, "entries before the bad one are accepted");
}

/// AT's log of the sample declaration (with a committed field), under a
/// checkpoint signed at `day`.
fn declaration_log(day: u64) -> (SignedEntry, SignedCheckpoint) {
    let entry = samples::declaration();
    let checkpoint = at_checkpoint(std::slice::from_ref(&entry), at(day));
    (entry, checkpoint)
}

#[test]
fn openings_are_checked_against_their_committed_fields_and_only_private_bundles_carry_them() {
    let (entry, checkpoint) = declaration_log(2);
    let with = |opening: cbm_wire::Opening| {
        vec![
            BundleRecord::Entry { entry: entry.clone() },
            BundleRecord::Checkpoint { checkpoint: checkpoint.clone() },
            BundleRecord::Opening { opening },
        ]
    };
    let problems =
        |records: &[BundleRecord], public| audit(&bundle_with(records, public)[..], None, at(5), |_| {}).problems;
    assert_eq!(problems(&with(samples::opening()), false), Vec::<String>::new());
    let public = problems(&with(samples::opening()), true);
    assert!(public.len() == 1 && public[0].contains("public bundle"), "{public:?}");
    let mut wrong_value = samples::opening();
    wrong_value.value = cbm_wire::Bytes::from(&b"+43 1 000 0000"[..]);
    let wrong = problems(&with(wrong_value), false);
    assert!(wrong.len() == 1 && wrong[0].contains("opening"), "{wrong:?}");
    let mut plain_field = samples::opening();
    plain_field.field = 0;
    assert_eq!(problems(&with(plain_field), false).len(), 1);
    let mut unknown_entry = samples::opening();
    unknown_entry.entry.hash = cbm_wire::EntryHash([7; 32]);
    assert_eq!(problems(&with(unknown_entry), false).len(), 1);
}

#[test]
fn an_owners_checkpoints_out_of_time_order_are_a_finding_against_the_owner_not_an_invalid_bundle() {
    // AT checkpoints its first entry far in the future, then both entries at
    // day 1: an honest exporter holds both, and cannot reorder them.
    let (entries, whole) = at_log();
    let first = at_checkpoint(&entries[..1], Timestamp(EPOCH.0 + 300 * DAY));
    let records = [
        BundleRecord::Entry { entry: entries[0].clone() },
        BundleRecord::Checkpoint { checkpoint: first.clone() },
        BundleRecord::Entry { entry: entries[1].clone() },
        BundleRecord::Checkpoint { checkpoint: whole.clone() },
    ];
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.verdict, Verdict::Findings);
    assert!(report.signatories[0].judged.out_of_time_order);
    assert!(!report.signatories[0].judged.equivocated, "times out of order are not a split view");
    assert_eq!(report.signatories[0].checkpoints, 2, "both checkpoints are accepted");

    // The same pair as evidence, in a bundle that holds only one of them.
    let evidence = cbm_log::evidence::out_of_time_order(&first, &whole).expect("out of time order");
    let mut records = self::records();
    records.push(BundleRecord::Evidence { evidence });
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    assert_eq!(report.verdict, Verdict::Findings, "{:?}", report.problems);
    assert!(report.signatories[0].judged.out_of_time_order);
}

#[test]
fn a_checkpoint_timed_before_one_of_the_same_size_before_it_is_invalid() {
    let (entry, later) = declaration_log(3);
    let (_, earlier) = declaration_log(2);
    let records = [
        BundleRecord::Entry { entry },
        BundleRecord::Checkpoint { checkpoint: later },
        BundleRecord::Checkpoint { checkpoint: earlier },
    ];
    let report = audit(&bundle(&records)[..], None, at(5), |_| {});
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(report.problems.iter().any(|p| p.contains("timed before")), "{:?}", report.problems);
}

#[test]
fn a_scheduled_entry_received_before_its_period_began_is_a_finding_not_on_time() {
    // On day 2 AT files March's declaration (period 2), claiming a time in
    // March; DE and FI cosign it on day 2, by their own clocks.
    let march = Timestamp(EPOCH.0 + 60 * DAY);
    let entry = samples::sign_entry(Entry {
        agreement: samples::agreement(),
        signatory: id("AT"),
        index: 0,
        issued_at: march,
        kind: EntryKind::Declaration { topic: Topic::new("points-of-contact").expect("t"), period: 2 },
        fields: vec![],
    });
    let checkpoint = at_checkpoint(std::slice::from_ref(&entry), march);
    let records = vec![
        BundleRecord::Entry { entry },
        BundleRecord::Checkpoint { checkpoint: checkpoint.clone() },
        cosign(1, &checkpoint, EPOCH.0 + 2 * DAY),
        cosign(2, &checkpoint, EPOCH.0 + 2 * DAY),
    ];
    let report = audit(&bundle(&records)[..], None, at(70), |_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let march_report = report.signatories[0]
        .judged
        .periods
        .iter()
        .find(|p| p.topic.as_str() == "points-of-contact" && p.period == 2)
        .expect("March judged");
    assert_eq!(march_report.status, cbm_log::schedule::PeriodStatus::Early);
    assert_eq!(report.verdict, Verdict::Findings);
}

#[test]
fn the_reader_stops_at_its_first_failure_and_reports_that_one_only() {
    let bytes = bundle(&records());
    let mut reader = BundleReader::new(&bytes[..]);
    let offsets: Vec<usize> =
        std::iter::from_fn(|| reader.next_raw()).map(|raw| raw.expect("record").0 as usize).collect();
    // A CBOR item that is no bundle record after the roster, and the file
    // cut inside a record after it: two failures, of which the reader
    // meets the first only.
    let mut damaged = bytes[..offsets[2]].to_vec();
    damaged.push(0x00);
    damaged.extend_from_slice(&bytes[offsets[2]..offsets[4] - 1]);
    let report = audit(&damaged[..], None, at(5), |_| {});
    assert_eq!(report.verdict, Verdict::Invalid);
    let unreadable: Vec<_> = report.problems.iter().filter(|p| p.contains("unreadable")).collect();
    assert_eq!(unreadable.len(), 1, "{:?}", report.problems);
}

/// The normative report vector: a bundle with an equivocation, judged forty
/// days on (February's declarations missing), and its report.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportVector {
    name: String,
    now: Timestamp,
    bundle: String,
    report: serde_json::Value,
}

fn report_vector_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/audit/report-findings.json")
}

#[test]
fn the_audit_report_vector_holds_both_ways() {
    let mut records = records();
    let mut fork = LogWriter::with_agreement("AT", 1, samples::agreement(), "fork");
    let (_, other) = fork.batch(2);
    let (_, checkpoint) = at_log();
    records.push(BundleRecord::Evidence { evidence: same_size(&checkpoint, &other).expect("conflict") });
    let bytes = bundle(&records);
    let report = audit(&bytes[..], None, at(40), |_| {});
    assert_eq!(report.verdict, Verdict::Findings);
    let generated = ReportVector {
        name: "report-findings".into(),
        now: at(40),
        bundle: hex::encode(&bytes),
        report: serde_json::to_value(&report).expect("json"),
    };
    let path = report_vector_path();
    if std::env::var_os("CBM_REGENERATE_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        let text = serde_json::to_string_pretty(&generated).expect("json") + "\n";
        std::fs::write(&path, text).expect("write");
    }
    let stored: ReportVector =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the report vector")).expect("json");
    // From the code: the same bundle and report as the file.
    assert_eq!(generated, stored, "regenerate with CBM_REGENERATE_VECTORS=1");
    // From the file alone: its report reads as a report and writes back as
    // itself, and its bundle audits to it.
    let read: cbm_log::audit::AuditReport = serde_json::from_value(stored.report.clone()).expect("a report");
    assert_eq!(serde_json::to_value(&read).expect("json"), stored.report);
    let bundle = hex::decode(&stored.bundle).expect("hex");
    assert_eq!(audit(&bundle[..], None, stored.now, |_| {}), read);
    // A report of a version this build does not know is refused.
    for unknown in [REPORT_VERSION - 1, REPORT_VERSION + 1] {
        let mut other = stored.report.clone();
        other["report_version"] = unknown.into();
        assert!(serde_json::from_value::<cbm_log::audit::AuditReport>(other).is_err(), "version {unknown}");
    }
    // Every finding names the party at fault; acknowledgement findings the author too.
    assert!(!read.findings.is_empty());
    assert!(read.findings.iter().any(|f| f.kind == FindingKind::Equivocation && f.party.as_str() == "AT"));
}

/// Audits run in parallel on rayon's global pool: each audit waits for its
/// pipeline on a worker of that pool, so a pipeline that asked the same
/// pool to decode would wait for workers that are all waiting (a deadlock
/// the simulator's campaign met). Each must finish, as an audit on its own
/// would.
#[test]
fn audits_run_on_every_worker_of_rayon_s_pool_at_once_all_finish() {
    use rayon::prelude::*;
    let bytes = bundle(&records());
    let alone = audit(&bytes[..], None, at(5), |_| {});
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let workers = rayon::current_num_threads();
        let reports: Vec<_> =
            (0..workers * 4).into_par_iter().map(|_| audit(&bytes[..], None, at(5), |_| {})).collect();
        let _ = done.send(reports);
    });
    let reports = finished.recv_timeout(std::time::Duration::from_secs(120)).expect("every parallel audit finishes");
    assert!(reports.iter().all(|report| *report == alone));
}
