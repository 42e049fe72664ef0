//! Merkle test vectors (spec/vectors/merkle/, spec/log.md §2.7), checked both
//! ways: generated from the code they must equal the committed files, and read
//! from the files alone every root and proof must verify while tampered
//! copies must not.
//!
//! Regenerate after an intended change with
//! `CBM_REGENERATE_VECTORS=1 cargo test -p cbm-tests --test merkle_vectors`.

use std::path::{Path, PathBuf};

use cbm_log::merkle::{
    MemoryTree, TreeHead, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};
use cbm_wire::{ConsistencyProof, EntryHash, InclusionProof, RootHash, TreeHash};
use serde::{Deserialize, Serialize};

/// Tree sizes with a vector: small ones, powers of two and their neighbours.
const SIZES: [u64; 14] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1000];

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeVector {
    size: u64,
    root: RootHash,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionVector {
    index: u64,
    size: u64,
    leaf: EntryHash,
    path: Vec<TreeHash>,
    root: RootHash,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyVector {
    old_size: u64,
    new_size: u64,
    path: Vec<TreeHash>,
    old_root: RootHash,
    new_root: RootHash,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    description: String,
    trees: Vec<TreeVector>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
}

fn file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/merkle/vectors.json")
}

/// Leaf `i` of every vector tree: the leaf hash of `i` as 8 big-endian bytes.
fn leaf(i: u64) -> EntryHash {
    EntryHash::of_leaf(&i.to_be_bytes())
}

fn generate() -> Vectors {
    let mut tree = MemoryTree::new();
    let leaves: Vec<TreeHash> = (0..1000).map(|i| TreeHash(leaf(i).0)).collect();
    tree.push_leaves(&leaves);
    let root_of = |n| root(&tree, n).expect("in-memory");
    let trees = SIZES.iter().map(|&size| TreeVector { size, root: root_of(size) }).collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for &size in SIZES.iter().filter(|&&s| s > 0) {
        for index in [0, size / 2, size - 1] {
            let proof = inclusion_proof(&tree, index, size).expect("in range");
            inclusion.push(InclusionVector { index, size, leaf: leaf(index), path: proof.path, root: root_of(size) });
        }
        for old_size in [1, size / 2, size - 1].into_iter().filter(|&m| m >= 1) {
            let proof = consistency_proof(&tree, old_size, size).expect("in order");
            consistency.push(ConsistencyVector {
                old_size,
                new_size: size,
                path: proof.path,
                old_root: root_of(old_size),
                new_root: root_of(size),
            });
        }
    }
    inclusion.dedup_by_key(|v| (v.index, v.size));
    consistency.dedup_by_key(|v| (v.old_size, v.new_size));
    Vectors {
        description: "cbm/1 Merkle tree (spec/log.md §2): leaf i = BLAKE3(0x00 || i as 8 big-endian bytes)".to_owned(),
        trees,
        inclusion,
        consistency,
    }
}

fn to_json(vectors: &Vectors) -> String {
    serde_json::to_string_pretty(vectors).expect("JSON") + "\n"
}

#[test]
fn committed_vectors_match_the_code() {
    let generated = to_json(&generate());
    if std::env::var_os("CBM_REGENERATE_VECTORS").is_some() {
        let path = file();
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, &generated).expect("write");
        std::fs::rename(&temporary, &path).expect("replace");
    }
    let on_disk = std::fs::read_to_string(file()).expect("spec/vectors/merkle/vectors.json");
    assert_eq!(on_disk, generated, "Merkle vectors differ from the code; regenerate (see module docs)");
}

fn read() -> Vectors {
    serde_json::from_str(&std::fs::read_to_string(file()).expect("read vectors")).expect("parse vectors")
}

#[test]
fn vectors_verify_from_the_file_alone() {
    let vectors = read();
    assert_eq!(
        vectors.trees.iter().find(|t| t.size == 0).map(|t| t.root),
        Some(RootHash(*blake3::hash(b"").as_bytes()))
    );
    let one = vectors.trees.iter().find(|t| t.size == 1).expect("size 1");
    assert_eq!(one.root.0, leaf(0).0, "a one-leaf tree's root is its leaf hash");
    for v in &vectors.inclusion {
        let proof = InclusionProof { index: v.index, size: v.size, path: v.path.clone() };
        let head = TreeHead { size: v.size, root: v.root };
        assert_eq!(verify_inclusion(&v.leaf, &proof, &head), Ok(()), "inclusion ({}, {})", v.index, v.size);
        for i in 0..v.path.len() {
            let mut bad = proof.clone();
            bad.path[i].0[0] ^= 1;
            assert!(verify_inclusion(&v.leaf, &bad, &head).is_err());
        }
        let moved = InclusionProof { index: v.index ^ 1, ..proof.clone() };
        assert!(v.size == 1 || verify_inclusion(&v.leaf, &moved, &head).is_err());
        let resized = InclusionProof { size: v.size + 1, ..proof.clone() };
        assert!(verify_inclusion(&v.leaf, &resized, &head).is_err());
    }
    for v in &vectors.consistency {
        let proof = ConsistencyProof { old_size: v.old_size, new_size: v.new_size, path: v.path.clone() };
        let old = TreeHead { size: v.old_size, root: v.old_root };
        let new = TreeHead { size: v.new_size, root: v.new_root };
        assert_eq!(verify_consistency(&proof, &old, &new), Ok(()), "consistency ({}, {})", v.old_size, v.new_size);
        for i in 0..v.path.len() {
            let mut bad = proof.clone();
            bad.path[i].0[0] ^= 1;
            assert!(verify_consistency(&bad, &old, &new).is_err());
        }
        let resized = ConsistencyProof { old_size: v.old_size + 1, ..proof.clone() };
        assert!(verify_consistency(&resized, &old, &new).is_err());
    }
    assert!(vectors.inclusion.len() > 30 && vectors.consistency.len() > 20);
}
