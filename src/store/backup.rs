//! Online backup: a consistent copy of every table, taken from one read transaction while the
//! vault keeps serving (redb readers never block the writer), written to a new redb file.

use super::tables::*;
use super::{Store, StoreError};
use redb::{Database, Durability, Key, ReadableDatabase, ReadableTable, TableDefinition, Value};
use std::path::Path;

fn copy<K: Key + 'static, V: Value + 'static>(
    src: &redb::ReadTransaction,
    dst: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for item in from.iter()? {
        let (k, v) = item?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

impl Store {
    /// Writes a consistent copy of the whole database to `out` (which must not exist).
    /// Returns the number of records copied and the ledger size of the copy.
    pub fn backup_to(&self, out: &Path) -> Result<(u64, u64), StoreError> {
        if out.exists() {
            return Err(StoreError::Io(format!("{} already exists", out.display())));
        }
        let src = self.db.begin_read()?;
        // A copy of everything: as private as the database itself.
        super::private_file(out)?;
        let dst_db = Database::create(out)?;
        let mut dst = dst_db.begin_write()?;
        dst.set_durability(Durability::Immediate)?;
        let mut n = 0;
        n += copy(&src, &dst, META)?;
        n += copy(&src, &dst, CUSTOMERS)?;
        n += copy(&src, &dst, HANDLES)?;
        n += copy(&src, &dst, ORGS)?;
        n += copy(&src, &dst, ENVELOPES)?;
        n += copy(&src, &dst, WRAPS)?;
        n += copy(&src, &dst, REQUESTS)?;
        n += copy(&src, &dst, CUSTOMER_REQUESTS)?;
        n += copy(&src, &dst, ORG_REQUESTS)?;
        n += copy(&src, &dst, GRANTS)?;
        n += copy(&src, &dst, CUSTOMER_GRANTS)?;
        n += copy(&src, &dst, ORG_CUSTOMER_GRANTS)?;
        n += copy(&src, &dst, LEDGER_NODES)?;
        n += copy(&src, &dst, LEDGER_EVENTS)?;
        n += copy(&src, &dst, CUSTOMER_EVENTS)?;
        n += copy(&src, &dst, ORG_EVENTS)?;
        n += copy(&src, &dst, ORG_KEY_EVENTS)?;
        n += copy(&src, &dst, PARTY_SEQS)?;
        n += copy(&src, &dst, USED_JTIS)?;
        n += copy(&src, &dst, CHECKPOINTS)?;
        let size = src
            .open_table(META)?
            .get(super::tables::LEDGER_SIZE)?
            .map_or(0, |v| v.value());
        dst.commit()?;
        Ok((n, size))
    }
}
