//! The Merkle tree of a log (spec/log.md §2): RFC 9162 §2.1 with BLAKE3.
//!
//! - leaf hash: `BLAKE3(0x00 || signed entry bytes)` ([`cbm_wire::EntryHash::of_leaf`]);
//! - node hash: `BLAKE3(0x01 || left || right)` ([`node_hash`]).
//!
//! Storage keeps the hash of every *complete, aligned* subtree, addressed by
//! [`NodeIndex`]. Any subtree the RFC 9162 recursion needs is a run of such
//! complete subtrees, so a proof for a tree of `n` leaves reads O(log n)
//! stored hashes in one batch ([`HashReader::read_hashes`]) and never replays
//! the log. Hashes are written only after they are computed and verified
//! ([`append`]).

mod append;
mod proof;
mod range;

pub use append::{Frontier, append};
pub use proof::{
    ProofError, ProveError, TreeHead, consistency_proof, consistency_roots, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};
pub use range::{NodeIndex, subtree_hash};

use cbm_wire::TreeHash;

/// `BLAKE3(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x01]);
    hasher.update(left.as_bytes());
    hasher.update(right.as_bytes());
    TreeHash(*hasher.finalize().as_bytes())
}

/// The hash of the empty tree: `BLAKE3("")` (RFC 9162 §2.1.1, with BLAKE3).
pub fn empty_root() -> TreeHash {
    TreeHash(*blake3::hash(b"").as_bytes())
}

/// Reads stored hashes of complete subtrees. Implemented by the SQLite store
/// and, in tests, by an in-memory table.
pub trait HashReader {
    /// Why a read failed (I/O, or a missing or corrupt row).
    type Error: std::error::Error;

    /// The stored hash of each subtree in `indexes`, in the same order.
    ///
    /// # Errors
    /// If any hash cannot be read.
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<TreeHash>, Self::Error>;
}

/// An in-memory [`HashReader`]: every stored hash, level by level.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<TreeHash>>,
}

/// A hash the in-memory tree does not hold.
#[derive(Debug, thiserror::Error)]
#[error("no stored hash for {0:?}")]
pub struct MissingHash(pub NodeIndex);

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends leaf hashes, storing every subtree they complete.
    pub fn push_leaves(&mut self, leaves: &[TreeHash]) {
        let frontier = Frontier::of(self).expect("an in-memory tree holds every hash it needs"); // ok: invariant
        for (index, hash) in append(&frontier, leaves) {
            let level = usize::from(index.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(self.levels[level].len() as u64, index.index);
            self.levels[level].push(hash);
        }
    }
}

impl HashReader for MemoryTree {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<TreeHash>, MissingHash> {
        indexes
            .iter()
            .map(|&i| {
                let level = self.levels.get(usize::from(i.level));
                level.and_then(|l| usize::try_from(i.index).ok().and_then(|x| l.get(x))).copied().ok_or(MissingHash(i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
