//! How many times each grant was read, on redb, without a random write per read.
//!
//! A grant's count is the sum of three parts (invariant 23 in ARCHITECTURE.md):
//! - `reads` in its record: the reads logged below [`READS_FROM`] (files written before the
//!   counts were derived counted every read there; the record is never rewritten per read now);
//! - [`GRANT_READS`]: the `read` events in `[READS_FROM, INDEXED_UPTO)`, folded in by
//!   `Tx::index_parties` together with the per-party indexes;
//! - the tail: `read` events at `max(READS_FROM, INDEXED_UPTO)` and above. A snapshot counts
//!   them from `ledger_events` (a byte search for the grant id, then a parse of the matches);
//!   the writer keeps them in memory ([`TailReads`]), since it is the only appender.
//!
//! All three are derived from the ledger: a crash loses nothing, since `Store::open` folds the
//! tail again. PostgreSQL keeps the count in the grant row, written in the read's batch.

use super::StoreError;
use super::access::Open;
use super::tables::{GRANT_READS, INDEXED_UPTO, LEDGER_EVENTS, LEDGER_SIZE, META, READS_FROM};
use crate::domain::grant::Grant;
use crate::ledger::Event;
use redb::ReadableTable;
use std::collections::HashMap;

/// The reads above the watermark that the writer has committed, by grant id. Invariant: equal
/// to the `read` events of the committed ledger in `[max(READS_FROM, INDEXED_UPTO), size)`.
#[derive(Debug, Default)]
pub(crate) struct TailReads(HashMap<String, u64>);

impl TailReads {
    pub(crate) fn get(&self, grant: &str) -> u64 {
        self.0.get(grant).copied().unwrap_or(0)
    }

    /// After a commit: `batch` holds the reads the transaction appended after its last fold
    /// (or all of them); `folded` says whether it folded the tail.
    pub(crate) fn settle(&mut self, folded: bool, batch: HashMap<String, u64>) {
        if folded {
            self.0 = batch;
        } else {
            for (g, n) in batch {
                *self.0.entry(g).or_default() += n;
            }
        }
    }
}

/// Where the derived part of the counts starts, as the `meta` table says: reads below it are
/// in the grant records. A file without the key was written before the counts were derived
/// (all its reads are in the records), so it reads as the ledger size.
pub(super) fn reads_from(
    meta: &impl ReadableTable<&'static str, u64>,
) -> Result<u64, redb::StorageError> {
    match meta.get(READS_FROM)? {
        Some(v) => Ok(v.value()),
        None => Ok(meta.get(LEDGER_SIZE)?.map_or(0, |v| v.value())),
    }
}

/// The grant a stored `read` event names, if it is one.
pub(super) fn read_of(stored: &[u8]) -> Result<Option<String>, StoreError> {
    match crate::ledger::event::parse_stored(stored)?.event {
        Event::Read { grant_id, .. } => Ok(Some(grant_id.to_string())),
        _ => Ok(None),
    }
}

/// The folded counts of `ids` (missing ones are 0).
pub(super) fn folded(r: &(impl Open + ?Sized), ids: &[&str]) -> Result<Vec<u64>, StoreError> {
    let table = r.table(GRANT_READS)?;
    ids.iter()
        .map(|id| Ok(table.get(*id)?.map_or(0, |v| v.value())))
        .collect()
}

/// Above this many grants, [`scan_tail`] parses every tail event instead of searching bytes.
const FEW: usize = 16;

/// Counts each of `ids`' `read` events in a snapshot's tail (see the module comment).
pub(super) fn scan_tail(r: &(impl Open + ?Sized), ids: &[&str]) -> Result<Vec<u64>, StoreError> {
    let mut counts = vec![0; ids.len()];
    if ids.is_empty() {
        return Ok(counts);
    }
    let meta = r.table(META)?;
    let size = meta.get(LEDGER_SIZE)?.map_or(0, |v| v.value());
    let upto = meta.get(INDEXED_UPTO)?.map_or(0, |v| v.value());
    let from = upto.max(reads_from(&meta)?);
    if from >= size {
        return Ok(counts);
    }
    // A few grants (one customer's): a byte search skips the events naming none of them
    // without parsing. Many (a whole listing): every event is parsed once.
    let few = ids.len() <= FEW;
    let finders: Vec<_> = if few {
        ids.iter()
            .map(|id| memchr::memmem::Finder::new(id.as_bytes()))
            .collect()
    } else {
        Vec::new()
    };
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for item in r.table(LEDGER_EVENTS)?.range(from..size)? {
        let (_, v) = item?;
        let stored = v.value();
        if few && !finders.iter().any(|f| f.find(stored).is_some()) {
            continue;
        }
        if let Some(g) = read_of(stored)?
            && let Some(i) = position.get(g.as_str())
        {
            counts[*i] += 1;
        }
    }
    Ok(counts)
}

/// Sets each grant's `reads` to its whole count: its record's part plus `derived` (the folded
/// and tail parts, in the same order).
pub(super) fn add_derived(grants: &mut [&mut Grant], derived: &[u64]) {
    for (g, d) in grants.iter_mut().zip(derived) {
        g.reads = g
            .reads
            .saturating_add(u32::try_from(*d).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Batch, Store, StoreError, tables};
    use crate::domain::catalog::{Label, Purpose};
    use crate::domain::grant::{Grant, GrantTerms};
    use crate::domain::ids::{CustomerId, EnvelopeId, GrantId, OrgId, RequestId};
    use crate::domain::time::Timestamp;
    use crate::ledger::Event;

    fn grant(id: &str, max_reads: Option<u32>) -> Grant {
        Grant {
            terms: GrantTerms {
                org_identity_key: [7; 32],
                org_encryption_key: [9; 32],
                grant_id: GrantId::parse(id).unwrap(),
                customer_id: CustomerId::parse("cus_a").unwrap(),
                org_id: OrgId::parse("org_b").unwrap(),
                labels: vec![Label::parse("email").unwrap()],
                purposes: vec![Purpose::parse("dpv:IdentityVerification").unwrap()],
                not_after: Timestamp::from_unix(2_000_000_000).unwrap(),
                max_reads,
            },
            signature: vec![0; 64],
            request_id: RequestId::parse("req_x").unwrap(),
            created_at: Timestamp::from_unix(1_700_000_000).unwrap(),
            revoked_at: None,
            reads: 0,
            ledger_index: 0,
        }
    }

    fn read_event(g: &Grant) -> Event {
        Event::Read {
            customer_id: g.terms.customer_id.clone(),
            org_id: g.terms.org_id.clone(),
            grant_id: g.terms.grant_id.clone(),
            envelope_id: EnvelopeId::parse("env_e").unwrap(),
            version: 1,
            label: Label::parse("email").unwrap(),
            purpose: Purpose::parse("dpv:IdentityVerification").unwrap(),
            at: Timestamp::from_unix(1_700_000_100).unwrap(),
        }
    }

    /// Logs and counts one read of `g` per job, all in one batch: a first job holds the writer
    /// while the others queue, so the batch is too big to fold (writer::INDEX_NOW_BELOW) and
    /// the reads stay in the tail.
    fn read_in_one_batch(rt: &tokio::runtime::Runtime, store: &Store, reads: &[&Grant]) {
        rt.block_on(async {
            let w = store.writer().clone();
            let busy = super::super::writer::hold_writer(&w, 200).await;
            let jobs: Vec<_> = reads
                .iter()
                .map(|g| {
                    let (w, g) = (w.clone(), (*g).clone());
                    tokio::spawn(async move {
                        w.act(move |tx: &mut dyn Batch| {
                            let now = tx.grant(&g.terms.grant_id)?.unwrap();
                            tx.count_read(&now)?;
                            tx.append(&read_event(&g), [3; 32]).map(|_| ())
                        })
                        .await
                    })
                })
                .collect();
            busy.await.unwrap().unwrap();
            for j in jobs {
                j.await.unwrap().unwrap();
            }
        });
    }

    fn counts(store: &Store, ids: &[&Grant]) -> Vec<u32> {
        let view = store.read().unwrap();
        let listed = view
            .grants_of(&CustomerId::parse("cus_a").unwrap())
            .unwrap();
        let all = view.all_grants().unwrap();
        ids.iter()
            .map(|g| {
                let id = &g.terms.grant_id;
                let one = view.grant(id).unwrap().unwrap().reads;
                let find = |v: &[Grant]| v.iter().find(|x| &x.terms.grant_id == id).unwrap().reads;
                assert_eq!(one, find(&listed), "{id}: grant and grants_of disagree");
                assert_eq!(one, find(&all), "{id}: grant and all_grants disagree");
                one
            })
            .collect()
    }

    fn folded_rows(store: &Store) -> u64 {
        let super::super::Backend::Redb(db) = &store.backend else {
            unreachable!("a redb store")
        };
        let view =
            super::super::access::ReadView::new(redb::ReadableDatabase::begin_read(&**db).unwrap());
        super::folded(&view, &["grt_q", "grt_n"])
            .unwrap()
            .iter()
            .sum()
    }

    #[test]
    fn counts_are_whole_in_the_tail_after_a_fold_after_a_revocation_and_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (q, n) = (grant("grt_q", Some(100)), grant("grt_n", None));
        let store = Store::open(dir.path()).unwrap();
        rt.block_on(store.writer().act({
            let (q, n) = (q.clone(), n.clone());
            move |tx: &mut dyn Batch| {
                tx.insert_grant(&q)?;
                tx.insert_grant(&n)
            }
        }))
        .unwrap();

        // 12 reads in one big batch: all in the tail, none folded yet.
        let mut batch: Vec<&Grant> = vec![&n; 8];
        batch.extend([&q; 4]);
        read_in_one_batch(&rt, &store, &batch);
        assert_eq!(counts(&store, &[&q, &n]), [4, 8]);
        assert_eq!(folded_rows(&store), 0, "a big batch folds nothing");
        // The writer's own count (its in-memory tail) agrees with the snapshot's scan.
        let in_writer = rt
            .block_on(store.writer().act(|tx: &mut dyn Batch| {
                Ok::<_, StoreError>((
                    tx.grant(&GrantId::parse("grt_q").unwrap())?.unwrap().reads,
                    tx.grant(&GrantId::parse("grt_n").unwrap())?.unwrap().reads,
                ))
            }))
            .unwrap();
        assert_eq!(in_writer, (4, 8));
        // That small batch folded the tail into grant_reads.
        assert_eq!(folded_rows(&store), 12);
        assert_eq!(counts(&store, &[&q, &n]), [4, 8]);

        // Reads after the fold, then a revocation rewriting the record: nothing is counted
        // twice, though the record is written with the whole count as read.
        read_in_one_batch(&rt, &store, &[&n, &n, &q, &n, &n, &n, &n, &n, &n]);
        assert_eq!(counts(&store, &[&q, &n]), [5, 16]);
        rt.block_on(store.writer().act(|tx: &mut dyn Batch| {
            let mut g = tx.grant(&GrantId::parse("grt_n").unwrap())?.unwrap();
            assert_eq!(g.reads, 16);
            g.revoked_at = Some(Timestamp::from_unix(1_700_000_200).unwrap());
            tx.put_grant(&g)
        }))
        .unwrap();
        assert_eq!(counts(&store, &[&q, &n]), [5, 16]);

        // A batch that fails after counting leaves no trace in the writer's tail.
        read_in_one_batch(&rt, &store, &[&q; 8]);
        let failed = rt.block_on(store.writer().act(|tx: &mut dyn Batch| {
            let g = tx.grant(&GrantId::parse("grt_q").unwrap())?.unwrap();
            tx.count_read(&g)?;
            Err::<(), _>(StoreError::Internal("fails after counting"))
        }));
        assert!(failed.is_err());
        let in_writer = rt
            .block_on(store.writer().act(|tx: &mut dyn Batch| {
                Ok::<_, StoreError>(tx.grant(&GrantId::parse("grt_q").unwrap())?.unwrap().reads)
            }))
            .unwrap();
        assert_eq!(in_writer, 13);

        // A restart folds whatever was left; the counts stand.
        read_in_one_batch(&rt, &store, &[&n; 9]);
        assert_eq!(counts(&store, &[&q, &n]), [13, 25]);
        rt.block_on(store.writer().shutdown());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(counts(&store, &[&q, &n]), [13, 25]);
        assert_eq!(folded_rows(&store), 38, "all 38 reads folded at start-up");
        rt.block_on(store.writer().shutdown());
    }

    #[test]
    fn a_file_that_counted_every_read_in_the_record_is_not_counted_twice() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let g = grant("grt_n", None);
        let store = Store::open(dir.path()).unwrap();
        rt.block_on(store.writer().act({
            let g = g.clone();
            move |tx: &mut dyn Batch| {
                tx.insert_grant(&g)?;
                for nonce in 1..=3 {
                    tx.append(&read_event(&g), [nonce; 32])?;
                }
                Ok::<_, StoreError>(())
            }
        }))
        .unwrap();
        rt.block_on(store.writer().shutdown());
        drop(store);
        // As an older build left it: the three reads counted in the record, the last two
        // above the per-party watermark, no `grant_reads`, no `reads_from`.
        {
            let db = redb::Database::open(dir.path().join(super::super::DB_FILE)).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut old = g.clone();
                old.reads = 3;
                let bytes = serde_json::to_vec(&old).unwrap();
                txn.open_table(tables::GRANTS)
                    .unwrap()
                    .insert("grt_n", bytes.as_slice())
                    .unwrap();
                txn.open_table(tables::GRANT_READS)
                    .unwrap()
                    .remove("grt_n")
                    .unwrap();
                let mut meta = txn.open_table(tables::META).unwrap();
                meta.remove(tables::READS_FROM).unwrap();
                meta.insert(tables::INDEXED_UPTO, 1).unwrap();
            }
            txn.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            counts(&store, &[&g]),
            [3],
            "after the first open by this build"
        );
        read_in_one_batch(&rt, &store, &[&g; 8]);
        assert_eq!(counts(&store, &[&g]), [11]);
        rt.block_on(store.writer().shutdown());
    }
}
