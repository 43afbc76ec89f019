//! RFC 9162 §2.1 Merkle tree math: hashes, the append frontier, and inclusion and consistency
//! proofs built from stored perfect subtrees.
//!
//! Pure: no I/O. Node storage is abstracted by [`NodeReader`]; every proof or root costs
//! O(log n) reads, because every Merkle Tree Hash (MTH) of a range is assembled from the stored
//! perfect subtrees that make up that range, never from its leaves.

use sha2::{Digest, Sha256};

use super::error::LedgerError;

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain separator of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separator of interior node hashes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Reads a hash from bytes; anything but exactly 32 bytes is rejected.
pub fn parse_hash(bytes: &[u8]) -> Result<Hash, LedgerError> {
    Hash::try_from(bytes).map_err(|_| LedgerError::BadHashLength { len: bytes.len() })
}

/// The hash of a one-leaf tree: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The hash of the empty tree: `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Stored perfect-subtree hashes: `node(level, index)` covers leaves
/// `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes.
///
/// Implementations return [`LedgerError::Store`] when a node is missing or the store fails.
pub trait NodeReader {
    /// The hash of the perfect subtree of height `level` at position `index` in that level.
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError>;
}

impl<R: NodeReader + ?Sized> NodeReader for Box<R> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        (**self).node(level, index)
    }
}

/// The right edge of the tree: the perfect subtrees of the binary decomposition of `size`,
/// largest first.
///
/// Invariant: `nodes.len() == size.count_ones()`, and `nodes[i]` is the hash of the perfect
/// subtree for the i-th set bit of `size`, counting from the most significant one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// MTH of the whole tree (RFC 9162 §2.1.1); [`empty_root`] when the tree is empty.
    pub fn root(&self) -> Hash {
        fold_subtrees(&self.nodes)
    }

    /// Appends one leaf hash and returns every node that became complete, as
    /// `(level, index, hash)`, starting with `(0, i, leaf)` for the new leaf `i` and going up.
    ///
    /// A tree holds at most `u64::MAX` leaves; at that size nothing is appended and the returned
    /// list is empty (every successful push returns at least the leaf).
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let Some(new_size) = self.size.checked_add(1) else {
            return Vec::new();
        };
        // Each trailing one bit of the old size is a subtree that the new leaf completes.
        let merges = self.size.trailing_ones();
        let mut created = Vec::with_capacity(merges as usize + 1);
        let (mut level, mut index, mut hash) = (0u8, self.size, leaf);
        created.push((level, index, hash));
        for _ in 0..merges {
            let Some(left) = self.nodes.pop() else {
                break; // Unreachable while the invariant holds.
            };
            hash = node_hash(&left, &hash);
            level = level.saturating_add(1);
            index >>= 1;
            created.push((level, index, hash));
        }
        self.nodes.push(hash);
        self.size = new_size;
        created
    }

    /// The roots of the perfect subtrees that make up the tree, largest (leftmost) first: one
    /// per set bit of [`Frontier::size`]. With the size, all a database needs to keep.
    pub fn subtrees(&self) -> &[Hash] {
        &self.nodes
    }

    /// The frontier of a tree of `size` leaves from its [`Frontier::subtrees`]; refuses a list
    /// that is not one root per set bit of `size`.
    pub fn from_subtrees(size: u64, nodes: Vec<Hash>) -> Result<Frontier, LedgerError> {
        if nodes.len() != size.count_ones() as usize {
            return Err(LedgerError::Store(format!(
                "a frontier of size {size} has {} subtrees, not {}",
                size.count_ones(),
                nodes.len()
            )));
        }
        Ok(Frontier { size, nodes })
    }

    /// Rebuilds the frontier for `size` from stored nodes with `size.count_ones()` reads.
    pub fn load<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<Frontier, LedgerError> {
        let nodes = read_subtrees(reader, 0, size)?;
        Ok(Frontier { size, nodes })
    }
}

/// MTH of the first `size` leaves (RFC 9162 §2.1.1), in `size.count_ones()` reads.
pub fn root<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, LedgerError> {
    subtree_root(reader, 0, size)
}

/// MTH(D[start:end]) (RFC 9162 §2.1.1) from stored perfect nodes, in at most 64 reads.
///
/// The range must be one the RFC's recursion can reach: `start` a multiple of the largest power
/// of two not above `end - start` (always true for `start == 0`); otherwise its hash is not made
/// of stored nodes and [`LedgerError::UnalignedRange`] is returned. An empty range hashes to
/// [`empty_root`].
pub fn subtree_root<R: NodeReader + ?Sized>(
    reader: &R,
    start: u64,
    end: u64,
) -> Result<Hash, LedgerError> {
    Ok(fold_subtrees(&read_subtrees(reader, start, end)?))
}

/// RFC 9162 §2.1.3.1 PATH(index, D[0:size]): the inclusion proof of leaf `index`, bottom-up.
///
/// Walks from the root towards the leaf; each sibling on the way is a range that is either one
/// stored node or (at most once) the right edge of the tree, so the cost is O(log size) reads.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    // Invariant: lo <= index < hi, and lo is a multiple of split(hi - lo).
    let (mut lo, mut hi) = (0u64, size);
    let mut path = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            path.push(subtree_root(reader, mid, hi)?);
            hi = mid;
        } else {
            path.push(subtree_root(reader, lo, mid)?);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 9162 §2.1.4.1 PROOF(from, D[0:to]) via SUBPROOF: the consistency proof between the tree
/// of `from` leaves and the tree of `to` leaves, in O(log to) reads.
///
/// `from == to` gives the empty proof. `from == 0` is rejected ([`LedgerError::EmptyTreeConsistency`]):
/// the RFC defines proofs only for `0 < from`, and the verifier refuses them too.
pub fn consistency_proof<R: NodeReader + ?Sized>(
    reader: &R,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, LedgerError> {
    check_sizes(from, to)?;
    if from == to {
        return Ok(Vec::new());
    }
    // SUBPROOF(from - lo, D[lo:hi], whole), unrolled. Invariant: lo < from <= hi, and lo is a
    // multiple of split(hi - lo) whenever hi - lo > 1. Each step shrinks hi - lo.
    let (mut lo, mut hi, mut whole) = (0u64, to, true);
    let mut proof = Vec::new();
    while lo < from && from < hi {
        let mid = lo + split(hi - lo);
        if from <= mid {
            proof.push(subtree_root(reader, mid, hi)?);
            hi = mid;
        } else {
            proof.push(subtree_root(reader, lo, mid)?);
            lo = mid;
            whole = false;
        }
    }
    // Here from == hi: D[lo:hi] is a perfect subtree of the old tree. Its hash is left out only
    // when it is the whole old tree, which the verifier already holds as root1.
    if !whole {
        proof.push(subtree_root(reader, lo, hi)?);
    }
    proof.reverse();
    Ok(proof)
}

/// RFC 9162 §2.1.3.2: checks that `proof` shows `leaf` at `index` in the tree of `size` leaves
/// whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    // fnode / snode: positions of the running node and of the last node, level by level.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut running = *leaf;
    for sibling in proof {
        if snode == 0 {
            return Err(LedgerError::ProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            running = node_hash(sibling, &running);
            // A right-edge node with no right sibling is promoted unchanged.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            running = node_hash(&running, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(LedgerError::ProofLength);
    }
    if running != *root {
        return Err(LedgerError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: checks that the tree of `to` leaves with root `root2` extends the tree of
/// `from` leaves with root `root1`.
///
/// `from == to` needs an empty proof and equal roots; `from == 0` and `from > to` are errors.
pub fn verify_consistency(
    from: u64,
    to: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    check_sizes(from, to)?;
    if from == to {
        if !proof.is_empty() {
            return Err(LedgerError::ProofLength);
        }
        if root1 != root2 {
            return Err(LedgerError::RootMismatch);
        }
        return Ok(());
    }
    // When `from` is a power of two the old root is itself a node of the new tree and the proof
    // omits it: the verifier starts from root1 instead.
    let (first, rest) = if from.is_power_of_two() {
        (root1, proof)
    } else {
        proof.split_first().ok_or(LedgerError::ProofLength)?
    };
    let (mut fnode, mut snode) = (from - 1, to - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut old, mut new) = (*first, *first);
    for node in rest {
        if snode == 0 {
            return Err(LedgerError::ProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            old = node_hash(node, &old);
            new = node_hash(node, &new);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            new = node_hash(&new, node);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(LedgerError::ProofLength);
    }
    if old != *root1 || new != *root2 {
        return Err(LedgerError::RootMismatch);
    }
    Ok(())
}

/// Rejects `from > to` and `from == 0` (RFC 9162 §2.1.4.1 requires `0 < from`).
fn check_sizes(from: u64, to: u64) -> Result<(), LedgerError> {
    if from > to {
        return Err(LedgerError::BadSizes { from, to });
    }
    if from == 0 {
        return Err(LedgerError::EmptyTreeConsistency);
    }
    Ok(())
}

/// The largest power of two strictly below `n` (RFC 9162 §2.1.1's `k`). Requires `n >= 2`;
/// returns 1 for smaller `n`.
fn split(n: u64) -> u64 {
    let below = n.saturating_sub(1).max(1);
    1u64 << (63 - below.leading_zeros())
}

/// Reads the perfect subtrees that make up `[start, end)`, largest first: one per set bit of
/// `end - start`. Fails if the range is inverted or not aligned (see [`subtree_root`]).
fn read_subtrees<R: NodeReader + ?Sized>(
    reader: &R,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>, LedgerError> {
    let len = end
        .checked_sub(start)
        .ok_or(LedgerError::BadRange { start, end })?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let top = 1u64 << (63 - len.leading_zeros());
    if !start.is_multiple_of(top) {
        return Err(LedgerError::UnalignedRange { start, end });
    }
    let mut nodes = Vec::with_capacity(len.count_ones() as usize);
    let mut pos = start;
    for level in (0u8..64).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            // pos + width <= end, so this cannot overflow.
            nodes.push(reader.node(level, pos >> level)?);
            pos += width;
        }
    }
    Ok(nodes)
}

/// Folds perfect subtrees (largest first) into the MTH of their concatenation: the right edge
/// of the tree is combined from the smallest subtree up (RFC 9162 §2.1.1).
fn fold_subtrees(nodes: &[Hash]) -> Hash {
    let mut rev = nodes.iter().rev();
    match rev.next() {
        None => empty_root(),
        Some(last) => rev.fold(*last, |right, left| node_hash(left, &right)),
    }
}
