//! Spreading signature work over the machine's cores, when it pays.

use rayon::prelude::*;

/// Fewest items handed to the thread pool. A few Ed25519 operations finish
/// on the calling thread sooner than the pool wakes up for them, and the
/// usual batch — one period's declarations of a signatory — is small.
pub const PARALLEL_MIN: usize = 16;

/// `items` mapped with `f`, in order: on every core if there are at least
/// [`PARALLEL_MIN`] of them, on the calling thread otherwise.
pub fn map_in_order<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if items.len() < PARALLEL_MIN { items.into_iter().map(f).collect() } else { items.into_par_iter().map(f).collect() }
}
