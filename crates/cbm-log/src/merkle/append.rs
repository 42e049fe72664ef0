//! Appending leaves: which stored subtree hashes a batch of new leaves creates.

use cbm_wire::TreeHash;

use super::range::{NodeIndex, decompose, fold};
use super::{HashReader, node_hash};

/// The right edge of a tree: the complete subtrees that make it up, largest
/// first. It is all an append needs to know about the existing tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeIndex, TreeHash)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Self { size: 0, nodes: Vec::new() }
    }

    /// Reads the frontier of the tree of `size` leaves: O(log size) hashes.
    ///
    /// # Errors
    /// If the reader fails.
    pub fn read<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Self, R::Error> {
        let mut indexes = Vec::new();
        decompose(0, size, &mut indexes);
        let hashes = reader.read_hashes(&indexes)?;
        Ok(Self { size, nodes: indexes.into_iter().zip(hashes).collect() })
    }

    /// The frontier of an in-memory tree.
    ///
    /// # Errors
    /// If the tree lacks a hash (never, for a tree built by `push_leaves`).
    pub fn of(tree: &super::MemoryTree) -> Result<Self, super::MissingHash> {
        Self::read(tree, tree.size())
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree: the fold of the frontier.
    pub fn root(&self) -> TreeHash {
        let hashes: Vec<TreeHash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold(&hashes).unwrap_or_else(super::empty_root)
    }

    /// Appends one leaf, returning the stored nodes it creates (the leaf
    /// first, then each subtree it completes, bottom up).
    pub fn push(&mut self, leaf: TreeHash, created: &mut Vec<(NodeIndex, TreeHash)>) {
        let mut node = (NodeIndex { level: 0, index: self.size }, leaf);
        created.push(node);
        while let Some(&(left_index, left)) = self.nodes.last() {
            if left_index.level != node.0.level {
                break;
            }
            self.nodes.pop();
            let parent = NodeIndex { level: left_index.level + 1, index: left_index.index >> 1 };
            node = (parent, node_hash(&left, &node.1));
            created.push(node);
        }
        self.nodes.push(node);
        self.size += 1;
    }
}

/// Appends `leaves` to the tree whose right edge is `frontier`, returning
/// every stored node the batch creates, in creation order.
pub fn append(frontier: &Frontier, leaves: &[TreeHash]) -> Vec<(NodeIndex, TreeHash)> {
    let mut frontier = frontier.clone();
    let mut created = Vec::with_capacity(leaves.len() * 2);
    for leaf in leaves {
        frontier.push(*leaf, &mut created);
    }
    created
}
