//! Offline audit of a stopped vault's database: recompute the whole tree from the stored events
//! and compare every stored leaf, node and checkpoint with it. The first mismatch is reported.

use super::DB_FILE;
use super::tables::{CHECKPOINTS, LEDGER_EVENTS, LEDGER_NODES, META};
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::leaf_commitment;
use crate::ledger::merkle::{self, Frontier, Hash};
use crate::ledger::note::Verifier;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use std::collections::BTreeMap;
use std::path::Path;

/// What a clean audit saw.
#[derive(Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub size: u64,
    pub root: Hash,
    pub nodes_checked: u64,
    pub checkpoints_checked: u64,
}

/// The first thing found wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditFailure {
    #[error("cannot read the database: {0}")]
    Unreadable(String),
    #[error("event {index}: {detail}")]
    Event { index: u64, detail: String },
    #[error("tree node (level {level}, index {index}) does not match the events")]
    Node { level: u8, index: u64 },
    #[error("tree node (level {level}, index {index}) is missing")]
    MissingNode { level: u8, index: u64 },
    #[error("{count} stored tree nodes lie beyond the tree")]
    ExtraNodes { count: u64 },
    #[error("checkpoint at size {size}: {detail}")]
    Checkpoint { size: u64, detail: String },
    #[error("ledger_size says {stored} but {found} events are stored")]
    Size { stored: u64, found: u64 },
}

fn unreadable(e: impl std::fmt::Display) -> AuditFailure {
    AuditFailure::Unreadable(e.to_string())
}

/// Audits `dir/assent.redb`. The vault must not be running (redb holds an exclusive lock).
/// Checkpoints may be signed by `verifiers[0]` (the current key) or any retired key after it.
pub fn audit(dir: &Path, origin: &str, verifier: &Verifier) -> Result<AuditReport, AuditFailure> {
    audit_with(dir, origin, std::slice::from_ref(verifier))
}

pub fn audit_with(
    dir: &Path,
    origin: &str,
    verifiers: &[Verifier],
) -> Result<AuditReport, AuditFailure> {
    let db = Database::open(dir.join(DB_FILE)).map_err(unreadable)?;
    let rtx = db.begin_read().map_err(unreadable)?;
    let meta = rtx.open_table(META).map_err(unreadable)?;
    let stored_size = meta
        .get("ledger_size")
        .map_err(unreadable)?
        .map_or(0, |v| v.value());
    let events = rtx.open_table(LEDGER_EVENTS).map_err(unreadable)?;
    let found = events.len().map_err(unreadable)?;
    if found != stored_size {
        return Err(AuditFailure::Size {
            stored: stored_size,
            found,
        });
    }
    let nodes = rtx.open_table(LEDGER_NODES).map_err(unreadable)?;
    let mut checkpoints = BTreeMap::new();
    for item in rtx
        .open_table(CHECKPOINTS)
        .map_err(unreadable)?
        .iter()
        .map_err(unreadable)?
    {
        let (k, v) = item.map_err(unreadable)?;
        checkpoints.insert(k.value(), v.value().to_owned());
    }
    let mut frontier = Frontier::default();
    let mut nodes_checked = 0u64;
    let mut checkpoints_checked = 0u64;
    let mut check_checkpoint = |size: u64, root: Hash| -> Result<(), AuditFailure> {
        if let Some(note) = checkpoints.get(&size) {
            let cp = Checkpoint::verify_any(note, origin, verifiers).map_err(|e| {
                AuditFailure::Checkpoint {
                    size,
                    detail: e.to_string(),
                }
            })?;
            if cp.size != size || cp.root != root {
                return Err(AuditFailure::Checkpoint {
                    size,
                    detail: "signed root differs from the recomputed tree".into(),
                });
            }
            checkpoints_checked += 1;
        }
        Ok(())
    };
    check_checkpoint(0, merkle::empty_root())?;
    let mut seqs: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for item in events.iter().map_err(unreadable)? {
        let (k, v) = item.map_err(unreadable)?;
        let index = k.value();
        if index != frontier.size() {
            return Err(AuditFailure::Event {
                index,
                detail: format!("expected index {}", frontier.size()),
            });
        }
        let stored = v.value();
        let (nonce, canonical) =
            crate::ledger::event::split_stored(stored).ok_or_else(|| AuditFailure::Event {
                index,
                detail: "truncated".into(),
            })?;
        let event =
            crate::ledger::event::parse_canonical(canonical).map_err(|e| AuditFailure::Event {
                index,
                detail: e.to_string(),
            })?;
        // Each party's events are numbered 1, 2, 3, … in ledger order, with no gap.
        let parties = [
            (
                event.event.customer().map(|c| c.to_string()),
                event.customer_seq,
            ),
            (event.event.org().map(|o| o.to_string()), event.org_seq),
        ];
        for (party, seq) in parties {
            if let (Some(party), Some(seq)) = (party, seq) {
                let last = seqs.entry(party.clone()).or_insert(0);
                if seq != *last + 1 {
                    return Err(AuditFailure::Event {
                        index,
                        detail: format!(
                            "{party}'s sequence number is {seq}, expected {}",
                            *last + 1
                        ),
                    });
                }
                *last = seq;
            }
        }
        let recanon = event.canonical().map_err(|e| AuditFailure::Event {
            index,
            detail: e.to_string(),
        })?;
        if recanon != canonical {
            return Err(AuditFailure::Event {
                index,
                detail: "not in canonical (JCS) form".into(),
            });
        }
        let leaf = merkle::leaf_hash(&leaf_commitment(nonce, canonical));
        for (level, i, hash) in frontier.push(leaf) {
            let got = nodes.get((level, i)).map_err(unreadable)?;
            match got {
                Some(g) if g.value() == hash => nodes_checked += 1,
                Some(_) => return Err(AuditFailure::Node { level, index: i }),
                None => return Err(AuditFailure::MissingNode { level, index: i }),
            }
        }
        check_checkpoint(frontier.size(), frontier.root())?;
    }
    let total = nodes.len().map_err(unreadable)?;
    if total != nodes_checked {
        return Err(AuditFailure::ExtraNodes {
            count: total.saturating_sub(nodes_checked),
        });
    }
    if let Some((&size, _)) = checkpoints.range(frontier.size() + 1..).next() {
        return Err(AuditFailure::Checkpoint {
            size,
            detail: "signed for a tree larger than the stored one (truncated history)".into(),
        });
    }
    Ok(AuditReport {
        size: frontier.size(),
        root: frontier.root(),
        nodes_checked,
        checkpoints_checked,
    })
}
