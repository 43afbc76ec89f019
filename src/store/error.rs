use std::sync::Arc;
use thiserror::Error;

/// Failures of the storage layer. None of these is the caller's fault.
#[derive(Debug, Error)]
pub enum StoreError {
    /// redb's own error, kept as the source (every redb error type converts into it).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// PostgreSQL's error (connection, statement or pool), as text.
    #[error("postgres: {0}")]
    Postgres(String),
    /// Something this backend does not do (the message says what to do instead).
    #[error("{0}")]
    Unsupported(String),
    /// The file's schema is not the one this build reads.
    #[error("{0}")]
    Schema(String),
    #[error("i/o: {0}")]
    Io(String),
    #[error("corrupt record in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error("ledger: {0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A state the store's own code rules out (a bug, not data).
    #[error("internal: {0}")]
    Internal(&'static str),
    #[error("the writer has stopped")]
    WriterGone,
    #[error("the batch was aborted")]
    Aborted,
    /// The batch holding this use case did not commit; the cause is shared by its callers.
    #[error("not committed: {0}")]
    NotCommitted(#[source] Arc<StoreError>),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(redb::Error::from(e))
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
