//! The simulated network: what becomes of a message sent from one node to
//! another — delivered after a latency drawn for it (so messages overtake
//! each other), lost, delivered twice, or cut off by a partition.

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use crate::world::Faults;

/// The network's state: which nodes are cut off, and whether faults are on.
#[derive(Debug)]
pub(crate) struct Network {
    faults: Faults,
    /// Nodes cut off from every other: nothing reaches them or leaves them.
    cut: BTreeSet<usize>,
    /// Whether the faults apply (they stop when the network heals).
    faulty: bool,
}

/// What becomes of one message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Delivered after each of these delays (ms): once, or twice.
    Delivered(Vec<u64>),
    /// Never delivered.
    Lost,
}

impl Network {
    pub(crate) fn new(faults: Faults) -> Self {
        Self { faults, cut: BTreeSet::new(), faulty: true }
    }

    /// The fate of a message from node `from` to node `to`.
    pub(crate) fn send(&self, from: usize, to: usize, rng: &mut ChaCha8Rng) -> Fate {
        if self.cut.contains(&from) || self.cut.contains(&to) {
            return Fate::Lost;
        }
        let (low, high) = self.faults.latency_ms;
        let delay = |rng: &mut ChaCha8Rng| low + rng.next_u64() % (high - low + 1);
        if !self.faulty {
            return Fate::Delivered(vec![delay(rng)]);
        }
        if chance(rng, self.faults.loss) {
            return Fate::Lost;
        }
        let first = delay(rng);
        if chance(rng, self.faults.duplication) {
            let second = delay(rng);
            return Fate::Delivered(vec![first, second]);
        }
        Fate::Delivered(vec![first])
    }

    /// Whether `node` is cut off now.
    pub(crate) fn is_cut(&self, node: usize) -> bool {
        self.cut.contains(&node)
    }

    /// Cuts `node` off, or lets it back.
    pub(crate) fn set_cut(&mut self, node: usize, cut: bool) {
        if cut {
            self.cut.insert(node);
        } else {
            self.cut.remove(&node);
        }
    }

    /// Ends every partition and fault: from now on every message arrives,
    /// once, within the latency bounds.
    pub(crate) fn heal(&mut self) {
        self.cut.clear();
        self.faulty = false;
    }
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    p > 0.0 && (rng.next_u64() as f64 / u64::MAX as f64) < p
}
