//! The offline audit of a large bundle, next to the physical limit measured
//! in the same run: raw `verify_strict` of the same entries on every core.
//! Its own process, so that the peak RSS it prints is the audit's.
//!
//! `CBM_BENCH_AUDIT_ENTRIES` sets the bundle's size (default 1,000,000
//! entries in checkpoints of 1,000, each cosigned by two witnesses). The
//! full-size audit runs once and prints its rate, the all-core limit and the
//! process's peak RSS; criterion then times audits of a 100,000-entry bundle.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use cbm_log::audit::{Verdict, audit};
use cbm_log::bundle::BundleWriter;
use cbm_log::merkle::Frontier;
use cbm_wire::{
    AgreementId, BUNDLE_FORMAT_VERSION, BundleHeader, BundleRecord, Bytes, Checkpoint, CosignBody, Entry, EntryKind,
    Field, KeyId, Label, MediaType, PublicKey, QuorumPolicy, RootHash, Roster, RosterLimits, Signatory, SignatoryId,
    Signed, SignedRoster, SigningKey, SigningKeyInfo, Text, Timestamp, Topic, TreeHash,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const START: Timestamp = Timestamp(1_767_225_600_000);

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
        schedules: vec![],
        quorum: QuorumPolicy { threshold: 2 },
        limits: RosterLimits::default(),
        previous: None,
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

/// Writes a bundle of `count` entries of AT's log to `path`.
fn write_bundle(path: &std::path::Path, count: u64) {
    let signed = roster();
    let agreement = signed.roster.agreement_hash();
    let log = cbm_wire::LogId::derive(&agreement, &SignatoryId::new("AT").expect("id"));
    let keys = keys();
    let header = BundleHeader { format_version: BUNDLE_FORMAT_VERSION, created_at: START, public: true };
    let out = BufWriter::new(std::fs::File::create(path).expect("bundle"));
    let mut writer = BundleWriter::new(out, header, signed).expect("write");
    let mut frontier = Frontier::empty();
    let mut next = 0;
    while next < count {
        let size = (count - next).min(1000);
        let bodies = (next..next + size).map(|i| body(&agreement, i)).collect();
        let signed_entries = Signed::sign_many(bodies, &agreement, KeyId(0), &keys[0].1);
        let mut created = Vec::new();
        for entry in signed_entries {
            frontier.push(TreeHash(entry.hash().0), &mut created);
            created.clear();
            writer.write(&BundleRecord::Entry { entry }).expect("write");
        }
        next += size;
        let checkpoint =
            Checkpoint { log, size: next, root: RootHash(frontier.root().0), timestamp: Timestamp(START.0 + next) };
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
    }
    writer.finish().expect("finish");
}

fn audit_file(path: &std::path::Path) -> Verdict {
    let input = BufReader::with_capacity(1 << 16, std::fs::File::open(path).expect("open"));
    let report = audit(input, None, Timestamp(START.0 + 365 * 86_400_000), |_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);
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

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn audit_bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let count = entries();
    let full = dir.path().join("full.cbor");
    write_bundle(&full, count);
    // The limit is measured before and after the audit, and the higher
    // rate taken: the ratio is never flattered by a slow limit measurement.
    let before = raw_verify_rate(40_000);
    let started = Instant::now();
    assert_eq!(audit_file(&full), Verdict::Ok);
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let limit = before.max(raw_verify_rate(40_000));
    println!(
        "audit of {count} entries: {rate:.0} entries/s; raw all-core verify_strict: {limit:.0}/s; ratio {:.2}; peak RSS {:.1} MiB; bundle {} MiB",
        rate / limit,
        peak_rss_mib().unwrap_or(f64::NAN),
        std::fs::metadata(&full).map(|m| m.len() >> 20).unwrap_or(0)
    );
    std::fs::remove_file(&full).expect("remove");
    let sample = dir.path().join("sample.cbor");
    write_bundle(&sample, count.min(100_000));
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(count.min(100_000)));
    group.bench_function("bundle_100k", |b| b.iter(|| audit_file(&sample)));
    group.finish();
}

criterion_group!(benches, audit_bench);
criterion_main!(benches);
