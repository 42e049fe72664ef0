//! The Merkle tree against a naive recursive reference written straight from
//! RFC 9162 §2.1 (with BLAKE3), over every small size and random large ones.

use cbm_wire::{EntryHash, RootHash, TreeHash};
use proptest::prelude::*;

use super::*;

/// The leaf hashes of a synthetic log of `n` entries.
fn leaves(n: u64) -> Vec<TreeHash> {
    (0..n).map(|i| TreeHash(EntryHash::of_leaf(&i.to_be_bytes()).0)).collect()
}

/// RFC 9162 MTH, recursively.
fn reference_root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

/// RFC 9162 PATH(m, D[n]), recursively.
fn reference_path(m: usize, leaves: &[TreeHash]) -> Vec<TreeHash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split_point(n as u64) as usize;
    if m < k {
        let mut path = reference_path(m, &leaves[..k]);
        path.push(reference_root(&leaves[k..]));
        path
    } else {
        let mut path = reference_path(m - k, &leaves[k..]);
        path.push(reference_root(&leaves[..k]));
        path
    }
}

/// RFC 9162 SUBPROOF(m, D[n], b), recursively.
fn reference_subproof(m: usize, leaves: &[TreeHash], complete: bool) -> Vec<TreeHash> {
    let n = leaves.len();
    if m == n {
        return if complete { vec![] } else { vec![reference_root(leaves)] };
    }
    let k = split_point(n as u64) as usize;
    if m <= k {
        let mut proof = reference_subproof(m, &leaves[..k], complete);
        proof.push(reference_root(&leaves[k..]));
        proof
    } else {
        let mut proof = reference_subproof(m - k, &leaves[k..], false);
        proof.push(reference_root(&leaves[..k]));
        proof
    }
}

use super::range::split_point;

fn tree(leaves: &[TreeHash]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    // Two batches, to exercise appends onto an existing frontier.
    let half = leaves.len() / 3;
    tree.push_leaves(&leaves[..half]);
    tree.push_leaves(&leaves[half..]);
    tree
}

fn root_of(tree: &MemoryTree, size: u64) -> TreeHead {
    TreeHead { size, root: root(tree, size).expect("in-memory read") }
}

fn as_root(hash: TreeHash) -> RootHash {
    RootHash(hash.0)
}

fn leaf(hash: TreeHash) -> EntryHash {
    EntryHash(hash.0)
}

/// Every way to tamper with a path: each hash flipped, truncated, extended, two hashes swapped.
fn tampered_paths(path: &[TreeHash]) -> Vec<Vec<TreeHash>> {
    let mut out = Vec::new();
    for i in 0..path.len() {
        let mut flipped = path.to_vec();
        flipped[i].0[i % 32] ^= 1;
        out.push(flipped);
    }
    if !path.is_empty() {
        out.push(path[..path.len() - 1].to_vec());
        out.push(path[1..].to_vec());
    }
    let mut extended = path.to_vec();
    extended.push(TreeHash([7; 32]));
    out.push(extended);
    for i in 1..path.len() {
        if path[i] != path[i - 1] {
            let mut swapped = path.to_vec();
            swapped.swap(i, i - 1);
            out.push(swapped);
        }
    }
    out
}

#[test]
fn roots_match_the_reference_for_every_size_up_to_300() {
    let all = leaves(300);
    let tree = tree(&all);
    for n in 0..=300 {
        assert_eq!(root_of(&tree, n).root, as_root(reference_root(&all[..n as usize])), "size {n}");
    }
    assert_eq!(Frontier::of(&tree).expect("frontier").root(), reference_root(&all));
}

#[test]
fn inclusion_proofs_for_every_index_and_size_up_to_300() {
    let all = leaves(300);
    let tree = tree(&all);
    for n in 1..=300u64 {
        let root = root_of(&tree, n);
        for m in 0..n {
            let proof = inclusion_proof(&tree, m, n).expect("in range");
            assert_eq!(proof.path, reference_path(m as usize, &all[..n as usize]), "PATH({m}, {n})");
            assert_eq!(verify_inclusion(&leaf(all[m as usize]), &proof, &root), Ok(()), "verify ({m}, {n})");
        }
    }
}

#[test]
fn consistency_proofs_for_every_pair_up_to_300() {
    let all = leaves(300);
    let tree = tree(&all);
    let roots: Vec<TreeHead> = (0..=300).map(|n| root_of(&tree, n)).collect();
    for n in 1..=300u64 {
        for m in 1..=n {
            let proof = consistency_proof(&tree, m, n).expect("in order");
            let expected = if m == n { vec![] } else { reference_subproof(m as usize, &all[..n as usize], true) };
            assert_eq!(proof.path, expected, "PROOF({m}, {n})");
            assert_eq!(verify_consistency(&proof, &roots[m as usize], &roots[n as usize]), Ok(()), "({m}, {n})");
        }
    }
}

#[test]
fn tampered_inclusion_proofs_are_rejected() {
    let all = leaves(70);
    let tree = tree(&all);
    for n in [1u64, 2, 3, 7, 8, 9, 31, 32, 33, 64, 70] {
        let root = root_of(&tree, n);
        for m in 0..n {
            let proof = inclusion_proof(&tree, m, n).expect("in range");
            let leaf_hash = leaf(all[m as usize]);
            for path in tampered_paths(&proof.path) {
                let bad = InclusionProof { path, ..proof.clone() };
                assert!(verify_inclusion(&leaf_hash, &bad, &root).is_err(), "tampered path ({m}, {n})");
            }
            for (index, size) in [(m + 1, n), (m.wrapping_sub(1), n), (m, n + 1), (m, n.saturating_sub(1)), (n, n)] {
                if (index, size) != (m, n) {
                    let bad = InclusionProof { index, size, ..proof.clone() };
                    assert!(verify_inclusion(&leaf_hash, &bad, &root).is_err(), "({index}, {size}) for ({m}, {n})");
                }
            }
            let other_leaf = leaf(all[((m + 1) % 70) as usize]);
            assert!(verify_inclusion(&other_leaf, &proof, &root).is_err());
        }
    }
}

#[test]
fn tampered_consistency_proofs_are_rejected() {
    let all = leaves(70);
    let tree = tree(&all);
    let roots: Vec<TreeHead> = (0..=70).map(|n| root_of(&tree, n)).collect();
    for n in [2u64, 3, 7, 8, 9, 31, 32, 33, 64, 70] {
        for m in 1..n {
            let proof = consistency_proof(&tree, m, n).expect("in order");
            let (old, new) = (&roots[m as usize], &roots[n as usize]);
            for path in tampered_paths(&proof.path) {
                let bad = ConsistencyProof { path, ..proof.clone() };
                assert!(verify_consistency(&bad, old, new).is_err(), "tampered ({m}, {n})");
            }
            for (old_size, new_size) in [(m + 1, n), (m - 1, n), (m, n + 1), (m, n - 1), (n, m)] {
                if (old_size, new_size) != (m, n) {
                    let bad = ConsistencyProof { old_size, new_size, ..proof.clone() };
                    assert!(verify_consistency(&bad, old, new).is_err(), "({old_size}, {new_size}) for ({m}, {n})");
                }
            }
            let other = |head: &TreeHead| TreeHead { root: RootHash([0xee; 32]), ..*head };
            assert!(verify_consistency(&proof, &other(old), new).is_err());
            assert!(verify_consistency(&proof, old, &other(new)).is_err());
        }
    }
}

#[test]
fn impossible_requests_are_refused() {
    let tree = tree(&leaves(10));
    assert!(matches!(inclusion_proof(&tree, 10, 10), Err(ProveError::Invalid(ProofError::IndexOutOfRange { .. }))));
    assert!(matches!(consistency_proof(&tree, 0, 10), Err(ProveError::Invalid(ProofError::SizesOutOfOrder { .. }))));
    assert!(matches!(consistency_proof(&tree, 11, 10), Err(ProveError::Invalid(ProofError::SizesOutOfOrder { .. }))));
    assert!(matches!(inclusion_proof(&tree, 3, 11), Err(ProveError::Read(_))));
}

use cbm_wire::{ConsistencyProof, InclusionProof};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn random_large_trees_match_the_reference(n in 301u64..3000, seed in any::<u64>()) {
        let all = leaves(n);
        let tree = tree(&all);
        let m = seed % n;
        let old = 1 + seed % n;
        prop_assert_eq!(root_of(&tree, n).root, as_root(reference_root(&all)));
        let inclusion = inclusion_proof(&tree, m, n).expect("in range");
        prop_assert_eq!(&inclusion.path, &reference_path(m as usize, &all));
        prop_assert_eq!(verify_inclusion(&leaf(all[m as usize]), &inclusion, &root_of(&tree, n)), Ok(()));
        let consistency = consistency_proof(&tree, old, n).expect("in order");
        let expected = if old == n { vec![] } else { reference_subproof(old as usize, &all, true) };
        prop_assert_eq!(&consistency.path, &expected);
        prop_assert_eq!(verify_consistency(&consistency, &root_of(&tree, old), &root_of(&tree, n)), Ok(()));
    }

    #[test]
    fn proofs_read_logarithmically_many_hashes(n in 1u64..1_000_000, seed in any::<u64>()) {
        // Count what a proof asks storage for, without building a huge tree.
        struct Counting(std::cell::Cell<usize>);
        impl HashReader for Counting {
            type Error = MissingHash;
            fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<TreeHash>, MissingHash> {
                self.0.set(self.0.get() + indexes.len());
                Ok(vec![TreeHash([0; 32]); indexes.len()])
            }
        }
        // spec/log.md §2.6: at most 2·⌈log2 n⌉ + 2 stored hashes per proof.
        let bound = 2 * (64 - (n - 1).leading_zeros() as usize) + 2;
        let reader = Counting(std::cell::Cell::new(0));
        inclusion_proof(&reader, seed % n, n).expect("in range");
        prop_assert!(reader.0.get() <= bound, "{} reads for inclusion in {}", reader.0.get(), n);
        let reader = Counting(std::cell::Cell::new(0));
        consistency_proof(&reader, 1 + seed % n, n).expect("in order");
        prop_assert!(reader.0.get() <= bound, "{} reads for consistency in {}", reader.0.get(), n);
    }
}
