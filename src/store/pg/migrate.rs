//! Versioned SQL migrations, applied at start-up in order, each in its own transaction, under
//! an advisory lock so that nodes starting together apply each one once. A database migrated by
//! a newer build is refused.

use super::{StoreError, db_err};
use tokio_postgres::Client;

/// (version, name, SQL), in order. Append; never edit an applied one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "schema", include_str!("migrations/0001_schema.sql")),
    (
        2,
        "webhooks_erasure",
        include_str!("migrations/0002_webhooks_erasure.sql"),
    ),
];

/// Key of the advisory lock held while migrating (any constant unique to Assent).
const LOCK: i64 = 0x6173_7365_6e74;

pub(super) async fn apply(client: &Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
        .await
        .map_err(db_err)?;
    let outcome = apply_locked(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await
        .map_err(db_err);
    outcome.and(unlocked.map(|_| ()))
}

async fn apply_locked(client: &Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS assent_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(db_err)?;
    let newest: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM assent_migrations",
            &[],
        )
        .await
        .map_err(db_err)?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if newest > known {
        return Err(StoreError::Schema(format!(
            "this database has migration {newest}, newer than this build knows (up to {known}): \
             run the newer Assent, or point storage.url at another database"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > newest) {
        let script = format!(
            "BEGIN;\n{sql}\nINSERT INTO assent_migrations (version, name) VALUES ({version}, '{name}');\nCOMMIT;"
        );
        if let Err(e) = client.batch_execute(&script).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(StoreError::Schema(format!(
                "migration {version} ({name}): {e}"
            )));
        }
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    Ok(())
}
