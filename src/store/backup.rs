//! Online backup: a consistent copy of every table, taken from one read transaction while the
//! vault keeps serving (redb readers never block the writer), written to a new redb file. On
//! PostgreSQL the same file is exported from one snapshot (`pg/export.rs`).

use super::tables::{LEDGER_SIZE, META, Visit, visit_all};
use super::{Store, StoreError};
use redb::{Database, Durability, Key, ReadableDatabase, ReadableTable, TableDefinition, Value};
use std::path::Path;

/// Copies every record of each table it visits from `src` to `dst`, counting them.
struct Copy<'t> {
    src: &'t redb::ReadTransaction,
    dst: &'t redb::WriteTransaction,
    records: u64,
}

impl Visit for Copy<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let from = self.src.open_table(def)?;
        let mut to = self.dst.open_table(def)?;
        for item in from.iter()? {
            let (k, v) = item?;
            to.insert(k.value(), v.value())?;
            self.records += 1;
        }
        Ok(())
    }
}

impl Store {
    /// Writes a consistent copy of the whole database to `out` (which must not exist).
    /// Returns the number of records copied and the ledger size of the copy.
    pub fn backup_to(&self, out: &Path) -> Result<(u64, u64), StoreError> {
        if out.exists() {
            return Err(StoreError::Io(format!("{} already exists", out.display())));
        }
        let db = match &self.backend {
            super::Backend::Redb(db) => db,
            // The same file, from one snapshot of the shared database.
            super::Backend::Postgres(pg) => return pg.export_to(out),
        };
        let src = db.begin_read()?;
        // A copy of everything: as private as the database itself.
        super::private_file(out)?;
        let dst_db = Database::create(out)?;
        let mut dst = dst_db.begin_write()?;
        dst.set_durability(Durability::Immediate)?;
        let mut copied = Copy {
            src: &src,
            dst: &dst,
            records: 0,
        };
        visit_all(&mut copied)?;
        let n = copied.records;
        let size = src
            .open_table(META)?
            .get(LEDGER_SIZE)?
            .map_or(0, |v| v.value());
        dst.commit()?;
        Ok((n, size))
    }
}
