//! The write side: [`Tx`] is what a use case sees inside a group-commit batch.
//!
//! Invariant: a use case checks everything before its first write. Every write goes through a
//! `Tx` method, which counts it; if a use case fails after writing, the writer aborts the whole
//! batch rather than commit half of an act.

use super::StoreError;
use super::access::{Index2, JsonTable, impl_reads, static_name};
use super::tables::{self, CUSTOMER_EVENTS, LEDGER_EVENTS, LEDGER_NODES, META, ORG_EVENTS};
use crate::ledger::merkle::{self, Frontier};
use crate::ledger::{Event, leaf_commitment};
use redb::{Database, Key, TableDefinition, WriteTransaction};
use serde::Serialize;

/// Where an appended event landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub index: u64,
    /// The leaf commitment `SHA-256("assent/v1/leaf" ‖ nonce ‖ JCS(event))`.
    pub leaf: [u8; 32],
}

pub struct Tx<'a> {
    txn: &'a WriteTransaction,
    frontier: &'a mut Frontier,
    writes: u64,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(txn: &'a WriteTransaction, frontier: &'a mut Frontier) -> Self {
        Self {
            txn,
            frontier,
            writes: 0,
        }
    }

    pub(crate) fn writes(&self) -> u64 {
        self.writes
    }

    fn open<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<redb::Table<'a, K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }

    pub fn put_json<K: Key + 'static, T: Serialize>(
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

    pub fn remove_json<K: Key + 'static>(
        &mut self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
    ) -> Result<bool, StoreError> {
        self.writes += 1;
        Ok(self.open(def)?.remove(key)?.is_some())
    }

    pub fn put_str(
        &mut self,
        def: TableDefinition<'static, &'static str, &'static str>,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.writes += 1;
        self.open(def)?.insert(key, value)?;
        Ok(())
    }

    pub fn put_index2(&mut self, def: Index2, a: &str, b: &str) -> Result<(), StoreError> {
        self.writes += 1;
        self.open(def)?.insert((a, b), ())?;
        Ok(())
    }

    /// Removes every `(first, _)` key of a two-part table; returns how many went.
    pub fn remove_prefix(
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

    /// Appends `event` to the ledger in this transaction: its nonce and canonical bytes, the new
    /// RFC 9162 tree nodes it completes, and the per-party indexes.
    pub fn append(&mut self, event: &Event, nonce: [u8; 32]) -> Result<Appended, StoreError> {
        let canonical = event.canonical()?;
        let leaf = leaf_commitment(&nonce, &canonical);
        let index = self.frontier.size();
        self.writes += 1;
        {
            let mut nodes = self.open(LEDGER_NODES)?;
            for (level, i, hash) in self.frontier.push(merkle::leaf_hash(&leaf)) {
                nodes.insert((level, i), hash)?;
            }
        }
        let mut stored = Vec::with_capacity(32 + canonical.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&canonical);
        self.open(LEDGER_EVENTS)?.insert(index, stored.as_slice())?;
        if let Some(c) = event.customer() {
            self.open(CUSTOMER_EVENTS)?
                .insert((c.as_str(), index), ())?;
        }
        if let Some(o) = event.org() {
            self.open(ORG_EVENTS)?.insert((o.as_str(), index), ())?;
        }
        self.open(META)?
            .insert("ledger_size", self.frontier.size())?;
        Ok(Appended { index, leaf })
    }
}

impl_reads!(Tx<'_>);

/// Creates every table (so read snapshots never miss one) and stamps the schema version.
pub(crate) fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        use redb::ReadableTable;
        let version = meta.get("schema_version")?.map(|v| v.value());
        match version {
            None => {
                meta.insert("schema_version", tables::SCHEMA_VERSION)?;
            }
            Some(v) if v == tables::SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StoreError::Db(format!(
                    "schema version {v} is not supported by this build (expects {})",
                    tables::SCHEMA_VERSION
                )));
            }
        }
    }
    txn.open_table(tables::CUSTOMERS)?;
    txn.open_table(tables::HANDLES)?;
    txn.open_table(tables::ORGS)?;
    txn.open_table(tables::ENVELOPES)?;
    txn.open_table(tables::WRAPS)?;
    txn.open_table(tables::REQUESTS)?;
    txn.open_table(tables::CUSTOMER_REQUESTS)?;
    txn.open_table(tables::ORG_REQUESTS)?;
    txn.open_table(tables::GRANTS)?;
    txn.open_table(tables::CUSTOMER_GRANTS)?;
    txn.open_table(tables::ORG_CUSTOMER_GRANTS)?;
    txn.open_table(LEDGER_NODES)?;
    txn.open_table(LEDGER_EVENTS)?;
    txn.open_table(CUSTOMER_EVENTS)?;
    txn.open_table(ORG_EVENTS)?;
    txn.open_table(tables::USED_JTIS)?;
    txn.open_table(tables::CHECKPOINTS)?;
    txn.commit()?;
    Ok(())
}
