//! Offline audit of a stopped vault's database: redb's own integrity check (page checksums) on a
//! private copy, then the whole tree recomputed from the stored events and compared with every
//! stored leaf, node and checkpoint, then every record compared with the events that made it
//! (`audit_records.rs`), then the records with each other: indexes exact, requests, grants,
//! handles and wraps consistent (`audit_links.rs`). The first mismatch is reported.

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
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
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
    #[error("the file's tables are not the vault's: {0}")]
    Tables(String),
    #[error("the database file is damaged (redb integrity check): {0}")]
    Damaged(String),
    #[error("{table} record {key} does not agree with the ledger: {detail}")]
    Record {
        table: &'static str,
        key: String,
        detail: String,
    },
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
    audit_file(&dir.join(DB_FILE), &dir.join("staging"), origin, verifiers)
}

/// Audits a PostgreSQL vault: one snapshot of it exported to a redb file in `staging` (the same
/// file `assent backup` makes), then that file audited like any other. The nodes may keep
/// serving: the snapshot is consistent.
pub fn audit_postgres(
    url: &str,
    staging: &Path,
    origin: &str,
    verifiers: &[Verifier],
) -> Result<AuditReport, AuditFailure> {
    super::private_dir(staging).map_err(unreadable)?;
    let export = staging.join(format!(
        "export-{}.redb",
        crate::crypto::b64::encode(&crate::crypto::keys::random_array::<9>())
    ));
    let result = super::pg::with_database(url, |pg| pg.export_to(&export))
        .map_err(unreadable)
        .and_then(|_| audit_file(&export, staging, origin, verifiers));
    let _ = std::fs::remove_file(&export);
    result
}

/// Audits the database `file`. redb's integrity check may repair the file it checks, so it
/// runs on a private copy (0600) made in `staging` (created 0700, next to the data: never the
/// shared temp directory), which the rest of the audit then reads; the copy is removed.
pub fn audit_file(
    file: &Path,
    staging: &Path,
    origin: &str,
    verifiers: &[Verifier],
) -> Result<AuditReport, AuditFailure> {
    super::private_dir(staging).map_err(unreadable)?;
    let copy = staging.join(format!(
        "audit-{}.redb",
        crate::crypto::b64::encode(&crate::crypto::keys::random_array::<9>())
    ));
    let result = copy_checked(file, &copy)
        .and_then(|db| {
            let txn = db.begin_write().map_err(unreadable)?;
            super::tables::create_later(&txn).map_err(unreadable)?;
            txn.commit().map_err(unreadable)?;
            Ok(db)
        })
        .and_then(|db| audit_db(&db, origin, verifiers));
    let _ = std::fs::remove_file(&copy);
    result
}

/// Copies `file` to `copy` (0600) and opens the copy with redb's integrity check: every page
/// checksum of the committed trees verified. Damage, repaired or not, is a failure.
fn copy_checked(file: &Path, copy: &Path) -> Result<Database, AuditFailure> {
    let mut src =
        std::fs::File::open(file).map_err(|e| unreadable(format!("{}: {e}", file.display())))?;
    let mut out = super::private_file(copy).map_err(unreadable)?;
    std::io::copy(&mut src, &mut out)
        .and_then(|_| out.sync_all())
        .map_err(unreadable)?;
    let mut db = Database::builder()
        .set_check_integrity_on_open(true)
        .open(copy)
        .map_err(|e| AuditFailure::Damaged(e.to_string()))?;
    match db.check_integrity() {
        Ok(true) => Ok(db),
        Ok(false) => Err(AuditFailure::Damaged(
            "pages failed their checksums (a copy could be repaired; the original is damaged)"
                .into(),
        )),
        Err(e) => Err(AuditFailure::Damaged(e.to_string())),
    }
}

/// The file holds exactly the tables `tables.rs` declares.
fn check_tables(rtx: &redb::ReadTransaction) -> Result<(), AuditFailure> {
    use redb::TableHandle;
    let found: std::collections::BTreeSet<String> = rtx
        .list_tables()
        .map_err(unreadable)?
        .map(|t| t.name().to_owned())
        .collect();
    if let Some(missing) = super::tables::ALL.iter().find(|n| !found.contains(**n)) {
        return Err(AuditFailure::Tables(format!("`{missing}` is missing")));
    }
    if let Some(extra) = found
        .iter()
        .find(|n| !super::tables::ALL.contains(&n.as_str()))
    {
        return Err(AuditFailure::Tables(format!(
            "`{extra}` is not a table this build declares"
        )));
    }
    Ok(())
}

fn audit_db(
    db: &Database,
    origin: &str,
    verifiers: &[Verifier],
) -> Result<AuditReport, AuditFailure> {
    let rtx = db.begin_read().map_err(unreadable)?;
    check_tables(&rtx)?;
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
    let mut history = super::audit_records::History::default();
    // Where each read is counted (read_counts.rs): below `reads_from` in the grant record,
    // then in `grant_reads` up to `indexed_upto`.
    history.reads_from = super::read_counts::reads_from(&meta).map_err(unreadable)?;
    history.indexed_upto = meta
        .get(super::tables::INDEXED_UPTO)
        .map_err(unreadable)?
        .map_or(0, |v| v.value());
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
        history.add(index, &event.event);
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
    if let Some(problem) = history.problem() {
        return Err(problem.clone());
    }
    super::audit_records::check(&rtx, &history)?;
    super::audit_links::check(&rtx, &history)?;
    super::audit_erasure::check(&rtx, &history)?;
    super::audit_webhooks::check(&rtx, frontier.size())?;
    Ok(AuditReport {
        size: frontier.size(),
        root: frontier.root(),
        nodes_checked,
        checkpoints_checked,
    })
}
