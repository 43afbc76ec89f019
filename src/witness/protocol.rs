//! The C2SP tlog-witness `add-checkpoint` request and the witness's decision. Pure: no I/O; the
//! caller persists the accepted tree head before it cosigns (so a witness never cosigns two
//! roots for one size, whatever crashes).
//!
//! Request body (c2sp.org/tlog-witness):
//! ```text
//! old <size>\n
//! <base64 hash>\n      (the RFC 9162 consistency proof from <size>, zero or more lines)
//! \n
//! <checkpoint signed note>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::note::{self, Verifier};

/// Longest request body a witness reads (a note with its signatures and a proof of at most
/// 63 hashes fit in far less).
pub const MAX_BODY: usize = 64 * 1024;
/// Most hashes a consistency proof may have (the spec's bound for 64-bit trees).
pub const MAX_PROOF: usize = 63;

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub note: String,
}

/// The tree head a witness last cosigned for a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root: Hash,
}

/// Why a witness refuses; each maps to the status code the spec gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body does not parse, or `old` is larger than the checkpoint's size.
    #[error("{0}")]
    Malformed(String),
    /// 404: the origin is not a log this witness is configured for.
    #[error("this witness does not witness the log `{0}`")]
    UnknownLog(String),
    /// 403: no signature by a key of the log verifies.
    #[error("the checkpoint is not signed by a key of its log: {0}")]
    NotSigned(String),
    /// 409 with the witness's size (`text/x.tlog.size`): `old` is not the size it last cosigned.
    #[error("the witness's latest size for this log is {0}")]
    OldSize(u64),
    /// 422: the checkpoint has the size the witness cosigned, with another root (a fork;
    /// tlog-witness v1.0.0 answered 409, the current text 422).
    #[error("the witness cosigned another root for size {0}")]
    Fork(u64),
    /// 422: the consistency proof does not prove that the checkpoint extends the latest.
    #[error("the consistency proof does not verify: {0}")]
    BadProof(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::UnknownLog(_) => 404,
            Self::NotSigned(_) => 403,
            Self::OldSize(_) => 409,
            Self::Fork(_) | Self::BadProof(_) => 422,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "bad_request",
            Self::UnknownLog(_) => "unknown_log",
            Self::NotSigned(_) => "not_signed",
            Self::OldSize(_) => "old_size_mismatch",
            Self::Fork(_) => "conflicting_root",
            Self::BadProof(_) => "bad_proof",
        }
    }
}

fn malformed(reason: &str) -> Refusal {
    Refusal::Malformed(reason.to_owned())
}

impl AddCheckpoint {
    pub fn parse(body: &str) -> Result<Self, Refusal> {
        if body.len() > MAX_BODY {
            return Err(malformed("the request is too large"));
        }
        let (head, note) = body
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| malformed("the first line must be `old <size>`"))?;
        let canonical = !old.is_empty()
            && old.bytes().all(|c| c.is_ascii_digit())
            && (old == "0" || !old.starts_with('0'));
        if !canonical {
            return Err(malformed("old size must be decimal without leading zeros"));
        }
        let old = old
            .parse()
            .map_err(|_| malformed("old size does not fit 64 bits"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF {
                return Err(malformed("the consistency proof is too long"));
            }
            let bytes = STANDARD
                .decode(line)
                .map_err(|_| malformed("a proof line is not base64"))?;
            proof.push(
                merkle::parse_hash(&bytes)
                    .map_err(|_| malformed("a proof hash is not 32 bytes"))?,
            );
        }
        Ok(Self {
            old,
            proof,
            note: note.to_owned(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note);
        out
    }
}

/// A log a witness is configured for: its origin and the keys that sign its checkpoints.
#[derive(Debug, Clone)]
pub struct Log {
    pub origin: String,
    pub keys: Vec<Verifier>,
}

/// The checkpoint's origin line, read before any signature is checked (to find its log).
pub fn origin_of(signed_note: &str) -> Result<String, Refusal> {
    let (text, _) = note::split(signed_note).map_err(|e| malformed(&e.to_string()))?;
    Ok(text.split('\n').next().unwrap_or_default().to_owned())
}

/// Decides a request for `log` given the head the witness last cosigned (`None`: never). On
/// `Ok`, the caller stores the returned checkpoint's size and root durably, then cosigns its
/// body.
pub fn decide(
    log: &Log,
    latest: Option<Latest>,
    req: &AddCheckpoint,
) -> Result<Checkpoint, Refusal> {
    let checkpoint =
        Checkpoint::verify_any(&req.note, &log.origin, &log.keys).map_err(|e| match e {
            crate::ledger::LedgerError::BadCheckpoint(m)
            | crate::ledger::LedgerError::BadNote(m) => Refusal::Malformed(m),
            other => Refusal::NotSigned(other.to_string()),
        })?;
    if req.old > checkpoint.size {
        return Err(malformed("old size is larger than the checkpoint's size"));
    }
    let latest_size = latest.map_or(0, |l| l.size);
    if req.old != latest_size {
        return Err(Refusal::OldSize(latest_size));
    }
    if checkpoint.size == 0 && checkpoint.root != merkle::empty_root() {
        return Err(Refusal::BadProof("an empty tree has the empty root".into()));
    }
    match latest {
        // From the empty tree (old 0): it is consistent with any tree, and the proof is empty.
        None => empty_proof(req, checkpoint),
        Some(l) if l.size == 0 => empty_proof(req, checkpoint),
        Some(l) if l.size == checkpoint.size => {
            if l.root != checkpoint.root {
                return Err(Refusal::Fork(l.size));
            }
            if !req.proof.is_empty() {
                return Err(Refusal::BadProof(
                    "the proof between equal sizes must be empty".into(),
                ));
            }
            Ok(checkpoint)
        }
        Some(l) => {
            merkle::verify_consistency(
                l.size,
                checkpoint.size,
                &l.root,
                &checkpoint.root,
                &req.proof,
            )
            .map_err(|e| Refusal::BadProof(e.to_string()))?;
            Ok(checkpoint)
        }
    }
}

fn empty_proof(req: &AddCheckpoint, checkpoint: Checkpoint) -> Result<Checkpoint, Refusal> {
    if req.proof.is_empty() {
        Ok(checkpoint)
    } else {
        Err(Refusal::BadProof(
            "the proof from the empty tree or between equal sizes must be empty".into(),
        ))
    }
}
