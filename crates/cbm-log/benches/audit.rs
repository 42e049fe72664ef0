//! The offline audit of a large bundle, next to the physical limit measured
//! in the same run: raw `verify_strict` of the same entries on every core.
//! Its own process, so that the peak RSS it prints is the audit's.
//!
//! Two bundles, each audited once at full size, printing its rate in
//! signatures verified per second (entries, checkpoints and cosignatures),
//! the all-core limit and the process's peak RSS:
//!
//! - *notifications*: `CBM_BENCH_AUDIT_ENTRIES` entries (default 1,000,000)
//!   in checkpoints of 1,000, each cosigned by two witnesses;
//! - *daily*: a log on a daily schedule over ten years, a declaration and a
//!   status change (suspend, resume, alternating) each day, a checkpoint a
//!   day cosigned by two witnesses: the mix that makes an audit that scans
//!   the log per period quadratic.
//!
//! Criterion then times audits of a 100,000-entry notifications bundle.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use cbm_log::audit::{Verdict, audit};
use cbm_log::bundle::BundleWriter;
use cbm_log::merkle::Frontier;
use cbm_wire::{
    AgreementId, BUNDLE_FORMAT_VERSION, BundleHeader, BundleRecord, Bytes, Cadence, Checkpoint, CosignBody, Entry,
    EntryKind, Field, KeyId, Label, MediaType, PublicKey, QuorumPolicy, RootHash, Roster, RosterLimits, Schedule,
    Signatory, SignatoryId, Signed, SignedRoster, SigningKey, SigningKeyInfo, StatusChange, Text, TimeSpan, Timestamp,
    Topic, TreeHash,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const START: Timestamp = Timestamp(1_767_225_600_000);

/// One day, in milliseconds.
const DAY: u64 = 86_400_000;

/// Days in the daily bundle: ten years.
const DAYS: u64 = 3653;

fn entries() -> u64 {
    std::env::var("CBM_BENCH_AUDIT_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn keys() -> Vec<(SignatoryId, SigningKey)> {
    ["AT", "BE", "CH"]
        .iter()
        .zip(1u8..)
        .map(|(id, seed)| (SignatoryId::new(*id).expect("id"), SigningKey::from_bytes(&[seed; 32])))
        .collect()
}

fn roster() -> SignedRoster {
    roster_with(vec![])
}

/// AT's daily declarations, due by the end of the day, acknowledged within 48 h.
fn daily() -> Schedule {
    Schedule {
        topic: Topic::new("daily").expect("topic"),
        cadence: Cadence::Every { span: TimeSpan(DAY) },
        start: START,
        due_offset: TimeSpan(DAY),
        ack_window: TimeSpan::from_hours(48),
        applies_to: Some(vec![SignatoryId::new("AT").expect("id")]),
    }
}

fn roster_with(schedules: Vec<Schedule>) -> SignedRoster {
    let keys = keys();
    let roster = Roster {
        agreement: AgreementId::new("bench").expect("id"),
        version: 1,
        title: Text::new("bench").expect("title"),
        signatories: keys
            .iter()
            .map(|(id, key)| Signatory {
                id: id.clone(),
                name: Text::new(id.as_str()).expect("name"),
                signing_keys: vec![SigningKeyInfo {
                    id: KeyId(0),
                    key: PublicKey::of(key),
                    valid_from: START,
                    valid_until: None,
                }],
                transport_key: PublicKey::of(&SigningKey::from_bytes(&[key.to_bytes()[0] + 100; 32])),
                addresses: vec![],
            })
            .collect(),
        schedules,
        quorum: QuorumPolicy { threshold: 2 },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    };
    let signatures = keys.iter().map(|(id, key)| roster.sign_adoption(id, KeyId(0), key)).collect();
    SignedRoster { roster, signatures }
}

fn body(agreement: &cbm_wire::AgreementHash, index: u64) -> Entry {
    Entry {
        agreement: *agreement,
        signatory: SignatoryId::new("AT").expect("id"),
        index,
        issued_at: Timestamp(START.0 + index),
        kind: EntryKind::Notification { topic: Topic::new("load").expect("topic") },
        fields: vec![Field::Plain {
            label: Label::new("note").expect("label"),
            media_type: MediaType::new("text/plain").expect("media type"),
            value: Bytes::from(
                format!("notification {index:>12} with a body of a realistic size for a CBM").as_bytes(),
            ),
        }],
    }
}

/// Entry bodies of AT's log, a batch per checkpoint, with the time of the
/// checkpoint that ends each batch.
type Batches = Box<dyn Iterator<Item = (Vec<Entry>, Timestamp)>>;

/// `count` notifications, a checkpoint every 1,000.
fn notifications(agreement: cbm_wire::AgreementHash, count: u64) -> Batches {
    Box::new((0..count).step_by(1000).map(move |first| {
        let last = (first + 1000).min(count);
        ((first..last).map(|i| body(&agreement, i)).collect(), Timestamp(START.0 + last))
    }))
}

/// Ten years of days: each a declaration and a status change, then a
/// checkpoint an hour later.
fn days(agreement: cbm_wire::AgreementHash) -> Batches {
    Box::new((0..DAYS).map(move |day| {
        let at = |hours: u64| Timestamp(START.0 + day * DAY + hours * 3_600_000);
        let mut declaration = body(&agreement, 2 * day);
        declaration.issued_at = at(1);
        declaration.kind = EntryKind::Declaration { topic: daily().topic, period: day };
        let mut status = body(&agreement, 2 * day + 1);
        status.issued_at = at(2);
        let change = if day % 2 == 0 { StatusChange::Suspend } else { StatusChange::Resume };
        status.kind = EntryKind::Status { topic: daily().topic, change, effective_from: at(2) };
        status.fields.clear();
        (vec![declaration, status], at(3))
    }))
}

/// Writes a bundle of AT's log under `signed` to `path`, each batch's
/// checkpoint cosigned by both witnesses when it is made. Returns the
/// number of entries and of signatures in it.
fn write_bundle(path: &std::path::Path, signed: SignedRoster, batches: Batches) -> (u64, u64) {
    let agreement = signed.roster.agreement_hash();
    let mut signatures = signed.signatures.len() as u64;
    let log = cbm_wire::LogId::derive(&agreement, &SignatoryId::new("AT").expect("id"));
    let keys = keys();
    let header = BundleHeader { format_version: BUNDLE_FORMAT_VERSION, created_at: START, public: true };
    let out = BufWriter::new(std::fs::File::create(path).expect("bundle"));
    let mut writer = BundleWriter::new(out, header, signed).expect("write");
    let mut frontier = Frontier::empty();
    for (bodies, timestamp) in batches {
        let signed_entries = Signed::sign_many(bodies, &agreement, KeyId(0), &keys[0].1);
        let mut created = Vec::new();
        for entry in signed_entries {
            frontier.push(TreeHash(entry.hash().0), &mut created);
            created.clear();
            writer.write(&BundleRecord::Entry { entry }).expect("write");
            signatures += 1;
        }
        let checkpoint = Checkpoint { log, size: frontier.size(), root: RootHash(frontier.root().0), timestamp };
        let checkpoint = Signed::sign(checkpoint, &agreement, KeyId(0), &keys[0].1);
        writer.write(&BundleRecord::Checkpoint { checkpoint: checkpoint.clone() }).expect("write");
        for (witness, key) in &keys[1..] {
            let body = CosignBody {
                witness: witness.clone(),
                checkpoint: checkpoint.body.clone(),
                cosigned_at: checkpoint.body.timestamp,
            };
            writer
                .write(&BundleRecord::Cosignature { cosignature: Signed::sign(body, &agreement, KeyId(0), key) })
                .expect("write");
        }
        signatures += 3;
    }
    writer.finish().expect("finish");
    (frontier.size(), signatures)
}

fn audit_file(path: &std::path::Path) -> Verdict {
    let input = BufReader::with_capacity(1 << 16, std::fs::File::open(path).expect("open"));
    let report = audit(input, None, Timestamp(START.0 + (DAYS + 1) * DAY), |_| {});
    assert!(report.problems.is_empty(), "{:?}", &report.problems[..report.problems.len().min(5)]);
    report.verdict
}

/// Raw `verify_strict` of `messages` signatures, on every core: signatures per second.
fn raw_verify_rate(count: usize) -> f64 {
    let key = SigningKey::from_bytes(&[1; 32]);
    let agreement = roster().roster.agreement_hash();
    let entries: Vec<_> =
        (0..count as u64).map(|i| Signed::sign(body(&agreement, i), &agreement, KeyId(0), &key)).collect();
    let messages: Vec<(Vec<u8>, ed25519_dalek::Signature)> = entries
        .iter()
        .map(|e| {
            (
                cbm_wire::signing_message("cbm/1 entry", &agreement, e.key, &e.body),
                ed25519_dalek::Signature::from_bytes(&e.signature.0),
            )
        })
        .collect();
    let public = key.verifying_key();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for part in messages.chunks(messages.len().div_ceil(threads)) {
            scope.spawn(move || part.iter().for_each(|(m, s)| public.verify_strict(m, s).expect("valid")));
        }
    });
    count as f64 / start.elapsed().as_secs_f64()
}

/// CPU time this process has used so far (user and system), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields 14 and 15 (utime, stime) in clock ticks, after the command name.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum());
    ticks / 100.0
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Audits the bundle at `path` once, beside the all-core limit measured
/// before and after it (the higher rate is taken, so a slow limit
/// measurement never flatters the ratio), prints the figures and returns
/// the ratio.
fn audit_once(what: &str, path: &std::path::Path, (entries, signatures): (u64, u64), verdict: Verdict) -> f64 {
    let before = raw_verify_rate(40_000);
    let (started, cpu) = (Instant::now(), cpu_seconds());
    assert_eq!(audit_file(path), verdict, "{what}");
    let seconds = started.elapsed().as_secs_f64();
    let busy = (cpu_seconds() - cpu) / seconds;
    let limit = before.max(raw_verify_rate(40_000));
    let rate = signatures as f64 / seconds;
    let ratio = rate / limit;
    println!(
        "audit of {what}: {entries} entries, {signatures} signatures in {seconds:.2} s: {:.0} entries/s, \
         {rate:.0} signatures/s; raw all-core verify_strict: {limit:.0}/s; ratio {ratio:.2}; cores busy {busy:.2}; \
         peak RSS so far {:.1} MiB; bundle {} MiB",
        entries as f64 / seconds,
        peak_rss_mib().unwrap_or(f64::NAN),
        std::fs::metadata(path).map(|m| m.len() >> 20).unwrap_or(0)
    );
    ratio
}

fn audit_bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = entries();
    let full = dir.path().join("full.cbor");
    let written = write_bundle(&full, roster(), notifications(roster().roster.agreement_hash(), count));
    audit_once("notifications", &full, written, Verdict::Ok);
    std::fs::remove_file(&full).expect("remove");
    // Every other day suspended, and each day's declaration delivered an
    // hour before it is due: on time, or suspended.
    let daily_roster = roster_with(vec![daily()]);
    let ten_years = dir.path().join("daily.cbor");
    let written = write_bundle(&ten_years, daily_roster.clone(), days(daily_roster.roster.agreement_hash()));
    // Half a second each, on a shared VM: seven runs, each beside its own
    // limit, and their median.
    let mut ratios: Vec<f64> = (1..=7)
        .map(|run| audit_once(&format!("a daily schedule over ten years, run {run}"), &ten_years, written, Verdict::Ok))
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "daily schedule over ten years: median ratio {:.2} of 7 runs (lowest {:.2}, highest {:.2})",
        ratios[3], ratios[0], ratios[6]
    );
    std::fs::remove_file(&ten_years).expect("remove");
    let sample = dir.path().join("sample.cbor");
    write_bundle(&sample, roster(), notifications(roster().roster.agreement_hash(), count.min(100_000)));
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(count.min(100_000)));
    group.bench_function("bundle_100k", |b| b.iter(|| audit_file(&sample)));
    group.finish();
}

criterion_group!(benches, audit_bench);
criterion_main!(benches);
