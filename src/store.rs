//! Storage: one redb file (ACID, `Durability::Immediate`) by default, or a PostgreSQL database
//! shared by several nodes (`pg`), and the group-commit writer that owns every write
//! transaction.
//!
//! The store owns its layout. Use cases see typed reads and writes per aggregate
//! (`CustomerReads`/`CustomerWrites` in customers.rs, and orgs, envelopes, grants, requests,
//! ledger reads), implemented for every reader — a [`ReadView`] snapshot and the writer's
//! [`Tx`] — and never a table, a key layout or an encoding. Those traits are the boundary a
//! second backend implements.

pub mod access;
pub mod audit;
mod audit_erasure;
mod audit_links;
mod audit_records;
mod audit_webhooks;
pub mod backup;
pub mod batch;
pub mod customers;
pub mod envelopes;
pub mod erasures;
pub mod error;
pub mod grants;
pub mod ledger_reads;
pub mod ledger_tx;
pub mod node_cache;
pub mod orgs;
pub mod pg;
pub mod pinned;
mod read_counts;
pub mod records;
pub mod requests;
pub mod tables;
pub mod webhooks;
pub mod writer;

pub use access::ReadView;
pub use batch::Batch;
pub use error::StoreError;
pub use ledger_tx::Tx;
pub use pinned::Pinned;
pub use writer::Writer;

/// The typed reads and writes of every aggregate, for `use crate::store::prelude::*`.
pub mod prelude {
    pub use super::customers::{CustomerReads, CustomerWrites};
    pub use super::envelopes::{EnvelopeReads, EnvelopeWrites};
    pub use super::erasures::{ErasureReads, ErasureWrites};
    pub use super::grants::{GrantReads, GrantWrites, ReadRecheck};
    pub use super::ledger_reads::LedgerReads;
    pub use super::orgs::{OrgReads, OrgWrites};
    pub use super::requests::{RequestReads, RequestWrites};
    pub use super::webhooks::{WebhookReads, WebhookWrites};
    pub use super::{Batch, Reads};
}

/// Every typed read: what a use case may ask of a snapshot or of the batch it runs in.
pub trait Reads:
    customers::CustomerReads
    + orgs::OrgReads
    + envelopes::EnvelopeReads
    + grants::GrantReads
    + grants::ReadRecheck
    + requests::RequestReads
    + webhooks::WebhookReads
    + erasures::ErasureReads
    + ledger_reads::LedgerReads
{
}

impl<R> Reads for R where
    R: customers::CustomerReads
        + orgs::OrgReads
        + envelopes::EnvelopeReads
        + grants::GrantReads
        + grants::ReadRecheck
        + requests::RequestReads
        + webhooks::WebhookReads
        + erasures::ErasureReads
        + ledger_reads::LedgerReads
{
}

use crate::ledger::merkle::Frontier;
use redb::{Database, ReadableDatabase};
use std::path::Path;
use std::sync::Arc;

/// redb page cache.
pub const CACHE_BYTES: usize = 40 << 20;

/// The database file inside the data directory.
pub const DB_FILE: &str = "assent.redb";

/// A consistent read snapshot, whichever backend holds the data.
pub type View = Box<dyn Reads + Send + Sync>;

/// Where the data lives.
#[derive(Clone)]
enum Backend {
    /// The embedded default: one redb file in the data directory.
    Redb(Arc<Database>),
    /// A PostgreSQL database, possibly shared with other nodes.
    Postgres(pg::PgStore),
}

/// A handle on the open database: cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    writer: Writer,
    /// The data directory (`storage.data_dir`).
    dir: std::path::PathBuf,
    /// Upper tree levels, shared by every view's proofs (node_cache.rs).
    nodes: Arc<node_cache::NodeCache>,
}

impl Store {
    /// Opens (or creates) `dir/assent.redb`, creates missing tables, loads the ledger frontier
    /// from stored nodes (O(log n) reads, no replay), indexes any events the per-party indexes
    /// lack and starts the writer.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        private_dir(dir)?;
        let file = dir.join(DB_FILE);
        // Created readable by the vault's user only (0600); redb then initializes the empty file.
        if !file.exists() {
            private_file(&file)?;
        }
        // redb's default page cache is 1 GiB; a bounded cache keeps the server's memory flat
        // (hot data — recent tree nodes, grants — fits easily).
        let db = Arc::new(
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&file)?,
        );
        ledger_tx::init_schema(&db)?;
        let nodes = Arc::new(node_cache::NodeCache::default());
        let mut frontier = {
            let rtx = db.begin_read()?;
            let view = ReadView::new(rtx);
            let size = ledger_reads::LedgerReads::ledger_size(&view)?;
            nodes.fill(&view)?;
            Frontier::load(&ledger_reads::LedgerReads::nodes(&view)?, size)?
        };
        // At most one batch plus `writer::INDEX_LAG` events, if the last run did not stop
        // cleanly: the indexes are derived from the ledger, never replayed from a log.
        writer::index_all(&db, &mut frontier)?;
        let writer = Writer::start(writer::RedbCommitter {
            db: db.clone(),
            frontier,
            tail: read_counts::TailReads::default(),
        })?;
        Ok(Self {
            backend: Backend::Redb(db),
            writer,
            dir: dir.to_owned(),
            nodes,
        })
    }

    /// Connects to the PostgreSQL database at `url` (applying pending migrations) and starts
    /// this node's writer and its listener for other nodes' commits. `dir` holds only private
    /// staging files. Must run on a multi-thread tokio runtime.
    pub async fn open_postgres(url: &str, dir: &Path) -> Result<Self, StoreError> {
        private_dir(dir)?;
        let store = pg::PgStore::connect(url).await?;
        let nodes = Arc::new(node_cache::NodeCache::default());
        let size = {
            let (s, n) = (store.clone(), nodes.clone());
            tokio::task::spawn_blocking(move || {
                let view = s.read()?;
                n.fill(&view)?;
                ledger_reads::LedgerReads::ledger_size(&view)
            })
            .await
            .map_err(|e| StoreError::Io(e.to_string()))??
        };
        let writer = Writer::start(pg::writer::PgCommitter {
            store: store.clone(),
            size,
            link: None,
        })?;
        pg::listen(store.clone(), writer.clone());
        Ok(Self {
            backend: Backend::Postgres(store),
            writer,
            dir: dir.to_owned(),
            nodes,
        })
    }

    /// Opens PostgreSQL when `url` is given (`storage.url`), else the redb file in `dir`.
    pub async fn open_configured(dir: &Path, url: Option<&str>) -> Result<Self, StoreError> {
        match url {
            Some(url) => Self::open_postgres(url, dir).await,
            None => Self::open(dir),
        }
    }

    /// A private directory next to the data (`<data>/staging`, 0700) for files the vault
    /// writes on the way out, such as an online backup: never the shared temp directory.
    pub fn staging_dir(&self) -> Result<std::path::PathBuf, StoreError> {
        let staging = self.dir.join("staging");
        private_dir(&staging)?;
        Ok(staging)
    }

    /// A consistent snapshot for reads (never blocks the writer).
    pub fn read(&self) -> Result<View, StoreError> {
        Ok(match &self.backend {
            Backend::Redb(db) => Box::new(ReadView::new(db.begin_read()?)),
            Backend::Postgres(pg) => Box::new(pg.read()?),
        })
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// How many tree nodes the node cache holds (filled at open, then as proofs read).
    pub fn cached_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// `view`'s tree nodes for roots and proofs, its upper levels read through the cache all
    /// views share. `view` must come from [`Store::read`] (committed state: invariant of
    /// node_cache.rs).
    pub fn proof_nodes<'v>(
        &'v self,
        view: &'v View,
    ) -> Result<node_cache::CachedNodes<'v>, StoreError> {
        Ok(node_cache::CachedNodes {
            view: view.nodes()?,
            cache: &self.nodes,
        })
    }
}

/// Creates `dir` (and missing parents) readable by the vault's user only (0700). An existing
/// directory keeps the permissions its operator gave it.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))
}

/// Creates the empty file `path` readable and writable by the vault's user only (0600); fails
/// if it exists. redb initializes an empty file as a new database.
pub fn private_file(path: &Path) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))
}
