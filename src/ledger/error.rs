//! Errors of the ledger's pure Merkle math (RFC 9162 §2.1).

/// Why a Merkle computation, proof generation or proof verification failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    /// A hash given as bytes is not exactly 32 bytes (SHA-256) long.
    #[error("hash must be 32 bytes, got {len}")]
    BadHashLength {
        /// Length of the rejected byte string.
        len: usize,
    },
    /// A leaf index is not inside the tree (`index >= size`).
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A consistency check between tree sizes where the older tree is larger than the newer one.
    #[error("tree size {from} is larger than tree size {to}")]
    BadSizes {
        /// The older tree size.
        from: u64,
        /// The newer tree size.
        to: u64,
    },
    /// A consistency check from the empty tree; RFC 9162 §2.1.4.1 defines proofs only for `0 < from`.
    #[error("consistency with the empty tree is not proved (tree size 0)")]
    EmptyTreeConsistency,
    /// A leaf range whose start lies after its end.
    #[error("range [{start}, {end}) is inverted")]
    BadRange {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf of the range.
        end: u64,
    },
    /// A leaf range that is not made of stored perfect subtrees (its start is not a multiple of
    /// the largest power of two not above its length).
    #[error("range [{start}, {end}) is not aligned to stored subtrees")]
    UnalignedRange {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf of the range.
        end: u64,
    },
    /// A proof has more or fewer hashes than the tree shape requires.
    #[error("proof has the wrong number of hashes for the tree sizes")]
    ProofLength,
    /// A proof does not lead to the expected root hash.
    #[error("proof does not match the root hash")]
    RootMismatch,
    /// The node store failed or lacks a node that should exist.
    #[error("node store: {0}")]
    Store(String),
    /// An event could not be put in canonical (RFC 8785) form.
    #[error("event encoding: {0}")]
    Encoding(String),
    /// A signed note, verifier key or signer name is malformed (c2sp.org/signed-note).
    #[error("malformed signed note: {0}")]
    BadNote(String),
    /// A signature from a known key does not verify (RFC 8032 strict verification).
    #[error("signature does not verify")]
    BadSignature,
    /// No signature in a note is from a known key, so the note must be rejected.
    #[error("note carries no signature from a known key")]
    UnknownKey,
    /// Fewer of the policy's witnesses cosigned a checkpoint than its quorum
    /// (c2sp.org/tlog-cosignature).
    #[error("the checkpoint is cosigned by {have} trusted witness(es); the policy needs {need}")]
    NoQuorum { have: usize, need: usize },
    /// A checkpoint body is malformed or names another origin (c2sp.org/tlog-checkpoint).
    #[error("bad checkpoint: {0}")]
    BadCheckpoint(String),
}
