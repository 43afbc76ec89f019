//! Storage: one redb file (ACID, `Durability::Immediate`), its tables, and the group-commit
//! writer that owns every write transaction.

pub mod access;
pub mod audit;
pub mod backup;
pub mod error;
pub mod ledger_tx;
pub mod records;
pub mod tables;
pub mod writer;

pub use access::{ReadView, Reads};
pub use error::StoreError;
pub use ledger_tx::Tx;
pub use writer::Writer;

use crate::ledger::merkle::Frontier;
use redb::{Database, ReadableDatabase};
use std::path::Path;
use std::sync::Arc;

/// redb page cache.
pub const CACHE_BYTES: usize = 64 << 20;

/// The database file inside the data directory.
pub const DB_FILE: &str = "assent.redb";

/// A handle on the open database: cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: Writer,
}

impl Store {
    /// Opens (or creates) `dir/assent.redb`, creates missing tables, loads the ledger frontier
    /// from stored nodes (O(log n) reads, no replay), indexes any events the per-party indexes
    /// lack and starts the writer.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(e.to_string()))?;
        // redb's default page cache is 1 GiB; a bounded cache keeps the server's memory flat
        // (hot data — recent tree nodes, grants — fits easily).
        let db = Arc::new(
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(dir.join(DB_FILE))?,
        );
        ledger_tx::init_schema(&db)?;
        let mut frontier = {
            let rtx = db.begin_read()?;
            let view = ReadView::new(rtx);
            let size = view.ledger_size()?;
            Frontier::load(&view.nodes()?, size)?
        };
        // At most one batch plus `writer::INDEX_LAG` events, if the last run did not stop
        // cleanly: the indexes are derived from the ledger, never replayed from a log.
        writer::index_all(&db, &mut frontier)?;
        let writer = Writer::start(db.clone(), frontier)?;
        Ok(Self { db, writer })
    }

    /// A consistent snapshot for reads (never blocks the writer).
    pub fn read(&self) -> Result<ReadView, StoreError> {
        Ok(ReadView::new(self.db.begin_read()?))
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }
}
