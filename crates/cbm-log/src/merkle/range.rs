//! Addresses of stored subtrees, and the decomposition of any subtree the
//! RFC 9162 recursion uses into stored ones.

use cbm_wire::TreeHash;

use super::{HashReader, node_hash};

/// A complete, aligned subtree: the `2^level` leaves starting at leaf
/// `index << level`. Level 0 addresses leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIndex {
    /// Height of the subtree: it holds `2^level` leaves.
    pub level: u8,
    /// Position among the subtrees of this level.
    pub index: u64,
}

impl NodeIndex {
    /// The subtree of height `level` starting at leaf `start`, which must be
    /// a multiple of `2^level`.
    pub(crate) fn starting_at(level: u8, start: u64) -> Self {
        debug_assert_eq!(start % (1 << level), 0);
        Self { level, index: start >> level }
    }
}

/// The largest power of two strictly smaller than `n` (RFC 9162's `k`); `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The stored subtrees whose hashes make up the RFC 9162 hash of leaves
/// `lo..hi`, largest first. Every range the proof recursions produce starts
/// at a multiple of the largest power of two not above its length, so it is
/// the concatenation of complete aligned subtrees of decreasing size: one per
/// set bit of `hi - lo`.
pub(crate) fn decompose(lo: u64, hi: u64, out: &mut Vec<NodeIndex>) {
    let mut start = lo;
    let len = hi - lo;
    for level in (0..64u8).rev() {
        if len & (1 << level) != 0 {
            out.push(NodeIndex::starting_at(level, start));
            start += 1 << level;
        }
    }
}

/// Folds the hashes of a decomposition, largest first, into the range's hash:
/// `node(b1, node(b2, ... node(b_{k-1}, b_k)))`.
pub(crate) fn fold(hashes: &[TreeHash]) -> Option<TreeHash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |right, left| node_hash(left, &right)))
}

/// The RFC 9162 hash of leaves `lo..hi` (`lo < hi`), read from storage.
///
/// # Errors
/// If the reader fails.
pub fn subtree_hash<R: HashReader + ?Sized>(reader: &R, lo: u64, hi: u64) -> Result<TreeHash, R::Error> {
    let mut indexes = Vec::new();
    decompose(lo, hi, &mut indexes);
    let hashes = reader.read_hashes(&indexes)?;
    Ok(fold(&hashes).unwrap_or_else(super::empty_root))
}
