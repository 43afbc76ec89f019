//! Reads of the ledger: its size, stored events (nonce ‖ JCS(event)), the per-party indexes
//! (`customer_events`, `org_events`, complete below the `indexed_upto` watermark), each
//! organization's key log (`org_key_events`), tree nodes and signed checkpoints. Writes go
//! through `Tx::append`, `Tx::index_parties` and `Tx::put_checkpoint` (ledger_tx.rs).

use super::StoreError;
use super::access::{Open, event_index};
use super::tables::{
    CHECKPOINTS, CUSTOMER_EVENTS, INDEXED_UPTO, LEDGER_EVENTS, LEDGER_NODES, LEDGER_SIZE, META,
    ORG_EVENTS, ORG_KEY_EVENTS,
};
use crate::domain::ids::{CustomerId, OrgId};
use crate::ledger::LedgerError;
use crate::ledger::merkle::{Hash, NodeReader};
use redb::ReadableTable;

pub trait LedgerReads {
    /// The number of events in the ledger.
    fn ledger_size(&self) -> Result<u64, StoreError>;
    /// Events below this are in the per-party indexes; those above are found by a scan.
    fn indexed_upto(&self) -> Result<u64, StoreError>;
    /// The stored form of event `index`: nonce (32 bytes) ‖ JCS(event).
    fn event(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stored events `[from, to)`, with their indexes.
    fn events_between(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Indexes of the customer's events below the watermark, in order.
    fn customer_event_indexes(&self, customer: &CustomerId) -> Result<Vec<u64>, StoreError>;
    /// Indexes of the organization's events below the watermark, in order.
    fn org_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError>;
    /// Indexes of the organization's key events (its key log; never deferred), in order.
    fn org_key_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError>;
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError>;
    /// The tree's stored nodes, for the many lookups of a root or proof (opened once).
    fn nodes(&self) -> Result<Box<dyn NodeReader + '_>, StoreError>;
    /// Up to `limit` stored nodes at levels `min_level` and up, highest levels first (to fill
    /// the node cache at start: node_cache.rs).
    fn upper_nodes(&self, min_level: u8, limit: usize) -> Result<Vec<(u8, u64, Hash)>, StoreError>;
    /// The newest signed checkpoint: (tree size, note).
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;
    /// The `limit` newest signed checkpoints, newest first.
    fn recent_checkpoints(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;
}

impl<R: Open> LedgerReads for R {
    fn ledger_size(&self) -> Result<u64, StoreError> {
        Ok(self.table(META)?.get(LEDGER_SIZE)?.map_or(0, |v| v.value()))
    }

    fn indexed_upto(&self) -> Result<u64, StoreError> {
        Ok(self
            .table(META)?
            .get(INDEXED_UPTO)?
            .map_or(0, |v| v.value()))
    }

    fn event(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .table(LEDGER_EVENTS)?
            .get(index)?
            .map(|v| v.value().to_vec()))
    }

    fn events_between(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.table(LEDGER_EVENTS)?.range(from..to)? {
            let (k, v) = item?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn customer_event_indexes(&self, customer: &CustomerId) -> Result<Vec<u64>, StoreError> {
        event_index(self, CUSTOMER_EVENTS, customer.as_str())
    }

    fn org_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError> {
        event_index(self, ORG_EVENTS, org.as_str())
    }

    fn org_key_event_indexes(&self, org: &OrgId) -> Result<Vec<u64>, StoreError> {
        event_index(self, ORG_KEY_EVENTS, org.as_str())
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        Ok(self
            .table(LEDGER_NODES)?
            .get((level, index))?
            .map(|v| v.value()))
    }

    fn nodes(&self) -> Result<Box<dyn NodeReader + '_>, StoreError> {
        Ok(Box::new(Nodes(self.table(LEDGER_NODES)?)))
    }

    fn upper_nodes(&self, min_level: u8, limit: usize) -> Result<Vec<(u8, u64, Hash)>, StoreError> {
        let table = self.table(LEDGER_NODES)?;
        let mut out = Vec::new();
        // Levels below 64 only: a node of level 64 would cover more leaves than a u64 counts.
        for level in (min_level..64).rev() {
            for item in table.range((level, 0)..=(level, u64::MAX))? {
                if out.len() >= limit {
                    return Ok(out);
                }
                let (k, v) = item?;
                out.push((level, k.value().1, v.value()));
            }
        }
        Ok(out)
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .table(CHECKPOINTS)?
            .last()?
            .map(|(k, v)| (k.value(), v.value().to_owned())))
    }

    fn recent_checkpoints(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut out = Vec::new();
        for item in self.table(CHECKPOINTS)?.iter()?.rev().take(limit) {
            let (k, v) = item?;
            out.push((k.value(), v.value().to_owned()));
        }
        Ok(out)
    }
}

/// A table of tree nodes (a snapshot's or the batch's), read by root and proof computations.
struct Nodes<T>(T);

impl<T: ReadableTable<(u8, u64), [u8; 32]>> NodeReader for Nodes<T> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.0
            .get((level, index))
            .map_err(|e| LedgerError::Store(e.to_string()))?
            .map(|v| v.value())
            .ok_or_else(|| LedgerError::Store(format!("missing tree node ({level}, {index})")))
    }
}
