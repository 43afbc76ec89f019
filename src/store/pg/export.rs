//! A PostgreSQL vault as a redb file, and back. `assent backup` on PostgreSQL writes the same
//! redb file as on redb, from one `REPEATABLE READ` snapshot while the nodes keep serving, so
//! one backup format, one offline audit (`store::audit`) and one restore serve both backends:
//! `assent ledger audit --store` audits an export, and `assent restore --store` loads an
//! audited file into an empty database. Derived indexes (per-party events, request and grant
//! listings) are rebuilt from PostgreSQL's columns, so the audit also checks those columns
//! against the records and events they index.

use super::super::grants::pair_key;
use super::super::tables::{self, INDEXED_UPTO, LEDGER_SIZE, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use super::reads::Pg;
use super::{Conn, PgStore, StoreError, db_err, i64_of, u64_of};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

fn text(row: &tokio_postgres::Row, col: usize) -> Result<String, StoreError> {
    row.try_get(col).map_err(db_err)
}

fn bytes(row: &tokio_postgres::Row, col: usize) -> Result<Vec<u8>, StoreError> {
    row.try_get(col).map_err(db_err)
}

/// Copies `(key, record)` rows of `sql` into a string-keyed JSON table.
fn records(
    conn: &Conn,
    w: &redb::WriteTransaction,
    sql: &str,
    def: TableDefinition<'static, &'static str, &'static [u8]>,
) -> Result<u64, StoreError> {
    let mut t = w.open_table(def)?;
    let rows = conn.rows(sql, &[])?;
    for r in &rows {
        t.insert(text(r, 0)?.as_str(), bytes(r, 1)?.as_slice())?;
    }
    Ok(rows.len() as u64)
}

/// Copies `(a, b, record)` rows into a two-part JSON table.
fn records2(
    conn: &Conn,
    w: &redb::WriteTransaction,
    sql: &str,
    def: TableDefinition<'static, (&'static str, &'static str), &'static [u8]>,
) -> Result<u64, StoreError> {
    let mut t = w.open_table(def)?;
    let rows = conn.rows(sql, &[])?;
    for r in &rows {
        t.insert(
            (text(r, 0)?.as_str(), text(r, 1)?.as_str()),
            bytes(r, 2)?.as_slice(),
        )?;
    }
    Ok(rows.len() as u64)
}

impl PgStore {
    /// Writes the whole database, as one snapshot, to the new redb file `out`. Returns the
    /// number of records copied and the ledger size.
    pub fn export_to(&self, out: &Path) -> Result<(u64, u64), StoreError> {
        if out.exists() {
            return Err(StoreError::Io(format!("{} already exists", out.display())));
        }
        let view = self.read()?;
        super::super::private_file(out)?;
        let db = Database::create(out)?;
        let mut w = db.begin_write()?;
        w.set_durability(Durability::Immediate)?;
        let (n, size) = copy_out(&view, &w)?;
        // Every declared table exists in the copy, even an empty one (the audit checks).
        {
            struct Create<'t>(&'t redb::WriteTransaction);
            impl tables::Visit for Create<'_> {
                fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
                    &mut self,
                    def: TableDefinition<'static, K, V>,
                ) -> Result<(), StoreError> {
                    self.0.open_table(def)?;
                    Ok(())
                }
            }
            tables::visit_all(&mut Create(&w))?;
        }
        w.commit()?;
        Ok((n, size))
    }

    /// Loads the redb vault file `file` (audited by the caller) into this database, which must
    /// hold no ledger yet. One transaction: all of it or nothing.
    pub fn import_from(&self, file: &Path) -> Result<u64, StoreError> {
        let db = Database::open(file)?;
        let r = db.begin_read()?;
        let mut conn = self.conn()?;
        conn.begin("BEGIN ISOLATION LEVEL SERIALIZABLE")?;
        let head = conn
            .row("SELECT size FROM ledger_head WHERE id = 1 FOR UPDATE", &[])?
            .ok_or(StoreError::Internal("the ledger head row is missing"))?;
        let busy = conn
            .row(
                "SELECT 1 FROM customers UNION ALL SELECT 1 FROM orgs LIMIT 1",
                &[],
            )?
            .is_some();
        if u64_of(&head, 0)? != 0 || busy {
            return Err(StoreError::Unsupported(
                "the target database already holds a vault: restore into an empty database \
                 (createdb a new one and point --store at it)"
                    .into(),
            ));
        }
        // The whole read count of each grant: the file may keep part of it outside the record
        // (read_counts.rs); a PostgreSQL row holds all of it.
        let reads: std::collections::HashMap<String, u32> = {
            use super::super::grants::GrantReads as _;
            let view = super::super::access::ReadView::new(db.begin_read()?);
            view.all_grants()?
                .into_iter()
                .map(|g| (g.terms.grant_id.to_string(), g.reads))
                .collect()
        };
        let size = copy_in(&conn, &r, &reads)?;
        if conn.failed() {
            return Err(StoreError::Postgres(
                "the restore failed; nothing was kept".into(),
            ));
        }
        conn.commit()?;
        Ok(size)
    }
}

fn copy_out(
    view: &Pg<super::reads::Snapshot>,
    w: &redb::WriteTransaction,
) -> Result<(u64, u64), StoreError> {
    let c = &view.conn;
    let mut n = 0;
    n += records(
        c,
        w,
        "SELECT customer_id, record FROM customers",
        tables::CUSTOMERS,
    )?;
    n += records(c, w, "SELECT org_id, record FROM orgs", tables::ORGS)?;
    n += records(
        c,
        w,
        "SELECT request_id, record FROM requests",
        tables::REQUESTS,
    )?;
    n += records(c, w, "SELECT grant_id, record FROM grants", tables::GRANTS)?;
    n += records2(
        c,
        w,
        "SELECT customer_id, label, record FROM envelopes",
        tables::ENVELOPES,
    )?;
    n += records2(
        c,
        w,
        "SELECT grant_id, label, record FROM wraps",
        tables::WRAPS,
    )?;
    {
        let mut t = w.open_table(tables::HANDLES)?;
        for r in c.rows("SELECT handle, customer_id FROM handles", &[])? {
            t.insert(text(&r, 0)?.as_str(), text(&r, 1)?.as_str())?;
            n += 1;
        }
    }
    {
        let mut by_customer = w.open_table(tables::CUSTOMER_REQUESTS)?;
        let mut by_org = w.open_table(tables::ORG_REQUESTS)?;
        for r in c.rows("SELECT request_id, customer_id, org_id FROM requests", &[])? {
            let id = text(&r, 0)?;
            by_customer.insert((text(&r, 1)?.as_str(), id.as_str()), ())?;
            by_org.insert((text(&r, 2)?.as_str(), id.as_str()), ())?;
        }
    }
    {
        let mut by_customer = w.open_table(tables::CUSTOMER_GRANTS)?;
        let mut by_pair = w.open_table(tables::ORG_CUSTOMER_GRANTS)?;
        for r in c.rows("SELECT grant_id, customer_id, org_id FROM grants", &[])? {
            let (id, customer, org) = (text(&r, 0)?, text(&r, 1)?, text(&r, 2)?);
            by_customer.insert((customer.as_str(), id.as_str()), ())?;
            let (org, customer) = (
                crate::domain::ids::OrgId::parse(&org).map_err(|e| corrupt("grants", e))?,
                crate::domain::ids::CustomerId::parse(&customer)
                    .map_err(|e| corrupt("grants", e))?,
            );
            by_pair.insert((pair_key(&org, &customer).as_str(), id.as_str()), ())?;
        }
    }
    let size = {
        let mut events = w.open_table(tables::LEDGER_EVENTS)?;
        let mut by_customer = w.open_table(tables::CUSTOMER_EVENTS)?;
        let mut by_org = w.open_table(tables::ORG_EVENTS)?;
        let mut keys = w.open_table(tables::ORG_KEY_EVENTS)?;
        let rows = c.rows(
            "SELECT idx, stored, customer_id, org_id, org_key_event FROM ledger_events ORDER BY idx",
            &[],
        )?;
        for r in &rows {
            let idx = u64_of(r, 0)?;
            events.insert(idx, bytes(r, 1)?.as_slice())?;
            let customer: Option<String> = r.try_get(2).map_err(db_err)?;
            let org: Option<String> = r.try_get(3).map_err(db_err)?;
            let key_event: bool = r.try_get(4).map_err(db_err)?;
            if let Some(cu) = &customer {
                by_customer.insert((cu.as_str(), idx), ())?;
            }
            if let Some(o) = &org {
                by_org.insert((o.as_str(), idx), ())?;
                if key_event {
                    keys.insert((o.as_str(), idx), ())?;
                }
            }
        }
        n += rows.len() as u64;
        let head = c
            .row("SELECT size FROM ledger_head WHERE id = 1", &[])?
            .ok_or(StoreError::Internal("the ledger head row is missing"))?;
        u64_of(&head, 0)?
    };
    {
        let mut nodes = w.open_table(tables::LEDGER_NODES)?;
        for r in c.rows("SELECT level, idx, hash FROM ledger_nodes", &[])? {
            let level: i16 = r.try_get(0).map_err(db_err)?;
            let level = u8::try_from(level).map_err(|e| corrupt("ledger_nodes", e))?;
            let hash = crate::ledger::merkle::parse_hash(&bytes(&r, 2)?)?;
            nodes.insert((level, u64_of(&r, 1)?), hash)?;
            n += 1;
        }
    }
    {
        let mut t = w.open_table(tables::PARTY_SEQS)?;
        for r in c.rows("SELECT party, seq FROM party_seqs", &[])? {
            t.insert(text(&r, 0)?.as_str(), u64_of(&r, 1)?)?;
            n += 1;
        }
    }
    {
        let mut t = w.open_table(tables::USED_JTIS)?;
        for r in c.rows("SELECT jti, exp FROM used_jtis", &[])? {
            let exp: i64 = r.try_get(1).map_err(db_err)?;
            t.insert(text(&r, 0)?.as_str(), exp)?;
            n += 1;
        }
    }
    {
        let mut t = w.open_table(tables::CHECKPOINTS)?;
        for r in c.rows("SELECT size, note FROM checkpoints", &[])? {
            t.insert(u64_of(&r, 0)?, text(&r, 1)?.as_str())?;
            n += 1;
        }
    }
    n += copy_out_webhooks(c, w)?;
    n += records(
        c,
        w,
        "SELECT grant_id, record FROM erasure_requests",
        tables::ERASURE_REQUESTS,
    )?;
    {
        let mut t = w.open_table(tables::ORG_ERASURE_REQUESTS)?;
        for r in c.rows("SELECT org_id, grant_id FROM erasure_requests", &[])? {
            t.insert((text(&r, 0)?.as_str(), text(&r, 1)?.as_str()), ())?;
        }
    }
    let mut meta = w.open_table(tables::META)?;
    meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
    meta.insert(LEDGER_SIZE, size)?;
    meta.insert(INDEXED_UPTO, size)?;
    // Every grant row holds its whole count: nothing is derived in the copy.
    meta.insert(tables::READS_FROM, size)?;
    Ok((n, size))
}

/// The webhook outbox and cursor, with redb's schedule and listing rebuilt from each record.
fn copy_out_webhooks(c: &Conn, w: &redb::WriteTransaction) -> Result<u64, StoreError> {
    use crate::domain::webhook::WebhookDelivery;
    let mut n = 0;
    let mut records = w.open_table(tables::WEBHOOK_DELIVERIES)?;
    let mut due = w.open_table(tables::WEBHOOK_DUE)?;
    let mut listed = w.open_table(tables::ORG_WEBHOOK_DELIVERIES)?;
    for r in c.rows("SELECT record FROM webhook_deliveries", &[])? {
        let bytes = bytes(&r, 0)?;
        let d: WebhookDelivery =
            serde_json::from_slice(&bytes).map_err(|e| corrupt("webhook_deliveries", e))?;
        let id = d.delivery_id.as_str();
        records.insert(id, bytes.as_slice())?;
        if let Some(at) = d.due() {
            due.insert((at, id), ())?;
        }
        let state = super::super::webhooks::state_key(d.state);
        listed.insert((d.org_id.as_str(), state, id), ())?;
        n += 1;
    }
    {
        let mut t = w.open_table(tables::WEBHOOK_ORGS)?;
        for r in c.rows("SELECT org_id, endpoints FROM webhook_orgs", &[])? {
            let endpoints: i32 = r.try_get(1).map_err(db_err)?;
            let endpoints = u64::try_from(endpoints).map_err(|e| corrupt("webhook_orgs", e))?;
            t.insert(text(&r, 0)?.as_str(), endpoints)?;
            n += 1;
        }
    }
    if let Some(r) = c.row("SELECT idx FROM webhook_cursor WHERE id = 1", &[])? {
        w.open_table(tables::WEBHOOK_STATE)?
            .insert(tables::WEBHOOK_CURSOR, u64_of(&r, 0)?)?;
        n += 1;
    }
    Ok(n)
}

/// Loads the webhook outbox and cursor of an audited redb file.
fn copy_in_webhooks(conn: &Conn, r: &redb::ReadTransaction) -> Result<(), StoreError> {
    use crate::domain::webhook::WebhookDelivery;
    let Some(deliveries) = later(r, tables::WEBHOOK_DELIVERIES)? else {
        // A file from before webhooks: none of their tables.
        return Ok(());
    };
    for item in deliveries.iter()? {
        let (k, v) = item?;
        let d: WebhookDelivery =
            serde_json::from_slice(v.value()).map_err(|e| corrupt("webhook_deliveries", e))?;
        let state = super::super::webhooks::state_key(d.state);
        conn.exec(
            "INSERT INTO webhook_deliveries (delivery_id, org_id, state, due, record) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&k.value(), &d.org_id.as_str(), &state, &d.due(), &v.value()],
        )?;
    }
    if let Some(orgs) = later(r, tables::WEBHOOK_ORGS)? {
        for item in orgs.iter()? {
            let (k, v) = item?;
            let endpoints = i32::try_from(v.value()).map_err(|e| corrupt("webhook_orgs", e))?;
            conn.exec(
                "INSERT INTO webhook_orgs (org_id, endpoints) VALUES ($1, $2)",
                &[&k.value(), &endpoints],
            )?;
        }
    }
    let cursor = match later(r, tables::WEBHOOK_STATE)? {
        Some(t) => t.get(tables::WEBHOOK_CURSOR)?.map(|v| v.value()),
        None => None,
    };
    if let Some(v) = cursor {
        conn.exec(
            "INSERT INTO webhook_cursor (id, idx) VALUES (1, $1)",
            &[&super::i64_of(v)?],
        )?;
    }
    Ok(())
}

/// A table added since schema 2 first shipped (`tables::create_later`): a file written before
/// it lacks it, which reads as empty.
fn later<K: redb::Key + 'static, V: redb::Value + 'static>(
    r: &redb::ReadTransaction,
    def: TableDefinition<'static, K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match r.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: e.to_string(),
    }
}

/// Loads every table of the (audited) redb file `r` into PostgreSQL; returns the ledger size.
fn copy_in(
    conn: &Conn,
    r: &redb::ReadTransaction,
    reads: &std::collections::HashMap<String, u32>,
) -> Result<u64, StoreError> {
    use crate::domain::grant::Grant;
    use crate::domain::request::{AccessRequest, RequestStatus};
    for item in r.open_table(tables::CUSTOMERS)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO customers (customer_id, record) VALUES ($1, $2)",
            &[&k.value(), &v.value()],
        )?;
    }
    for item in r.open_table(tables::HANDLES)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO handles (handle, customer_id) VALUES ($1, $2)",
            &[&k.value(), &v.value()],
        )?;
    }
    for item in r.open_table(tables::ORGS)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO orgs (org_id, record) VALUES ($1, $2)",
            &[&k.value(), &v.value()],
        )?;
    }
    for item in r.open_table(tables::ENVELOPES)?.iter()? {
        let (k, v) = item?;
        let (customer, label) = k.value();
        conn.exec(
            "INSERT INTO envelopes (customer_id, label, record) VALUES ($1, $2, $3)",
            &[&customer, &label, &v.value()],
        )?;
    }
    for item in r.open_table(tables::WRAPS)?.iter()? {
        let (k, v) = item?;
        let (grant, label) = k.value();
        conn.exec(
            "INSERT INTO wraps (grant_id, label, record) VALUES ($1, $2, $3)",
            &[&grant, &label, &v.value()],
        )?;
    }
    for item in r.open_table(tables::GRANTS)?.iter()? {
        let (k, v) = item?;
        let mut g: Grant = super::super::access::decode("grants", v.value())?;
        let whole = reads.get(k.value()).copied().unwrap_or(g.reads);
        let record = if whole == g.reads {
            v.value().to_vec()
        } else {
            g.reads = whole;
            serde_json::to_vec(&g).map_err(|e| corrupt("grants", e))?
        };
        conn.exec(
            "INSERT INTO grants (grant_id, customer_id, org_id, record) VALUES ($1, $2, $3, $4)",
            &[
                &k.value(),
                &g.terms.customer_id.as_str(),
                &g.terms.org_id.as_str(),
                &record,
            ],
        )?;
    }
    for item in r.open_table(tables::REQUESTS)?.iter()? {
        let (k, v) = item?;
        let q: AccessRequest = super::super::access::decode("requests", v.value())?;
        conn.exec(
            "INSERT INTO requests (request_id, customer_id, org_id, pending, record) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &k.value(),
                &q.customer_id.as_str(),
                &q.org_id.as_str(),
                &(q.status == RequestStatus::Pending),
                &v.value(),
            ],
        )?;
    }
    for item in r.open_table(tables::LEDGER_EVENTS)?.iter()? {
        let (k, v) = item?;
        let event = crate::ledger::event::parse_stored(v.value())?.event;
        conn.exec(
            "INSERT INTO ledger_events (idx, stored, customer_id, org_id, org_key_event) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &i64_of(k.value())?,
                &v.value(),
                &event.customer().map(|c| c.to_string()),
                &event.org().map(|o| o.to_string()),
                &event.is_org_key_event(),
            ],
        )?;
    }
    for item in r.open_table(tables::LEDGER_NODES)?.iter()? {
        let (k, v) = item?;
        let (level, idx) = k.value();
        conn.exec(
            "INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)",
            &[&i16::from(level), &i64_of(idx)?, &v.value().as_slice()],
        )?;
    }
    for item in r.open_table(tables::PARTY_SEQS)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO party_seqs (party, seq) VALUES ($1, $2)",
            &[&k.value(), &i64_of(v.value())?],
        )?;
    }
    for item in r.open_table(tables::USED_JTIS)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO used_jtis (jti, exp) VALUES ($1, $2)",
            &[&k.value(), &v.value()],
        )?;
    }
    for item in r.open_table(tables::CHECKPOINTS)?.iter()? {
        let (k, v) = item?;
        conn.exec(
            "INSERT INTO checkpoints (size, note) VALUES ($1, $2)",
            &[&i64_of(k.value())?, &v.value()],
        )?;
    }
    let size = r
        .open_table(tables::META)?
        .get(LEDGER_SIZE)?
        .map_or(0, |v| v.value());
    // The head: the restored tree's size and frontier, from its stored nodes.
    struct Nodes(redb::ReadOnlyTable<(u8, u64), [u8; 32]>);
    impl crate::ledger::merkle::NodeReader for Nodes {
        fn node(&self, level: u8, index: u64) -> Result<[u8; 32], crate::ledger::LedgerError> {
            self.0
                .get((level, index))
                .map_err(|e| crate::ledger::LedgerError::Store(e.to_string()))?
                .map(|v| v.value())
                .ok_or_else(|| {
                    crate::ledger::LedgerError::Store(format!("missing node ({level}, {index})"))
                })
        }
    }
    let frontier =
        crate::ledger::merkle::Frontier::load(&Nodes(r.open_table(tables::LEDGER_NODES)?), size)?;
    conn.exec(
        "UPDATE ledger_head SET size = $1, frontier = $2 WHERE id = 1",
        &[&i64_of(size)?, &frontier.subtrees().concat()],
    )?;
    copy_in_webhooks(conn, r)?;
    let (Some(listed), Some(requests)) = (
        later(r, tables::ORG_ERASURE_REQUESTS)?,
        later(r, tables::ERASURE_REQUESTS)?,
    ) else {
        // A file from before erasure requests.
        return Ok(size);
    };
    for item in listed.iter()? {
        let (k, _) = item?;
        let (org, grant) = k.value();
        let record = requests
            .get(grant)?
            .ok_or_else(|| corrupt("erasure_requests", format!("{grant} is listed, not stored")))?;
        conn.exec(
            "INSERT INTO erasure_requests (grant_id, org_id, record) VALUES ($1, $2, $3)",
            &[&grant, &org, &record.value()],
        )?;
    }
    Ok(size)
}
