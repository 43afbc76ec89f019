//! Group commit on PostgreSQL: the writer thread's batch is one transaction that takes the
//! ledger head row `FOR UPDATE` first, so batches from every node run one at a time; the
//! frontier is read from the head under that lock and written back with it, never kept by a
//! node between batches.

use super::super::writer::{Committer, Finish, Job, run_jobs};
use super::{PgBatch, PgStore, StoreError};

pub(crate) struct PgCommitter {
    pub(crate) store: PgStore,
    /// The ledger size after this node's last commit.
    pub(crate) size: u64,
}

impl Committer for PgCommitter {
    fn commit(&mut self, jobs: Vec<Job>, finishes: &mut Vec<Finish>) -> Result<(), StoreError> {
        let mut batch = match self.store.conn().and_then(PgBatch::begin) {
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
        self.size = batch.commit(moved)?;
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}
