//! Client-side ledger verification: a customer (or anyone) checks the vault's signed checkpoint
//! against a pinned key, the inclusion of each of their own events, and the consistency of the
//! new checkpoint with the last one they saw — so a rewritten or truncated history is detected.

use super::{Api, ClientError};
use crate::crypto::b64;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::note::{Verifier, parse_verifier_key};
use crate::ledger::{Event, leaf_commitment};
use serde::Deserialize;
use serde_json::Value;

/// Which check failed, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error("the checkpoint's signature does not verify against the pinned vault key: {0}")]
    Signature(String),
    #[error(
        "the ledger shrank: it was {old} entries, the vault now signs {new} (truncated history)"
    )]
    Truncated { old: u64, new: u64 },
    #[error(
        "the new checkpoint ({new}) is not an extension of the last one seen ({old}): history was rewritten ({reason})"
    )]
    Inconsistent { old: u64, new: u64, reason: String },
    #[error("the same tree size {size} has two different signed roots (a fork)")]
    Fork { size: u64 },
    #[error("entry {index}: its leaf does not match its event and nonce")]
    Leaf { index: u64 },
    #[error("entry {index} is not included in the signed tree: {reason}")]
    Inclusion { index: u64, reason: String },
    #[error("{0}")]
    Client(#[from] ClientError),
}

#[derive(Debug)]
pub struct Verified {
    pub checkpoint: Checkpoint,
    pub note: String,
    pub entries_checked: usize,
    /// The previous checkpoint size this one was proved consistent with.
    pub consistent_with: Option<u64>,
}

pub fn pinned(key: &str) -> Result<Verifier, ClientError> {
    parse_verifier_key(key.trim())
        .map_err(|e| ClientError::Usage(format!("the pinned vault key is not valid: {e}")))
}

fn hashes(v: &Value) -> Result<Vec<Hash>, ClientError> {
    v.as_array()
        .ok_or_else(|| ClientError::Protocol("proof is not a list".into()))?
        .iter()
        .map(|h| {
            let bytes = b64::decode(h.as_str().unwrap_or_default())?;
            merkle::parse_hash(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
        })
        .collect()
}

/// Checks `note` against the pinned key, then against the last checkpoint seen (if any).
pub fn check_checkpoint(
    api: &Api,
    verifier: &Verifier,
    note: &str,
    last_seen: Option<&str>,
) -> Result<(Checkpoint, Option<u64>), VerifyFailure> {
    let cp = Checkpoint::verify(note, &verifier.name, verifier)
        .map_err(|e| VerifyFailure::Signature(e.to_string()))?;
    let Some(old_note) = last_seen else {
        return Ok((cp, None));
    };
    let old = Checkpoint::verify(old_note, &verifier.name, verifier)
        .map_err(|e| VerifyFailure::Signature(e.to_string()))?;
    if cp.size < old.size {
        return Err(VerifyFailure::Truncated {
            old: old.size,
            new: cp.size,
        });
    }
    if cp.size == old.size {
        if cp.root != old.root {
            return Err(VerifyFailure::Fork { size: cp.size });
        }
        return Ok((cp, Some(old.size)));
    }
    if old.size == 0 {
        return Ok((cp, Some(0)));
    }
    let answer: Value = api.get_query(
        "/v1/ledger/proof/consistency",
        &[("from", old.size), ("to", cp.size)],
    )?;
    let proof = hashes(&answer["proof"])?;
    merkle::verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof).map_err(|e| {
        VerifyFailure::Inconsistent {
            old: old.size,
            new: cp.size,
            reason: e.to_string(),
        }
    })?;
    Ok((cp, Some(old.size)))
}

#[derive(Deserialize)]
struct Entry {
    index: u64,
    nonce: String,
    event: Event,
    leaf: String,
    #[serde(default)]
    proof: Option<Value>,
}

/// Verifies a `GET /v1/me/ledger` answer: the checkpoint, then for every entry the leaf
/// recomputed from its event and nonce, and its inclusion proof against the signed root.
pub fn verify_own_ledger(
    api: &Api,
    verifier: &Verifier,
    ledger: &Value,
    last_seen: Option<&str>,
) -> Result<Verified, VerifyFailure> {
    let note = ledger["checkpoint"]
        .as_str()
        .ok_or_else(|| ClientError::Protocol("no checkpoint in the ledger answer".into()))?;
    let (cp, consistent_with) = check_checkpoint(api, verifier, note, last_seen)?;
    let entries: Vec<Entry> = serde_json::from_value(ledger["entries"].clone())
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    let mut checked = 0;
    for e in &entries {
        let nonce: [u8; 32] = b64::decode_array(&e.nonce, "nonce").map_err(ClientError::from)?;
        let canonical = e
            .event
            .canonical()
            .map_err(|err| ClientError::Protocol(err.to_string()))?;
        let leaf = leaf_commitment(&nonce, &canonical);
        if b64::encode(&leaf) != e.leaf {
            return Err(VerifyFailure::Leaf { index: e.index });
        }
        if e.index >= cp.size {
            continue; // newer than the checkpoint: checked on the next run
        }
        let proof = match &e.proof {
            Some(p) => hashes(p)?,
            None => {
                return Err(VerifyFailure::Inclusion {
                    index: e.index,
                    reason: "no proof given".into(),
                });
            }
        };
        merkle::verify_inclusion(
            e.index,
            cp.size,
            &merkle::leaf_hash(&leaf),
            &proof,
            &cp.root,
        )
        .map_err(|err| VerifyFailure::Inclusion {
            index: e.index,
            reason: err.to_string(),
        })?;
        checked += 1;
    }
    Ok(Verified {
        checkpoint: cp,
        note: note.to_owned(),
        entries_checked: checked,
        consistent_with,
    })
}
