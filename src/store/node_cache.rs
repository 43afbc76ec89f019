//! The upper levels of the ledger's Merkle tree, kept in memory so that a proof reads only its
//! lowest levels from the store (at 10M entries a proof needs ~46 node lookups; with levels
//! [`MIN_LEVEL`] and up cached, about 2·[`MIN_LEVEL`] of them reach the page cache).
//!
//! Invariant: a stored node `(level, index)` never changes once a committed snapshot shows it.
//! The tree is append-only and a node is stored only when its perfect subtree is complete
//! (RFC 9162 §2.1.1), so whatever a committed view returned for a key is the answer for every
//! later view too. Only committed views fill the cache ([`super::Store::proof_nodes`]): nodes
//! written by a batch that may still abort never enter it.

use crate::ledger::LedgerError;
use crate::ledger::merkle::{Hash, NodeReader};
use std::collections::HashMap;
use std::sync::RwLock;

/// Lowest cached level: a node covering 256 leaves. At 10M entries, levels 8 and up hold
/// ~78,000 nodes (a 4 MiB hash table).
pub const MIN_LEVEL: u8 = 8;
/// Most nodes held (a table of at most ~26 MB: 2^19 buckets of 49 bytes), reached at about 33M
/// entries; past it, further nodes are read from the store each time.
pub const MAX_NODES: usize = 1 << 18;

/// Read-through cache of tree nodes at levels `>= MIN_LEVEL`, shared by every read view.
#[derive(Debug, Default)]
pub struct NodeCache {
    nodes: RwLock<HashMap<(u8, u64), Hash>>,
}

impl NodeCache {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        self.nodes
            .read()
            .ok()
            .and_then(|m| m.get(&(level, index)).copied())
    }

    fn admit(&self, level: u8, index: u64, hash: Hash) {
        if let Ok(mut m) = self.nodes.write()
            && m.len() < MAX_NODES
        {
            m.insert((level, index), hash);
        }
    }

    /// Fills the cache from a committed view at start: the highest levels first, up to the
    /// cap, so the first proofs already read only their lowest levels from the store.
    pub fn fill(
        &self,
        view: &dyn super::ledger_reads::LedgerReads,
    ) -> Result<(), super::StoreError> {
        let nodes = view.upper_nodes(MIN_LEVEL, MAX_NODES)?;
        if let Ok(mut m) = self.nodes.write() {
            m.extend(
                nodes
                    .into_iter()
                    .map(|(level, index, hash)| ((level, index), hash)),
            );
        }
        Ok(())
    }

    /// How many nodes are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.nodes.read().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A committed view's nodes, read through the shared cache.
pub struct CachedNodes<'a> {
    pub(super) view: Box<dyn NodeReader + 'a>,
    pub(super) cache: &'a NodeCache,
}

impl NodeReader for CachedNodes<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        if level < MIN_LEVEL {
            return self.view.node(level, index);
        }
        if let Some(hash) = self.cache.get(level, index) {
            return Ok(hash);
        }
        let hash = self.view.node(level, index)?;
        self.cache.admit(level, index, hash);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::merkle::{self, Frontier};
    use std::cell::Cell;

    /// Every node of a tree built leaf by leaf, counting lookups.
    struct Counted {
        nodes: HashMap<(u8, u64), Hash>,
        lookups: Cell<usize>,
    }

    impl NodeReader for &Counted {
        fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
            self.lookups.set(self.lookups.get() + 1);
            self.nodes
                .get(&(level, index))
                .copied()
                .ok_or_else(|| LedgerError::Store(format!("missing ({level}, {index})")))
        }
    }

    fn tree(size: u64) -> Counted {
        let mut frontier = Frontier::default();
        let mut nodes = HashMap::new();
        for i in 0..size {
            for (level, index, hash) in frontier.push(merkle::leaf_hash(&i.to_le_bytes())) {
                nodes.insert((level, index), hash);
            }
        }
        Counted {
            nodes,
            lookups: Cell::new(0),
        }
    }

    #[test]
    fn proofs_through_the_cache_equal_proofs_from_the_store_and_read_less_of_it() {
        let size = 5_000;
        let store = tree(size);
        let s = &store;
        let cache = NodeCache::default();
        let through = CachedNodes {
            view: Box::new(s),
            cache: &cache,
        };
        for index in [0, 1, 255, 256, 2_047, 4_095, 4_096, 4_999] {
            assert_eq!(
                merkle::inclusion_proof(&through, index, size).unwrap(),
                merkle::inclusion_proof(&s, index, size).unwrap()
            );
        }
        assert_eq!(
            merkle::consistency_proof(&through, 1_000, size).unwrap(),
            merkle::consistency_proof(&s, 1_000, size).unwrap()
        );
        assert_eq!(
            merkle::root(&through, size).unwrap(),
            merkle::root(&s, size).unwrap()
        );
        assert!(!cache.is_empty());
        // Once the upper levels are held, a proof reads only the levels below MIN_LEVEL.
        let lookups = |reader: &dyn NodeReader| {
            let before = store.lookups.get();
            merkle::inclusion_proof(reader, 3_333, size).unwrap();
            store.lookups.get() - before
        };
        let (uncached, warm) = (lookups(&s), lookups(&through));
        assert!(
            warm < uncached,
            "{warm} lookups through the cache, {uncached} without"
        );
        assert!(warm <= 2 * usize::from(MIN_LEVEL), "{warm}");
    }
}
