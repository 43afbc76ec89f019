//! Property tests of the RFC 9162 Merkle module against the independent `ct-merkle` crate:
//! roots, inclusion proofs and consistency proofs must be byte-identical, verify, and stop
//! verifying when tampered with. Also checks `Frontier::load` and the O(log n) read bound.

use std::cell::Cell;
use std::collections::HashMap;

use assent::ledger::error::LedgerError;
use assent::ledger::merkle::{
    Frontier, Hash, NodeReader, consistency_proof, inclusion_proof, leaf_hash, node_hash, root,
    subtree_root, verify_consistency, verify_inclusion,
};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::{Digest, Sha256};

type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

/// In-memory node store filled from `Frontier::push`, counting reads.
#[derive(Default)]
struct MemStore {
    nodes: HashMap<(u8, u64), Hash>,
    reads: Cell<u64>,
}

impl NodeReader for MemStore {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.reads.set(self.reads.get() + 1);
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or_else(|| LedgerError::Store(format!("no node ({level}, {index})")))
    }
}

impl MemStore {
    /// Reads made by `f` alone.
    fn reads_of<T>(&self, f: impl FnOnce(&Self) -> T) -> (T, u64) {
        let before = self.reads.get();
        let out = f(self);
        (out, self.reads.get() - before)
    }
}

/// A tree built both ways; `frontiers[n]` is our frontier after `n` pushes.
struct Both {
    store: MemStore,
    frontiers: Vec<Frontier>,
    ct: CtTree,
}

fn build(leaves: &[Vec<u8>]) -> Both {
    let mut store = MemStore::default();
    let mut frontier = Frontier::default();
    let mut frontiers = vec![frontier.clone()];
    let mut ct = CtTree::new();
    for (i, data) in leaves.iter().enumerate() {
        let created = frontier.push(leaf_hash(data));
        assert_eq!(created.first(), Some(&(0, i as u64, leaf_hash(data))));
        for (level, index, hash) in created {
            assert!(store.nodes.insert((level, index), hash).is_none());
        }
        ct.push(data.clone());
        frontiers.push(frontier.clone());
    }
    Both {
        store,
        frontiers,
        ct,
    }
}

fn flat(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

/// 1..=3000 leaves of random bytes; small trees (every edge shape) get half of the cases.
fn leaves() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![1usize..=17, 18usize..=3000]
        .prop_flat_map(|n| prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), n))
}

/// Flips one bit of one proof hash, chosen by `at`.
fn flip(proof: &[Hash], at: Index) -> Vec<Hash> {
    let mut bad = proof.to_vec();
    let bit = at.index(bad.len() * 256);
    bad[bit / 256][(bit % 256) / 8] ^= 1 << (bit % 8);
    bad
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn roots_and_frontiers_match_ct_merkle(leaves in leaves(), at in any::<Index>()) {
        let both = build(&leaves);
        let size = leaves.len() as u64;
        let ct_root = both.ct.root();
        let last = both.frontiers.last().expect("frontier");
        prop_assert_eq!(last.size(), size);
        prop_assert_eq!(&last.root()[..], &ct_root.as_bytes()[..]);
        prop_assert_eq!(root(&both.store, size), Ok(last.root()));
        prop_assert_eq!(Frontier::default().root(), Hash::from(Sha256::digest([])));
        // Every prefix: the stored nodes give the same root and frontier as the pushes did.
        for (n, frontier) in both.frontiers.iter().enumerate() {
            let n = n as u64;
            prop_assert_eq!(root(&both.store, n), Ok(frontier.root()));
            let (loaded, reads) = both.store.reads_of(|s| Frontier::load(s, n));
            prop_assert_eq!(loaded.as_ref(), Ok(frontier));
            prop_assert_eq!(reads, u64::from(n.count_ones()));
        }
        // A prefix root from ct-merkle (rebuilt for one random prefix size).
        let m = at.index(leaves.len()) + 1;
        let mut prefix = CtTree::new();
        leaves.iter().take(m).for_each(|l| prefix.push(l.clone()));
        let prefix_root = prefix.root();
        prop_assert_eq!(&root(&both.store, m as u64).expect("root")[..], &prefix_root.as_bytes()[..]);
    }

    #[test]
    fn inclusion_matches_ct_merkle(leaves in leaves(), at in any::<Index>(), other in any::<Index>(), bit in any::<Index>()) {
        let both = build(&leaves);
        let size = leaves.len() as u64;
        let index = at.index(leaves.len()) as u64;
        let top = both.frontiers.last().expect("frontier").root();
        let leaf = leaf_hash(&leaves[index as usize]);
        let (proof, reads) = both.store.reads_of(|s| inclusion_proof(s, index, size));
        let proof = proof.expect("proof");
        prop_assert!(reads <= 2 * 64);
        let ct_proof = both.ct.prove_inclusion(index as usize);
        prop_assert_eq!(flat(&proof), ct_proof.as_bytes());
        prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &top), Ok(()));
        prop_assert_eq!(
            inclusion_proof(&both.store, size, size),
            Err(LedgerError::IndexOutOfRange { index: size, size })
        );
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(index, size, &leaf, &flip(&proof, bit), &top).is_err());
            let mut longer = proof.clone();
            longer.push(top);
            prop_assert_eq!(verify_inclusion(index, size, &leaf, &longer, &top), Err(LedgerError::ProofLength));
            prop_assert!(verify_inclusion(index, size, &leaf, &proof[1..], &top).is_err());
        }
        // Wrong index: the same leaf and proof do not verify anywhere else, unless the tree
        // holds that very leaf there with that very path (equal leaves, e.g. `[x, x]`).
        let wrong = other.index(leaves.len()) as u64;
        if wrong != index && verify_inclusion(wrong, size, &leaf, &proof, &top).is_ok() {
            prop_assert_eq!(&leaves[wrong as usize], &leaves[index as usize]);
            prop_assert_eq!(inclusion_proof(&both.store, wrong, size).expect("proof"), proof.clone());
        }
        prop_assert!(verify_inclusion(size, size, &leaf, &proof, &top).is_err());
        // Wrong size: the proof does not verify against another tree head (size, root). (An
        // inclusion proof alone does not bind the size: signed checkpoints bind size and root.)
        for wrong_size in [size - 1, size.saturating_sub(2), size / 2] {
            if wrong_size > index && wrong_size != size {
                let wrong_root = both.frontiers[wrong_size as usize].root();
                prop_assert!(verify_inclusion(index, wrong_size, &leaf, &proof, &wrong_root).is_err());
            }
        }
    }

    #[test]
    fn consistency_matches_ct_merkle(leaves in leaves(), at in any::<Index>(), bit in any::<Index>()) {
        let both = build(&leaves);
        let to = leaves.len() as u64;
        let from = at.index(leaves.len()) as u64 + 1;
        let root_of = |n: u64| both.frontiers[n as usize].root();
        let (proof, reads) = both.store.reads_of(|s| consistency_proof(s, from, to));
        let proof = proof.expect("proof");
        prop_assert!(reads <= 2 * 64);
        let ct_proof = both.ct.prove_consistency((to - from) as usize);
        prop_assert_eq!(flat(&proof), ct_proof.as_bytes());
        prop_assert_eq!(verify_consistency(from, to, &root_of(from), &root_of(to), &proof), Ok(()));
        if from == to {
            prop_assert!(proof.is_empty());
        } else {
            prop_assert!(!proof.is_empty());
            let bad = flip(&proof, bit);
            prop_assert!(verify_consistency(from, to, &root_of(from), &root_of(to), &bad).is_err());
            prop_assert!(verify_consistency(from, to, &root_of(to), &root_of(from), &proof).is_err());
            prop_assert!(verify_consistency(from, to, &root_of(from), &root_of(to), &proof[1..]).is_err());
            let mut longer = proof.clone();
            longer.push(root_of(to));
            prop_assert!(verify_consistency(from, to, &root_of(from), &root_of(to), &longer).is_err());
        }
        // Wrong sizes, each with that size's real root: the proof is for (from, to) only.
        for (f, t) in [(from - 1, to), (from + 1, to), (from, to - 1), (from - 1, to - 1)] {
            // Equal sizes are excluded: the empty proof of (n, n) rightly proves any (m, m).
            if (f, t) != (from, to) && f >= 1 && f < t {
                prop_assert!(verify_consistency(f, t, &root_of(f), &root_of(t), &proof).is_err(),
                    "({}, {}) accepted a proof for ({}, {})", f, t, from, to);
            }
        }
        prop_assert_eq!(consistency_proof(&both.store, 0, to), Err(LedgerError::EmptyTreeConsistency));
        prop_assert!(consistency_proof(&both.store, to, from - 1).is_err());
        prop_assert_eq!(verify_consistency(0, to, &Hash::from(Sha256::digest([])), &root_of(to), &[]),
            Err(LedgerError::EmptyTreeConsistency));
    }
}

/// A reader that stores nothing: node(level, index) = SHA-256(level || index). Its nodes are not
/// a consistent tree, so it only serves to count reads.
struct Synthetic {
    reads: Cell<u64>,
}

impl NodeReader for Synthetic {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.reads.set(self.reads.get() + 1);
        let mut h = Sha256::new();
        h.update([level]);
        h.update(index.to_be_bytes());
        Ok(h.finalize().into())
    }
}

#[test]
fn proofs_at_a_million_leaves_take_logarithmic_reads() {
    let reader = Synthetic {
        reads: Cell::new(0),
    };
    let counted = |f: &dyn Fn(&Synthetic) -> usize| {
        reader.reads.set(0);
        let len = f(&reader);
        (len, reader.reads.get())
    };
    for size in [1_000_000u64, 1_048_575, 1_048_576, 1_048_577, u64::MAX / 3] {
        for index in [0, 1, size / 3, size / 2, size - 2, size - 1] {
            let (len, reads) = counted(&|r| inclusion_proof(r, index, size).expect("proof").len());
            assert!(reads <= 2 * 64, "inclusion {index}/{size}: {reads} reads");
            assert!(len <= 64);
            let from = index + 1;
            let (_, reads) = counted(&|r| consistency_proof(r, from, size).expect("proof").len());
            assert!(reads <= 2 * 64, "consistency {from}/{size}: {reads} reads");
        }
        let (_, reads) = counted(&|r| {
            let _ = root(r, size).expect("root");
            0
        });
        assert_eq!(reads, u64::from(size.count_ones()));
    }
}

/// Every index and every old size of every tree up to 70 leaves, against ct-merkle.
#[test]
fn all_small_trees_match_ct_merkle() {
    let leaves: Vec<Vec<u8>> = (0u32..70)
        .map(|i| i.to_le_bytes().repeat(i as usize % 5))
        .collect();
    for n in 1..=leaves.len() {
        let both = build(&leaves[..n]);
        let size = n as u64;
        let top = both.frontiers[n].root();
        for index in 0..size {
            let proof = inclusion_proof(&both.store, index, size).expect("proof");
            let ct_proof = both.ct.prove_inclusion(index as usize);
            assert_eq!(
                flat(&proof),
                ct_proof.as_bytes(),
                "inclusion {index}/{size}"
            );
            let leaf = leaf_hash(&leaves[index as usize]);
            assert_eq!(verify_inclusion(index, size, &leaf, &proof, &top), Ok(()));
        }
        for from in 1..=size {
            let proof = consistency_proof(&both.store, from, size).expect("proof");
            let ct_proof = both.ct.prove_consistency((size - from) as usize);
            assert_eq!(
                flat(&proof),
                ct_proof.as_bytes(),
                "consistency {from}/{size}"
            );
            let old = both.frontiers[from as usize].root();
            assert_eq!(verify_consistency(from, size, &old, &top, &proof), Ok(()));
        }
    }
}

#[test]
fn edge_cases() {
    let empty = MemStore::default();
    assert_eq!(root(&empty, 0), Ok(Hash::from(Sha256::digest([]))));
    assert_eq!(
        inclusion_proof(&empty, 0, 0),
        Err(LedgerError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        consistency_proof(&empty, 2, 1),
        Err(LedgerError::BadSizes { from: 2, to: 1 })
    );
    assert_eq!(
        subtree_root(&empty, 3, 2),
        Err(LedgerError::BadRange { start: 3, end: 2 })
    );
    assert_eq!(
        subtree_root(&empty, 1, 3),
        Err(LedgerError::UnalignedRange { start: 1, end: 3 })
    );
    assert!(matches!(root(&empty, 1), Err(LedgerError::Store(_))));
    let both = build(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
    assert_eq!(subtree_root(&both.store, 2, 3), Ok(c));
    assert_eq!(subtree_root(&both.store, 0, 2), Ok(node_hash(&a, &b)));
    assert_eq!(root(&both.store, 3), Ok(node_hash(&node_hash(&a, &b), &c)));
    assert_eq!(consistency_proof(&both.store, 3, 3), Ok(vec![]));
    let r3 = root(&both.store, 3).expect("root");
    assert_eq!(
        verify_consistency(3, 3, &r3, &r3, &[r3]),
        Err(LedgerError::ProofLength)
    );
    assert_eq!(
        verify_consistency(3, 3, &r3, &a, &[]),
        Err(LedgerError::RootMismatch)
    );
    assert_eq!(verify_consistency(3, 3, &r3, &r3, &[]), Ok(()));
    assert_eq!(verify_inclusion(0, 1, &a, &[], &a), Ok(()));
    assert_eq!(
        verify_inclusion(0, 1, &a, &[b], &a),
        Err(LedgerError::ProofLength)
    );
    assert_eq!(verify_inclusion(1, 3, &b, &[a, c], &r3), Ok(()));
    assert_eq!(
        verify_inclusion(1, 3, &b, &[a], &r3),
        Err(LedgerError::ProofLength)
    );
}
