//! Group commit: one thread owns the vault's writes. Callers hand it a use case and wait; it
//! runs whatever has queued (up to [`MAX_BATCH`]) in one durable transaction of the backend (a
//! [`Committer`]: redb here, PostgreSQL in `pg/writer.rs`), commits, and only then answers each
//! caller. A failed commit fails every caller of that batch.

use super::{Batch, StoreError, Tx};
use crate::ledger::merkle::Frontier;
use redb::{Database, Durability};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// Most use cases committed in one transaction.
pub const MAX_BATCH: usize = 1024;
/// A batch of fewer use cases than this (light load) brings the per-party indexes up to date
/// itself; under heavier load they are brought up to date once this many events wait
/// (see [`Tx::index_parties`]).
const INDEX_NOW_BELOW: usize = 8;
/// Most events left out of the per-party indexes after a batch.
pub const INDEX_LAG: u64 = 1024;
const QUEUE: usize = 4096;

/// What a durable batch appended: ledger entries `[first, first + leaves.len())`, and (once a
/// read asks for a receipt) the vault's one signature over them (`ledger::receipt`).
#[derive(Debug)]
pub struct Committed {
    pub first: u64,
    pub leaves: Vec<crate::ledger::merkle::Hash>,
    sealed: std::sync::OnceLock<
        Result<crate::ledger::receipt::SealedBatch, crate::ledger::LedgerError>,
    >,
}

impl Committed {
    pub(crate) fn new(first: u64, leaves: Vec<crate::ledger::merkle::Hash>) -> Self {
        Self {
            first,
            leaves,
            sealed: std::sync::OnceLock::new(),
        }
    }

    /// The batch sealed by `seal`, which runs once per batch whoever asks first.
    pub fn sealed(
        &self,
        seal: impl FnOnce(
            &Self,
        )
            -> Result<crate::ledger::receipt::SealedBatch, crate::ledger::LedgerError>,
    ) -> Result<&crate::ledger::receipt::SealedBatch, crate::ledger::LedgerError> {
        self.sealed
            .get_or_init(|| seal(self))
            .as_ref()
            .map_err(|e| crate::ledger::LedgerError::Store(e.to_string()))
    }
}

pub(crate) type Finish = Box<dyn FnOnce(Result<Arc<Committed>, Arc<StoreError>>) + Send>;
/// A use case: runs inside the batch; says whether it failed, and how to answer once the batch
/// outcome (`Ok` = durable, with what it appended; `Err(cause)` = not committed) is known.
pub(crate) type Job = Box<dyn FnOnce(&mut dyn Batch) -> (bool, Finish) + Send>;

/// A backend's side of group commit, driven by the writer thread.
pub(crate) trait Committer: Send + 'static {
    /// Runs `jobs` in one transaction (through [`run_jobs`]) and commits it durably, pushing
    /// each job's answer onto `finishes` in order; returns what the batch appended. An error
    /// means nothing of the batch stands.
    fn commit(
        &mut self,
        jobs: Vec<Job>,
        finishes: &mut Vec<Finish>,
    ) -> Result<Committed, StoreError>;
    /// The ledger size as of the last successful commit.
    fn size(&self) -> u64;
    /// Called once after the last batch, before the writer thread exits.
    fn close(&mut self) {}
}

/// Runs `jobs` in order on `tx`; true when one failed after writing (the batch must not commit
/// half an act: invariant 3).
pub(crate) fn run_jobs(tx: &mut dyn Batch, jobs: Vec<Job>, finishes: &mut Vec<Finish>) -> bool {
    let mut poisoned = false;
    for job in jobs {
        let before = tx.writes();
        let (failed, finish) = job(tx);
        poisoned |= failed && tx.writes() != before;
        finishes.push(finish);
    }
    poisoned
}

enum Msg {
    Job(Job),
    /// Commit what is queued, then stop (graceful shutdown).
    Stop,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    /// The durable ledger size: set after each commit that appended, never before it is
    /// durable (live streams read the new events only once they cannot be lost). On
    /// PostgreSQL other nodes' commits move it too (pg/notify.rs).
    size: watch::Receiver<u64>,
    announce: Arc<watch::Sender<u64>>,
    /// True once [`Writer::shutdown`] was called: background work tied to the writer (the
    /// PostgreSQL listener) ends with it.
    closing: Arc<watch::Sender<bool>>,
}

impl Writer {
    pub(crate) fn start(committer: impl Committer) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (size_tx, size) = watch::channel(committer.size());
        let announce = Arc::new(size_tx);
        let thread = std::thread::Builder::new()
            .name("assent-writer".into())
            .spawn({
                let announce = announce.clone();
                move || run(committer, rx, &announce)
            })
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(Self {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
            size,
            announce,
            closing: Arc::new(watch::channel(false).0),
        })
    }

    /// Follows the durable ledger size (for live event streams).
    pub fn ledger_size(&self) -> watch::Receiver<u64> {
        self.size.clone()
    }

    /// Announces a durable ledger size learned elsewhere (another node's commit); sizes only
    /// move forward.
    pub(crate) fn announce(&self, size: u64) {
        announce(&self.announce, size);
    }

    /// Resolves once [`Writer::shutdown`] has been called.
    pub(crate) async fn closing(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Commits everything already queued, stops the writer and waits for it to release the
    /// database. Later writes fail with [`StoreError::WriterGone`].
    pub async fn shutdown(&self) {
        self.closing.send_replace(true);
        let _ = self.tx.send(Msg::Stop).await;
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Runs the use case `op` in the next batch, against the backend-neutral [`Batch`] (what
    /// the vault's use cases see); returns its result once that batch is durable.
    pub async fn act<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut dyn Batch) -> Result<T, E> + Send + 'static,
    {
        Ok(self.act_committed(op).await?.0)
    }

    /// [`Writer::act`], with what the batch appended (for a receipt covering the batch).
    pub async fn act_committed<T, E, F>(&self, op: F) -> Result<(T, Arc<Committed>), E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut dyn Batch) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<(T, Arc<Committed>), E>>();
        let job: Job = Box::new(move |tx| {
            let result = op(tx);
            let failed = result.is_err();
            let finish: Finish = Box::new(move |commit| {
                let out = match (result, commit) {
                    (Err(e), _) => Err(e),
                    (Ok(v), Ok(batch)) => Ok((v, batch)),
                    // An aborted batch says so (its callers may retry); any other cause is wrapped.
                    (Ok(_), Err(cause)) => Err(E::from(match *cause {
                        StoreError::Aborted => StoreError::Aborted,
                        _ => StoreError::NotCommitted(cause),
                    })),
                };
                // The caller may have gone away (client disconnected); the act stands.
                let _ = reply.send(out);
            });
            (failed, finish)
        });
        self.tx
            .send(Msg::Job(job))
            .await
            .map_err(|_| E::from(StoreError::WriterGone))?;
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::WriterGone)))
    }
}

fn announce(sender: &watch::Sender<u64>, size: u64) {
    sender.send_if_modified(|s| {
        let newer = size > *s;
        if newer {
            *s = size;
        }
        newer
    });
}

fn run(mut committer: impl Committer, mut rx: mpsc::Receiver<Msg>, size: &watch::Sender<u64>) {
    let mut stopping = false;
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = Vec::new();
        match first {
            Msg::Job(j) => jobs.push(j),
            Msg::Stop => stopping = true,
        }
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => jobs.push(job),
                Ok(Msg::Stop) => stopping = true,
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            commit_batch(&mut committer, jobs);
            // After the commit (or its rollback): only durable sizes are announced.
            announce(size, committer.size());
        }
        if stopping && rx.is_empty() {
            rx.close();
            // Anything that slipped in between is still committed before we go.
            while let Ok(msg) = rx.try_recv() {
                if let Msg::Job(j) = msg {
                    commit_batch(&mut committer, vec![j]);
                }
            }
            committer.close();
            break;
        }
    }
    tracing::info!("writer stopped; database released");
}

/// Runs `jobs` in one transaction and answers each once it is durable (or failed).
fn commit_batch(committer: &mut impl Committer, jobs: Vec<Job>) {
    let started = std::time::Instant::now();
    let mut finishes = Vec::with_capacity(jobs.len());
    let outcome = committer.commit(jobs, &mut finishes);
    metrics::histogram!("assent_group_commit_batch_size").record(finishes.len() as f64);
    metrics::histogram!("assent_group_commit_seconds").record(started.elapsed().as_secs_f64());
    let outcome = match outcome {
        Ok(batch) => {
            metrics::gauge!("assent_ledger_size").set(committer.size() as f64);
            Ok(Arc::new(batch))
        }
        Err(e) => {
            tracing::error!(error = %e, batch = finishes.len(), "group commit failed");
            Err(Arc::new(e))
        }
    };
    for finish in finishes {
        finish(outcome.clone());
    }
}

/// redb's group commit: one `Durability::Immediate` write transaction per batch, with the
/// tree frontier kept in memory between batches (restored when a batch fails).
pub(crate) struct RedbCommitter {
    pub(crate) db: Arc<Database>,
    pub(crate) frontier: Frontier,
    /// The committed reads above the fold (read_counts.rs); empty at start, after `index_all`.
    pub(crate) tail: crate::store::read_counts::TailReads,
}

impl Committer for RedbCommitter {
    fn commit(
        &mut self,
        jobs: Vec<Job>,
        finishes: &mut Vec<Finish>,
    ) -> Result<Committed, StoreError> {
        let snapshot = self.frontier.clone();
        let first = self.frontier.size();
        let outcome = (|| -> Result<Vec<crate::ledger::merkle::Hash>, StoreError> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            let light = jobs.len() < INDEX_NOW_BELOW;
            let (poisoned, leaves, reads) = {
                let mut tx = Tx::new(&txn, &mut self.frontier, &self.tail);
                let poisoned = run_jobs(&mut tx, jobs, finishes);
                if !poisoned && (light || tx.index_lag()? >= INDEX_LAG) {
                    tx.index_parties()?;
                }
                (poisoned, tx.take_leaves(), tx.take_reads())
            };
            if poisoned {
                txn.abort()?;
                return Err(StoreError::Aborted);
            }
            txn.commit()?;
            // Only a durable batch moves the in-memory tail.
            self.tail.settle(reads.0, reads.1);
            Ok(leaves)
        })();
        match outcome {
            Ok(leaves) => Ok(Committed::new(first, leaves)),
            Err(e) => {
                self.frontier = snapshot;
                Err(e)
            }
        }
    }

    fn size(&self) -> u64 {
        self.frontier.size()
    }

    fn close(&mut self) {
        // Leave the per-party indexes complete (start-up would otherwise redo the tail).
        if let Err(e) = index_all(&self.db, &mut self.frontier) {
            tracing::warn!(error = %e, "indexing the ledger tail at shutdown failed");
        }
    }
}

/// Brings the per-party indexes up to date in one durable transaction (start-up and shutdown).
pub(crate) fn index_all(db: &Database, frontier: &mut Frontier) -> Result<u64, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let tail = crate::store::read_counts::TailReads::default();
    let indexed = Tx::new(&txn, frontier, &tail).index_parties()?;
    if indexed == 0 {
        // Nothing was left to index: no commit, so no fsync on start-up or shutdown.
        txn.abort()?;
    } else {
        txn.commit()?;
    }
    Ok(indexed)
}

/// Holds the writer for `ms` milliseconds, and returns once it is held: the acts queued
/// meanwhile share the next batch (tests that need one batch of several acts).
#[cfg(test)]
pub(crate) async fn hold_writer(
    w: &Writer,
    ms: u64,
) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    let busy = tokio::spawn({
        let w = w.clone();
        async move {
            w.act(move |_tx: &mut dyn Batch| {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok::<_, StoreError>(())
            })
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    busy
}

#[cfg(test)]
mod tests {
    use super::super::{Batch, Store, StoreError};
    use crate::domain::ids::CustomerId;
    use crate::ledger::Event;

    #[test]
    fn a_use_case_failing_after_writing_aborts_its_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (innocent, failing) = rt.block_on(async {
            let w = store.writer().clone();
            // The next two use cases share one batch.
            let busy = super::hold_writer(&w, 300).await;
            let innocent = tokio::spawn({
                let w = w.clone();
                async move {
                    w.act(|tx: &mut dyn Batch| {
                        let event = Event::CustomerRegistered {
                            customer_id: CustomerId::parse("cus_innocent").unwrap(),
                            at: crate::clock::now(),
                        };
                        tx.append(&event, [1; 32]).map(|_| ())
                    })
                    .await
                }
            });
            let failing = tokio::spawn({
                let w = w.clone();
                async move {
                    w.act(|tx: &mut dyn Batch| {
                        tx.put_checkpoint(1, "not a note")?;
                        Err::<(), _>(StoreError::Internal("fails after writing"))
                    })
                    .await
                }
            });
            busy.await.unwrap().unwrap();
            (innocent.await.unwrap(), failing.await.unwrap())
        });
        assert!(matches!(innocent, Err(StoreError::Aborted)), "{innocent:?}");
        assert!(
            matches!(failing, Err(StoreError::Internal(_))),
            "{failing:?}"
        );
        let view = store.read().unwrap();
        assert_eq!(view.ledger_size().unwrap(), 0);
        assert_eq!(view.latest_checkpoint().unwrap(), None);
        drop(view);
        rt.block_on(store.writer().shutdown());
    }
}
