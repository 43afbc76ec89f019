//! Typed reads shared by read snapshots ([`ReadView`]) and write transactions ([`super::Tx`]).

use super::StoreError;
use crate::ledger::LedgerError;
use crate::ledger::merkle::{Hash, NodeReader};
use redb::{Key, ReadTransaction, TableDefinition};
use serde::de::DeserializeOwned;

pub type JsonTable<K> = TableDefinition<'static, K, &'static [u8]>;
pub type Index2 = TableDefinition<'static, (&'static str, &'static str), ()>;
pub type EventIndex = TableDefinition<'static, (&'static str, u64), ()>;

pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// Reads available in any transaction.
pub trait Reads {
    fn get_json<K: Key + 'static, T: DeserializeOwned>(
        &self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
    ) -> Result<Option<T>, StoreError>;
    /// Values of every `(first, _)` key of a two-part JSON table, in key order.
    fn list_json2<T: DeserializeOwned>(
        &self,
        def: JsonTable<(&'static str, &'static str)>,
        first: &str,
    ) -> Result<Vec<T>, StoreError>;
    /// The stored bytes of a JSON record, undecoded.
    fn get_raw<K: Key + 'static>(
        &self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// True when the record under `key` is stored and is exactly `expected`.
    fn holds<K: Key + 'static>(
        &self,
        def: JsonTable<K>,
        key: K::SelfType<'_>,
        expected: &[u8],
    ) -> Result<bool, StoreError>;
    fn get_str(
        &self,
        def: TableDefinition<'static, &'static str, &'static str>,
        key: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Second components of every `(first, _)` key, in order.
    fn index2(&self, def: Index2, first: &str) -> Result<Vec<String>, StoreError>;
    /// Leaf indexes of every `(first, _)` key, in order.
    fn event_index(&self, def: EventIndex, first: &str) -> Result<Vec<u64>, StoreError>;
    fn get_bytes_u64(
        &self,
        def: TableDefinition<'static, u64, &'static [u8]>,
        key: u64,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stored ledger records `[from, to)`, with their leaf indexes.
    fn events_between(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    fn meta(&self, key: &str) -> Result<u64, StoreError>;
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError>;
    /// The newest signed checkpoint: (tree size, note).
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;

    fn ledger_size(&self) -> Result<u64, StoreError> {
        self.meta(super::tables::LEDGER_SIZE)
    }
}

/// Implements [`Reads`] for a type whose `open` method opens a table as a `ReadableTable`.
macro_rules! impl_reads {
    ($ty:ty) => {
        impl $crate::store::access::Reads for $ty {
            fn get_json<K: redb::Key + 'static, T: serde::de::DeserializeOwned>(
                &self,
                def: $crate::store::access::JsonTable<K>,
                key: K::SelfType<'_>,
            ) -> Result<Option<T>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::{ReadableTable, TableHandle};
                let table = self.open(def)?;
                match table.get(key)? {
                    Some(v) => $crate::store::access::decode(
                        $crate::store::access::static_name(def.name()),
                        v.value(),
                    )
                    .map(Some),
                    None => Ok(None),
                }
            }

            fn get_raw<K: redb::Key + 'static>(
                &self,
                def: $crate::store::access::JsonTable<K>,
                key: K::SelfType<'_>,
            ) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                Ok(table.get(key)?.map(|v| v.value().to_vec()))
            }

            fn holds<K: redb::Key + 'static>(
                &self,
                def: $crate::store::access::JsonTable<K>,
                key: K::SelfType<'_>,
                expected: &[u8],
            ) -> Result<bool, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                Ok(table.get(key)?.is_some_and(|v| v.value() == expected))
            }

            fn list_json2<T: serde::de::DeserializeOwned>(
                &self,
                def: $crate::store::access::JsonTable<(&'static str, &'static str)>,
                first: &str,
            ) -> Result<Vec<T>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::{ReadableTable, TableHandle};
                let table = self.open(def)?;
                let mut out = Vec::new();
                for item in table.range((first, "")..)? {
                    let (k, v) = item?;
                    if k.value().0 != first {
                        break;
                    }
                    out.push($crate::store::access::decode(
                        $crate::store::access::static_name(def.name()),
                        v.value(),
                    )?);
                }
                Ok(out)
            }

            fn get_str(
                &self,
                def: redb::TableDefinition<'static, &'static str, &'static str>,
                key: &str,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                Ok(table.get(key)?.map(|v| v.value().to_owned()))
            }

            fn index2(
                &self,
                def: $crate::store::access::Index2,
                first: &str,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                let mut out = Vec::new();
                for item in table.range((first, "")..)? {
                    let (k, _) = item?;
                    let (a, b) = k.value();
                    if a != first {
                        break;
                    }
                    out.push(b.to_owned());
                }
                Ok(out)
            }

            fn event_index(
                &self,
                def: $crate::store::access::EventIndex,
                first: &str,
            ) -> Result<Vec<u64>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                let mut out = Vec::new();
                for item in table.range((first, 0u64)..=(first, u64::MAX))? {
                    let (k, _) = item?;
                    out.push(k.value().1);
                }
                Ok(out)
            }

            fn get_bytes_u64(
                &self,
                def: redb::TableDefinition<'static, u64, &'static [u8]>,
                key: u64,
            ) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open(def)?;
                Ok(table.get(key)?.map(|v| v.value().to_vec()))
            }

            fn events_between(
                &self,
                from: u64,
                to: u64,
            ) -> Result<Vec<(u64, Vec<u8>)>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open($crate::store::tables::LEDGER_EVENTS)?;
                let mut out = Vec::new();
                for item in table.range(from..to)? {
                    let (k, v) = item?;
                    out.push((k.value(), v.value().to_vec()));
                }
                Ok(out)
            }

            fn meta(&self, key: &str) -> Result<u64, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open($crate::store::tables::META)?;
                Ok(table.get(key)?.map_or(0, |v| v.value()))
            }

            fn latest_checkpoint(
                &self,
            ) -> Result<Option<(u64, String)>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open($crate::store::tables::CHECKPOINTS)?;
                Ok(table
                    .last()?
                    .map(|(k, v)| (k.value(), v.value().to_owned())))
            }

            fn node(
                &self,
                level: u8,
                index: u64,
            ) -> Result<Option<[u8; 32]>, $crate::store::StoreError> {
                #[allow(unused_imports)]
                use redb::ReadableTable;
                let table = self.open($crate::store::tables::LEDGER_NODES)?;
                Ok(table.get((level, index))?.map(|v| v.value()))
            }
        }
    };
}
pub(crate) use impl_reads;

/// Table names are `'static` in every definition of this crate; this recovers that for errors.
pub(crate) fn static_name(name: &str) -> &'static str {
    super::tables::ALL
        .iter()
        .copied()
        .find(|n| *n == name)
        .unwrap_or("unknown")
}

/// A consistent read snapshot.
pub struct ReadView {
    rtx: ReadTransaction,
}

impl ReadView {
    pub(crate) fn new(rtx: ReadTransaction) -> Self {
        Self { rtx }
    }

    fn open<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<redb::ReadOnlyTable<K, V>, StoreError> {
        Ok(self.rtx.open_table(def)?)
    }
}

impl_reads!(ReadView);

impl ReadView {
    /// Every grant (a full scan; for metrics and audits, not request paths).
    pub fn all_grants(&self) -> Result<Vec<crate::domain::grant::Grant>, StoreError> {
        use redb::ReadableTable;
        let table = self.open(super::tables::GRANTS)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (_, v) = item?;
            out.push(decode("grants", v.value())?);
        }
        Ok(out)
    }
}

/// The tree-node table of a snapshot, opened once for the many lookups of a root or proof
/// (opening a table looks it up in redb's table tree each time).
pub struct NodeTable(redb::ReadOnlyTable<(u8, u64), [u8; 32]>);

impl ReadView {
    pub fn nodes(&self) -> Result<NodeTable, StoreError> {
        Ok(NodeTable(self.open(super::tables::LEDGER_NODES)?))
    }
}

impl NodeReader for NodeTable {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.0
            .get((level, index))
            .map_err(|e| LedgerError::Store(e.to_string()))?
            .map(|v| v.value())
            .ok_or_else(|| LedgerError::Store(format!("missing tree node ({level}, {index})")))
    }
}
