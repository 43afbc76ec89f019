//! The write side: [`Tx`] is what a use case sees inside a group-commit batch.
//!
//! Invariant: a use case checks everything before its first write. Every write goes through a
//! `Tx` method, which counts it; if a use case fails after writing, the writer aborts the whole
//! batch rather than commit half of an act.

use super::StoreError;
use super::access::{Index2, JsonTable, Open};
use super::read_counts::TailReads;
use super::tables::{
    self, CUSTOMER_EVENTS, GRANT_READS, LEDGER_EVENTS, LEDGER_NODES, META, ORG_EVENTS,
    ORG_KEY_EVENTS, PARTY_SEQS, static_name,
};
use crate::ledger::merkle::{self, Frontier};
use crate::ledger::{Event, Prepared, Sequenced};
use redb::{Database, Key, TableDefinition, WriteTransaction};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// Where an appended event landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub index: u64,
    /// The leaf commitment `SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event))`.
    pub leaf: [u8; 32],
}

/// The tables every append writes, opened once per batch rather than once per append (opening
/// a redb table looks it up in the table tree, and closing it writes its root back).
struct LedgerTables<'a> {
    nodes: redb::Table<'a, (u8, u64), [u8; 32]>,
    events: redb::Table<'a, u64, &'static [u8]>,
    customer_events: redb::Table<'a, (&'static str, u64), ()>,
    org_events: redb::Table<'a, (&'static str, u64), ()>,
    org_key_events: redb::Table<'a, (&'static str, u64), ()>,
    seqs: redb::Table<'a, &'static str, u64>,
    meta: redb::Table<'a, &'static str, u64>,
    grant_reads: redb::Table<'a, &'static str, u64>,
}

/// The tables a read's re-check compares (invariant 12), opened once per batch.
struct RecheckTables<'a> {
    grants: redb::Table<'a, &'static str, &'static [u8]>,
    envelopes: redb::Table<'a, (&'static str, &'static str), &'static [u8]>,
    wraps: redb::Table<'a, (&'static str, &'static str), &'static [u8]>,
}

/// The next sequence number of `party` (1 for its first event), stored as it is handed out.
fn next_seq(seqs: &mut redb::Table<'_, &'static str, u64>, party: &str) -> Result<u64, StoreError> {
    use redb::ReadableTable;
    let next = seqs.get(party)?.map_or(0, |v| v.value()) + 1;
    seqs.insert(party, next)?;
    Ok(next)
}

pub struct Tx<'a> {
    txn: &'a WriteTransaction,
    frontier: &'a mut Frontier,
    writes: u64,
    /// Invariant: while `Some`, its tables are open; [`Tx::open`] closes them before opening
    /// any of them another way, so redb never sees a table opened twice.
    ledger: RefCell<Option<LedgerTables<'a>>>,
    /// Invariant: while `Some`, its tables are open; [`Tx::open`] closes them as it does
    /// `ledger`.
    recheck: RefCell<Option<RecheckTables<'a>>>,
    /// The leaves appended in this transaction, in order.
    leaves: Vec<[u8; 32]>,
    /// The committed tail of the read counts (read_counts.rs); superseded once `folded`.
    tail: &'a TailReads,
    /// Reads counted in this transaction since its last fold, by grant id.
    batch_reads: HashMap<String, u64>,
    /// True once this transaction folded the tail into `grant_reads`.
    folded: bool,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(
        txn: &'a WriteTransaction,
        frontier: &'a mut Frontier,
        tail: &'a TailReads,
    ) -> Self {
        Self {
            txn,
            frontier,
            writes: 0,
            ledger: RefCell::new(None),
            recheck: RefCell::new(None),
            leaves: Vec::new(),
            tail,
            batch_reads: HashMap::new(),
            folded: false,
        }
    }

    /// What the committed tail of the read counts becomes if this transaction commits: whether
    /// it folded, and the reads it counted since (for [`TailReads::settle`]).
    pub(crate) fn take_reads(&mut self) -> (bool, HashMap<String, u64>) {
        (self.folded, std::mem::take(&mut self.batch_reads))
    }

    /// Counts a read of `grant` logged in this transaction (a write: invariant 3).
    pub(super) fn count_tail_read(&mut self, grant: &str) {
        self.writes += 1;
        *self.batch_reads.entry(grant.to_owned()).or_default() += 1;
    }

    /// The leaves this transaction appended, in order (the batch a receipt covers).
    pub(crate) fn take_leaves(&mut self) -> Vec<[u8; 32]> {
        std::mem::take(&mut self.leaves)
    }

    pub(crate) fn writes(&self) -> u64 {
        self.writes
    }

    fn open<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<redb::Table<'a, K, V>, StoreError> {
        use redb::TableHandle;
        // `tables::LEDGER` names exactly the tables `LedgerTables` holds.
        if tables::LEDGER.contains(&def.name()) {
            self.ledger.borrow_mut().take();
        }
        if [
            tables::GRANTS.name(),
            tables::ENVELOPES.name(),
            tables::WRAPS.name(),
        ]
        .contains(&def.name())
        {
            self.recheck.borrow_mut().take();
        }
        Ok(self.txn.open_table(def)?)
    }

    fn ledger_tables(&self) -> Result<std::cell::RefMut<'_, LedgerTables<'a>>, StoreError> {
        let mut slot = self.ledger.borrow_mut();
        if slot.is_none() {
            *slot = Some(LedgerTables {
                nodes: self.txn.open_table(LEDGER_NODES)?,
                events: self.txn.open_table(LEDGER_EVENTS)?,
                customer_events: self.txn.open_table(CUSTOMER_EVENTS)?,
                org_events: self.txn.open_table(ORG_EVENTS)?,
                org_key_events: self.txn.open_table(ORG_KEY_EVENTS)?,
                seqs: self.txn.open_table(PARTY_SEQS)?,
                meta: self.txn.open_table(META)?,
                grant_reads: self.txn.open_table(GRANT_READS)?,
            });
        }
        std::cell::RefMut::filter_map(slot, Option::as_mut)
            .map_err(|_| StoreError::Internal("ledger tables unavailable"))
    }

    pub(super) fn put_json<K: Key + 'static, T: Serialize>(
        &mut self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
        value: &T,
    ) -> Result<(), StoreError> {
        use redb::TableHandle;
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            table: static_name(def.name()),
            detail: e.to_string(),
        })?;
        self.writes += 1;
        self.open(def)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub(super) fn remove_json<K: Key + 'static>(
        &mut self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
    ) -> Result<bool, StoreError> {
        self.writes += 1;
        Ok(self.open(def)?.remove(key)?.is_some())
    }

    pub(super) fn put_str(
        &mut self,
        def: TableDefinition<'static, &'static str, &'static str>,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.writes += 1;
        self.open(def)?.insert(key, value)?;
        Ok(())
    }

    pub(super) fn put_index2(&mut self, def: Index2, a: &str, b: &str) -> Result<(), StoreError> {
        self.writes += 1;
        self.open(def)?.insert((a, b), ())?;
        Ok(())
    }

    /// Removes every `(first, _)` key of a two-part table; returns how many went.
    pub(super) fn remove_prefix(
        &mut self,
        def: JsonTable<(&'static str, &'static str)>,
        first: &str,
    ) -> Result<u64, StoreError> {
        self.writes += 1;
        let mut table = self.open(def)?;
        let mut removed = 0;
        table.retain_in((first, "")..=(first, "\u{10FFFF}"), |(a, _), _| {
            if a == first {
                removed += 1;
                false
            } else {
                true
            }
        })?;
        Ok(removed)
    }

    /// A table opened for writing; counts as a write (invariant 3).
    pub(super) fn table_mut<K: Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<redb::Table<'a, K, V>, StoreError> {
        self.writes += 1;
        self.open(def)
    }

    /// Records a used client-assertion `jti` until `exp`; false if it was already used.
    pub fn use_jti(&mut self, key: &str, exp: i64, now: i64) -> Result<bool, StoreError> {
        use redb::ReadableTable;
        let mut table = self.open(tables::USED_JTIS)?;
        if table.get(key)?.is_some_and(|e| e.value() >= now) {
            return Ok(false);
        }
        self.writes += 1;
        table.insert(key, exp)?;
        Ok(true)
    }

    /// Stores a signed checkpoint for tree size `size`.
    pub fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        self.writes += 1;
        self.open(tables::CHECKPOINTS)?.insert(size, note)?;
        Ok(())
    }

    /// Appends `event` to the ledger in this transaction: it takes the next sequence number of
    /// each party it concerns (the counters live in the database, in this transaction), and
    /// stores its nonce and canonical bytes and the new RFC 9162 tree nodes it completes. An
    /// organization's key event is also listed in `org_key_events`. The per-party indexes
    /// follow in [`Tx::index_parties`].
    pub fn append(&mut self, event: &Event, nonce: [u8; 32]) -> Result<Appended, StoreError> {
        let index = self.frontier.size();
        self.writes += 1;
        let prepared = {
            let mut t = self.ledger_tables()?;
            let customer_seq = match event.customer() {
                Some(c) => Some(next_seq(&mut t.seqs, c.as_str())?),
                None => None,
            };
            let org_seq = match event.org() {
                Some(o) => Some(next_seq(&mut t.seqs, o.as_str())?),
                None => None,
            };
            if event.is_org_key_event()
                && let Some(org) = event.org()
            {
                t.org_key_events.insert((org.as_str(), index), ())?;
            }
            Prepared::new(
                &Sequenced {
                    event: event.clone(),
                    customer_seq,
                    org_seq,
                },
                nonce,
            )?
        };
        let new_nodes = self.frontier.push(merkle::leaf_hash(&prepared.leaf));
        let size = self.frontier.size();
        let mut t = self.ledger_tables()?;
        for (level, i, hash) in new_nodes {
            t.nodes.insert((level, i), hash)?;
        }
        t.events.insert(index, prepared.stored().as_slice())?;
        t.meta.insert(tables::LEDGER_SIZE, size)?;
        drop(t);
        self.leaves.push(prepared.leaf);
        Ok(Appended {
            index,
            leaf: prepared.leaf,
        })
    }

    /// Events appended but not yet in the per-party indexes.
    pub fn index_lag(&self) -> Result<u64, StoreError> {
        use redb::ReadableTable;
        let t = self.ledger_tables()?;
        let upto = t.meta.get(tables::INDEXED_UPTO)?.map_or(0, |v| v.value());
        Ok(self.frontier.size().saturating_sub(upto))
    }

    /// Lists every event from the [`tables::INDEXED_UPTO`] watermark to the end of the ledger
    /// under its customer and its organization, then moves the watermark to the end.
    ///
    /// Invariant: the indexes hold exactly the events below the watermark; readers find the
    /// ones above it by scanning `ledger_events` (at most [`super::writer::INDEX_LAG`] of them
    /// plus one batch). Deferring this turns one random index page per party per event into a
    /// sorted bulk insert, and it is derived data: a crash loses nothing, since
    /// [`super::Store::open`] indexes the tail again.
    pub fn index_parties(&mut self) -> Result<u64, StoreError> {
        use redb::ReadableTable;
        let size = self.frontier.size();
        let mut guard = self.ledger_tables()?;
        let t = &mut *guard;
        let from = t.meta.get(tables::INDEXED_UPTO)?.map_or(0, |v| v.value());
        if from >= size {
            return Ok(0);
        }
        let reads_from = super::read_counts::reads_from(&t.meta)?;
        let mut customers = Vec::new();
        let mut orgs = Vec::new();
        let mut reads: HashMap<String, u64> = HashMap::new();
        for item in t.events.range(from..size)? {
            let (k, v) = item?;
            let index = k.value();
            let event = crate::ledger::event::parse_stored(v.value())?.event;
            if let Some(c) = event.customer() {
                customers.push((c.to_string(), index));
            }
            if let Some(o) = event.org() {
                orgs.push((o.to_string(), index));
            }
            if let Event::Read { grant_id, .. } = &event
                && index >= reads_from
            {
                *reads.entry(grant_id.to_string()).or_default() += 1;
            }
        }
        let mut reads: Vec<(String, u64)> = reads.into_iter().collect();
        reads.sort_unstable();
        for (g, n) in &reads {
            let before = t.grant_reads.get(g.as_str())?.map_or(0, |v| v.value());
            t.grant_reads.insert(g.as_str(), before + n)?;
        }

        customers.sort_unstable();
        orgs.sort_unstable();
        for (c, i) in &customers {
            t.customer_events.insert((c.as_str(), *i), ())?;
        }
        for (o, i) in &orgs {
            t.org_events.insert((o.as_str(), *i), ())?;
        }
        t.meta.insert(tables::INDEXED_UPTO, size)?;
        drop(guard);
        // Every read so far is folded: the tail starts empty.
        self.folded = true;
        self.batch_reads.clear();
        self.writes += 1;
        Ok(size - from)
    }
}

impl<'a> Open for Tx<'a> {
    type Table<K: Key + 'static, V: redb::Value + 'static> = redb::Table<'a, K, V>;
    fn table<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError> {
        self.open(def)
    }

    fn holds_record(
        &self,
        record: super::access::Rechecked<'_>,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        use super::access::Rechecked;
        use redb::ReadableTable;
        let mut slot = self.recheck.borrow_mut();
        if slot.is_none() {
            *slot = Some(RecheckTables {
                grants: self.txn.open_table(tables::GRANTS)?,
                envelopes: self.txn.open_table(tables::ENVELOPES)?,
                wraps: self.txn.open_table(tables::WRAPS)?,
            });
        }
        let Some(t) = slot.as_ref() else {
            return Err(StoreError::Internal("re-check tables unavailable"));
        };
        let stored = match record {
            Rechecked::Grant(id) => t.grants.get(id)?,
            Rechecked::Envelope(customer, label) => t.envelopes.get((customer, label))?,
            Rechecked::Wrap(grant, label) => t.wraps.get((grant, label))?,
        };
        Ok(stored.is_some_and(|v| v.value() == expected))
    }

    /// The folded reads as this transaction left them, plus the tail the writer keeps in
    /// memory (none once this transaction folded) and this transaction's own.
    fn derived_reads(&self, ids: &[&str]) -> Result<Vec<u64>, StoreError> {
        use redb::ReadableTable;
        let t = self.ledger_tables()?;
        ids.iter()
            .map(|id| {
                let folded = t.grant_reads.get(*id)?.map_or(0, |v| v.value());
                let tail = if self.folded { 0 } else { self.tail.get(id) };
                Ok(folded + tail + self.batch_reads.get(*id).copied().unwrap_or(0))
            })
            .collect()
    }
}

/// Creates every table (so read snapshots never miss one) and stamps the schema version.
pub(crate) fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        use redb::ReadableTable;
        let version = meta.get(tables::SCHEMA_VERSION_KEY)?.map(|v| v.value());
        match version {
            None => {
                meta.insert(tables::SCHEMA_VERSION_KEY, tables::SCHEMA_VERSION)?;
            }
            Some(v) if v == tables::SCHEMA_VERSION => {}
            Some(v) if v < tables::SCHEMA_VERSION => {
                return Err(StoreError::Schema(format!(
                    "this database has schema version {v}, written by an older Assent (wire v1); \
                     this build reads only schema version {} (wire v2) and does not convert old \
                     data: move the data directory aside and start a new vault",
                    tables::SCHEMA_VERSION
                )));
            }
            Some(v) => {
                return Err(StoreError::Schema(format!(
                    "schema version {v} is newer than this build supports (expects {})",
                    tables::SCHEMA_VERSION
                )));
            }
        }
        let size = meta.get(tables::LEDGER_SIZE)?.map_or(0, |v| v.value());
        // Ledgers written before indexing was deferred indexed every event as it was appended.
        if meta.get(tables::INDEXED_UPTO)?.is_none() {
            meta.insert(tables::INDEXED_UPTO, size)?;
        }
        // Files written before read counts were derived counted every read in the grant
        // record: the derived part starts after them (read_counts.rs).
        if meta.get(tables::READS_FROM)?.is_none() {
            meta.insert(tables::READS_FROM, size)?;
        }
    }
    // Every declared table, so read snapshots never miss one.
    struct Create<'t>(&'t redb::WriteTransaction);
    impl tables::Visit for Create<'_> {
        fn table<K: Key + 'static, V: redb::Value + 'static>(
            &mut self,
            def: TableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            self.0.open_table(def)?;
            Ok(())
        }
    }
    tables::visit_all(&mut Create(&txn))?;
    txn.commit()?;
    Ok(())
}
