//! The PostgreSQL store (`storage.url = "postgres://…"`): the same typed reads and writes as
//! redb (the traits of customers.rs, grants.rs, …), so use cases cannot tell them apart, and
//! the same promises kept by the database rather than by one process, so several stateless
//! `assent serve` nodes can share one database:
//!
//! - one act, one transaction, one ledger entry: each node's writer runs a batch of use cases
//!   in one transaction that first takes the ledger head row `FOR UPDATE`; the ledger is
//!   sequenced by that lock, never by a node's memory (writer.rs);
//! - durable before answered: the batch commits with `synchronous_commit = on`;
//! - reads planned off the writer run on a `REPEATABLE READ READ ONLY` snapshot ([`PgView`])
//!   and are decided again in the batch, after the lock, so a revocation any node committed
//!   first wins.
//!
//! The store's traits are synchronous (redb's are); a query waits on the server's runtime
//! with `block_in_place` (see [`Conn`]), which needs a multi-thread runtime.

mod batch;
mod export;
mod migrate;
mod notify;
mod reads;
pub(crate) mod writer;

pub use batch::PgBatch;
pub(crate) use notify::listen;
pub use reads::PgView;

use super::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::future::Future;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// Pooled connections per node (snapshots and tools); the writer and the listener each hold
/// one more of their own.
pub const POOL_SIZE: usize = 16;

/// A connection pool on one database and the runtime its connections run on.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    rt: Handle,
    config: std::sync::Arc<tokio_postgres::Config>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(
            f,
            "PgStore({:?}/{:?})",
            self.config.get_hosts(),
            self.config.get_dbname()
        )
    }
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Postgres(e.to_string())
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or a libpq `key=value` string) and applies any
    /// pending migrations. Must run on a multi-thread tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let rt = Handle::current();
        if rt.runtime_flavor() != RuntimeFlavor::MultiThread {
            return Err(StoreError::Postgres(
                "the PostgreSQL store needs a multi-thread tokio runtime".into(),
            ));
        }
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Postgres(format!("storage.url: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            // A request waits this long for a connection, then fails (503) instead of hanging.
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(db_err)?;
        let store = Self {
            pool,
            rt,
            config: std::sync::Arc::new(config),
        };
        {
            let client = store.pool.get().await.map_err(db_err)?;
            migrate::apply(&client).await?;
        }
        Ok(store)
    }

    /// A pooled connection, for the calling (synchronous) store code.
    pub(crate) fn conn(&self) -> Result<Conn, StoreError> {
        let client = wait(&self.rt, async { self.pool.get().await.map_err(db_err) })?;
        Ok(Conn::new(Link::Pooled {
            client: Some(Box::new(client)),
            rt: self.rt.clone(),
        }))
    }

    /// A consistent read snapshot.
    pub fn read(&self) -> Result<PgView, StoreError> {
        PgView::begin(self.conn()?)
    }

    pub(crate) fn runtime(&self) -> &Handle {
        &self.rt
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

/// Runs `f` to completion from synchronous code: on a runtime worker through
/// `block_in_place` (the worker's other tasks move to another thread meanwhile), on a plain
/// thread (the writer) directly, and from a current-thread runtime on a scoped helper thread
/// (the connections run on the store's multi-thread runtime `rt`, never on the caller's).
fn wait<T: Send, F: Future<Output = Result<T, StoreError>> + Send>(
    rt: &Handle,
    f: F,
) -> Result<T, StoreError> {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| {
            s.spawn(|| rt.block_on(f))
                .join()
                .unwrap_or_else(|_| Err(StoreError::Internal("a PostgreSQL wait panicked")))
        }),
        Ok(_) => tokio::task::block_in_place(|| rt.block_on(f)),
        Err(_) => rt.block_on(f),
    }
}

/// One connection used synchronously. After any failed statement it remembers it: PostgreSQL
/// has aborted the transaction, and a batch must not mistake the `COMMIT` that follows (which
/// PostgreSQL answers with a rollback) for a commit.
pub struct Conn {
    link: Link,
    failed: std::sync::atomic::AtomicBool,
    /// A transaction is open (set by [`Conn::begin`], cleared by [`Conn::commit`]).
    open: bool,
}

/// Where a connection's statements go.
enum Link {
    /// A pooled connection running on the server's runtime (snapshots, tools). Statements are
    /// prepared once per connection (deadpool's statement cache). `None` once released.
    Pooled {
        client: Option<Box<Object>>,
        rt: Handle,
    },
    /// The writer's own connection, driven on the writer thread itself (see [`WriterLink`]).
    Writer(std::sync::Arc<WriterLink>),
}

/// The writer's connection: its socket is polled by a current-thread runtime that the writer
/// thread drives while it waits, so a statement costs one round trip to PostgreSQL and no
/// hand-off between threads. Every statement of a batch runs inside the ledger head lock, so
/// this is the latency that bounds how many batches all nodes commit per second.
pub(crate) struct WriterLink {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    statements: std::sync::Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>,
}

impl WriterLink {
    /// Connects on a runtime of its own (to be used from the writer thread only).
    pub(crate) fn connect(config: &tokio_postgres::Config) -> Result<Self, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Io(e.to_string()))?;
        let client = rt.block_on(async {
            let (client, connection) = config.connect(NoTls).await.map_err(db_err)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "the writer's PostgreSQL connection ended");
                }
            });
            Ok::<_, StoreError>(client)
        })?;
        Ok(Self {
            rt,
            client,
            statements: std::sync::Mutex::default(),
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn prepared(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
        let cached = self
            .statements
            .lock()
            .map_err(|_| StoreError::Internal("statement cache poisoned"))?
            .get(sql)
            .cloned();
        match cached {
            Some(st) => Ok(st),
            None => {
                let st = self.client.prepare(sql).await.map_err(db_err)?;
                self.statements
                    .lock()
                    .map_err(|_| StoreError::Internal("statement cache poisoned"))?
                    .insert(sql.to_owned(), st.clone());
                Ok(st)
            }
        }
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    fn new(link: Link) -> Self {
        Self {
            link,
            failed: std::sync::atomic::AtomicBool::new(false),
            open: false,
        }
    }

    /// The writer's connection for one batch.
    pub(crate) fn writer(link: std::sync::Arc<WriterLink>) -> Self {
        Self::new(Link::Writer(link))
    }

    fn note<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if r.is_err() {
            self.failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        self.note(match &self.link {
            Link::Pooled { client, rt } => {
                let client = released(client)?;
                wait(rt, async {
                    let st = client.prepare_cached(sql).await.map_err(db_err)?;
                    client.query(&st, params).await.map_err(db_err)
                })
            }
            Link::Writer(w) => w.rt.block_on(async {
                let st = w.prepared(sql).await?;
                w.client.query(&st, params).await.map_err(db_err)
            }),
        })
    }

    pub(crate) fn row(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    pub(crate) fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        self.note(match &self.link {
            Link::Pooled { client, rt } => {
                let client = released(client)?;
                wait(rt, async {
                    let st = client.prepare_cached(sql).await.map_err(db_err)?;
                    client.execute(&st, params).await.map_err(db_err)
                })
            }
            Link::Writer(w) => w.rt.block_on(async {
                let st = w.prepared(sql).await?;
                w.client.execute(&st, params).await.map_err(db_err)
            }),
        })
    }

    /// Statements without parameters, in one round trip (`BEGIN …; SET LOCAL …`).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.note(match &self.link {
            Link::Pooled { client, rt } => {
                let client = released(client)?;
                wait(rt, async {
                    client.batch_execute(sql).await.map_err(db_err)
                })
            }
            Link::Writer(w) => {
                w.rt.block_on(async { w.client.batch_execute(sql).await.map_err(db_err) })
            }
        })
    }

    /// Opens a transaction (`BEGIN …`, and any `SET LOCAL`s, in one round trip).
    pub(crate) fn begin(&mut self, sql: &str) -> Result<(), StoreError> {
        self.open = true;
        self.batch(sql)
    }

    /// Commits the open transaction.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Gives the connection back, never with a transaction open: one still open is rolled
    /// back first (a pooled one off the caller's thread, before it returns to the pool).
    fn release(&mut self) {
        let open = std::mem::replace(&mut self.open, false);
        match &mut self.link {
            Link::Pooled { client, rt } => {
                let Some(client) = client.take() else { return };
                if !open {
                    return;
                }
                rt.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        // A broken connection is not returned to the pool.
                        let _ = Object::take(*client);
                    }
                });
            }
            Link::Writer(w) => {
                if open {
                    let _ = w.rt.block_on(w.client.batch_execute("ROLLBACK"));
                }
            }
        }
    }
}

fn released(client: &Option<Box<Object>>) -> Result<&Object, StoreError> {
    client
        .as_deref()
        .ok_or(StoreError::Internal("connection already released"))
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.release();
    }
}

/// Reads a `bigint` column as the ledger's `u64`.
pub(crate) fn u64_of(row: &Row, col: usize) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(col).map_err(db_err)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        table: "postgres",
        detail: format!("negative counter {v}"),
    })
}

/// The ledger's `u64` as a `bigint` parameter.
pub(crate) fn i64_of(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Internal("a ledger index beyond i64"))
}

/// Runs `work` against the PostgreSQL database at `url` from a command-line tool (no runtime
/// of its own yet): a small multi-thread runtime for the connections, closed afterwards.
pub fn with_database<T>(
    url: &str,
    work: impl FnOnce(&PgStore) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StoreError::Io(e.to_string()))?;
    let store = rt.block_on(PgStore::connect(url))?;
    let out = work(&store);
    drop(store);
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    out
}
