//! Log benchmarks, each next to its physical limit measured in the same run:
//!
//! - durable append in batches of 1,000 (signing included) vs a raw SQLite
//!   batch insert of the same bytes with the same durability, and vs raw
//!   Ed25519 signing;
//! - inclusion and consistency proofs from a store of `CBM_BENCH_ENTRIES`
//!   entries (default 1,000,000) vs raw SQLite point reads of as many rows;
//! - proof verification vs raw BLAKE3 node hashing of as many nodes.
//!
//! BENCHMARKS.md reports the ratios.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use cbm_log::merkle::{Frontier, TreeHead, verify_inclusion};
use cbm_log::store::Store;
use cbm_wire::{
    AgreementHash, Bytes, Checkpoint, Entry, EntryKind, Field, KeyId, Label, LogId, MediaType, RootHash, SignatoryId,
    Signature, Signed, SignedCheckpoint, SignedEntry, SigningKey, Timestamp, Topic, TreeHash, Wire,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signer as _;

const AGREEMENT: AgreementHash = AgreementHash([7; 32]);
const BATCH: u64 = 1000;

fn signatory() -> SignatoryId {
    SignatoryId::new("AT").expect("id")
}

fn body(index: u64) -> Entry {
    Entry {
        agreement: AGREEMENT,
        signatory: signatory(),
        index,
        issued_at: Timestamp(1_767_225_600_000 + index),
        kind: EntryKind::Notification { topic: Topic::new("load").expect("topic") },
        fields: vec![Field::Plain {
            label: Label::new("payload").expect("label"),
            media_type: MediaType::new("text/plain").expect("media type"),
            value: Bytes::from(
                format!("notification {index:>12} with a body of a realistic size for a CBM").as_bytes(),
            ),
        }],
    }
}

/// Signs the next batch and checkpoints it over `frontier`.
fn signed_batch(key: &SigningKey, frontier: &mut Frontier, log: LogId) -> (Vec<SignedEntry>, SignedCheckpoint) {
    let start = frontier.size();
    let entries: Vec<SignedEntry> =
        Signed::sign_many((start..start + BATCH).map(body).collect(), &AGREEMENT, KeyId(0), key);
    let mut created = Vec::new();
    for entry in &entries {
        frontier.push(TreeHash(entry.hash().0), &mut created);
    }
    let checkpoint =
        Checkpoint { log, size: frontier.size(), root: RootHash(frontier.root().0), timestamp: Timestamp(start) };
    (entries, Signed::sign(checkpoint, &AGREEMENT, KeyId(0), key))
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::from_bytes(&[1; 32]);
    let log = LogId::derive(&AGREEMENT, &signatory());
    let mut store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    let mut frontier = Frontier::empty();
    let sample_bytes: Vec<Vec<u8>> =
        (0..BATCH).map(|i| Signed::sign(body(i), &AGREEMENT, KeyId(0), &key).encode()).collect();

    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(20);
    group.bench_function("durable_batch_of_1000_signed", |b| {
        b.iter(|| {
            let (entries, checkpoint) = signed_batch(&key, &mut frontier, log);
            store.append(&log, &entries, &checkpoint).expect("append");
        })
    });

    let raw = rusqlite::Connection::open(dir.path().join("raw.sqlite")).expect("raw");
    raw.pragma_update(None, "journal_mode", "WAL").expect("wal");
    raw.pragma_update(None, "synchronous", "FULL").expect("full");
    raw.execute_batch("CREATE TABLE t (idx INTEGER PRIMARY KEY, bytes BLOB NOT NULL)").expect("table");
    let mut next = 0i64;
    group.bench_function("limit_raw_sqlite_insert_1000", |b| {
        b.iter(|| {
            let tx = raw.unchecked_transaction().expect("tx");
            {
                let mut insert = tx.prepare_cached("INSERT INTO t (idx, bytes) VALUES (?1, ?2)").expect("prepare");
                for bytes in &sample_bytes {
                    insert.execute(rusqlite::params![next, bytes]).expect("insert");
                    next += 1;
                }
            }
            tx.commit().expect("commit");
        })
    });
    group.bench_function("limit_raw_sign_1000", |b| {
        b.iter(|| {
            sample_bytes.iter().for_each(|m| {
                black_box(key.sign(black_box(m)));
            })
        })
    });
    group.finish();
}

fn entries_for_proofs() -> u64 {
    std::env::var("CBM_BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn proofs(c: &mut Criterion) {
    let n = entries_for_proofs();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogId::derive(&AGREEMENT, &signatory());
    let mut store = Store::open(&dir.path().join("store.sqlite")).expect("store");
    // The store checks structure, not signatures: unsigned entries build a large log quickly.
    let mut frontier = Frontier::empty();
    let mut created = Vec::new();
    let mut start = 0;
    while start < n {
        let count = (n - start).min(50_000);
        let entries: Vec<SignedEntry> = (start..start + count)
            .map(|i| Signed { body: body(i), key: KeyId(0), signature: Signature([0; 64]) })
            .collect();
        for entry in &entries {
            frontier.push(TreeHash(entry.hash().0), &mut created);
            created.clear();
        }
        let checkpoint =
            Checkpoint { log, size: frontier.size(), root: RootHash(frontier.root().0), timestamp: Timestamp(start) };
        let checkpoint = Signed { body: checkpoint, key: KeyId(0), signature: Signature([0; 64]) };
        store.append(&log, &entries, &checkpoint).expect("append");
        start += count;
    }
    let head = TreeHead { size: n, root: RootHash(frontier.root().0) };
    let half = n / 2 / 50_000 * 50_000;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_index = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };

    let mut group = c.benchmark_group(format!("proofs_at_{n}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("inclusion_from_store", |b| {
        b.iter(|| store.inclusion_proof(&log, next_index(), n).expect("proof"))
    });
    if half > 0 {
        group.bench_function("consistency_from_store", |b| {
            b.iter(|| store.consistency_proof(&log, half, n).expect("proof"))
        });
    }
    let proof = store.inclusion_proof(&log, 12_345 % n, n).expect("proof");
    let leaf = store.entry(&log, 12_345 % n).expect("entry").hash();
    let rows = proof.path.len() + 1;
    let raw = rusqlite::Connection::open(dir.path().join("store.sqlite")).expect("raw");
    group.bench_function(format!("limit_raw_sqlite_{rows}_point_reads"), |b| {
        let mut select = raw
            .prepare_cached("SELECT hash FROM tree_nodes WHERE log = 1 AND level = ?1 AND idx = ?2")
            .expect("prepare");
        b.iter(|| {
            for _ in 0..rows {
                let idx = next_index() as i64;
                let hash: Vec<u8> = select.query_row(rusqlite::params![0, idx], |r| r.get(0)).expect("leaf row");
                black_box(hash);
            }
        })
    });
    group.bench_function("verify_inclusion", |b| {
        b.iter(|| verify_inclusion(&leaf, black_box(&proof), &head).expect("valid"))
    });
    let nodes = proof.path.len();
    group.bench_function(format!("limit_raw_blake3_{nodes}_nodes"), |b| {
        b.iter(|| {
            let mut h = [0u8; 32];
            for p in &proof.path {
                let mut hasher = blake3::Hasher::new();
                hasher.update(&[1]);
                hasher.update(&h);
                hasher.update(p.as_bytes());
                h = *hasher.finalize().as_bytes();
            }
            h
        })
    });
    group.finish();
}

criterion_group!(benches, append, proofs);
criterion_main!(benches);
