//! Access receipts (wire v2): one Ed25519 (RFC 8032) signature by the vault key per committed
//! batch, and for each read in it an RFC 9162 inclusion proof of its leaf in the batch's own
//! tree, so a reader can later prove its read was recorded (DESIGN.md, promise 2) while the
//! vault signs once per batch instead of once per read.
//!
//! A batch is the ledger entries `[first, first + size)` that one group commit appended. Its
//! `root` is the RFC 9162 Merkle tree hash over their leaves (leaf hash `SHA-256(0x00 ‖ leaf)`,
//! as in the ledger); the signed message is the UTF-8 of
//! `"assent/v2/receipt-batch\n" ‖ decimal(first) ‖ "\n" ‖ decimal(size) ‖ "\n" ‖
//! base64url_nopad(root) ‖ "\n" ‖ time` (`time` last, so the message is unambiguous whatever it
//! holds; signed as given). A read's receipt is `{index, leaf, batch, path}` with `path` the
//! inclusion proof of `index − first` in a tree of `size`.
//!
//! Pure: no I/O, no clock (the time is a parameter).

use super::error::LedgerError;
use super::merkle::{self, Hash, NodeReader};
use crate::crypto::{b64, verify_signature};
use ed25519_dalek::{Signer as _, SigningKey};

/// Domain-separation prefix of batch receipt messages.
pub const BATCH_PREFIX: &str = "assent/v2/receipt-batch\n";

/// What the vault signs for one committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHead {
    /// Ledger index of the batch's first entry.
    pub first: u64,
    /// How many entries the batch appended (at least 1).
    pub size: u64,
    /// RFC 9162 tree hash over the batch's leaves.
    pub root: Hash,
    /// When the batch was sealed, RFC 3339, exactly as it is signed.
    pub time: String,
}

/// The exact bytes signed for `batch`.
pub fn batch_message(batch: &BatchHead) -> Vec<u8> {
    format!(
        "{BATCH_PREFIX}{}\n{}\n{}\n{}",
        batch.first,
        batch.size,
        b64::encode(&batch.root),
        batch.time
    )
    .into_bytes()
}

/// Signs a batch head with the vault key (deterministic Ed25519, RFC 8032 §5.1.6).
pub fn sign_batch(key: &SigningKey, batch: &BatchHead) -> [u8; 64] {
    key.sign(&batch_message(batch)).to_bytes()
}

/// The batch's own Merkle tree, kept whole in memory (a batch is at most a few thousand
/// leaves): every perfect subtree's hash, level by level, so a root or a path costs no hashing.
#[derive(Debug, Clone)]
pub struct BatchTree {
    /// `levels[0]` are the leaf hashes; `levels[k][i]` covers leaves `[i·2^k, (i+1)·2^k)`.
    levels: Vec<Vec<Hash>>,
}

impl BatchTree {
    /// The tree over `leaves` (leaf commitments, before the `0x00` leaf prefix).
    pub fn new(leaves: &[Hash]) -> Self {
        let mut levels = vec![
            leaves
                .iter()
                .map(|l| merkle::leaf_hash(l))
                .collect::<Vec<_>>(),
        ];
        while let Some(last) = levels.last()
            && last.len() > 1
        {
            let next = last
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn root(&self) -> Result<Hash, LedgerError> {
        merkle::root(self, self.size())
    }

    /// The inclusion proof of the `offset`-th leaf of the batch.
    pub fn path(&self, offset: u64) -> Result<Vec<Hash>, LedgerError> {
        merkle::inclusion_proof(self, offset, self.size())
    }
}

impl NodeReader for BatchTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| LedgerError::Store(format!("no batch node ({level}, {index})")))
    }
}

/// A committed batch as the vault sealed it: the head it signed, the signature and the tree the
/// reads' paths come from.
#[derive(Debug, Clone)]
pub struct SealedBatch {
    pub head: BatchHead,
    pub signature: [u8; 64],
    pub tree: BatchTree,
}

impl SealedBatch {
    /// Seals the batch of `leaves` starting at ledger index `first`, at `time`.
    pub fn seal(
        key: &SigningKey,
        first: u64,
        leaves: &[Hash],
        time: String,
    ) -> Result<Self, LedgerError> {
        let tree = BatchTree::new(leaves);
        let head = BatchHead {
            first,
            size: tree.size(),
            root: tree.root()?,
            time,
        };
        let signature = sign_batch(key, &head);
        Ok(Self {
            head,
            signature,
            tree,
        })
    }

    /// The inclusion proof of ledger entry `index`, which this batch appended.
    pub fn path_of(&self, index: u64) -> Result<Vec<Hash>, LedgerError> {
        let offset = index
            .checked_sub(self.head.first)
            .ok_or(LedgerError::IndexOutOfRange {
                index,
                size: self.head.first,
            })?;
        self.tree.path(offset)
    }
}

/// Verifies an access receipt: `index` lies in the batch, `leaf` is included at
/// `index − first` by `path` under the batch's root, and the batch head is signed by
/// `public` (strict Ed25519: non-canonical and small-order encodings are refused). Any failure
/// of the signature is [`LedgerError::BadSignature`].
pub fn verify_access_receipt(
    public: &[u8; 32],
    index: u64,
    leaf: &Hash,
    batch: &BatchHead,
    path: &[Hash],
    signature: &[u8],
) -> Result<(), LedgerError> {
    let offset = index
        .checked_sub(batch.first)
        .filter(|o| *o < batch.size)
        .ok_or(LedgerError::IndexOutOfRange {
            index,
            size: batch.first.saturating_add(batch.size),
        })?;
    merkle::verify_inclusion(
        offset,
        batch.size,
        &merkle::leaf_hash(leaf),
        path,
        &batch.root,
    )?;
    verify_signature(public, &batch_message(batch), signature)
        .map_err(|_| LedgerError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_of_every_batch_size_verifies_and_nothing_else_does() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key().to_bytes();
        for n in 1..=17u64 {
            let leaves: Vec<Hash> = (0..n).map(|i| [i as u8; 32]).collect();
            let tree = BatchTree::new(&leaves);
            let head = BatchHead {
                first: 100,
                size: n,
                root: tree.root().unwrap(),
                time: "2026-12-01T00:00:00Z".into(),
            };
            let sig = sign_batch(&key, &head);
            for (i, leaf) in leaves.iter().enumerate() {
                let path = tree.path(i as u64).unwrap();
                verify_access_receipt(&public, 100 + i as u64, leaf, &head, &path, &sig).unwrap();
                // Another index, another leaf, another time: refused.
                let other = 100 + (i as u64 + 1) % n;
                if n > 1 {
                    assert!(
                        verify_access_receipt(&public, other, leaf, &head, &path, &sig).is_err()
                    );
                }
                assert!(
                    verify_access_receipt(&public, 100 + i as u64, &[0xff; 32], &head, &path, &sig)
                        .is_err()
                );
                let mut later = head.clone();
                later.time = "2026-12-02T00:00:00Z".into();
                assert!(
                    verify_access_receipt(&public, 100 + i as u64, leaf, &later, &path, &sig)
                        .is_err()
                );
            }
            assert!(
                verify_access_receipt(&public, 99, &leaves[0], &head, &tree.path(0).unwrap(), &sig)
                    .is_err()
            );
        }
    }
}
