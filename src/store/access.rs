//! redb access shared by read snapshots ([`ReadView`]) and the batch's write transaction
//! ([`super::Tx`]): [`Open`] opens a table for reading, and the helpers below read JSON
//! records, two-part indexes and event indexes from it. They are visible only inside `store`:
//! the aggregate modules (customers.rs, grants.rs, …) call them, nothing outside decodes a
//! record.

use super::StoreError;
use super::tables::static_name;
use redb::{Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value};
use serde::de::DeserializeOwned;

pub type JsonTable<K> = TableDefinition<'static, K, &'static [u8]>;
pub type Index2 = TableDefinition<'static, (&'static str, &'static str), ()>;
pub type EventIndex = TableDefinition<'static, (&'static str, u64), ()>;

/// A redb transaction whose tables can be read: a snapshot or the writer's transaction.
pub(super) trait Open {
    type Table<K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError>;

    /// The derived part of each grant's read count, in the order of `ids`: the folded reads
    /// and the tail (read_counts.rs). A snapshot scans its tail; the writer's transaction
    /// knows its own.
    fn derived_reads(&self, ids: &[&str]) -> Result<Vec<u64>, StoreError>
    where
        Self: Sized,
    {
        let folded = super::read_counts::folded(self, ids)?;
        let tail = super::read_counts::scan_tail(self, ids)?;
        Ok(folded.iter().zip(tail).map(|(f, t)| f + t).collect())
    }

    /// True when `record` is stored and is exactly `expected` (a read's re-check: invariant
    /// 12). The writer's transaction keeps the three tables open for the whole batch.
    fn holds_record(&self, record: Rechecked<'_>, expected: &[u8]) -> Result<bool, StoreError>
    where
        Self: Sized,
    {
        use super::tables::{ENVELOPES, GRANTS, WRAPS};
        match record {
            Rechecked::Grant(id) => holds(self, GRANTS, id, expected),
            Rechecked::Envelope(customer, label) => {
                holds(self, ENVELOPES, (customer, label), expected)
            }
            Rechecked::Wrap(grant, label) => holds(self, WRAPS, (grant, label), expected),
        }
    }
}

/// A record a read planned on, by key: the grant (`grants`), the envelope (customer, label)
/// and the grant's wrap (grant, label).
#[derive(Clone, Copy)]
pub(super) enum Rechecked<'k> {
    Grant(&'k str),
    Envelope(&'k str, &'k str),
    Wrap(&'k str, &'k str),
}

pub(super) fn decode<'de, T: serde::Deserialize<'de>>(
    table: &'static str,
    bytes: &'de [u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// Parses an id stored as text (an index key or value).
pub(super) fn stored_id<T>(
    table: &'static str,
    s: &str,
    parse: impl Fn(&str) -> Result<T, crate::domain::DomainError>,
) -> Result<T, StoreError> {
    parse(s).map_err(|e| StoreError::Corrupt {
        table,
        detail: format!("{s}: {e}"),
    })
}

pub(super) fn get_json<R: Open + ?Sized, K: Key + 'static, T: DeserializeOwned>(
    r: &R,
    def: JsonTable<K>,
    key: K::SelfType<'_>,
) -> Result<Option<T>, StoreError> {
    match r.table(def)?.get(key)? {
        Some(v) => decode(static_name(def.name()), v.value()).map(Some),
        None => Ok(None),
    }
}

/// The stored bytes of a JSON record, undecoded.
pub(super) fn get_raw<R: Open + ?Sized, K: Key + 'static>(
    r: &R,
    def: JsonTable<K>,
    key: K::SelfType<'_>,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(r.table(def)?.get(key)?.map(|v| v.value().to_vec()))
}

/// True when the record under `key` is stored and is exactly `expected`.
fn holds<R: Open + ?Sized, K: Key + 'static>(
    r: &R,
    def: JsonTable<K>,
    key: K::SelfType<'_>,
    expected: &[u8],
) -> Result<bool, StoreError> {
    Ok(r.table(def)?
        .get(key)?
        .is_some_and(|v| v.value() == expected))
}

/// Values of every `(first, _)` key of a two-part JSON table, in key order.
pub(super) fn list_json2<R: Open + ?Sized, T: DeserializeOwned>(
    r: &R,
    def: JsonTable<(&'static str, &'static str)>,
    first: &str,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for item in r.table(def)?.range((first, "")..)? {
        let (k, v) = item?;
        if k.value().0 != first {
            break;
        }
        out.push(decode(static_name(def.name()), v.value())?);
    }
    Ok(out)
}

/// Second components of every `(first, _)` key, in order.
pub(super) fn index2<R: Open + ?Sized>(
    r: &R,
    def: Index2,
    first: &str,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for item in r.table(def)?.range((first, "")..)? {
        let (k, _) = item?;
        let (a, b) = k.value();
        if a != first {
            break;
        }
        out.push(b.to_owned());
    }
    Ok(out)
}

/// Leaf indexes of every `(first, _)` key, in order.
pub(super) fn event_index<R: Open + ?Sized>(
    r: &R,
    def: EventIndex,
    first: &str,
) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::new();
    for item in r.table(def)?.range((first, 0u64)..=(first, u64::MAX))? {
        out.push(item?.0.value().1);
    }
    Ok(out)
}

/// Every value of a JSON table (a full scan).
pub(super) fn all_json<R: Open + ?Sized, K: Key + 'static, T: DeserializeOwned>(
    r: &R,
    def: JsonTable<K>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for item in r.table(def)?.iter()? {
        out.push(decode(static_name(def.name()), item?.1.value())?);
    }
    Ok(out)
}

/// A consistent read snapshot.
pub struct ReadView {
    rtx: ReadTransaction,
}

impl ReadView {
    pub(crate) fn new(rtx: ReadTransaction) -> Self {
        Self { rtx }
    }
}

impl Open for ReadView {
    type Table<K: Key + 'static, V: Value + 'static> = redb::ReadOnlyTable<K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError> {
        Ok(self.rtx.open_table(def)?)
    }
}
