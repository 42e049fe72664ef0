//! Roots, inclusion and consistency proofs (RFC 9162 §2.1.3–2.1.4, BLAKE3).

use cbm_wire::{ConsistencyProof, EntryHash, InclusionProof, RootHash, TreeHash};

use super::range::{decompose, fold, split_point};
use super::{HashReader, node_hash};

/// Why a proof does not verify, or cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The older size is zero or above the newer size.
    #[error("no consistency proof from size {old_size} to {new_size}")]
    SizesOutOfOrder {
        /// Older size.
        old_size: u64,
        /// Newer size.
        new_size: u64,
    },
    /// The proof is for another tree size than the tree head it is checked against.
    #[error("proof is for tree size {proof}, the tree head has size {head}")]
    SizeMismatch {
        /// Size the proof states.
        proof: u64,
        /// Size of the tree head.
        head: u64,
    },
    /// The path has the wrong number of hashes for its index and size.
    #[error("proof path has the wrong length")]
    WrongPathLength,
    /// The path is well-formed but leads to another root.
    #[error("proof leads to a different root")]
    RootMismatch,
}

/// Why a proof could not be generated from storage.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E> {
    /// The request itself is impossible.
    #[error(transparent)]
    Invalid(#[from] ProofError),
    /// Storage failed.
    #[error("reading stored tree hashes: {0}")]
    Read(E),
}

/// The root of the tree of `size` leaves.
///
/// # Errors
/// If the reader fails.
pub fn root<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<RootHash, R::Error> {
    if size == 0 {
        return Ok(RootHash(super::empty_root().0));
    }
    super::subtree_hash(reader, 0, size).map(|h| RootHash(h.0))
}

/// Reads the hashes of `ranges` (each a `lo..hi` leaf range) in one batch
/// and folds each into its subtree hash.
fn range_hashes<R: HashReader + ?Sized>(reader: &R, ranges: &[(u64, u64)]) -> Result<Vec<TreeHash>, R::Error> {
    let mut indexes = Vec::new();
    let mut counts = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let before = indexes.len();
        decompose(lo, hi, &mut indexes);
        counts.push(indexes.len() - before);
    }
    let hashes = reader.read_hashes(&indexes)?;
    let mut out = Vec::with_capacity(ranges.len());
    let mut at = 0;
    for count in counts {
        out.push(fold(&hashes[at..at + count]).unwrap_or_else(super::empty_root));
        at += count;
    }
    Ok(out)
}

/// RFC 9162 `PATH(m, D[lo..hi])` as leaf ranges, leaf upwards.
fn inclusion_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    if hi - lo <= 1 {
        return;
    }
    let k = split_point(hi - lo);
    if m < lo + k {
        inclusion_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        inclusion_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], or a read failure.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<InclusionProof, ProveError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut ranges = Vec::new();
    inclusion_ranges(index, 0, size, &mut ranges);
    let path = range_hashes(reader, &ranges).map_err(ProveError::Read)?;
    Ok(InclusionProof { index, size, path })
}

/// RFC 9162 `SUBPROOF(m, D[lo..hi], b)` as leaf ranges.
fn consistency_ranges(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        consistency_ranges(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        consistency_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// The consistency proof from the tree of `old_size` leaves to the tree of
/// `new_size` leaves (`1 <= old_size <= new_size`; empty when equal).
///
/// # Errors
/// [`ProofError::SizesOutOfOrder`], or a read failure.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, ProveError<R::Error>> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size }.into());
    }
    let mut ranges = Vec::new();
    if old_size < new_size {
        consistency_ranges(old_size, 0, new_size, true, &mut ranges);
    }
    let path = range_hashes(reader, &ranges).map_err(ProveError::Read)?;
    Ok(ConsistencyProof { old_size, new_size, path })
}

/// A tree size and the root of the tree of that size, as a checkpoint states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// Root of those leaves.
    pub root: RootHash,
}

/// Verifies that `leaf` is at `proof.index` in the tree `head`
/// (RFC 9162 §2.1.3.2, after checking the proof is for `head.size`).
///
/// # Errors
/// Which check failed.
pub fn verify_inclusion(leaf: &EntryHash, proof: &InclusionProof, head: &TreeHead) -> Result<(), ProofError> {
    if proof.size != head.size {
        return Err(ProofError::SizeMismatch { proof: proof.size, head: head.size });
    }
    let root = &head.root;
    if proof.index >= proof.size {
        return Err(ProofError::IndexOutOfRange { index: proof.index, size: proof.size });
    }
    let (mut fn_, mut sn) = (proof.index, proof.size - 1);
    let mut r = TreeHash(leaf.0);
    for p in &proof.path {
        if sn == 0 {
            return Err(ProofError::WrongPathLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongPathLength);
    }
    if r.0 != root.0 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Computes the (older, newer) roots a consistency proof commits to
/// (RFC 9162 §2.1.4.2). `seeded_path` is the proof path, preceded by the
/// older tree's root when `old_size` is a power of two — RFC 9162 leaves
/// that hash out of the proof because the older root is itself a subtree
/// of the newer tree.
///
/// # Errors
/// [`ProofError::SizesOutOfOrder`] or [`ProofError::WrongPathLength`].
pub fn consistency_roots(
    old_size: u64,
    new_size: u64,
    seeded_path: &[TreeHash],
) -> Result<(RootHash, RootHash), ProofError> {
    if old_size == 0 || old_size >= new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    let (first, rest) = seeded_path.split_first().ok_or(ProofError::WrongPathLength)?;
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongPathLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongPathLength);
    }
    Ok((RootHash(fr.0), RootHash(sr.0)))
}

/// Verifies that tree `old` is a prefix of tree `new` (RFC 9162 §2.1.4.2,
/// after checking the proof is for their sizes).
///
/// # Errors
/// Which check failed.
pub fn verify_consistency(proof: &ConsistencyProof, old: &TreeHead, new: &TreeHead) -> Result<(), ProofError> {
    if proof.old_size != old.size {
        return Err(ProofError::SizeMismatch { proof: proof.old_size, head: old.size });
    }
    if proof.new_size != new.size {
        return Err(ProofError::SizeMismatch { proof: proof.new_size, head: new.size });
    }
    let (old_root, new_root) = (&old.root, &new.root);
    let (old_size, new_size) = (proof.old_size, proof.new_size);
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.path.is_empty() {
            return Err(ProofError::WrongPathLength);
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut seeded = Vec::with_capacity(proof.path.len() + 1);
    if old_size.is_power_of_two() {
        seeded.push(TreeHash(old_root.0));
    }
    seeded.extend_from_slice(&proof.path);
    let (old, new) = consistency_roots(old_size, new_size, &seeded)?;
    if old != *old_root || new != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
