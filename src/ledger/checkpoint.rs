//! C2SP transparency log checkpoints (<https://c2sp.org/tlog-checkpoint>): the signed tree head of
//! the ledger, carried in a signed note (<https://c2sp.org/signed-note>).
//!
//! The body is three lines, each ending in a newline: the origin (the log's identity), the tree
//! size in decimal and the base64 (standard alphabet) RFC 9162 root hash. Extension lines may
//! follow; they are accepted when parsing and ignored (Assent never writes any).
//!
//! Pure: no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;

use super::error::LedgerError;
use super::merkle::{Hash, parse_hash};
use super::note::{self, Verifier};

/// A tree head: the log identity, its size and its RFC 9162 root.
///
/// Invariant of a value from [`Checkpoint::parse_body`] or [`Checkpoint::verify`]: `origin` is
/// non-empty and holds no control characters, so `body()` parses back to the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The origin line: a unique identifier of the log, e.g. `assent.example/ledger`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// Merkle Tree Hash of the first `size` leaves (RFC 9162 §2.1.1).
    pub root: Hash,
}

fn bad(reason: &str) -> LedgerError {
    LedgerError::BadCheckpoint(reason.to_owned())
}

impl Checkpoint {
    /// The note text: `origin\n` ‖ `size\n` (decimal) ‖ `base64std(root)\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a checkpoint body strictly: a non-empty origin without control characters, a
    /// decimal size without sign or leading zeros (`0` alone for the empty tree) that fits a
    /// `u64`, a canonical base64 root of exactly 32 bytes, then optional non-empty extension
    /// lines, which are ignored. The text must end with a newline.
    pub fn parse_body(text: &str) -> Result<Self, LedgerError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("body must end with a newline"))?;
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("body holds a control character"));
        }
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad("body needs origin, size and root lines"));
        };
        if origin.is_empty() {
            return Err(bad("origin is empty"));
        }
        if lines.any(str::is_empty) {
            return Err(bad("extension lines must be non-empty"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
        })
    }

    /// Signs the body as a signed note with `key` under key `name` (the spec recommends that
    /// `name` be the origin). Refuses a checkpoint whose body would not parse back to itself
    /// (an empty origin, or one holding a newline or control character).
    pub fn sign(&self, name: &str, key: &SigningKey) -> Result<String, LedgerError> {
        let body = self.body();
        if Self::parse_body(&body)? != *self {
            return Err(bad("origin does not survive its own encoding"));
        }
        note::sign(&body, name, key)
    }

    /// Opens a checkpoint note signed by `verifier` and checks that it is for log `origin`.
    ///
    /// Fails with the errors of [`note::open`] (a malformed note, a bad signature, no signature
    /// by `verifier`), or [`LedgerError::BadCheckpoint`] for a malformed body or another origin.
    pub fn verify(note: &str, origin: &str, verifier: &Verifier) -> Result<Self, LedgerError> {
        Self::verify_any(note, origin, std::slice::from_ref(verifier))
    }

    /// Like [`Checkpoint::verify`], accepting a signature by any of `verifiers` (the current
    /// key and retired ones, for checkpoints signed before a key rotation).
    pub fn verify_any(
        note: &str,
        origin: &str,
        verifiers: &[Verifier],
    ) -> Result<Self, LedgerError> {
        let (text, _) = note::open(note, verifiers)?;
        let checkpoint = Self::parse_body(&text)?;
        if checkpoint.origin != origin {
            return Err(bad("checkpoint is for another origin"));
        }
        Ok(checkpoint)
    }
}

/// ASCII decimal, no sign, no leading zeros unless the value is `0`.
fn parse_size(line: &str) -> Result<u64, LedgerError> {
    let digits_only = !line.is_empty() && line.bytes().all(|c| c.is_ascii_digit());
    if !digits_only || (line.len() > 1 && line.starts_with('0')) {
        return Err(bad("size must be decimal without leading zeros"));
    }
    line.parse().map_err(|_| bad("size does not fit 64 bits"))
}

/// Canonical standard base64 of exactly 32 bytes.
fn parse_root(line: &str) -> Result<Hash, LedgerError> {
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| bad("root is not base64"))?;
    parse_hash(&bytes).map_err(|_| bad("root must be 32 bytes"))
}
