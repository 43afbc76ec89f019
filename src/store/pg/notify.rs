//! Other nodes' commits: every batch that appends sends `NOTIFY assent_ledger, '<size>'` in its
//! own transaction, which PostgreSQL delivers only once it has committed. Each node listens on
//! a connection of its own and announces the size to its live streams (invariant 16 across
//! nodes); a lost connection is re-established, and the head is read again then, so a size
//! committed meanwhile is not missed.

use super::super::Writer;
use super::{PgStore, db_err, u64_of};
use futures_util::StreamExt as _;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls};

/// Follows the ledger size committed by any node until the writer shuts down.
pub(crate) fn listen(store: PgStore, writer: Writer) {
    let rt = store.runtime().clone();
    rt.spawn(async move {
        let run = async {
            loop {
                if let Err(e) = follow(&store, &writer).await {
                    tracing::warn!(error = %e, "ledger listener lost its connection; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        // Ends with the writer (graceful shutdown), before the runtime goes.
        tokio::select! {
            _ = run => {}
            _ = writer.closing() => {}
        }
    });
}

async fn follow(store: &PgStore, writer: &Writer) -> Result<(), super::StoreError> {
    let (client, mut conn) = store.config().connect(NoTls).await.map_err(db_err)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    client
        .batch_execute("LISTEN assent_ledger")
        .await
        .map_err(db_err)?;
    // Whatever was committed before the LISTEN took effect.
    let head = client
        .query_one("SELECT size FROM ledger_head WHERE id = 1", &[])
        .await
        .map_err(db_err)?;
    writer.announce(u64_of(&head, 0)?);
    while let Some(p) = rx.recv().await {
        if let Ok(size) = p.parse::<u64>() {
            writer.announce(size);
        }
    }
    driver.abort();
    drop(client);
    Ok(())
}
