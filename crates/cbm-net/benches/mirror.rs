//! Mirroring a large log from a peer (BENCHMARKS.md), next to the offline
//! audit of the same log measured in the same run — the floor is that a
//! witness mirrors at ≥ 80 % of the audit's rate.
//!
//! An owner's store is filled with `CBM_BENCH_MIRROR_ENTRIES` entries
//! (default 1,000,000) in checkpoints of 1,000; then the owner's node and a
//! witness node with an empty store start on loopback QUIC. The witness
//! learns the owner's checkpoint by gossip, fetches the log segment by
//! segment, checks every entry, stores it and cosigns; the time until the
//! owner's latest checkpoint is cosigned (settled, at quorum 1) is the
//! mirroring time. The owner's log is then exported as a bundle and audited
//! offline. Both rates, their ratio and the peak RSS are printed; criterion
//! then times mirrors of a 20,000-entry log by fresh witnesses.
#![allow(missing_docs)] // criterion_group! generates undocumented items

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cbm_log::agreement::Agreement;
use cbm_log::audit::{Verdict, audit};
use cbm_log::author::Author;
use cbm_log::merkle::Frontier;
use cbm_log::store::Store;
use cbm_net::local::{LocalAgreement, Terms};
use cbm_net::{ManualClock, Node};
use cbm_wire::{AgreementId, Checkpoint, KeyId, RootHash, SignedCheckpoint, Text, Timestamp, TreeHash};
use common::{START, note};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Generous: the mirror of a million entries takes about a minute.
const PATIENCE: Duration = Duration::from_secs(1800);
const NOW: Timestamp = Timestamp(START.0 + 86_400_000);

fn entries() -> u64 {
    std::env::var("CBM_BENCH_MIRROR_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn agreement() -> LocalAgreement {
    let terms = Terms {
        agreement: AgreementId::new("bench").expect("id"),
        title: Text::new("bench").expect("title"),
        schedules: vec![],
        notices: vec![],
        quorum: 1,
        start: START,
    };
    LocalAgreement::new(&[("AR", "AR"), ("BO", "BO")], terms).expect("agreement")
}

/// Writes `count` entries of the first party's log into the store at `path`,
/// in signed checkpoints of 1,000, as its node would have.
fn fill_owner_store(local: &LocalAgreement, path: &Path, count: u64) {
    let agreement = Agreement::adopt(&local.roster).expect("adopt");
    let owner = &local.parties[0];
    let author = Author { agreement: &agreement, signatory: &owner.id, key_id: KeyId(0), key: &owner.signing_key };
    let log = agreement.log_of(&owner.id);
    let mut store = Store::open(path).expect("store");
    let mut frontier = Frontier::empty();
    let mut created = Vec::new();
    while frontier.size() < count {
        let first = frontier.size();
        let drafts = (first..count.min(first + 1000)).map(|i| note(&format!("entry {i}"))).collect();
        let authored = author.write_all(drafts, first, NOW, &mut rand_core::OsRng);
        let entries: Vec<_> = authored.into_iter().map(|a| a.entry).collect();
        for entry in &entries {
            frontier.push(TreeHash(entry.hash().0), &mut created);
            created.clear();
        }
        let body = Checkpoint { log, size: frontier.size(), root: RootHash(frontier.root().0), timestamp: NOW };
        let checkpoint = SignedCheckpoint::sign(body, agreement.hash(), KeyId(0), &owner.signing_key);
        store.append(&log, &entries, &checkpoint).expect("append");
    }
}

/// Starts a witness (the second party) with a fresh store in `dir` and
/// waits until it has cosigned the owner's `count` entries.
async fn mirror_once(local: &mut LocalAgreement, clock: &Arc<ManualClock>, dir: &Path, count: u64) -> Duration {
    let store = tempfile::NamedTempFile::new_in(dir).expect("store").into_temp_path();
    let config = local.node_config(1, store.to_path_buf(), Arc::clone(clock) as _, None).expect("config");
    let owner = local.parties[0].id.clone();
    let started = Instant::now();
    let witness = Node::start(config).await.expect("witness");
    witness
        .wait_until("the owner's log mirrored and cosigned", PATIENCE, |s| {
            s.log(&owner).is_some_and(|l| l.size == count && l.settled_size == count)
        })
        .await
        .expect("mirrored");
    let elapsed = started.elapsed();
    witness.shutdown().await;
    elapsed
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// An owner's node over a log of `count` entries, in a fresh directory.
struct Owner {
    dir: tempfile::TempDir,
    local: LocalAgreement,
    clock: Arc<ManualClock>,
    node: Node,
}

fn start_owner(runtime: &tokio::runtime::Runtime, count: u64) -> Owner {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut local = agreement();
    let owner_store = dir.path().join("owner.db");
    fill_owner_store(&local, &owner_store, count);
    let clock = Arc::new(ManualClock::new(NOW));
    let config = local.node_config(0, owner_store, Arc::clone(&clock) as _, None).expect("config");
    let node = runtime.block_on(Node::start(config)).expect("owner");
    Owner { dir, local, clock, node }
}

/// Mirrors a log of `count` entries once, then audits it; prints both.
fn full_size(runtime: &tokio::runtime::Runtime, count: u64) {
    let Owner { dir, mut local, clock, node: owner } = start_owner(runtime, count);
    let mirrored = runtime.block_on(mirror_once(&mut local, &clock, dir.path(), count));
    let rss = peak_rss_mib();
    let bundle = dir.path().join("bundle.cbor");
    runtime.block_on(owner.export(bundle.clone(), true)).expect("export");
    runtime.block_on(owner.shutdown());
    let started = Instant::now();
    let input = std::io::BufReader::new(std::fs::File::open(&bundle).expect("bundle"));
    let report = audit(input, None, NOW, |_| {});
    let audited = started.elapsed();
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.problems);
    let (mirror_rate, audit_rate) = (count as f64 / mirrored.as_secs_f64(), count as f64 / audited.as_secs_f64());
    println!(
        "mirror of {count} entries: {mirror_rate:.0} entries/s ({mirrored:.1?}); offline audit of the same log: \
         {audit_rate:.0} entries/s; ratio {:.2}; peak RSS while mirroring (both nodes) {:.1} MiB",
        mirror_rate / audit_rate,
        rss.unwrap_or(f64::NAN)
    );
}

fn mirror_bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    full_size(&runtime, entries());

    const SAMPLE: u64 = 20_000;
    let Owner { dir, mut local, clock, node: owner } = start_owner(&runtime, SAMPLE);
    let mut group = c.benchmark_group("mirror");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SAMPLE));
    group.bench_function("log_20k", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| runtime.block_on(mirror_once(&mut local, &clock, dir.path(), SAMPLE))).sum()
        })
    });
    group.finish();
    runtime.block_on(owner.shutdown());
}

criterion_group!(benches, mirror_bench);
criterion_main!(benches);
