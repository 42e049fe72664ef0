//! cbm-log's Merkle tree side by side with the `ct-merkle` crate, on the
//! same tree of `CBM_BENCH_CT_LEAVES` leaves (default 1,000,000) with the
//! same leaf data (32 to 64 bytes each), both hashing with BLAKE3:
//!
//! - building the tree from the leaf data and taking its root;
//! - inclusion and consistency proof generation at random indices and
//!   random older sizes, and their verification.
//!
//! Both implement RFC 9162 §2.1 (RFC 6962 §2.1): leaf `H(0x00 || data)`, node
//! `H(0x01 || left || right)`, empty tree `H("")`. Before timing anything the
//! bench asserts that both give the same root, and the same proof bytes for
//! every proof it verifies. cbm's proofs read stored subtree hashes through
//! [`HashReader`](cbm_log::merkle::HashReader), here the in-memory
//! [`MemoryTree`]; ct-merkle's `MemoryBackedTree` keeps every node in one array.
//!
//! The limit measured alongside is raw BLAKE3: node hashes `H(0x01 || l || r)`
//! and leaf hashes of the same data. After criterion's output the bench prints
//! one summary line per operation: both rates and the ratio cbm / ct-merkle
//! (above 1 means cbm is faster). BENCHMARKS.md reports them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cbm_log::merkle::{
    Frontier, HashReader, MemoryTree, MissingHash, NodeIndex, TreeHead, consistency_proof, inclusion_proof, root,
    verify_consistency, verify_inclusion,
};
use cbm_wire::{ConsistencyProof, EntryHash, InclusionProof, RootHash, TreeHash};
use criterion::{Bencher, Criterion, SamplingMode, Throughput};
use ct_merkle::mem_backed_tree::MemoryBackedTree;

/// BLAKE3 through its `digest` traits (blake3's `traits-preview` feature).
type Blake3 = blake3::Hasher;

/// ct-merkle's in-memory tree over borrowed leaf data.
type CtTree<'a> = MemoryBackedTree<Blake3, &'a [u8]>;

/// How many proofs each verification bench cycles through.
const PROOF_SET: usize = 1024;

/// Leaves hashed per `MemoryTree::push_leaves` call when cbm builds its tree.
const CHUNK: usize = 4096;

/// Number of leaves in the compared tree.
fn leaf_count() -> u64 {
    std::env::var("CBM_BENCH_CT_LEAVES").ok().and_then(|v| v.parse().ok()).filter(|&n| n >= 2).unwrap_or(1_000_000)
}

/// A deterministic xorshift64 generator for leaf data, indices and sizes.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The leaf data of `n` leaves, 32 to 64 bytes each, in one buffer, and the
/// end offset of each leaf in it.
fn leaf_data(n: u64) -> (Vec<u8>, Vec<usize>) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..n {
        let len = 32 + rng.below(33);
        bytes.extend((0..len).map(|_| rng.next() as u8));
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// cbm's leaf hash of `data`, as a tree node.
fn cbm_leaf(data: &[u8]) -> TreeHash {
    TreeHash(EntryHash::of_leaf(data).0)
}

/// cbm: hashes the leaves and stores every complete subtree, as a log's
/// store does, ready to serve proofs.
fn cbm_build(leaves: &[&[u8]]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    let mut hashes = Vec::with_capacity(CHUNK);
    for chunk in leaves.chunks(CHUNK) {
        hashes.clear();
        hashes.extend(chunk.iter().map(|data| cbm_leaf(data)));
        tree.push_leaves(&hashes);
    }
    tree
}

/// cbm: the root alone, through the frontier, nothing stored.
fn cbm_root_only(leaves: &[&[u8]]) -> TreeHash {
    let mut frontier = Frontier::empty();
    let mut created = Vec::new();
    for data in leaves {
        frontier.push(cbm_leaf(data), &mut created);
        created.clear();
    }
    frontier.root()
}

/// ct-merkle: pushes every leaf into its memory-backed tree.
fn ct_build<'a>(leaves: &[&'a [u8]]) -> CtTree<'a> {
    let mut tree = CtTree::new();
    for &data in leaves {
        tree.push(data);
    }
    tree
}

/// ct-merkle's root for a tree of `size` leaves whose root hash is `root`.
fn ct_root(root: &RootHash, size: u64) -> ct_merkle::RootHash<Blake3> {
    ct_merkle::RootHash::new(root.0.into(), size)
}

/// A proof path as the concatenated hashes ct-merkle's proofs are made of.
fn path_bytes(path: &[TreeHash]) -> Vec<u8> {
    path.iter().flat_map(|h| h.0).collect()
}

/// Raw BLAKE3 node hash `H(0x01 || left || right)`, without cbm's code.
fn raw_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x01]);
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

/// Raw BLAKE3 leaf hash `H(0x00 || data)`, without cbm's code.
fn raw_leaf(data: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x00]);
    hasher.update(data);
    *hasher.finalize().as_bytes()
}

/// A [`HashReader`] over a [`MemoryTree`] that counts the stored hashes read.
struct Counting<'t> {
    /// The tree read.
    tree: &'t MemoryTree,
    /// Stored hashes read so far.
    reads: Cell<usize>,
}

impl HashReader for Counting<'_> {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<TreeHash>, MissingHash> {
        self.reads.set(self.reads.get() + indexes.len());
        self.tree.read_hashes(indexes)
    }
}

/// Iterations and time of every timed call of each benchmark (warm-up
/// included), for the summary printed after criterion's own report.
#[derive(Default)]
struct Records(RefCell<BTreeMap<&'static str, (u64, Duration)>>);

impl Records {
    /// Times `routine` under criterion as benchmark `name`, and records it.
    fn bench<O>(&self, b: &mut Bencher<'_>, name: &'static str, mut routine: impl FnMut() -> O) {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(routine());
            }
            let elapsed = start.elapsed();
            let mut records = self.0.borrow_mut();
            let (total_iters, total_time) = records.entry(name).or_default();
            *total_iters += iters;
            *total_time += elapsed;
            elapsed
        });
    }

    /// Mean seconds per call of benchmark `name`, if it ran.
    fn seconds(&self, name: &str) -> Option<f64> {
        let records = self.0.borrow();
        let &(iters, time) = records.get(name)?;
        (iters > 0).then(|| time.as_secs_f64() / iters as f64)
    }
}

/// A rate in operations per second, with a metric prefix.
fn rate(per_second: f64) -> String {
    match per_second {
        r if r >= 1e6 => format!("{:.2} M/s", r / 1e6),
        r if r >= 1e3 => format!("{:.1} k/s", r / 1e3),
        r => format!("{r:.2} /s"),
    }
}

/// Prints the summary line comparing benchmarks `cbm` and `ct` (seconds per
/// `per` operations each), with `extra` appended.
fn compare(records: &Records, what: &str, cbm: &str, ct: &str, per: f64, extra: &str) {
    match (records.seconds(cbm), records.seconds(ct)) {
        (Some(c), Some(t)) => {
            println!("{what}: cbm {} | ct-merkle {} | cbm/ct-merkle {:.2}{extra}", rate(per / c), rate(per / t), t / c);
        }
        _ => println!("{what}: not measured in this run"),
    }
}

/// Everything the benchmarks share: the leaf data, both trees and their
/// roots, and the proofs the verification benchmarks cycle through.
struct Fixture<'a> {
    /// Number of leaves.
    n: u64,
    /// Leaf data.
    leaves: Vec<&'a [u8]>,
    /// cbm's tree, all complete subtrees stored.
    cbm: MemoryTree,
    /// ct-merkle's tree.
    ct: CtTree<'a>,
    /// cbm's tree head.
    head: TreeHead,
    /// ct-merkle's root.
    ct_head: ct_merkle::RootHash<Blake3>,
    /// Inclusion proofs at random indices: cbm's and ct-merkle's.
    inclusion: Vec<(InclusionProof, ct_merkle::InclusionProof<Blake3>)>,
    /// Consistency proofs from random older sizes, with the older heads.
    consistency: Vec<(ConsistencyProof, ct_merkle::ConsistencyProof<Blake3>, TreeHead, ct_merkle::RootHash<Blake3>)>,
    /// Stored hashes cbm read to make the inclusion proofs above.
    inclusion_reads: usize,
    /// Stored hashes cbm read to make the consistency proofs above.
    consistency_reads: usize,
}

impl<'a> Fixture<'a> {
    /// Builds both trees and checks that they agree on the root and on every
    /// proof in the verification sets.
    fn new(leaves: Vec<&'a [u8]>) -> Self {
        let n = leaves.len() as u64;
        let cbm = cbm_build(&leaves);
        let ct = ct_build(&leaves);
        let head = TreeHead { size: n, root: root(&cbm, n).expect("in-memory root") };
        let ct_head = ct.root();
        assert_eq!(ct_head.as_bytes().as_slice(), &head.root.0, "ct-merkle and cbm roots differ");
        assert_eq!(cbm_root_only(&leaves).0, head.root.0, "frontier root differs from stored-tree root");
        println!("root equality: cbm == ct-merkle for {n} leaves, root {}", hex(&head.root.0));

        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let counting = Counting { tree: &cbm, reads: Cell::new(0) };
        let inclusion = (0..PROOF_SET)
            .map(|_| {
                let index = rng.below(n);
                let proof = inclusion_proof(&counting, index, n).expect("in-memory proof");
                let ct_proof = ct.prove_inclusion(usize::try_from(index).expect("index fits usize"));
                assert_eq!(path_bytes(&proof.path), ct_proof.as_bytes(), "inclusion proofs differ at {index}");
                let data = leaves[usize::try_from(index).expect("index fits usize")];
                verify_inclusion(&EntryHash::of_leaf(data), &proof, &head).expect("cbm proof verifies");
                ct_head.verify_inclusion(&data, index, &ct_proof).expect("ct-merkle proof verifies");
                (proof, ct_proof)
            })
            .collect();
        let inclusion_reads = counting.reads.replace(0);
        let consistency = (0..PROOF_SET)
            .map(|_| {
                let old_size = 1 + rng.below(n - 1);
                let old = TreeHead { size: old_size, root: root(&cbm, old_size).expect("in-memory root") };
                let ct_old = ct_root(&old.root, old_size);
                let proof = consistency_proof(&counting, old_size, n).expect("in-memory proof");
                let ct_proof = ct.prove_consistency(usize::try_from(n - old_size).expect("size fits usize"));
                assert_eq!(path_bytes(&proof.path), ct_proof.as_bytes(), "consistency proofs differ from {old_size}");
                verify_consistency(&proof, &old, &head).expect("cbm proof verifies");
                ct_head.verify_consistency(&ct_old, &ct_proof).expect("ct-merkle proof verifies");
                (proof, ct_proof, old, ct_old)
            })
            .collect();
        let consistency_reads = counting.reads.get();
        Self { n, leaves, cbm, ct, head, ct_head, inclusion, consistency, inclusion_reads, consistency_reads }
    }
}

/// Lower-case hex of a hash.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (1) Building the tree from the leaf data, and the raw BLAKE3 limit.
fn build(c: &mut Criterion, f: &Fixture<'_>, records: &Records) {
    let mut group = c.benchmark_group(format!("ct_merkle_build_{}", f.n));
    group.throughput(Throughput::Elements(f.n));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("cbm_build_tree", |b| records.bench(b, "cbm_build_tree", || cbm_build(&f.leaves)));
    group.bench_function("cbm_root_only_frontier", |b| {
        records.bench(b, "cbm_root_only_frontier", || cbm_root_only(&f.leaves))
    });
    group.bench_function("ct_merkle_build_tree", |b| records.bench(b, "ct_merkle_build_tree", || ct_build(&f.leaves)));
    group.finish();

    let mut group = c.benchmark_group(format!("ct_merkle_limit_{}", f.n));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    let mut node = [7u8; 32];
    let sibling = [9u8; 32];
    group.bench_function("limit_raw_blake3_node", |b| {
        records.bench(b, "limit_raw_blake3_node", || {
            node = raw_node(black_box(&node), black_box(&sibling));
            node
        })
    });
    // In order, as the builds read them: random leaves would time cache misses.
    let mut at = 0;
    group.bench_function("limit_raw_blake3_leaf", |b| {
        records.bench(b, "limit_raw_blake3_leaf", || {
            at = (at + 1) % f.leaves.len();
            raw_leaf(black_box(f.leaves[at]))
        })
    });
    group.finish();
}

/// (2)–(5) Proof generation and verification.
fn proofs(c: &mut Criterion, f: &Fixture<'_>, records: &Records) {
    let n = f.n;
    let mut group = c.benchmark_group(format!("ct_merkle_proofs_{n}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));

    let mut rng = Rng(0x0123_4567_89ab_cdef);
    group.bench_function("cbm_inclusion_prove", |b| {
        records.bench(b, "cbm_inclusion_prove", || inclusion_proof(&f.cbm, rng.below(n), n).expect("proof"))
    });
    group.bench_function("ct_merkle_inclusion_prove", |b| {
        records.bench(b, "ct_merkle_inclusion_prove", || f.ct.prove_inclusion(rng.below(n) as usize))
    });
    let mut i = 0;
    group.bench_function("cbm_inclusion_verify", |b| {
        records.bench(b, "cbm_inclusion_verify", || {
            i = (i + 1) % PROOF_SET;
            let proof = &f.inclusion[i].0;
            let leaf = EntryHash::of_leaf(f.leaves[proof.index as usize]);
            verify_inclusion(&leaf, proof, &f.head).expect("valid")
        })
    });
    group.bench_function("ct_merkle_inclusion_verify", |b| {
        records.bench(b, "ct_merkle_inclusion_verify", || {
            i = (i + 1) % PROOF_SET;
            let (proof, ct_proof) = &f.inclusion[i];
            f.ct_head.verify_inclusion(&f.leaves[proof.index as usize], proof.index, ct_proof).expect("valid")
        })
    });
    group.bench_function("cbm_consistency_prove", |b| {
        records.bench(b, "cbm_consistency_prove", || consistency_proof(&f.cbm, 1 + rng.below(n - 1), n).expect("proof"))
    });
    group.bench_function("ct_merkle_consistency_prove", |b| {
        records.bench(b, "ct_merkle_consistency_prove", || {
            // Older sizes 1..n, as for cbm: ct-merkle takes the number of leaves added since.
            f.ct.prove_consistency((n - 1 - rng.below(n - 1)) as usize)
        })
    });
    group.bench_function("cbm_consistency_verify", |b| {
        records.bench(b, "cbm_consistency_verify", || {
            i = (i + 1) % PROOF_SET;
            let (proof, _, old, _) = &f.consistency[i];
            verify_consistency(proof, old, &f.head).expect("valid")
        })
    });
    group.bench_function("ct_merkle_consistency_verify", |b| {
        records.bench(b, "ct_merkle_consistency_verify", || {
            i = (i + 1) % PROOF_SET;
            let (_, ct_proof, _, ct_old) = &f.consistency[i];
            f.ct_head.verify_consistency(ct_old, ct_proof).expect("valid")
        })
    });
    group.finish();
}

/// One line per operation: both rates, the ratio, and the raw BLAKE3 limit.
fn summary(f: &Fixture<'_>, records: &Records) {
    let n = f.n as f64;
    let node = records.seconds("limit_raw_blake3_node");
    let leaf = records.seconds("limit_raw_blake3_leaf");
    let per_proof = |total: usize| total as f64 / PROOF_SET as f64;
    let inclusion_len = per_proof(f.inclusion.iter().map(|(p, _)| p.path.len()).sum());
    let consistency_len = per_proof(f.consistency.iter().map(|(p, ..)| p.path.len()).sum());
    // Each path hash is the fold of the stored hashes of its range: reads - path node hashes per proof.
    let reads_note = |reads: usize, len: f64| {
        format!(
            " | cbm reads {:.1} stored hashes per proof of {len:.1}, hashing {:.1} nodes",
            per_proof(reads),
            per_proof(reads) - len
        )
    };

    println!();
    println!("ct_merkle summary: {} leaves of 32-64 bytes, BLAKE3; rates are operations per second", f.n);
    let build_limit = match (node, leaf) {
        (Some(node), Some(leaf)) => {
            // A tree of n leaves takes n leaf hashes and n - 1 node hashes.
            let limit = n * leaf + (n - 1.0) * node;
            let of_limit = |name| records.seconds(name).map_or(0.0, |s| limit / s);
            println!(
                "raw BLAKE3 limit: node H(0x01||l||r) {} | leaf H(0x00||data) {} | building {} leaves at that rate: {} leaves",
                rate(1.0 / node),
                rate(1.0 / leaf),
                f.n,
                rate(n / limit)
            );
            format!(
                " | of the raw BLAKE3 limit: cbm {:.2}, cbm root only {:.2}, ct-merkle {:.2}",
                of_limit("cbm_build_tree"),
                of_limit("cbm_root_only_frontier"),
                of_limit("ct_merkle_build_tree")
            )
        }
        _ => String::new(),
    };
    compare(records, "build tree (leaves/s)", "cbm_build_tree", "ct_merkle_build_tree", n, &build_limit);
    compare(
        records,
        "build, cbm root only (frontier, nothing stored) vs ct-merkle (leaves/s)",
        "cbm_root_only_frontier",
        "ct_merkle_build_tree",
        n,
        "",
    );
    compare(
        records,
        "inclusion proof generation",
        "cbm_inclusion_prove",
        "ct_merkle_inclusion_prove",
        1.0,
        &reads_note(f.inclusion_reads, inclusion_len),
    );
    let verify_limit = node.zip(leaf).map_or(String::new(), |(node, leaf)| {
        let limit = leaf + inclusion_len * node;
        let of_limit = |name| records.seconds(name).map_or(0.0, |s| limit / s);
        format!(
            " | raw BLAKE3 of 1 leaf + {inclusion_len:.1} nodes: {}; cbm {:.2}, ct-merkle {:.2} of it",
            rate(1.0 / limit),
            of_limit("cbm_inclusion_verify"),
            of_limit("ct_merkle_inclusion_verify")
        )
    });
    compare(
        records,
        "inclusion proof verification (leaf hash included)",
        "cbm_inclusion_verify",
        "ct_merkle_inclusion_verify",
        1.0,
        &verify_limit,
    );
    compare(
        records,
        "consistency proof generation",
        "cbm_consistency_prove",
        "ct_merkle_consistency_prove",
        1.0,
        &reads_note(f.consistency_reads, consistency_len),
    );
    compare(
        records,
        "consistency proof verification",
        "cbm_consistency_verify",
        "ct_merkle_consistency_verify",
        1.0,
        &format!(" | mean path {consistency_len:.1} hashes"),
    );
}

/// Builds the fixture (asserting both implementations agree), runs the
/// criterion groups, then prints the summary.
fn main() {
    let (bytes, ends) = leaf_data(leaf_count());
    let leaves = ends.iter().scan(0, |start, &end| Some(&bytes[std::mem::replace(start, end)..end])).collect();
    let fixture = Fixture::new(leaves);
    let records = Records::default();
    let mut c = Criterion::default().configure_from_args();
    build(&mut c, &fixture, &records);
    proofs(&mut c, &fixture, &records);
    c.final_summary();
    summary(&fixture, &records);
}
