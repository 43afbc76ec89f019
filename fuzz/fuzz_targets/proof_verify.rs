//! RFC 9162 inclusion and consistency proof verification on hostile sizes and hashes.
//!
//! Input: `index | size | from | to` (u64 LE), `leaf | root1 | root2`, then proof hashes (see
//! `assent_fuzz::proof_input`). Three checks per input:
//!
//! 1. Raw: `verify_inclusion` / `verify_consistency` on the fuzzed values must return (an error,
//!    almost always) without panicking, overflowing or looping.
//! 2. Small real tree: 1..=64 distinct leaves appended with `Frontier::push`; proofs built by
//!    `inclusion_proof` / `consistency_proof` from the stored nodes must verify, and must fail
//!    for another leaf or a truncated proof.
//! 3. Huge virtual tree: every leaf equal, so a node of level k is the same hash for every index
//!    and trees of up to `u64::MAX` leaves can be stored in 64 hashes. Proofs for the fuzzed
//!    (index, size) and (from, to) must verify against `root` — prover and verifier are driven to
//!    the edges of `u64`.
#![no_main]

use std::collections::HashMap;

use assent::ledger::error::LedgerError;
use assent::ledger::merkle::{
    Frontier, Hash, NodeReader, consistency_proof, inclusion_proof, node_hash, root,
    verify_consistency, verify_inclusion,
};
use assent_fuzz::Input;
use libfuzzer_sys::fuzz_target;

struct MapReader(HashMap<(u8, u64), Hash>);

impl NodeReader for MapReader {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or_else(|| LedgerError::Store(format!("no node ({level}, {index})")))
    }
}

/// All leaves equal: level k holds `levels[k]` at every index.
struct UniformReader([Hash; 64]);

impl NodeReader for UniformReader {
    fn node(&self, level: u8, _index: u64) -> Result<Hash, LedgerError> {
        self.0
            .get(usize::from(level))
            .copied()
            .ok_or_else(|| LedgerError::Store(format!("no level {level}")))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (index, size, from, to) = (input.u64(), input.u64(), input.u64(), input.u64());
    let leaf: Hash = input.array();
    let root1: Hash = input.array();
    let root2: Hash = input.array();
    let proof: Vec<Hash> = input
        .rest()
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunk"))
        .collect();

    // 1. Raw.
    let _ = verify_inclusion(index, size, &leaf, &proof, &root1);
    let _ = verify_consistency(from, to, &root1, &root2, &proof);

    // 2. Small real tree with distinct leaves.
    let n = size % 64 + 1;
    let mut frontier = Frontier::default();
    let mut nodes = HashMap::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let mut l = leaf;
        let tag = u64::from_le_bytes(leaf[..8].try_into().expect("8 bytes")) ^ i;
        l[..8].copy_from_slice(&tag.to_le_bytes());
        leaves.push(l);
        for (level, idx, h) in frontier.push(l) {
            nodes.insert((level, idx), h);
        }
    }
    let reader = MapReader(nodes);
    let full = frontier.root();
    assert_eq!(root(&reader, n).expect("root"), full);
    let i = index % n;
    let path = inclusion_proof(&reader, i, n).expect("inclusion proof");
    verify_inclusion(i, n, &leaves[i as usize], &path, &full).expect("valid inclusion proof");
    let other = leaves[((i + 1) % n) as usize];
    if n > 1 {
        assert!(
            verify_inclusion(i, n, &other, &path, &full).is_err(),
            "wrong leaf accepted"
        );
    }
    if let Some((_, shorter)) = path.split_last() {
        assert!(verify_inclusion(i, n, &leaves[i as usize], shorter, &full).is_err());
    }
    let m = from % n + 1;
    let old = root(&reader, m).expect("old root");
    let cons = consistency_proof(&reader, m, n).expect("consistency proof");
    verify_consistency(m, n, &old, &full, &cons).expect("valid consistency proof");
    if m < n {
        assert!(
            verify_consistency(m, n, &full, &full, &cons).is_err(),
            "wrong old root accepted"
        );
    }

    // 3. Huge uniform tree.
    let mut levels = [leaf; 64];
    for k in 1..64 {
        levels[k] = node_hash(&levels[k - 1], &levels[k - 1]);
    }
    let reader = UniformReader(levels);
    if index < size {
        let big = root(&reader, size).expect("uniform root");
        let path = inclusion_proof(&reader, index, size).expect("uniform inclusion proof");
        assert!(path.len() <= 64);
        verify_inclusion(index, size, &leaf, &path, &big).expect("valid uniform inclusion proof");
    }
    if 0 < from && from <= to {
        let (r1, r2) = (
            root(&reader, from).expect("r1"),
            root(&reader, to).expect("r2"),
        );
        let cons = consistency_proof(&reader, from, to).expect("uniform consistency proof");
        assert!(cons.len() <= 128);
        verify_consistency(from, to, &r1, &r2, &cons).expect("valid uniform consistency proof");
    }
});
