//! Group commit on PostgreSQL: the writer thread's batch is one transaction that takes the
//! ledger head row `FOR UPDATE` first, so batches from every node run one at a time; the
//! frontier is read from the head under that lock and written back with it, never kept by a
//! node between batches.

use super::super::writer::{Committed, Committer, Finish, Job, run_jobs};
use super::{Conn, PgBatch, PgStore, StoreError, WriterLink};
use std::sync::Arc;

pub(crate) struct PgCommitter {
    pub(crate) store: PgStore,
    /// The ledger size after this node's last commit.
    pub(crate) size: u64,
    /// The writer's own connection, made on the writer thread at its first batch and again
    /// after it breaks.
    pub(crate) link: Option<Arc<WriterLink>>,
}

impl PgCommitter {
    fn link(&mut self) -> Result<Arc<WriterLink>, StoreError> {
        match &self.link {
            Some(l) if !l.is_closed() => Ok(l.clone()),
            _ => {
                let l = Arc::new(WriterLink::connect(self.store.config())?);
                self.link = Some(l.clone());
                Ok(l)
            }
        }
    }
}

impl Committer for PgCommitter {
    fn commit(
        &mut self,
        jobs: Vec<Job>,
        finishes: &mut Vec<Finish>,
    ) -> Result<Committed, StoreError> {
        // A connection PostgreSQL closed while the writer was idle shows only when used: one
        // more try on a fresh connection (nothing of the batch has run yet).
        let begun = self
            .link()
            .map(Conn::writer)
            .and_then(PgBatch::begin)
            .or_else(|_| {
                self.link = None;
                self.link().map(Conn::writer).and_then(PgBatch::begin)
            });
        let mut batch = match begun {
            Ok(b) => b,
            Err(e) => {
                // Nothing ran: dropping the use cases drops their reply channels, so each
                // caller is answered at once (503, may retry) rather than waiting.
                drop(jobs);
                return Err(e);
            }
        };
        let before = batch.side.frontier.size();
        if run_jobs(&mut batch, jobs, finishes) {
            // Dropping the batch rolls its transaction back.
            return Err(StoreError::Aborted);
        }
        let moved = batch.side.frontier.size() != before;
        let leaves = std::mem::take(&mut batch.side.leaves);
        self.size = batch.commit(moved)?;
        Ok(Committed::new(before, leaves))
    }

    fn size(&self) -> u64 {
        self.size
    }
}
